"""The market a backtest sees: every series of a universe, loaded, cut and on its clock."""
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from canary.errors import ConfigError, suggest

from .alignment import clock_interval, master_clock, on_clock
from .loading import utc_instant

# The altcoins of the shipped data, in the order of the default configuration.
SHIPPED_ALTS = ("BNB-USDT", "LTC-USDT", "ADA-USDT", "XRP-USDT", "XLM-USDT", "TRX-USDT", "ETC-USDT", "LINK-USDT",
                "XMR-USDT", "MATIC-USDT", "ATOM-USDT", "DOGE-USDT", "BCH-USDT", "SOL-USDT", "DOT-USDT", "UNI-USDT",
                "AVAX-USDT", "SHIB-USDT")


@dataclass(frozen=True)
class Universe:
    """Roles mapped to symbols: which file is BTC, ETH, the altcoins, and the two indices
    (by default, those of the shipped data)."""

    btc: str = "BTC-USDT"
    eth: str = "ETH-USDT"
    alts: tuple = SHIPPED_ALTS
    small_cap: str = "RUT"
    large_cap: str = "SPX"

    @property
    def crypto(self):
        return (self.btc, self.eth, *self.alts)

    @property
    def symbols(self):
        return (*self.crypto, self.small_cap, self.large_cap)

    @classmethod
    def of_table(cls, table):
        """The Universe of a configuration's ``[universe]`` table (a dict with any of the keys
        btc, eth, alts, small_cap, large_cap; the others keep their defaults)."""
        unknown = sorted(set(table) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"universe.{unknown[0]}: not a role{suggest(unknown[0], cls.__dataclass_fields__)} "
                              f"(the roles: {', '.join(cls.__dataclass_fields__)})")
        return cls(**{k: tuple(v) if k == "alts" else v for k, v in table.items()})

    def of(self, role):
        """The symbols of a role, as a tuple (several for ``alts``)."""
        value = getattr(self, role)
        return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@dataclass
class Market:
    """Validated frames of a universe up to `end`: crypto on one master clock, equity on its own.

    ``start`` is the first instant at which a strategy may trade; bars before it are warm-up.
    """

    universe: Universe
    crypto: dict            # symbol -> frame on the master clock (NaN + listed=0 where no bar)
    equity: dict            # symbol -> normalised frame on its session clock
    clock: pd.DatetimeIndex
    start: pd.Timestamp
    series: dict = field(default_factory=dict)   # symbol -> PriceSeries (reports, paths)

    @property
    def end(self):
        return self.clock[-1]

    @property
    def interval(self):
        """The crypto bar interval (see `clock_interval`)."""
        return clock_interval(self.clock)


def load_market(library, universe=None, start=None, end=None):
    """Load `universe` (a Universe, or a configuration's ``[universe]`` table as a dict; default:
    the shipped symbols) from `library` (a DataLibrary), cut at `end` (a date or instant, UTC
    without an offset), trading from `start`."""
    if universe is None:
        universe = Universe()
    elif isinstance(universe, Mapping):
        universe = Universe.of_table(universe)
    elif not isinstance(universe, Universe):
        raise ConfigError(f"load_market: universe is a {type(universe).__name__}; give a "
                          "canary.feeds.market.Universe or a [universe] table (a dict)")
    series = {s: library.load(s) for s in universe.symbols}
    end_ts = utc_instant(end, "end") if end is not None else None
    start_ts = utc_instant(start, "start") if start is not None else None
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise ConfigError(f"data.start {start_ts.date()} is not before data.end {end_ts.date()}")

    def cut(frame):
        return frame[frame.index <= end_ts] if end_ts is not None else frame

    frames = {s: cut(series[s].frame) for s in universe.symbols}
    # An altcoin with no bar yet is simply not listed; the clock and the indices must have bars.
    for s in (universe.btc, universe.eth, universe.small_cap, universe.large_cap):
        if frames[s].empty:
            raise ConfigError(f"data.end {end_ts.date()} is before the first bar of {s}")
    clock = master_clock([frames[s] for s in universe.crypto])
    clock = clock[clock >= frames[universe.btc].index[0]]
    crypto = {s: on_clock(frames[s][frames[s].index >= clock[0]], clock, s) for s in universe.crypto}
    start_ts = start_ts if start_ts is not None else clock[0]
    if start_ts > clock[-1]:
        raise ConfigError(f"data.start {start_ts.date()} is after the last crypto bar {clock[-1].date()}")
    # Equity bars after the last crypto close can inform no decision.
    equity = {s: frames[s][frames[s].index <= clock[-1]] for s in (universe.small_cap, universe.large_cap)}
    return Market(universe, crypto, equity, clock, start_ts, series)
