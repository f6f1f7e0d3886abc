"""`canary now`: what the canary says at the latest closed crypto bar, or at an instant.

The answer is the backtest's own, cut at the instant: the market is loaded with the bars
closed by then (`load_market(..., end=instant)`), the signals and the regime come from the
declared signals' array functions (`canary.indicators.signals.evaluate`, as the screening
engine uses them), and the holdings from a run of the configured strategy on that market
(the screening engine for the shipped rotation, Backtrader for any other class). So
``--as-of`` a past instant gives the regime, signals and weights the backtest recorded at
that bar, with one exception: at the very bar where a coin's series stops (a delisting),
the backtest, which sees that the series ends, has already sold it; the cut market, like the
live command, cannot know yet.

What would flip a signal is found with the same functions: the indicator is computed again
with one more bar appended, at which one input (the small-cap index for the background,
ETH against BTC for the ETH-strength signals) closes at a trial price and the others repeat
their last close; the price at which the signal turns is found by bisection between half and
twice the last close. The breadth signals have no single price that moves them (they count
many altcoins); their value and threshold are shown.

Inputs are stale (``STALE``): a crypto close older than two bar intervals (the next bar is
late by more than a whole bar), an equity close older than four days (a weekend and a
holiday).
"""
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from canary.errors import CanaryError, ConfigError
from canary.feeds.fetch import fetch
from canary.feeds.loading import utc_instant
from canary.feeds.market import load_market
from canary.feeds.roles import EQUITY as INDEX
from canary.feeds.roles import declared, role
from canary.feeds.sources import parse_source
from canary.indicators.array_indicator import in_bars
from canary.indicators.signals import (
    BREADTH,
    EQUITY,
    REGIME_NAMES,
    evaluate,
    function_inputs,
    indicator_params,
    registry,
    resolve,
    sections,
)
from canary.strategies import SmallCapRotation, run_backtest

from ..backtest import plan
from ..config import regime_params, strategy_params
from ..screening import Screen, signal_inputs

EQUITY_STALE = pd.Timedelta(days=4)
CRYPTO_STALE_BARS = 2
CHANGES_SHOWN = 5
# The input a flip price is given for: {signal name: (role moved, what the price says)}.
MOVED = {"small_cap": "small_cap", "rotation": "small_cap", "eth_trend": "eth", "eth_momentum": "eth"}
FLIP_RANGE = (0.5, 2.0)   # factors of the last close between which a flip price is looked for
CHANGED_EXIT = 3          # exit status of `canary now` when the regime changed at the latest bar


@dataclass
class SignalNow:
    """One declared signal at the bar: its value against its threshold, since when it has been
    on (or off), and the close of ``flip["symbol"]`` at which it would turn at the next bar."""

    name: str
    group: str
    clock: str
    active: bool
    value: float
    threshold: float
    direction: str
    on: bool
    since: pd.Timestamp | None
    bars: int
    flip: dict = field(default_factory=dict)


@dataclass
class Now:
    """The regime at ``bar`` (the last crypto close at or before ``instant``) and what it rests on."""

    instant: pd.Timestamp
    bar: pd.Timestamp
    interval: pd.Timedelta
    regime: str
    regime_since: pd.Timestamp
    changed: bool
    signals: list
    breadth_needed: int
    weights: dict            # symbol -> weight of the portfolio at the bar's close (and "cash")
    weights_since: pd.Timestamp | None   # the last fill at or before the bar
    inputs: list             # {symbol, role, last_close, age, stale}
    changes: list            # (instant, from, to), the latest last
    strategy: str = ""


def _since(states, at=-1):
    """(position where the run of equal values ending at `at` starts, its length)."""
    states = np.asarray(states)
    n = len(states) + at + 1 if at < 0 else at + 1
    differs = np.flatnonzero(states[:n] != states[n - 1])
    start = differs[-1] + 1 if len(differs) else 0
    return start, n - start


