"""Refreshing the local cache from live sources, and reading it back.

``fetch(["^RUT", "IWM"], "yfinance")`` or ``fetch(["BTC/USDT"], "ccxt", exchange="binance",
interval="4h")`` brings each symbol's cache file up to date and returns one FetchResult per
symbol; ``cached_series`` reads a cached series back as a PriceSeries, ``list_cache`` lists
what is cached.

A refresh asks the source only for bars from the newest cached bar on: that bar is fetched
again and replaced (its figures may have been revised since), and bars still open at the
fetch are never stored. If the repeated bar moved by more than ``REBASE_TOLERANCE`` the source
has re-based its history (a split, for Yahoo): the whole history is fetched again.
A failed symbol leaves its cache file as it was and does not stop the others.
"""
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from canary.errors import ConfigError, DataError

from . import cache
from .clocks import DEFAULT_CALENDAR
from .library import DataLibrary
from .loading import utc_instant
from .sources import LIVE_SOURCES, live_source, shown_feed

REBASE_TOLERANCE = 0.01
_SHIPPED_ALIASES = {"^GSPC": "SPX"}


@dataclass
class FetchResult:
    """What one symbol's refresh did.

    ``status``: ``created`` (nothing was cached), ``updated``, ``rebuilt`` (the history was
    fetched again after a split), or ``failed`` (``error`` says why; the cache is unchanged).
    ``bars`` counts the closed bars cached after the refresh, ``added`` those new to the cache,
    ``last`` is the close instant of the newest one.
    """

    symbol: str
    feed: str
    interval: str
    path: Path
    status: str
    bars: int = 0
    added: int = 0
    last: pd.Timestamp | None = None
    error: str | None = None

    @property
    def ok(self):
        return self.status != "failed"

    def line(self):
        if not self.ok:
            return self.error
        return (f"{self.symbol} ({shown_feed(self.feed)}, {self.interval}): {self.status}, {self.added} new bar(s), "
                f"{self.bars} cached, last closed {self.last.isoformat()}")


@dataclass
class CacheEntry:
    """One cache file: what it holds, or ``problem`` if it cannot be used."""

    path: Path
    feed: str | None = None
    symbol: str | None = None
    interval: str | None = None
    bars: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    recorded_at: pd.Timestamp | None = None
    problem: str | None = None


def feed_name(source, exchange=None):
    """The cache folder of a source (`sources.LIVE_SOURCES`, by name or alias): ``yahoo`` for
    yfinance, or ``ccxt/<exchange id>`` (default binance)."""
    source = live_source(source)
    if not source.takes_exchange:
        if exchange is not None:
            raise ConfigError(f"an exchange applies to --source {' or '.join(s.name for s in LIVE_SOURCES if s.takes_exchange)} "
                              f"only (a {source.what} symbol names its market)")
        return source.feed
    from .exchange import exchange_id  # ccxt takes a second to import: only when it is needed

    return f"{source.feed}/{exchange_id(exchange)}"


def fetch_command(symbol, feed, interval="1d"):
    """The command line that fetches `symbol` from `feed` into the cache."""
    source, _, exchange = shown_feed(feed).partition("/")
    parts = ["canary data fetch", symbol, "--source", source]
    if exchange:
        parts += ["--exchange", exchange]
    if interval != "1d":
        parts += ["--interval", interval]
    return " ".join(parts)


def _how_to_get(symbol, feed, interval):
    shipped = set(DataLibrary().symbols())
    names = (symbol, _SHIPPED_ALIASES.get(symbol), symbol.lstrip("^"), symbol.replace("/", "-"))
    twin = next((n for n in names if n in shipped), None)
    return (f"run `{fetch_command(symbol, feed, interval)}` when online, "
            f"or use {f'the shipped series {twin}' if twin else 'the shipped data'}")


