"""The market a backtest sees: every series of a universe, loaded, cut and on its clock."""
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from canary.errors import ConfigError, suggest

from .alignment import clock_interval, master_clock, on_clock
from .loading import utc_instant
from .pointintime import POINT_IN_TIME_KEYS, PointInTime, PointInTimeLibrary, roles_table
from .roles import CRYPTO, EQUITY, declared, role, role_names


class Universe:
    """Which symbols play each declared role (`canary.feeds.roles.ROLES`): BTC, ETH, the
    altcoins, the small-cap and the large-cap index, by default those of the shipped data.

    Built positionally in the declared order (``Universe("BTC-USDT", "ETH-USDT", ("SOL-USDT",),
    "RUT", "SPX")``) or by role name (``Universe(alts=("SOL-USDT",))``); a role not given keeps
    its default. ``u.btc`` is a single role's symbol, ``u.alts`` a tuple; `of` gives any role's
    symbols as a tuple, `of_kind` those of every coin or every index. Frozen, compared by value.
    """

    def __init__(self, *symbols, **by_role):
        names = role_names()
        if len(symbols) > len(names):
            raise ConfigError(f"Universe: {len(symbols)} symbols given for the {len(names)} roles {', '.join(names)}")
        given = dict(zip(names, symbols, strict=False))
        for name, value in by_role.items():
            if role(name).name in given:
                raise ConfigError(f"Universe: role '{name}' given twice (by position and by name)")
            given[name] = value
        for r in declared():
            value = given.get(r.name, r.default if r.many else r.default[0])
            if r.many == isinstance(value, str):
                raise ConfigError(f"Universe: role '{r.name}' takes " + ("a list of symbols" if r.many else "one symbol")
                                  + f", got {value!r}")
            self.__dict__[r.name] = tuple(value) if r.many else value

    def __setattr__(self, name, value):
        raise AttributeError("a Universe is frozen: build a new one")

    def __eq__(self, other):
        return isinstance(other, Universe) and vars(self) == vars(other)

    def __hash__(self):
        return hash(tuple(vars(self).items()))

    def __repr__(self):
        return f"Universe({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def of(self, name):
        """The symbols of a role, as a tuple (several for ``alts``)."""
        value = vars(self)[role(name).name]
        return value if role(name).many else (value,)

    def single(self, name):
        """The one symbol of a role of one series (``btc``, ``small_cap``, ...)."""
        if role(name).many:
            raise ConfigError(f"role '{name}' holds several symbols: use Universe.of('{name}')")
        return vars(self)[name]

    def of_kind(self, kind):
        """The symbols of every role of `kind` (``crypto`` or ``equity``), in the declared order."""
        return tuple(s for name in role_names(kind) for s in self.of(name))

    @property
    def crypto(self):
        """Every coin: BTC, ETH, then the altcoins (the declared order)."""
        return self.of_kind(CRYPTO)

    @property
    def equity(self):
        """Every index, in the declared order."""
        return self.of_kind(EQUITY)

    @property
    def symbols(self):
        return (*self.crypto, *self.equity)


def universe_of(library, table):
    """(library, Universe) of a configuration's ``[universe]`` table: its roles (those not given
    keep their defaults), and with ``alts_top = N`` a `PointInTimeLibrary` around `library`
    whose altcoins are every coin ever in the top N that some file prices."""
    unknown = sorted(set(table) - set(role_names()) - set(POINT_IN_TIME_KEYS))
    if unknown:
        raise ConfigError(f"universe.{unknown[0]}: not a role{suggest(unknown[0], role_names() + POINT_IN_TIME_KEYS)} "
                          f"(the roles: {', '.join(role_names())}; the point-in-time keys: "
                          f"{', '.join(POINT_IN_TIME_KEYS)})")
    universe = Universe(**roles_table(table))
    pit = PointInTime.of_table(table)
    if pit.top:
        library = PointInTimeLibrary(library, pit, universe.btc)
        universe = Universe(**dict(roles_table(table), alts=library.alts))
    return library, universe


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
    coverage: pd.DataFrame | None = None         # a point-in-time universe's (`canary.feeds.pointintime`)

    @property
    def end(self):
        return self.clock[-1]

    @property
    def interval(self):
        """The crypto bar interval (see `clock_interval`)."""
        return clock_interval(self.clock)

    @property
    def first_trading_bar(self):
        """The position on the clock of the first bar close at or after `start`."""
        return int(np.searchsorted(self.clock.as_unit("ns").asi8, self.start.as_unit("ns").value, side="left"))


def load_market(library, universe=None, start=None, end=None):
    """Load `universe` (a Universe, or a configuration's ``[universe]`` table, a dict or
    `RunConfig.universe`, its
    point-in-time keys included: `canary.feeds.pointintime.universe_of`; default: the shipped
    symbols) from `library` (a DataLibrary), cut at `end` (a date or instant, UTC without an
    offset), trading from `start`."""
    if universe is None:
        universe = Universe()
    elif isinstance(universe, Mapping):
        library, universe = universe_of(library, universe)
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
    # An altcoin with no bar yet is simply not listed; every role of one series must have bars.
    for r in declared():
        if not r.many and frames[universe.single(r.name)].empty:
            raise ConfigError(f"data.end {end_ts.date()} is before the first bar of {universe.single(r.name)}")
    clock = master_clock([frames[s] for s in universe.crypto])
    clock = clock[clock >= frames[universe.crypto[0]].index[0]]   # from the first bar of the first coin (BTC)
    crypto = {s: on_clock(frames[s][frames[s].index >= clock[0]], clock, s) for s in universe.crypto}
    start_ts = start_ts if start_ts is not None else clock[0]
    if start_ts > clock[-1]:
        raise ConfigError(f"data.start {start_ts.date()} is after the last crypto bar {clock[-1].date()}")
    # Equity bars after the last crypto close can inform no decision.
    equity = {s: frames[s][frames[s].index <= clock[-1]] for s in universe.equity}
    # a point-in-time universe (`PointInTimeLibrary`) marks which altcoins are in its top N at each bar
    coverage = library.mark_members(crypto, clock, universe.alts) if hasattr(library, "mark_members") else None
    return Market(universe, crypto, equity, clock, start_ts, series, coverage)
