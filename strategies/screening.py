"""The strategies of this package run on the screening kernel instead of Backtrader.

`run_fast(market, strategy, params, costs)` returns the same `BacktestResult` as
`run_backtest` (values, cash and positions at each crypto bar close, fills, orders, refused
orders) for the rotation and the benchmarks, computed by `screening_kernel.simulate` over the
market's arrays. The rotation's regime comes from the caller (`regimes`, one per bar of the
clock): the screening engine of `canary.runs.screening` computes it from the signals.

What differs from Backtrader is only how the same rules are evaluated: the altcoin basket of
every bar at once (`basket_weights`), the portfolio loop compiled. The parity property test
(tests/test_screening_parity.py) holds the two paths to the same regimes, fills and values.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numba import njit

from canary.errors import ConfigError
from canary.feeds.windows import window_bars

from .benchmarks import BtcEthMonthly, BuyAndHold, EqualWeightBasket
from .engine import BacktestResult, Costs
from .rotation import SmallCapRotation
from .screening_kernel import MARGIN, N_STATS, STAT_REJECTED, simulate

RISK_OFF, BTC_ROW, ETH_ROW, VARYING = 0, 1, 2, -1


@dataclass
class MarketArrays:
    """A market's crypto coins as arrays, bars x coins in feed order (BTC, ETH, the altcoins),
    on the master clock, with the first trading bar ``t0`` and, per bar, whether an equity
    close fell between it and the bar before (``equity_step``)."""

    symbols: tuple
    clock: pd.DatetimeIndex
    opens: np.ndarray
    highs: np.ndarray
    lows: np.ndarray
    closes: np.ndarray
    marks: np.ndarray
    listed: np.ndarray
    delisting: np.ndarray
    equity_step: np.ndarray
    t0: int
    interval: pd.Timedelta

    @cached_property
    def tradable(self):
        """`TargetWeightStrategy.tradable` at every bar: listed, no delisting notice, a price."""
        return (self.listed == 1.0) & (self.delisting == 0.0) & np.isfinite(self.closes)


def market_arrays(market):
    symbols = tuple(market.universe.crypto)
    frames = [market.crypto[s] for s in symbols]

    def stack(column):
        return np.ascontiguousarray(np.column_stack([f[column].to_numpy(dtype="float64") for f in frames]))

    clock = market.clock
    instants = clock.as_unit("ns").asi8
    step = np.zeros(len(clock), dtype=np.bool_)
    for frame in market.equity.values():
        eq = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
        pos = np.searchsorted(instants, eq, side="left")   # first crypto close at or after it
        strictly = (pos < len(instants)) & (pos > 0)
        strictly &= instants[np.minimum(pos, len(instants) - 1)] != eq
        step[pos[strictly]] = True
    t0 = int(np.searchsorted(instants, market.start.as_unit("ns").value, side="left"))
    return MarketArrays(symbols, clock, stack("open"), stack("high"), stack("low"), stack("close"), stack("mark"),
                        stack("listed"), stack("delisting"), step, t0, market.interval)


# -- the rotation's altcoin basket, every bar at once ----------------------------------------

@njit(cache=True)
def _block(a, lo, hi):
    """numpy's pairwise sum of at most 128 values: 8 running sums, then the rest in turn."""
    n = hi - lo
    if n < 8:
        res = 0.0
        for i in range(lo, hi):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = lo + 8
    end = lo + n - n % 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < hi:
        res += a[i]
        i += 1
    return res


