"""Choosing, per symbol, where its bars come from: a folder of files or the live-data cache.

A configuration's ``[sources]`` names a source for some symbols (``yfinance``, ``ccxt`` or
``ccxt:<exchange>``); the others come from the data folder (the shipped data by default).
Cached bars are read back offline; a symbol that was never fetched is one clear error
saying how to fetch it.
"""
from canary.errors import ConfigError, suggest

SOURCE_NAMES = ("shipped", "folder", "yfinance", "yahoo", "ccxt")


def parse_source(text):
    """'yfinance' -> ('yahoo', None); 'ccxt:kraken' -> ('ccxt', 'kraken'); 'shipped'/'folder' -> (None, None)."""
    name, _, exchange = str(text).partition(":")
    if name not in SOURCE_NAMES:
        raise ConfigError(f"unknown data source '{text}'{suggest(name, SOURCE_NAMES)}"
                          " (choose shipped, yfinance, ccxt or ccxt:<exchange>)")
    if name in ("shipped", "folder"):
        return None, None
    if exchange and name != "ccxt":
        raise ConfigError(f"data source '{text}': only ccxt takes an exchange")
    return ("yahoo" if name in ("yfinance", "yahoo") else "ccxt"), (exchange or None)


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
            from .fetch import cached_series

            source, exchange = self.sourced[symbol]
            self._loaded[symbol] = cached_series(source, symbol, self.interval, self.cache_dir, exchange)
        return self._loaded[symbol]
