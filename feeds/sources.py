"""Choosing, per symbol, where its bars come from: a folder of files or the live-data cache.

A configuration's ``[sources]`` names a source for some symbols (``yfinance``, ``ccxt`` or
``ccxt:<exchange>``); the others come from the data folder (the shipped data by default).
Cached bars are read back offline; a symbol that was never fetched is one clear error
saying how to fetch it.
"""
from dataclasses import dataclass

from canary.errors import ConfigError, suggest


@dataclass(frozen=True)
class LiveSource:
    """A source `canary data fetch` downloads bars from into the cache (``feeds.fetch``)."""

    name: str             # its name in configurations, commands and messages
    aliases: tuple        # other names a user may give it
    what: str             # in words, for help texts
    feed: str             # its folder in the cache (then /<exchange id> for an exchange)
    takes_exchange: bool  # True: "<name>:<exchange id>" in [sources], --exchange when fetching


# Every data source, registered once: the live ones, and the files of a data folder.
LIVE_SOURCES = (
    LiveSource("yfinance", ("yahoo",), "Yahoo Finance", feed="yahoo", takes_exchange=False),
    LiveSource("ccxt", (), "a crypto exchange", feed="ccxt", takes_exchange=True),
)
FILE_SOURCES = ("shipped", "folder")


def live_source_names():
    """Every name a user may give a live source (aliases included)."""
    return tuple(n for s in LIVE_SOURCES for n in (s.name, *s.aliases))


def live_source(name):
    """The LiveSource called `name` (or one of its aliases); a ConfigError with the closest name."""
    for source in LIVE_SOURCES:
        if name == source.name or name in source.aliases:
            return source
    names = live_source_names()
    raise ConfigError(f"unknown data source '{name}'{suggest(name, names)} (choose {' or '.join(names)})")


def shown_feed(feed):
    """A cache feed as messages name it: the source's name (yfinance), not its cache folder (yahoo)."""
    folder, sep, rest = feed.partition("/")
    return next((s.name + sep + rest for s in LIVE_SOURCES if s.feed == folder), feed)


def parse_source(text):
    """'yahoo' -> ('yfinance', None); 'ccxt:kraken' -> ('ccxt', 'kraken'); 'shipped'/'folder' -> (None, None)."""
    name, _, exchange = str(text).partition(":")
    if name in FILE_SOURCES:
        return None, None
    names = FILE_SOURCES + live_source_names()
    if name not in names:
        choices = ["shipped", *live_source_names(), *(f"{s.name}:<exchange>" for s in LIVE_SOURCES if s.takes_exchange)]
        raise ConfigError(f"unknown data source '{text}'{suggest(name, names)} "
                          f"(choose {', '.join(choices[:-1])} or {choices[-1]})")
    source = live_source(name)
    if exchange and not source.takes_exchange:
        raise ConfigError(f"data source '{text}': only {', '.join(s.name for s in LIVE_SOURCES if s.takes_exchange)} "
                          f"takes an exchange")
    return source.name, (exchange or None)
