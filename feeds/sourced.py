"""A data library some of whose symbols come from the live sources' cache instead of files."""
from .fetch import cached_series
from .sources import parse_source


class SourcedLibrary:
    """A DataLibrary whose `sourced` symbols ({symbol: source text}) come from the cache."""

    def __init__(self, library, sourced=None, cache_dir=None, interval="1d"):
        self.library = library
        self.sourced = {s: parse_source(v) for s, v in (sourced or {}).items()}
        self.sourced = {s: v for s, v in self.sourced.items() if v[0] is not None}
        self.cache_dir = cache_dir
        self.interval = interval
        self._loaded = {}

    @property
    def folder(self):
        return self.library.folder

    @property
    def where(self):
        return self.library.where

    @property
    def shipped(self):
        return self.library.shipped

    @property
    def entries(self):
        return dict(self.library.entries, **{s: {"source": v[0]} for s, v in self.sourced.items()})

    def symbols(self):
        return sorted(self.entries)

    def load(self, symbol):
        if symbol not in self.sourced:
            return self.library.load(symbol)
        if symbol not in self._loaded:
            source, exchange = self.sourced[symbol]
            self._loaded[symbol] = cached_series(source, symbol, self.interval, self.cache_dir, exchange)
        return self._loaded[symbol]