@njit(cache=True)
def _sum(a, lo, hi):
    """numpy's pairwise sum of a[lo:hi] (`np.sum` of a float64 array), to the last bit: blocks
    of at most 128, halves (cut at a multiple of 8) added. Its recursion is unrolled onto an
    explicit stack: numba's on-disk cache mishandles recursive functions."""
    if hi - lo <= 128:
        return _block(a, lo, hi)
    f_lo = np.empty(64, dtype=np.int64)
    f_hi = np.empty(64, dtype=np.int64)
    f_stage = np.zeros(64, dtype=np.int64)
    f_left = np.empty(64)
    d = 0
    f_lo[0], f_hi[0] = lo, hi
    ret = 0.0
    while True:
        l, h = f_lo[d], f_hi[d]
        n = h - l
        if n <= 128 or f_stage[d] == 2:
            ret = _block(a, l, h) if n <= 128 else f_left[d] + ret
            d -= 1
            if d < 0:
                return ret
            continue
        n2 = n // 2
        n2 -= n2 % 8
        if f_stage[d] == 0:
            f_stage[d] = 1
            d += 1
            f_lo[d], f_hi[d], f_stage[d] = l, l + n2, 0
        else:
            f_left[d] = ret
            f_stage[d] = 2
            d += 1
            f_lo[d], f_hi[d], f_stage[d] = l + n2, h, 0


@njit(cache=True)
def _nanstd(x, work):
    """`np.nanstd(x)` (population), computed as numpy computes it, so that the weights, and the
    orders sized from them, agree with the Backtrader path to the last bit."""
    m = x.shape[0]
    count = 0
    for i in range(m):
        if np.isnan(x[i]):
            work[i] = 0.0
        else:
            work[i] = x[i]
            count += 1
    if count == 0:
        return np.nan
    avg = _sum(work, 0, m) / count
    for i in range(m):
        d = 0.0 if np.isnan(x[i]) else work[i] - avg
        work[i] = d * d
    return np.sqrt(_sum(work, 0, m) / count)


@njit(cache=True)
def _inverse_vol(logs, eligible, first, vol_window, out):
    """`SmallCapRotation.basket_weights` with ``inverse_vol``: each eligible coin's weight is
    1 / the population standard deviation of its log returns over the last ``vol_window``
    bars (NaN returns left out), normalised. Backtrader's ``close.get(size=vol_window + 1)``
    slices the preloaded array from ``t - vol_window``: before the array's start that index
    counts from its end (Python slicing), which gives no window at all: the coin gets no weight."""
    n, k = logs.shape
    inv = np.zeros(k)
    rets = np.empty(n)
    work = np.empty(n)
    for t in range(first, n):
        total = 0.0
        for c in range(k):
            inv[c] = 0.0
            if not eligible[t, c]:
                continue
            start = t - vol_window
            if start < 0:
                start += n
                if start < 0:
                    start = 0
            m = 0
            for j in range(start + 1, t + 1):
                rets[m] = logs[j, c] - logs[j - 1, c]
                m += 1
            vol = _nanstd(rets[:m], work)
            if np.isfinite(vol) and vol > 0:
                inv[c] = 1.0 / vol
                total += inv[c]
        for c in range(k):
            if inv[c] > 0:
                out[t, c] = inv[c] / total


@njit(cache=True)
def _momentum(closes, eligible, first, window, top_k, out):
    """`basket_weights` with ``momentum``: the ``top_k`` eligible coins by return over
    ``window`` bars (ties kept in feed order, as Python's stable sort does), equally."""
    n, k = closes.shape
    score = np.empty(k)
    order = np.empty(k, dtype=np.int64)
    for t in range(first, n):
        m = 0
        for c in range(k):
            if not eligible[t, c] or t + 1 <= window:
                continue
            past = closes[t - window, c]
            if np.isfinite(past):
                score[m] = closes[t, c] / past - 1.0
                order[m] = c
                m += 1
        # stable insertion sort, best first
        for i in range(1, m):
            s, c = score[i], order[i]
            j = i - 1
            while j >= 0 and score[j] < s:
                score[j + 1], order[j + 1] = score[j], order[j]
                j -= 1
            score[j + 1], order[j + 1] = s, c
        top = min(m, top_k)
        for i in range(top):
            out[t, order[i]] = 1.0 / top


