"""A point-in-time altcoin universe: the coins that were large *then*, dead ones included.

``[universe] alts_top = N`` (0: the fixed ``alts`` list) makes the altcoin basket, at each bar,
the top N altcoins by market cap in the latest ranking snapshot known at that bar's close
(`canary.feeds.rankings`: a snapshot dated D is known at the end of UTC day D), leaving out
``exclude`` (stablecoins, wrapped and pegged coins by default; BTC and ETH are their own
roles). A coin that leaves the top N gets no weight, so the next rebalance sells it; a coin
whose prices stop is exited as every delisted coin is (`canary.feeds.alignment.on_clock`).

**Which file prices a ranked coin.** A ranked symbol means one coin (`RANKED`: symbols that
were reused or renamed, by snapshot date), and a coin's prices are the files named
``<SYM>-USDT.csv`` or ``<SYM>-USD.csv`` (in that order) for its symbols (`FILES`: the names
it traded under, with the close instants each stands for), looked up in the run's data folders
first, then in the shipped universe data (``canary/feeds/data/universe``, each source folder in
the order of `SHIPPED_SOURCES`). Where the first file has no bar, the next one's bar is used:
one series per coin, spliced, each part named in the coin's load notes. A USD price stands for
a USDT one (one money, `canary.runs.backtest.DOLLARS`). Bars finer than the clock (hourly,
4-hour) are resampled to it (`to_interval`); coarser ones cannot price the coin.

**A top-N coin with no price.** The run never substitutes the next coin: with ``missing =
"cash"`` (the default, conservative) its 1/N share of the basket stays in cash; with
``missing = "renormalise"`` the priced coins share the basket. ``coverage`` (one row per
snapshot in force) says, for each, the top N, which were priced, and the share of the top N's
market cap the basket could hold.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from canary.errors import DataError
from canary.params import field_rules, name_or_names, names, setting

from .alignment import known_at, to_interval
from .layouts import CLOSE_ONLY
from .library import DataLibrary
from .loading import PriceSeries
from .rankings import load_rankings
from .roles import role_names
from .validation import LoadReport

UNIVERSE_DIR = Path(__file__).resolve().parent / "data" / "universe"
# The shipped ranking snapshots used by default: monthly (2013-2025), then weekly (2021-2025).
SHIPPED_RANKINGS = ("rankings/cmc_monthly_ge100M_2013-2025", "rankings/cmc_weekly_top100_2021-2025.csv")
# The shipped price folders, in the order a coin's file is looked for (Binance daily first).
SHIPPED_SOURCES = ("prices/binance_daily", "prices/binance_daily_cdd", "prices/binance_4h",
                   "prices/binance_hourly_close", "prices/coingecko")
QUOTES = ("USDT", "USD")
MISSING_RULES = ("cash", "renormalise")
# Never in the altcoin basket: dollar and euro stablecoins, gold tokens, wrapped and staked BTC/ETH.
EXCLUDE = ("USDT", "USDC", "BUSD", "DAI", "TUSD", "USDP", "PAX", "UST", "USTC", "FDUSD", "PYUSD", "USDD", "GUSD",
           "HUSD", "USDN", "FRAX", "LUSD", "USDE", "USDS", "USD1", "SUSD", "EURS", "EURC", "USDX", "USDJ", "USDK",
           "PAXG", "XAUT", "DGX", "WBTC", "BTCB", "HBTC", "RENBTC", "CBBTC", "WETH", "STETH", "WSTETH", "WEETH",
           "RETH", "CBETH", "BETH", "WBETH")
ROLE_COINS = ("BTC", "ETH")   # their own roles
TERRA_SPLIT = "2022-05-28"    # Terra Classic (LUNA) before, Terra 2.0 (LUNA) after

# (ranked symbol, first snapshot date, last date (exclusive), the coin it means): reused and
# renamed tickers of the CMC snapshots (SOURCES.md of the shipped universe data).
RANKED = (
    ("LUNA", None, TERRA_SPLIT, "LUNC"),            # Terra Classic, LUNC from 2022-09
    ("LUNA", TERRA_SPLIT, None, "LUNA2"),           # Terra 2.0 reused the ticker
    ("BCC", None, None, "BITCONNECT"),              # BitConnect on CMC (Bitcoin Cash is BCH there)
    ("UST", None, None, "USTC"),
    ("MIOTA", None, None, "IOTA"),
    ("POL", None, None, "MATIC"),                   # Polygon's new token: one coin, counted once
    ("VEN", None, None, "VET"),
    ("BTT", "2022-01-18", None, "BTTC"),            # BitTorrent after its 1000:1 redenomination
    ("GNT", None, None, "GLM"), ("STRAT", None, None, "STRAX"), ("LEND", None, None, "AAVE"),
    ("ERD", None, None, "EGLD"), ("XZC", None, None, "FIRO"), ("RNDR", None, None, "RENDER"),
    ("NANO", None, None, "XNO"), ("AGI", None, None, "AGIX"), ("XDCE", None, None, "XDC"),
    ("BTMX", None, None, "ASD"),
)
# coin -> (file symbol, first close instant, last (exclusive)) in the order tried; a coin not
# listed here is priced by files of its own symbol.
FILES = {
    "LUNC": (("LUNA", None, TERRA_SPLIT), ("LUNC", None, None)),   # Binance's LUNAUSDT is spliced
    "LUNA2": (("LUNA", TERRA_SPLIT, None),),
    "BITCONNECT": (),                                             # no price anywhere; never BCCUSDT
    "BCH": (("BCC", None, "2018-11-16"), ("BCHABC", None, None), ("BCH", None, None)),   # Binance's names
    "BSV": (("BCHSV", None, None), ("BSV", None, None)),
    "MATIC": (("MATIC", None, None), ("POL", None, None)),
    "BTT": (("BTT", None, "2022-01-18"),),
    "BTTC": (("BTTC", None, None),),
    "STRAX": (("STRAX", None, None), ("STRAT", None, None)), "AAVE": (("AAVE", None, None), ("LEND", None, None)),
    "EGLD": (("EGLD", None, None), ("ERD", None, None)), "FIRO": (("FIRO", None, None), ("XZC", None, None)),
    "GLM": (("GLM", None, None), ("GNT", None, None)), "RENDER": (("RENDER", None, None), ("RNDR", None, None)),
}


def coin_of(symbol, snapshot):
    """The coin a ranked `symbol` means in the snapshot dated `snapshot` (a Timestamp)."""
    for ranked, since, until, coin in RANKED:
        if ranked == symbol and (since is None or snapshot >= pd.Timestamp(since)) \
                and (until is None or snapshot < pd.Timestamp(until)):
            return coin
    return symbol


def files_of(coin):
    """(file symbol, from, until) of `coin`, in the order tried."""
    return FILES.get(coin, ((coin, None, None),))


@dataclass(frozen=True)
class BasketKeys:
    """The ``[universe]`` keys of a point-in-time basket as a configuration gives them, each
    field with its default and its rule (`PointInTime` is what they mean)."""

    alts_top: int = setting(int, lambda v: v >= 0, "a whole number >= 0 (0: the fixed alts list)", default=0)
    rankings: str | tuple = setting((str, list), name_or_names, "a file or folder of ranking snapshots, or a list "
                                    "of them (empty: the shipped ones)", default="")
    exclude: tuple = setting(list, names, "a list of ranked symbols", default=EXCLUDE)
    missing: str = setting(str, choices=MISSING_RULES, default="cash")


POINT_IN_TIME_KEYS = tuple(field_rules(BasketKeys))


def roles_table(table):
    """The role keys of a ``[universe]`` table (the point-in-time keys left out)."""
    return {k: v for k, v in table.items() if k in role_names()}


@dataclass(frozen=True)
class PointInTime:
    """The ``[universe]`` keys of a point-in-time basket: ``alts_top`` (N; 0: off),
    ``rankings`` (files or folders of snapshots; empty: the shipped ones), ``exclude`` (ranked
    symbols never held) and ``missing`` (`MISSING_RULES`)."""

    top: int = BasketKeys.alts_top
    rankings: tuple = ()
    exclude: tuple = BasketKeys.exclude
    missing: str = BasketKeys.missing

    @classmethod
    def of_table(cls, table):
        """The basket of a ``[universe]`` table (a key it lacks: `BasketKeys`' default)."""
        keys = BasketKeys(**{k: table[k] for k in POINT_IN_TIME_KEYS if k in table})
        rankings = (keys.rankings,) if isinstance(keys.rankings, str) else keys.rankings
        return cls(int(keys.alts_top), tuple(r for r in rankings if r), tuple(s.upper() for s in keys.exclude),
                   keys.missing)

    @property
    def sources(self):
        return self.rankings or tuple(str(UNIVERSE_DIR / r) for r in SHIPPED_RANKINGS)

    def top_table(self):
        """One row per (snapshot, place) of the top N: snapshot, known_at, place (1..N),
        coin, market_cap."""
        table = load_rankings(list(self.sources))
        table["coin"] = [coin_of(s, d) for s, d in zip(table["symbol"], table["snapshot"], strict=True)]
        left_out = set(self.exclude) | set(ROLE_COINS)
        table = table[~table["symbol"].isin(left_out) & ~table["coin"].isin(left_out)]
        table = table.drop_duplicates(["snapshot", "coin"], keep="first")   # MATIC and POL: once
        table["place"] = table.groupby("snapshot").cumcount() + 1
        return table[table["place"] <= self.top].reset_index(drop=True)


def shipped_libraries():
    """A DataLibrary per shipped universe price folder, in `SHIPPED_SOURCES` order."""
    return [DataLibrary(UNIVERSE_DIR / f) for f in SHIPPED_SOURCES]


class PointInTimeLibrary:
    """The run's library (`library`) with the point-in-time coins added: `load` of a coin gives
    its spliced series on the bar interval of the clock (that of `btc`'s series), any other
    symbol the run library's. With ``--data`` folders, the shipped price files stay behind
    them (a folder of a few dead coins' files adds to the shipped data rather than replacing
    it). ``alts``: the coins ever in the top N that some file prices, in order of first
    appearance."""

    def __init__(self, library, pit, btc, extra=None):
        self.library, self.point_in_time = library, pit
        self.behind = [] if library.shipped else [DataLibrary()]
        self.sources = [library, *self.behind, *(shipped_libraries() if extra is None else extra)]
        self.interval = self._role_series(btc).interval
        self.top = pit.top_table()
        coins = list(dict.fromkeys(self.top["coin"]))
        self.parts = {c: self._parts(c) for c in coins}
        self.alts = tuple(c for c in coins if self.parts[c])
        self._loaded = {}

    def __getattr__(self, name):   # where, folder, shipped, ... of the run library
        return getattr(self.library, name)

    @property
    def entries(self):
        behind = {k: v for lib in self.behind for k, v in lib.entries.items()}
        return dict(behind, **self.library.entries,
                    **{c: {"quote": "USDT", "path": str(self.parts[c][0][0].path)} for c in self.alts})

    def _role_series(self, symbol):
        for source in (self.library, *self.behind):
            if symbol in source.entries:
                return source.load(symbol)
        return self.library.load(symbol)   # the run library's one-line error

    def _parts(self, coin):
        """[(PriceSeries, from, until)] of the files that price `coin`, in the order tried."""
        out = []
        for symbol, since, until in files_of(coin):
            for source in self.sources:
                for quote in QUOTES:
                    if f"{symbol}-{quote}" in source.entries:
                        out.append((source.load(f"{symbol}-{quote}"), since, until))
        return [p for p in out if p[0].interval is not None and p[0].interval <= self.interval]

    def mark_members(self, crypto, clock, alts):
        """`mark_members` of this universe (the ``member`` column of each altcoin frame); the coverage."""
        return mark_members(self.point_in_time, self.top, crypto, alts, clock)

    def load(self, symbol):
        if symbol not in self.parts:
            return self._role_series(symbol)
        if symbol not in self._loaded:
            self._loaded[symbol] = self._splice(symbol)
        return self._loaded[symbol]

    def _splice(self, coin):
        report = LoadReport(coin)
        frame, used = None, []
        for series, since, until in self.parts[coin]:
            part = series.frame
            if since is not None:
                part = part[part.index >= pd.Timestamp(since, tz="UTC")]
            if until is not None:
                part = part[part.index < pd.Timestamp(until, tz="UTC")]
            if series.interval < self.interval:
                part = to_interval(part, series.interval, self.interval)
            added = part if frame is None else part[~part.index.isin(frame.index)]
            if added.empty:
                continue
            close_only = any(CLOSE_ONLY in n for n in series.report.notes)
            used.append(f"{series.path.parent.name}/{series.path.name} ({len(added):,} bars"
                        + (", close only)" if close_only else ")"))
            frame = part if frame is None else frame.combine_first(part)
        if frame is None:
            raise DataError(f"{coin}: its price files have no bar on the {self.interval} clock")
        if len(used) > 1:
            report.notes.append(f"spliced from {', '.join(used)}")
        first = self.parts[coin][0][0]
        return PriceSeries(coin, frame[list(first.frame.columns)], report, "interval", self.interval, None, first.path)


def mark_members(pit, top, crypto, alts, clock):
    """Add to each altcoin frame of `crypto` (on `clock`) the column ``member``: 0 where the coin
    is not in the top N of the snapshot in force at the bar, else the share of the basket the
    priced top-N coins may hold (1 with ``missing = "renormalise"``, priced / N with ``"cash"``).
    Returns the coverage table (one row per snapshot in force on the clock)."""
    snapshots = top.drop_duplicates("snapshot")[["snapshot", "known_at"]].reset_index(drop=True)
    instants = clock.as_unit("ns").asi8
    force = known_at(pd.DatetimeIndex(snapshots["known_at"]).as_unit("ns").asi8, instants)
    places = {d: set(g["coin"]) for d, g in top.groupby("snapshot")}
    in_force = [places[snapshots["snapshot"].iloc[i]] if i >= 0 else set() for i in range(len(snapshots))]
    k = len(alts)
    member = np.zeros((len(clock), k), dtype=bool)
    priced = np.zeros((len(clock), k), dtype=bool)
    for c, coin in enumerate(alts):
        frame = crypto[coin]
        ranked = np.array([coin in s for s in in_force] + [False])   # index -1: before the first snapshot
        member[:, c] = ranked[force]
        priced[:, c] = ((frame["listed"] == 1.0) & (frame["delisting"] == 0.0) & frame["close"].notna()).to_numpy()
    share = (member & priced).sum(axis=1) / pit.top if pit.missing == "cash" else np.ones(len(clock))
    for c, coin in enumerate(alts):
        crypto[coin]["member"] = np.where(member[:, c], share, 0.0)
    rows = []
    column = {coin: c for c, coin in enumerate(alts)}
    for i in np.unique(force[force >= 0]):
        t = int(np.flatnonzero(force == i)[0])
        day = top[top["snapshot"] == snapshots["snapshot"].iloc[i]]
        held = [bool(coin in column and priced[t, column[coin]]) for coin in day["coin"]]
        cap = day["market_cap"].to_numpy()
        rows.append({"snapshot": snapshots["snapshot"].iloc[i].date().isoformat(), "from": clock[t].isoformat(),
                     "top": len(day), "priced": int(sum(held)),
                     "priced_cap_share": float(cap[held].sum() / cap.sum()),
                     "priced_coins": " ".join(c for c, h in zip(day["coin"], held, strict=True) if h),
                     "missing_coins": " ".join(c for c, h in zip(day["coin"], held, strict=True) if not h)})
    return pd.DataFrame(rows)