def fetch(symbols, source, exchange=None, interval="1d", since=None, cache_dir=None, progress=True,
          calendar=DEFAULT_CALENDAR, client=None, now=None, sleep=time.sleep):
    """Refresh the cache of each of `symbols` from `source` ("yfinance", alias "yahoo", or "ccxt"); one
    FetchResult each.

    `exchange`: the ccxt exchange id (default binance); `calendar`: the exchange calendar of
    Yahoo's daily exchange-traded bars; `since`: the first bar wanted when nothing is cached;
    `progress`: True for a bar on a terminal (silent otherwise), False for none, or a callable
    given each FetchResult. `client` (a ccxt exchange object, or the HTTP session for yfinance),
    `now` and `sleep` replace the live ones in tests. Once an exchange stays unreachable through
    every retry, the symbols after it are not tried.
    """
    feed = feed_name(source, exchange)
    unreachable = ()
    if feed != "yahoo":
        from .exchange import Unreachable, connect

        unreachable = (Unreachable,)
        client = client if client is not None else connect(feed.removeprefix("ccxt/"))  # markets load once
    results, down = [], None
    bar = tqdm(symbols, desc=f"fetch {shown_feed(feed)}", unit="symbol", disable=None if progress is True else True)
    for symbol in bar:
        bar.set_postfix_str(symbol)
        try:
            if down is not None:
                raise DataError(f"{feed.removeprefix('ccxt/')} {symbol}: not tried, "
                                f"the exchange was unreachable for {down}")
            result = refresh(symbol, feed, interval, since, cache_dir, calendar, client, now, sleep)
        except DataError as exc:
            if isinstance(exc, unreachable):
                down = symbol
            result = _failed(symbol, feed, interval, cache_dir, str(exc))
        results.append(result)
        if callable(progress):
            progress(result)
    return results


def _failed(symbol, feed, interval, cache_dir, error):
    path = cache.path_for(cache_dir, feed, symbol, interval)
    if path.exists():
        error += f"; the cache file {path} was left as it was"
    else:
        error += f"; nothing is cached for {symbol} yet: {_how_to_get(symbol, feed, interval)}"
    return FetchResult(symbol, feed, interval, path, "failed", error=error)


def refresh(symbol, feed, interval="1d", since=None, cache_dir=None, calendar=DEFAULT_CALENDAR,
            client=None, now=None, sleep=time.sleep):
    """Bring the cache file of `symbol` from `feed` (see feed_name) up to date.

    Returns a FetchResult, or raises a DataError (the cache file is then unchanged).
    """
    path = cache.path_for(cache_dir, feed, symbol, interval)
    old = cache.read(path)[0] if path.exists() else None

    def download(start):
        if feed == "yahoo":
            from .yahoo import download as from_yahoo

            return from_yahoo(symbol, interval, start, calendar, session=client, now=now)
        from .exchange import download as from_exchange

        return from_exchange(symbol, feed.removeprefix("ccxt/"), interval, start, client=client, sleep=sleep, now=now)

    new = download(_start(old, since))
    if old is None:
        status, merged, before = "created", new, pd.DatetimeIndex([])
    elif _rebased(old, new):
        status, before = "rebuilt", pd.DatetimeIndex([])
        merged = download(since)
    else:
        status, before = "updated", old.labels
        merged = cache.merge(old, new)
    stored, series = cache.store(path, merged)
    return FetchResult(symbol, feed, interval, path, status, bars=len(series.frame),
                       added=int((~stored.labels.isin(before)).sum()), last=series.last)


def _start(old, since):
    """Where the download starts: the newest cached bar (fetched again), unless `since` is earlier."""
    if old is None or old.raw.empty:
        return since
    if since is not None and utc_instant(since, "since").tz_localize(None) < old.labels[0]:
        return since
    return old.labels[-1]


def _rebased(old, new):
    """True if a bar both downloads hold closes more than REBASE_TOLERANCE apart."""
    both = old.raw.merge(new.raw, on="label", suffixes=("_cached", ""))
    moved = (both["close"] / both["close_cached"] - 1).abs()
    return bool((moved > REBASE_TOLERANCE).any())


def cached_series(source, symbol, interval="1d", cache_dir=None, exchange=None):
    """The cached PriceSeries of `symbol`, or one DataError line saying how to get it."""
    feed = feed_name(source, exchange)
    path = cache.path_for(cache_dir, feed, symbol, interval)
    if not path.exists():
        raise DataError(f"no cached {shown_feed(feed)} {interval} bars for {symbol} (looked for {path}): "
                        f"{_how_to_get(symbol, feed, interval)}")
    return cache.read(path)[1]


def list_cache(cache_dir=None):
    """A CacheEntry for every file in the cache, unusable ones included (with their problem)."""
    entries = []
    for path in cache.files(cache_dir):
        try:
            bars, series = cache.read(path)
        except DataError as exc:
            entries.append(CacheEntry(path, problem=str(exc)))
            continue
        entries.append(CacheEntry(path, bars.feed, bars.symbol, bars.interval, len(series.frame),
                                  series.first, series.last, bars.recorded_at))
    return entries
