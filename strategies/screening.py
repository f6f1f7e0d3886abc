"""Planned strategies on the screening kernel instead of Backtrader.

`run_fast(market, strategy, params, costs)` returns the same `BacktestResult` as
`run_backtest` (values, cash and positions at each crypto bar close, fills, orders, refused
orders) for any target-weight strategy that declares its plan (`canary.strategies.plan`):
the rotation, the benchmarks and a user's own, computed by `screening_kernel.simulate` from
the plan over the market's arrays. A regime a plan reads comes from the caller (`regimes`,
one per bar of the clock): the screening engine of `canary.runs.screening` computes it from
the signals.

What differs from Backtrader is only how the same plan is read: over every bar at once
instead of bar by bar, the portfolio loop compiled. The parity property test
(tests/test_screening_parity.py) holds the two paths to the same regimes, fills and values.
"""
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .engine import BacktestResult, Costs, roles_of
from .plan import PlanBars, plan_params, planned, utc_instants
from .portfolio import TargetWeightStrategy
from .screening_kernel import MARGIN, N_STATS, STAT_REJECTED, simulate


@dataclass
class MarketArrays:
    """A market's crypto coins as arrays, bars x coins in feed order (BTC, ETH, the altcoins),
    on the master clock, with the first trading bar ``t0``; ``equity``: each equity series'
    close instants (int64 ns), for `equity_steps`."""

    universe: object
    symbols: tuple
    clock: pd.DatetimeIndex
    opens: np.ndarray
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    marks: np.ndarray
    listed: np.ndarray
    delisting: np.ndarray
    equity: dict
    t0: int
    interval: pd.Timedelta
    _planned: dict = field(default_factory=dict, repr=False)

    @cached_property
    def tradable(self):
        """`TargetWeightStrategy.tradable` at every bar: listed, no delisting notice, a price."""
        return (self.listed == 1.0) & (self.delisting == 0.0) & np.isfinite(self.closes)

    def equity_steps(self, symbols):
        """Per bar: True where a close of one of the equity series `symbols` falls strictly
        between the bar before and this one (Backtrader then takes a step of its own there)."""
        instants = self.clock.as_unit("ns").asi8
        step = np.zeros(len(instants), dtype=np.bool_)
        for s in symbols:
            eq = self.equity[s]
            pos = np.searchsorted(instants, eq, side="left")   # first crypto close at or after it
            strictly = (pos < len(instants)) & (pos > 0)
            strictly &= instants[np.minimum(pos, len(instants) - 1)] != eq
            step[pos[strictly]] = True
        return step

    def planned(self, strategy):
        """`Planned` for `strategy` on these arrays, made once per strategy class."""
        if strategy not in self._planned:
            self._planned[strategy] = Planned(self, strategy)
        return self._planned[strategy]


def market_arrays(market):
    symbols = tuple(market.universe.crypto)
    frames = [market.crypto[s] for s in symbols]

    def stack(column):
        return np.ascontiguousarray(np.column_stack([f[column].to_numpy(dtype="float64") for f in frames]))

    clock = market.clock
    equity = {s: pd.DatetimeIndex(f.index).as_unit("ns").asi8 for s, f in market.equity.items()}
    t0 = int(np.searchsorted(clock.as_unit("ns").asi8, market.start.as_unit("ns").value, side="left"))
    return MarketArrays(market.universe, symbols, clock, stack("open"), stack("high"), stack("low"), stack("close"),
                        stack("mark"), stack("listed"), stack("delisting"), equity, t0, market.interval)


# -- any planned strategy on the kernel ---------------------------------------------------

EQUITY_ROLES = ("small_cap", "large_cap")


def reads_regime(strategy):
    """True if `strategy`'s plan reads the risk regime (it returns a `regime_line`)."""
    return strategy.regime_line is not TargetWeightStrategy.regime_line