class FlipFinder:
    """The signals' indicators computed on the market's arrays with one trial bar appended."""

    def __init__(self, market, settings):
        self.arrays = signal_inputs(market)
        self.settings = settings
        self.interval = market.interval
        self.step = {EQUITY: 1.0, "crypto": self.interval / pd.Timedelta(days=1)}

    def lines(self, signal, moved=None, factor=1.0):
        """{line: array} of the signal's indicator; with `moved` (a role), one more bar appended
        at which that role closes at `factor` x its last close and the other inputs repeat theirs."""
        cls, members = sections()[signal.section]
        params = indicator_params(signal.section, self.settings)
        if getattr(cls, "windows", ()):
            params = in_bars(cls, params, self.interval)
        arrays = self.arrays if moved is None else {feed: self._extended(feed, moved, factor, signal.clock)
                                                    for feed in members[0].feeds}
        return dict(zip(cls.lines._getlines(), cls.function(*function_inputs(cls, members[0].feeds, arrays),
                                                            **params), strict=True))

    def _extended(self, feed, moved, factor, clock):
        out = {}
        for name, values in self.arrays[feed].items():
            values = np.asarray(values, dtype=float)
            last = values[-1]
            if name == "datetime":
                last = last + self.step[EQUITY if clock == EQUITY else "crypto"]
            elif name == "close" and feed == moved:
                last = last * factor
            out[name] = np.concatenate([values, [last]])
        return out

    def boundary(self, signal, holds_next):
        """The close of the moved role above which `holds_next(lines)` is true at the next bar,
        or None when it is the same across FLIP_RANGE."""
        moved = MOVED[signal.name]
        lo, hi = FLIP_RANGE
        low, high = (holds_next(self.lines(signal, moved, f)) for f in (lo, hi))
        if low == high:
            return None
        for _ in range(48):
            mid = (lo + hi) / 2
            if holds_next(self.lines(signal, moved, mid)) == high:
                hi = mid
            else:
                lo = mid
        return hi * float(np.asarray(self.arrays[moved]["close"], dtype=float)[-1])


def _flip(finder, signal, market, on, settings):
    """What would turn `signal` at the next bar: {symbol, last_close, close, move, sessions, says}."""
    if signal.name not in MOVED:
        return {}
    moved = MOVED[signal.name]
    symbol = market.universe.single(moved)
    last = float(np.asarray(finder.arrays[moved]["close"], dtype=float)[-1])
    out = {"symbol": symbol, "last_close": last}
    if signal.name == "small_cap":
        p = settings["small_cap"]
        now = finder.lines(signal)
        streak = int(np.nan_to_num(now["streak"][-1]))
        if on:   # it turns off on one close below the hysteresis band
            price = finder.boundary(signal, lambda lines: lines["risk_on"][-1] == 1.0)
            out.update(sessions=1, says="turns off at a close below")
        else:    # it needs closes above the level for the sessions still missing
            price = finder.boundary(signal, lambda lines: lines["streak"][-1] > 0)
            out.update(sessions=int(p["confirm"]) - streak, says="turns on after closes above")
        out["level"] = float(now["level"][-1])
        out["streak"] = streak
    else:
        price = finder.boundary(signal, lambda lines: bool(signal.holds(lines[signal.line][-1:], settings)[0]))
        out.update(sessions=1, says="turns off at a close below" if on else "turns on at a close above")
    out["close"] = price
    out["move"] = price / last - 1.0 if price is not None else None
    return out


def _inputs(market, instant):
    """The last close of each input used, its age at `instant`, and whether it is stale."""
    u = market.universe
    out = []
    crypto_limit = CRYPTO_STALE_BARS * market.interval
    for r in declared():
        for symbol in u.of(r.name):
            if r.kind == INDEX:
                last, limit = market.equity[symbol].index[-1], EQUITY_STALE
            else:
                frame = market.crypto[symbol]
                listed = frame.index[frame["listed"].to_numpy() == 1.0]
                if not len(listed):
                    continue
                last, limit = listed[-1], crypto_limit
            out.append({"symbol": symbol, "role": r.name, "last_close": last, "age": instant - last,
                        "stale": instant - last > limit})
    return out


