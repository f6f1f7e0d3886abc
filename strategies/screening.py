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

from canary.feeds.roles import CRYPTO, EQUITY, role

from .costs import Costs
from .engine import BacktestResult, check_given, roles_of
from .plan import PlanBars, member_columns, plan_params, planned, utc_instants
from .portfolio import TargetWeightStrategy
from .screening_kernel import FILL, MARGIN, N_STATS, ORDER, STAT_REJECTED, Frictions, Prices, Rules, simulate


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
    members: np.ndarray | None = None     # `PlanBars.members` of every coin (None: the fixed list)
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
    return MarketArrays(market.universe, symbols, clock, stack("open"), stack("high"), stack("low"), stack("close"),
                        stack("mark"), stack("listed"), stack("delisting"), equity, market.first_trading_bar,
                        market.interval, member_columns(frames, len(clock)))


# -- any planned strategy on the kernel ---------------------------------------------------

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
        coins = [s for name in roles if role(name).kind == CRYPTO for s in arrays.universe.of(name)]
        self.symbols = tuple(coins)
        self.columns = np.asarray([arrays.symbols.index(s) for s in coins], dtype=np.int64)
        self.arrays = arrays
        self.equity_step = arrays.equity_steps([s for name in roles if role(name).kind == EQUITY
                                                for s in arrays.universe.of(name)])
        n = len(arrays.clock)
        self.bars = PlanBars(self.symbols, utc_instants(arrays.clock), arrays.closes[:, self.columns],
                             arrays.tradable[:, self.columns], np.arange(n) >= arrays.t0, None, {},
                             None if arrays.members is None else arrays.members[:, self.columns])
        self.prices = Prices(*(np.ascontiguousarray(x[:, self.columns]) for x in
                               (arrays.opens, arrays.highs, arrays.lows, arrays.closes, arrays.marks, arrays.listed,
                                arrays.delisting)), self.equity_step)

    def params(self, params):
        return plan_params(self.strategy, params, self.arrays.interval)

    def rules(self, plan, p):
        """The kernel's `Rules` of a plan under parameters `p`."""
        varying = plan.varying if plan.varying is not None else self.no_varying()
        return Rules(np.asarray(plan.phase, dtype=np.int64), np.asarray(plan.row, dtype=np.int64),
                     np.ascontiguousarray(plan.fixed, dtype=float), np.ascontiguousarray(varying, dtype=float),
                     int(plan.min_hold), int(plan.rebalance_every), float(p.drift_band), float(p.cash_buffer))

    def no_varying(self):
        """One shared bars x coins array of zeros, for plans with fixed targets only."""
        if "no varying" not in self.bars.memo:
            self.bars.memo["no varying"] = np.zeros(self.bars.closes.shape)
        return self.bars.memo["no varying"]

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
    check_given(strategy, params or {})
    p = ready.params(params)
    plan = ready.plan(p, regimes)
    k = len(ready.symbols)
    m = len(arrays.clock) - arrays.t0
    values, cash = np.empty(m), np.empty(m)
    held = np.empty((m, k))
    fills, orders = np.empty(2 * m * k + k, FILL), np.empty(2 * m * k + k, ORDER)
    stats = np.zeros(N_STATS)
    n_f, n_r = simulate(ready.prices, ready.rules(plan, p), Frictions.of(costs), arrays.t0, True, values, cash, held,
                        fills, orders, stats)
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
    decided = clock[fills["decided"]]
    filled = clock[fills["filled"]] if costs.fill == "open" else decided
    if costs.fill == "open":
        filled = filled - arrays.interval
    side = np.where(fills["buy"], "buy", "sell")
    # Backtrader records a fill's price as its executed value over its size, which can differ
    # from the price traded in the last bit: the recorded price is computed the same way.
    size = fills["size"]
    price = size * fills["price"] / size
    frame = pd.DataFrame({"date": filled, "symbol": symbols[fills["coin"]], "side": side, "size": size,
                          "price": price, "value": size * price, "fee": fills["fee"], "decided": decided})
    status = np.where(orders["status"] == MARGIN, "Margin", "Completed")
    order_frame = pd.DataFrame({"decided": clock[orders["decided"]], "symbol": symbols[orders["coin"]],
                                "side": np.where(orders["buy"], "buy", "sell"), "size": orders["size"],
                                "status": status})
    rejected = int(stats[STAT_REJECTED])
    return BacktestResult(name, portfolio, frame, rejected, dict(params or {}), order_frame)
