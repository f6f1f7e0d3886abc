"""The screening engine: many configurations of the rotation on one market, fast.

A batch goes: the signals (`canary.indicators.signals.evaluate`, the indicators' own array
functions; each indicator computed once per distinct set of its parameters in the batch)
-> the regime at each crypto bar close -> the portfolio kernel
(`canary.strategies.screening_kernel`, compiled, the configurations in parallel threads)
-> the values at every crypto bar close and the figures of `canary.runs.metrics`.

The Backtrader path stays the reference; this engine is held to it by the parity property
test (tests/test_screening_parity.py). `Screen.run` gives one configuration's full
`BacktestResult` (fills, orders, weights), which `canary run --engine fast` writes out.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canary.feeds.btfeeds import bt_datetimes
from canary.indicators.signals import evaluate
from canary.strategies import BuyAndHold, SmallCapRotation
from canary.strategies.screening import (
    alts_targets,
    basket_weights,
    market_arrays,
    regime_rows,
    rotation_fixed,
    run_fast,
    strategy_bars,
)
from canary.strategies.screening_kernel import (
    N_STATS,
    STAT_FEES,
    STAT_INVESTED,
    STAT_TRADED,
    STAT_TRADES,
    simulate_batch,
)

from .config import regime_params, rotation_params
from .metrics import COLUMNS, daily_closes, figures

BASKET_KEYS = ("weighting", "min_history", "vol_window", "momentum_window", "top_k")


@dataclass
class Screened:
    """A batch's results: ``values`` (configurations x bars: the portfolio value at each
    crypto bar close from the first trading bar, ``index``) and ``figures`` (one row per
    configuration, the columns of `canary.runs.metrics.COLUMNS`)."""

    index: pd.DatetimeIndex
    values: np.ndarray
    figures: pd.DataFrame

    def daily_returns(self):
        """Days x configurations: each configuration's returns from one daily close to the next,
        as `canary.runs.metrics` measures them (the columns of a tuning's return matrix)."""
        days, _ = daily_closes(self.index)
        v = self.values[:, days]
        return pd.DataFrame((v[:, 1:] / v[:, :-1] - 1.0).T, index=self.index[days][1:])


class Screen:
    """A market and its costs made ready for screening the rotation: its arrays, and the
    signals and baskets already computed, reused by every later batch."""

    def __init__(self, market, costs):
        self.market, self.costs = market, costs
        self.arrays = market_arrays(market)
        self._inputs = signal_inputs(market)
        self._signals = {}
        self._regimes = {}
        self._baskets = {}

    # -- what configurations share ----------------------------------------------------------
    def regimes(self, config):
        """The regime at each bar of the clock under the configuration's [filter] sections
        (int8), from the declared signals."""
        key = _freeze(config["filter"])
        if key not in self._regimes:
            out = evaluate(self._inputs, regime_params(config), self.arrays.interval, cache=self._signals)
            self._regimes[key] = out["regime"].astype(np.int8)
        return self._regimes[key]

    def basket(self, strategy):
        key = tuple(strategy[k] for k in BASKET_KEYS)
        if key not in self._baskets:
            self._baskets[key] = basket_weights(self.arrays, *key)
        return self._baskets[key]

    # -- one configuration, every record -------------------------------------------------------
    def run(self, config, name="rotation"):
        """The rotation under `config` as a `BacktestResult`, as `run_backtest` records it."""
        return run_fast(self.market, SmallCapRotation, rotation_params(config), self.costs, name=name,
                        regimes=self.regimes(config), arrays=self.arrays)

    def benchmark(self, symbol, cash_buffer, name="btc_buy_hold"):
        return run_fast(self.market, BuyAndHold, {"symbol": symbol, "cash_buffer": cash_buffer}, self.costs,
                        name=name, arrays=self.arrays)

    # -- many configurations, values and figures -------------------------------------------------
    def screen(self, configs, chunk=1024, progress=None):
        """Every configuration of `configs` (validated configurations): a `Screened`."""
        a = self.arrays
        n, k = a.closes.shape
        m = n - a.t0
        values = np.empty((len(configs), m))
        stats = np.zeros((len(configs), N_STATS))
        index = pd.DatetimeIndex(a.clock[a.t0:].as_unit("us"), name="close_time")
        parts = []
        for lo in range(0, len(configs), chunk):   # chunks bound the memory of the figures' arithmetic
            hi = min(lo + chunk, len(configs))
            v, st = values[lo:hi], stats[lo:hi]
            self._screen(configs[lo:hi], v, st)
            parts.append(pd.DataFrame(figures(v, index, st[:, STAT_INVESTED] / m, st[:, STAT_TRADED],
                                              st[:, STAT_TRADES], st[:, STAT_FEES])))
            if progress:
                progress(hi - lo)
        figs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COLUMNS))
        return Screened(index, values, figs)

    def _screen(self, configs, values, stats):
        a = self.arrays
        k = a.closes.shape[1]
        phase_sets, phase_of, varying_sets, varying_of = {}, [], {}, []
        fixed = np.empty((len(configs), 3, k))
        ints = np.empty((len(configs), 2), dtype=np.int64)
        floats = np.empty((len(configs), 2))
        for i, config in enumerate(configs):
            s = strategy_bars(SmallCapRotation, rotation_params(config), a.interval)
            regime = self.regimes(config)
            phase_of.append(phase_sets.setdefault(id(regime), (len(phase_sets), regime))[0])
            vkey = tuple(s[k] for k in BASKET_KEYS) + (s["alt_core"],)
            if vkey not in varying_sets:
                varying_sets[vkey] = (len(varying_sets), alts_targets(self.basket(s), s["alt_core"]))
            varying_of.append(varying_sets[vkey][0])
            fixed[i] = rotation_fixed(k, s["defensive"], s["eth_weight"])
            ints[i] = s["min_hold"], s["rebalance_every"]
            floats[i] = s["drift_band"], s["cash_buffer"]
        phases = np.stack([r.astype(np.int64) for _, r in sorted(phase_sets.values(), key=lambda x: x[0])])
        rows = np.stack([regime_rows(p) for p in phases])
        varying = np.stack([v for _, v in sorted(varying_sets.values(), key=lambda x: x[0])])
        c = self.costs
        simulate_batch(a.opens, a.highs, a.lows, a.closes, a.marks, a.listed, a.delisting, a.equity_step, a.t0,
                       phases, rows, np.asarray(phase_of, dtype=np.int64), fixed, varying,
                       np.asarray(varying_of, dtype=np.int64), np.ascontiguousarray(ints[:, 0]),
                       np.ascontiguousarray(ints[:, 1]), np.ascontiguousarray(floats[:, 0]),
                       np.ascontiguousarray(floats[:, 1]), c.fee_bp / 1e4, c.slippage_bp / 1e4,
                       (c.fee_bp + c.slippage_bp) / 1e4, c.fill == "close", float(c.cash), values, stats)


def signal_inputs(market):
    """The inputs of `canary.indicators.signals.evaluate`: close, volume and close instants
    (Backtrader day numbers, as the indicators see them) per role; the altcoins as bars x coins."""
    u = market.universe
    instants = bt_datetimes(market.clock)

    def crypto(symbols):
        frames = [market.crypto[s] for s in symbols]
        return {field: np.column_stack([f[field].to_numpy(dtype=float) for f in frames]) for field in ("close", "volume")}

    out = {role: {"close": market.crypto[s]["close"].to_numpy(dtype=float),
                  "volume": market.crypto[s]["volume"].to_numpy(dtype=float), "datetime": instants}
           for role, s in (("btc", u.btc), ("eth", u.eth))}
    out["alts"] = dict(crypto(u.alts) if u.alts else {"close": np.empty((len(instants), 0)),
                                                       "volume": np.empty((len(instants), 0))}, datetime=instants)
    for role, s in (("small_cap", u.small_cap), ("large_cap", u.large_cap)):
        frame = market.equity[s]
        out[role] = {"close": frame["close"].to_numpy(dtype=float), "volume": frame["volume"].to_numpy(dtype=float),
                     "datetime": bt_datetimes(frame.index)}
    return out


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value