def strategy_run(market, config, costs):
    """The configured strategy's run on `market` (a BacktestResult): the screening engine for
    the rotation (held to Backtrader by the parity test), Backtrader for any other class."""
    cls, params = strategy_params(config)
    if cls is SmallCapRotation:
        return Screen(market, costs).run(config)
    return run_backtest(market, cls, params, costs)


def canary_now(config, as_of=None, clock=None):
    """The regime and its signals at the last crypto close at or before `as_of` (default: the
    latest bar of the data), with the configured strategy's weights there. `clock`: the
    instant ages are measured at (default: `as_of`, else the wall clock)."""
    data = config.data
    instant = None
    if as_of is not None:
        try:
            instant = utc_instant(as_of, "--as-of")
        except CanaryError as exc:
            raise ConfigError(f"{exc} (give a UTC date or time, e.g. 2025-06-30 or 2025-06-30T16:00)") from None
        if data.start and instant < utc_instant(data.start):
            raise ConfigError(f"--as-of {as_of}: before data.start {data.start}, where trading starts")
    p = plan(config)
    end = instant
    if data.end and (instant is None or utc_instant(data.end) < instant):
        end = utc_instant(data.end)
    market = load_market(p.library, p.universe, data.start or None, end)
    reference = utc_instant(clock) if clock is not None else instant or pd.Timestamp.now(tz="UTC")
    settings = resolve(regime_params(config))
    out = evaluate(signal_inputs(market), regime_params(config), market.interval)
    clock_index = market.clock
    finder = FlipFinder(market, settings)
    signals = []
    for s in registry():
        values = np.asarray(out[s.name], dtype=float)
        held = s.holds(values, settings)
        start, bars = _since(held)
        on = bool(held[-1])
        signals.append(SignalNow(
            s.name, s.group, s.clock, s.active(settings), float(values[-1]),
            float(settings[s.section][s.threshold] if s.threshold else s.level), s.direction, on,
            clock_index[start] if start > 0 else None, int(bars),
            _flip(finder, s, market, on, settings) if s.active(settings) else {}))
    regime = out["regime"]
    start, _ = _since(regime)
    moves = np.flatnonzero(np.diff(regime) != 0) + 1
    moves = moves[clock_index[moves] >= market.start][-CHANGES_SHOWN:]
    changes = [(clock_index[i], _name(regime[i - 1]), _name(regime[i])) for i in moves]
    result = strategy_run(market, config, p.costs)
    row = result.portfolio.iloc[-1]
    weights = {k: float(v) for k, v in result.weights().iloc[-1].items() if v != 0.0}
    weights["cash"] = float(row["cash"] / row["value"])
    fills = result.fills
    cls, _ = strategy_params(config)
    return Now(reference, market.end, market.interval, _name(regime[-1]), clock_index[start],
               len(regime) > 1 and regime[-1] != regime[-2], signals, int(settings[BREADTH]["needed"]), weights,
               fills["date"].iloc[-1] if len(fills) else None, _inputs(market, reference), changes, cls.__name__)


def refresh(config, fetcher=None):
    """Run the fetch of every symbol of [sources] into the cache (`canary data fetch`); returns
    None, or one line naming the symbols that could not be refreshed (offline: the cached bars
    are used) and the first reason."""
    fetcher = fetcher or fetch
    failed = []
    for symbol, text in config.sources.items():
        source, exchange = parse_source(text)
        if source is None:
            continue
        for result in fetcher([symbol], source, exchange=exchange, cache_dir=config.data.cache_dir or None,
                              progress=False):
            if not result.ok:
                failed.append(result)
    if not failed:
        return None
    return (f"could not refresh {', '.join(r.symbol for r in failed)} ({failed[0].error}); "
            "using what is cached")


def _name(value):
    return REGIME_NAMES.get(int(value), "unknown") if np.isfinite(value) else "unknown"


# -- words and JSON ------------------------------------------------------------------------------
def _when(ts):
    if ts is None:
        return None
    ts = pd.Timestamp(ts)
    return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()