def basket_weights(arrays, weighting, min_history, vol_window, momentum_window, top_k):
    """The rotation's altcoin basket at every bar (bars x coins; BTC and ETH columns 0): the
    altcoins tradable at the bar with ``min_history`` finite closes behind them, weighted as
    `SmallCapRotation.basket_weights` does."""
    closes = arrays.closes
    n, k = closes.shape
    finite = np.vstack([np.zeros((1, k)), np.cumsum(np.isfinite(closes), axis=0)])
    t = np.arange(n)[:, None]
    lo = np.maximum(t + 1 - min_history, 0)
    full = (finite[t + 1, np.arange(k)] - finite[lo, np.arange(k)]) == min_history
    eligible = arrays.tradable & full & (t + 1 >= min_history)
    eligible[:, :2] = False
    out = np.zeros((n, k))
    first = arrays.t0
    if weighting == "equal":
        count = eligible.sum(axis=1, keepdims=True)
        np.divide(1.0, count, out=out, where=eligible & (count > 0))
    elif weighting == "inverse_vol":
        with np.errstate(invalid="ignore"):
            logs = np.log(closes)   # numpy's log, as the Backtrader path takes it
        _inverse_vol(logs, eligible, first, vol_window, out)
    else:
        _momentum(closes, eligible, first, momentum_window, top_k, out)
    return out


def alts_targets(basket, alt_core):
    """The alts regime's targets from the basket: ``alt_core`` in BTC/ETH 50/50, the rest in
    the basket; all in the core when the basket is empty."""
    empty = ~(basket > 0).any(axis=1)
    core = np.where(empty, 1.0, alt_core)
    out = basket * (1.0 - core)[:, None]
    out[:, 0] += core / 2
    out[:, 1] += core / 2
    return out


def rotation_fixed(k, defensive, eth_weight):
    """Targets of the risk-off, btc and eth regimes (rows 0-2)."""
    fixed = np.zeros((3, k))
    fixed[RISK_OFF, 0] = 1.0 if defensive == "btc" else 0.0
    fixed[BTC_ROW, 0] = 1.0
    fixed[ETH_ROW, 1] = eth_weight
    fixed[ETH_ROW, 0] = 1.0 - eth_weight
    return fixed


def regime_rows(regimes):
    """Where each regime's targets are: rows 0-2 of the fixed targets, the basket for alts."""
    return np.where(regimes == 3, VARYING, regimes).astype(np.int64)


# -- each strategy as phases and targets ------------------------------------------------------

def strategy_bars(strategy, params, interval):
    """The strategy's parameters over its defaults, its windows (`WINDOWS`) in bars of `interval`."""
    out = dict(strategy.params._getpairs())
    out.update(params or {})
    for name, minimum in getattr(strategy, "WINDOWS", {}).items():
        out[name] = window_bars(out[name], interval, f"strategy.{name}", minimum)
    return out


def _rotation(arrays, p, regimes):
    if regimes is None:
        raise ValueError("the rotation on the screening kernel needs its regimes")
    phase = np.asarray(regimes, dtype=np.int64)
    k = len(arrays.symbols)
    basket = basket_weights(arrays, p["weighting"], p["min_history"], p["vol_window"], p["momentum_window"],
                            p["top_k"])
    return (phase, regime_rows(phase), rotation_fixed(k, p["defensive"], p["eth_weight"]),
            alts_targets(basket, p["alt_core"]), p["min_hold"], p["rebalance_every"], arrays.symbols)


def _buy_and_hold(arrays, p, regimes):
    symbols = arrays.symbols
    BuyAndHold.check_symbol(p["symbol"], symbols[:2])
    c = symbols.index(p["symbol"]) if p["symbol"] else 0
    tradable = arrays.tradable[:, c].copy()
    tradable[:arrays.t0] = False
    # due once, at the first trading bar where the coin is tradable: phase 0 (nothing) then 1
    phase = np.maximum.accumulate(tradable).astype(np.int64)
    fixed = np.zeros((2, len(symbols)))
    fixed[1, c] = 1.0
    return phase, phase.copy(), fixed, np.zeros_like(arrays.closes), 0, 0, symbols[:2]


