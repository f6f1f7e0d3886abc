"""A target-weight strategy's decisions, declared as data: its plan.

A strategy of `TargetWeightStrategy` says what it holds and when it trades by one array
function, its ``plan(bars, p)`` classmethod: given `PlanBars` (its coins' closes and
tradability, bar by bar up to the decision bar, and the risk regime if it reads one) and its
parameters ``p`` (windows in bars), it returns a `TargetPlan`:

* ``phase``, per bar: the state whose change makes the strategy trade (the rotation's
  regime; a benchmark's schedule), once ``min_hold`` bars have passed since its last trade;
* ``row``, per bar: where the targets of that phase are: a row of ``fixed`` (rows x coins),
  or `VARYING` for the bar's own row of ``varying`` (bars x coins: targets that change
  from bar to bar, as the altcoin basket does);
* ``rebalance_every``: from that many bars after the last trade (0: never), the strategy
  also trades wherever a weight drifted beyond its ``drift_band``.

A rebalance takes the targets of the phase last acted on, at the current bar. Both engines
read this one declaration: Backtrader at each bar close, from the bars up to that close
(`TargetWeightStrategy`), so that a plan cannot see a later bar; the screening engine over
the whole history at once (`canary.strategies.screening`). A plan's row must therefore
depend only on the rows up to it, with arithmetic that does not depend on how many rows
there are (the functions of `canary.indicators.rolling` and `canary.strategies.basket` are
built so); ``lookback(p)`` says how many bars its last row depends on (None: all of them).
"""
import types
from typing import NamedTuple

import numpy as np
import pandas as pd

from canary.errors import ConfigError
from canary.feeds.windows import window_bars

VARYING = -1
# The methods through which a subclass can change what a TargetWeightStrategy decides in
# Backtrader; one that overrides any of them without a plan of its own cannot run on the
# screening engine (`planned`).
DECISION_METHODS = ("target_weights", "rebalance_due", "rebalance", "next", "prenext", "nextstart",
                    "on_crypto_bar", "exit_delisted", "notify_order", "decides", "tradable")


class PlanBars(NamedTuple):
    """The bars a plan is computed from: the strategy's coins (columns, in feed order) on the
    crypto clock, one row per bar close up to the decision bar.

    ``times``: the close instants (UTC, datetime64[ns]); ``closes``: bars x coins, NaN where
    a coin has no bar; ``tradable``: listed, no delisting notice, and a price; ``trading``:
    the bar is at or after the first bar the run trades at; ``regime``: the risk regime
    (`canary.indicators.regime`) for a strategy that reads one, else None; ``memo``: a dict
    in which a plan may keep what it computed from these bars, for the screening engine's
    later configurations (keyed by what the result depends on); ``members``: with a
    point-in-time altcoin universe (`canary.feeds.pointintime`), bars x coins, 0 where a coin
    is outside the top N in force at the bar, else the share of the basket its priced coins
    may hold; None with the fixed list (every coin a member, the whole basket held).
    """

    symbols: tuple
    times: np.ndarray
    closes: np.ndarray
    tradable: np.ndarray
    trading: np.ndarray
    regime: np.ndarray | None
    memo: dict
    members: np.ndarray | None = None

    def cut(self, lo, hi):
        """Rows `lo` to `hi` (exclusive) of these bars (the memo is not carried)."""
        regime = None if self.regime is None else self.regime[lo:hi]
        members = None if self.members is None else self.members[lo:hi]
        return PlanBars(self.symbols, self.times[lo:hi], self.closes[lo:hi], self.tradable[lo:hi],
                        self.trading[lo:hi], regime, {}, members)


class TargetPlan(NamedTuple):
    """What a strategy holds and when it trades (see the module docstring)."""

    phase: np.ndarray
    row: np.ndarray
    fixed: np.ndarray
    varying: np.ndarray | None = None
    min_hold: int = 0
    rebalance_every: int = 0

    @classmethod
    def by_phase(cls, phase, fixed, min_hold=0, rebalance_every=0):
        """A plan whose phase ``i`` holds row ``i`` of ``fixed`` (rows x coins)."""
        phase = np.asarray(phase, dtype=np.int64)
        return cls(phase, phase, np.atleast_2d(np.asarray(fixed, dtype=float)), None, min_hold, rebalance_every)

    def targets(self, row, t):
        """The weights (one per coin) of `row` at bar `t`."""
        return self.varying[t] if row == VARYING else self.fixed[row]


def utc_instants(index):
    """A tz-aware DatetimeIndex as UTC datetime64[ns] values."""
    return index.as_unit("ns").asi8.view("datetime64[ns]")


def plan_bars(frames, trade_from, regime=None, memo=None):
    """`PlanBars` from the coins' frames on the crypto clock (`feeds.alignment.on_clock`: a
    UTC DatetimeIndex of close instants; close, listed, delisting, and ``member`` for the
    coins of a point-in-time universe), in feed order."""
    symbols = tuple(frames)
    first = next(iter(frames.values()))
    times = utc_instants(first.index)
    closes = np.column_stack([f["close"].to_numpy(dtype=float) for f in frames.values()]) if frames else \
        np.empty((len(times), 0))
    listed = np.column_stack([f["listed"].to_numpy(dtype=float) for f in frames.values()])
    delisting = np.column_stack([f["delisting"].to_numpy(dtype=float) for f in frames.values()])
    tradable = (listed == 1.0) & (delisting == 0.0) & np.isfinite(closes)
    start = times[0] if trade_from is None else utc_instants(pd.DatetimeIndex([trade_from]))[0]
    return PlanBars(symbols, times, closes, tradable, times >= start, regime, {} if memo is None else memo,
                    member_columns(frames.values(), len(times)))


def member_columns(frames, n):
    """bars x coins of the frames' ``member`` columns (1 for a frame without one), or None when
    no frame has one (the fixed altcoin list)."""
    frames = list(frames)
    if not any("member" in f for f in frames):
        return None
    return np.column_stack([f["member"].to_numpy(dtype=float) if "member" in f else np.ones(n) for f in frames])


def plan_params(strategy, params, interval):
    """The parameters a plan reads: `strategy`'s defaults updated by `params`, its windows
    (``WINDOWS``: {name: fewest bars}) as counts of bars of `interval`; attribute access."""
    out = dict(strategy.params._getpairs())
    out.update(params or {})
    for name, minimum in getattr(strategy, "WINDOWS", {}).items():
        out[name] = window_bars(out[name], interval, f"strategy.{name}", minimum)
    return types.SimpleNamespace(**out)


def planned(strategy):
    """`strategy` if its decisions are all declared by its plan; else a ConfigError saying what
    to add (a subclass that overrides a decision method without a plan of its own would be run
    as its parent on the screening engine)."""
    name = strategy.__name__
    declares = next((k for k in strategy.__mro__ if "plan" in vars(k)), None)
    if declares is None:
        raise ConfigError(f"{name} declares no plan, so --engine fast cannot run it: give it a classmethod "
                          "plan(bars, p) returning a TargetPlan (README, 'Your own strategy'), or use "
                          "--engine backtrader")
    for klass in strategy.__mro__[:strategy.__mro__.index(declares)]:
        overridden = [m for m in DECISION_METHODS if m in vars(klass)]
        if overridden:
            raise ConfigError(f"{name} overrides {', '.join(overridden)} of {declares.__name__} without a plan of "
                              f"its own, so --engine fast would run it as {declares.__name__}: give {name} a "
                              "classmethod plan(bars, p) returning its TargetPlan, or use --engine backtrader")
    return strategy