def _age(delta):
    hours = delta / pd.Timedelta(hours=1)
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} days"


def _flip_words(f):
    if not f:
        return ""
    if f["close"] is None:
        return f"no close of {f['symbol']} within {FLIP_RANGE[0]:g}x-{FLIP_RANGE[1]:g}x its last turns it"
    held = f" held {f['sessions']} session(s)" if f.get("sessions", 1) > 1 else ""
    return f"{f['says']} {f['close']:,.6g}{held} ({f['symbol']} {f['move']:+.2%} from {f['last_close']:,.6g})"


def lines(now):
    """`canary now` as text: the regime, each signal, the weights, the inputs' ages, the changes."""
    out = [f"regime at {_when(now.bar)}: {now.regime} (since {_when(now.regime_since)})"
           + ("; it changed at this bar" if now.changed else "")]
    out.append("signals:")
    for s in now.signals:
        state = "on " if s.on else "off"
        since = f"since {_when(s.since)}" if s.since is not None else "since the first bar"
        ignored = "" if s.active else " (not used: switched off)"
        out.append(f"  {s.name:17s} {state} {s.value:10.4g} {s.direction} {s.threshold:<8.4g} [{s.group}] "
                   f"{since} ({s.bars} bars){ignored}")
        if s.flip:
            extra = f"; level {s.flip['level']:,.6g}, streak {s.flip['streak']}" if "level" in s.flip else ""
            out.append(f"  {'':17s} {_flip_words(s.flip)}{extra}")
    out.append(f"  breadth: {sum(s.on and s.active for s in now.signals if s.group == BREADTH)} of "
               f"{sum(s.active for s in now.signals if s.group == BREADTH)} hold, {now.breadth_needed} needed")
    held = ", ".join(f"{k} {v:.1%}" for k, v in sorted(now.weights.items(), key=lambda kv: -kv[1]))
    since = f" (last trade {_when(now.weights_since)})" if now.weights_since is not None else " (no trade yet)"
    out.append(f"{now.strategy} holds at this close: {held}{since}")
    out.append(f"inputs (ages at {_when(now.instant)}):")
    for i in now.inputs:
        if role(i["role"]).many:
            continue
        out.append(f"  {i['symbol']:10s} last close {_when(i['last_close'])}, {_age(i['age'])}"
                   + (" STALE" if i["stale"] else ""))
    alts = [i for i in now.inputs if role(i["role"]).many]
    if alts:
        current = sum(i["last_close"] == now.bar for i in alts)
        stale = sum(i["stale"] for i in alts)
        out.append(f"  altcoins: {current} of {len(alts)} closed at this bar" + (f", {stale} stale" if stale else ""))
    out.append("last regime changes: " + ("; ".join(f"{_when(t)} {a} -> {b}" for t, a, b in now.changes)
                                          if now.changes else "none since trading started"))
    return out


def as_json(now):
    """`canary now --json`: the same as one object (instants ISO, ages in hours), as text."""
    return json.dumps({
        "bar": _when(now.bar), "instant": now.instant.isoformat(), "interval_hours": now.interval / pd.Timedelta(hours=1),
        "regime": now.regime, "regime_since": _when(now.regime_since), "changed": bool(now.changed),
        "signals": [{"name": s.name, "group": s.group, "clock": s.clock, "active": s.active,
                     "value": None if np.isnan(s.value) else s.value, "threshold": s.threshold,
                     "direction": s.direction, "on": s.on, "since": _when(s.since), "bars": s.bars,
                     "flip": dict(s.flip)} for s in now.signals],
        "breadth_needed": now.breadth_needed, "strategy": now.strategy, "weights": now.weights,
        "last_trade": _when(now.weights_since),
        "inputs": [{"symbol": i["symbol"], "role": i["role"], "last_close": _when(i["last_close"]),
                    "age_hours": i["age"] / pd.Timedelta(hours=1), "stale": bool(i["stale"])} for i in now.inputs],
        "changes": [{"at": _when(t), "from": a, "to": b} for t, a, b in now.changes],
    }, indent=2)