def _equal_weight_basket(arrays, p, regimes):
    n, k = arrays.closes.shape
    varying = np.zeros((n, k))
    listed = arrays.tradable[arrays.t0, 2:]
    if listed.any():
        varying[arrays.t0, 2:][listed] = 1.0 / listed.sum()
    phase = np.ones(n, dtype=np.int64)
    return (phase, np.full(n, VARYING, dtype=np.int64), np.zeros((1, k)), varying, 0, 0,
            (arrays.symbols[0],) + arrays.symbols[2:])


def _btc_eth_monthly(arrays, p, regimes):
    k = len(arrays.symbols)
    months = (arrays.clock.year * 12 + arrays.clock.month).to_numpy(dtype=np.int64)
    fixed = np.zeros((1, k))
    fixed[0, :2] = 0.5
    return months, np.zeros(len(months), dtype=np.int64), fixed, np.zeros((len(months), k)), 0, 0, \
        arrays.symbols[:2]


PLANS = {SmallCapRotation: _rotation, BuyAndHold: _buy_and_hold, EqualWeightBasket: _equal_weight_basket,
         BtcEthMonthly: _btc_eth_monthly}


def run_fast(market, strategy, params=None, costs=None, name=None, regimes=None, arrays=None):
    """`run_backtest` on the screening kernel: the same `BacktestResult` for the rotation and
    the benchmarks (`PLANS`). ``regimes``: the rotation's regime at every bar of the clock."""
    if strategy not in PLANS:
        raise ConfigError(f"--engine fast runs {', '.join(c.__name__ for c in PLANS)}, not {strategy.__name__}: "
                          "use --engine backtrader")
    costs = costs or Costs()
    arrays = arrays or market_arrays(market)
    p = strategy_bars(strategy, params, arrays.interval)
    phase, rows, fixed, varying, min_hold, rebalance_every, shown = PLANS[strategy](arrays, p, regimes)
    equity_step = arrays.equity_step if strategy is SmallCapRotation else np.zeros_like(arrays.equity_step)
    n, k = arrays.closes.shape
    m = n - arrays.t0
    values, cash = np.empty(m), np.empty(m)
    held = np.empty((m, k))
    fills, orders = np.empty((2 * m * k + k, 7)), np.empty((2 * m * k + k, 5))
    stats = np.zeros(N_STATS)
    fee, slip = costs.fee_bp / 1e4, costs.slippage_bp / 1e4
    n_f, n_r = simulate(arrays.opens, arrays.highs, arrays.lows, arrays.closes, arrays.marks, arrays.listed,
                        arrays.delisting, equity_step, arrays.t0, phase, rows, fixed, varying,
                        min_hold, rebalance_every, p["drift_band"], p["cash_buffer"], fee, slip,
                        (costs.fee_bp + costs.slippage_bp) / 1e4, costs.fill == "close", float(costs.cash),
                        True, values, cash, held, fills, orders, stats)
    return _result(arrays, name or strategy.__name__, values, cash, held, fills[:n_f], orders[:n_r], stats, shown,
                   phase if strategy is SmallCapRotation else None, params, costs)


def _result(arrays, name, values, cash, held, fills, orders, stats, shown, regimes, params, costs):
    clock = arrays.clock.as_unit("us")   # the recorder's instants come from Backtrader's microseconds
    index = pd.DatetimeIndex(clock[arrays.t0:], name="close_time")
    symbols = np.asarray(arrays.symbols, dtype=object)
    columns = [arrays.symbols.index(s) for s in shown]
    portfolio = pd.DataFrame({"value": values, "cash": cash}, index=index)
    for c in columns:
        portfolio[arrays.symbols[c]] = held[:, c]
    if regimes is not None:
        portfolio["regime"] = regimes[arrays.t0:].astype("float64")
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