class Planned:
    """A planned strategy made ready for the kernel on one market: its coins' columns of the
    market's arrays, their `PlanBars` (one memo for every configuration of the strategy) and
    the equity steps of its feeds."""

    def __init__(self, arrays, strategy):
        self.strategy = planned(strategy)
        roles = roles_of(strategy)
        coins = [s for role in roles if role not in EQUITY_ROLES for s in arrays.universe.of(role)]
        self.symbols = tuple(coins)
        self.columns = np.asarray([arrays.symbols.index(s) for s in coins], dtype=np.int64)
        self.arrays = arrays
        self.equity_step = arrays.equity_steps([s for role in roles if role in EQUITY_ROLES
                                                for s in arrays.universe.of(role)])
        n = len(arrays.clock)
        self.bars = PlanBars(self.symbols, utc_instants(arrays.clock), arrays.closes[:, self.columns],
                             arrays.tradable[:, self.columns], np.arange(n) >= arrays.t0, None, {})
        self.prices = tuple(np.ascontiguousarray(x[:, self.columns]) for x in
                            (arrays.opens, arrays.highs, arrays.lows, arrays.closes, arrays.marks, arrays.listed,
                             arrays.delisting))

    def params(self, params):
        return plan_params(self.strategy, params, self.arrays.interval)

    def plan(self, p, regimes=None):
        """The strategy's `TargetPlan` over the whole history under parameters `p` (`params`)."""
        if reads_regime(self.strategy):
            if regimes is None:
                raise ValueError(f"{self.strategy.__name__} on the screening kernel needs its regimes")
            bars = self.bars._replace(regime=regimes)
        else:
            bars = self.bars
        return self.strategy.plan(bars, p)


def run_fast(market, strategy, params=None, costs=None, name=None, regimes=None, arrays=None):
    """`run_backtest` on the screening kernel: the same `BacktestResult` for any strategy that
    declares its plan (`canary.strategies.plan`). ``regimes``: the risk regime at every bar of
    the clock, for a strategy whose plan reads one."""
    costs = costs or Costs()
    arrays = arrays or market_arrays(market)
    ready = arrays.planned(strategy)
    p = ready.params(params)
    plan = ready.plan(p, regimes)
    n, k = plan.phase.shape[0], len(ready.symbols)
    m = n - arrays.t0
    values, cash = np.empty(m), np.empty(m)
    held = np.empty((m, k))
    fills, orders = np.empty((2 * m * k + k, 7)), np.empty((2 * m * k + k, 5))
    stats = np.zeros(N_STATS)
    fee, slip = costs.fee_bp / 1e4, costs.slippage_bp / 1e4
    varying = plan.varying if plan.varying is not None else np.zeros((n, k))
    n_f, n_r = simulate(*ready.prices, ready.equity_step, arrays.t0, np.asarray(plan.phase, dtype=np.int64),
                        np.asarray(plan.row, dtype=np.int64), np.ascontiguousarray(plan.fixed, dtype=float),
                        np.ascontiguousarray(varying, dtype=float), int(plan.min_hold), int(plan.rebalance_every),
                        p.drift_band, p.cash_buffer, fee, slip, (costs.fee_bp + costs.slippage_bp) / 1e4,
                        costs.fill == "close", float(costs.cash), True, values, cash, held, fills, orders, stats)
    return _result(arrays, ready.symbols, name or strategy.__name__, values, cash, held, fills[:n_f],
                   orders[:n_r], stats, regimes if reads_regime(strategy) else None, params, costs)


def _result(arrays, coins, name, values, cash, held, fills, orders, stats, regimes, params, costs):
    clock = arrays.clock.as_unit("us")   # the recorder's instants come from Backtrader's microseconds
    index = pd.DatetimeIndex(clock[arrays.t0:], name="close_time")
    symbols = np.asarray(coins, dtype=object)
    portfolio = pd.DataFrame({"value": values, "cash": cash}, index=index)
    for c, symbol in enumerate(coins):
        portfolio[symbol] = held[:, c]
    if regimes is not None:
        portfolio["regime"] = np.asarray(regimes)[arrays.t0:].astype("float64")
    decided = clock[fills[:, 0].astype(np.int64)]
    filled = clock[fills[:, 1].astype(np.int64)] if costs.fill == "open" else decided
    if costs.fill == "open":
        filled = filled - arrays.interval
    side = np.where(fills[:, 3] == 1.0, "buy", "sell")
    # Backtrader records a fill's price as its executed value over its size, which can differ
    # from the price traded in the last bit: the recorded price is computed the same way.
    price = fills[:, 4] * fills[:, 5] / fills[:, 4]
    frame = pd.DataFrame({"date": filled, "symbol": symbols[fills[:, 2].astype(np.int64)], "side": side,
                          "size": fills[:, 4], "price": price, "value": fills[:, 4] * price,
                          "fee": fills[:, 6], "decided": decided})
    status = np.where(orders[:, 4] == MARGIN, "Margin", "Completed")
    order_frame = pd.DataFrame({"decided": clock[orders[:, 0].astype(np.int64)],
                                "symbol": symbols[orders[:, 1].astype(np.int64)],
                                "side": np.where(orders[:, 2] == 1.0, "buy", "sell"), "size": orders[:, 3],
                                "status": status})
    rejected = int(stats[STAT_REJECTED])
    return BacktestResult(name, portfolio, frame, rejected, dict(params or {}), order_frame)
