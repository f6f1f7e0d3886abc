"""The screening engine: many configurations of a planned strategy on one market, fast.

A batch goes: the signals (`canary.indicators.signals.evaluate`, the indicators' own array
functions; each indicator computed once per distinct set of its parameters in the batch)
-> the regime at each crypto bar close -> the portfolio kernel
(`canary.strategies.screening_kernel`, compiled, the configurations in parallel threads)
-> the values at every crypto bar close and the figures of `canary.runs.report.metrics`.

The Backtrader path stays the reference; this engine is held to it by the parity property
test (tests/test_screening_parity.py). `Screen.run` gives one configuration's full
`BacktestResult` (fills, orders, weights), which `canary run --engine fast` writes out.
"""
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canary.feeds.btfeeds import bt_datetimes
from canary.feeds.roles import EQUITY, declared
from canary.indicators.signals import evaluate
from canary.strategies import BuyAndHold
from canary.strategies.screening import market_arrays, reads_regime, run_fast
from canary.strategies.screening_kernel import (
    N_STATS,
    STAT_FEES,
    STAT_INVESTED,
    STAT_TRADED,
    STAT_TRADES,
    Batch,
    Frictions,
    simulate_batch,
)

from .config import regime_params, strategy_params
from .report.figures import bar_returns
from .report.metrics import COLUMNS, figures


@dataclass
class Screened:
    """A batch's results: ``values`` (configurations x bars: the portfolio value at each
    crypto bar close from the first trading bar, ``index``) and ``figures`` (one row per
    configuration, the columns of `canary.runs.report.metrics.COLUMNS`)."""

    index: pd.DatetimeIndex
    values: np.ndarray
    figures: pd.DataFrame

    def bar_returns(self):
        """Bars x configurations: each configuration's returns at every bar from its first daily
        close (`canary.runs.report.figures.bar_returns`; the columns of a tuning's return matrix)."""
        r, index = bar_returns(self.values, self.index)
        return pd.DataFrame(r, index=index)


class Screen:
    """A market and its costs made ready for screening the configured strategy: its arrays,
    and the signals and plans already computed, reused by every later batch."""

    def __init__(self, market, costs):
        self.market, self.costs = market, costs
        self.arrays = market_arrays(market)
        self._inputs = signal_inputs(market)
        self._signals = {}
        self._regimes = {}

    # -- what configurations share ----------------------------------------------------------
    def regimes(self, config):
        """The regime at each bar of the clock under the configuration's [filter] sections
        (int64), from the declared signals."""
        key = config.filter
        if key not in self._regimes:
            out = evaluate(self._inputs, regime_params(config), self.arrays.interval, cache=self._signals)
            self._regimes[key] = out["regime"].astype(np.int64)
        return self._regimes[key]

    def _planned(self, config):
        cls, params = strategy_params(config)
        regimes = self.regimes(config) if reads_regime(cls) else None
        return cls, params, regimes

    # -- one configuration, every record -------------------------------------------------------
    def run(self, config, name="rotation"):
        """The configured strategy under `config` as a `BacktestResult`, as `run_backtest` records it."""
        cls, params, regimes = self._planned(config)
        return run_fast(self.market, cls, params, self.costs, name=name, regimes=regimes, arrays=self.arrays)

    def benchmark(self, symbol, cash_buffer, name="btc_buy_hold"):
        return run_fast(self.market, BuyAndHold, {"symbol": symbol, "cash_buffer": cash_buffer}, self.costs,
                        name=name, arrays=self.arrays)

    # -- many configurations, values and figures -------------------------------------------------
    def screen(self, configs, chunk=1024, progress=None):
        """Every configuration of `configs` (validated configurations of one strategy class): a `Screened`."""
        index, values, stats = self._simulated(configs, chunk, progress)
        m = values.shape[1]
        parts = []
        for lo in range(0, len(configs), chunk):   # chunks bound the memory of the figures' arithmetic
            v, st = values[lo:lo + chunk], stats[lo:lo + chunk]
            parts.append(pd.DataFrame(figures(v, index, st[:, STAT_INVESTED] / m, st[:, STAT_TRADED],
                                              st[:, STAT_TRADES], st[:, STAT_FEES])))
        figs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(COLUMNS))
        return Screened(index, values, figs)

    def bar_returns(self, configs, chunk=1024):
        """(bars x configurations array, close instants): each configuration's returns at every
        bar from its first daily close, as `screen(configs).bar_returns()` gives them, without the
        figures, which a tuning does not read."""
        index, values, _ = self._simulated(configs, chunk)
        return bar_returns(values, index)

    def _simulated(self, configs, chunk, progress=None):
        """(bar close instants, configurations x bars values, configurations x N_STATS counts)."""
        a = self.arrays
        m = len(a.clock) - a.t0
        values = np.empty((len(configs), m))
        stats = np.zeros((len(configs), N_STATS))
        for lo in range(0, len(configs), chunk):   # chunks bound the memory of a batch's plans
            hi = min(lo + chunk, len(configs))
            self._screen(configs[lo:hi], values[lo:hi], stats[lo:hi])
            if progress:
                progress(hi - lo)
        return pd.DatetimeIndex(a.clock[a.t0:].as_unit("us"), name="close_time"), values, stats

    def _screen(self, configs, values, stats):
        a = self.arrays
        runs = len(configs)
        phase_sets, phase_of, varying_sets, varying_of, plans, params = {}, [], {}, [], [], []
        ready = None
        for config in configs:
            cls, strategy, regimes = self._planned(config)
            ready = a.planned(cls)
            p = ready.params(strategy)
            plan = ready.plan(p, regimes)
            phase = np.asarray(plan.phase, dtype=np.int64)
            row = np.asarray(plan.row, dtype=np.int64)
            key = hashlib.blake2b(phase.tobytes() + row.tobytes(), digest_size=16).digest()   # shared in a batch
            phase_of.append(phase_sets.setdefault(key, (len(phase_sets), phase, row))[0])
            varying = plan.varying if plan.varying is not None else ready.no_varying()
            varying_of.append(varying_sets.setdefault(id(varying), (len(varying_sets), varying))[0])
            plans.append(plan)
            params.append(p)
        k = len(ready.symbols)
        fixed = np.zeros((runs, max(len(p.fixed) for p in plans), k))
        for i, plan in enumerate(plans):
            fixed[i, :len(plan.fixed)] = plan.fixed
        phases = np.stack([ph for _, ph, _ in phase_sets.values()])
        rows = np.stack([r for _, _, r in phase_sets.values()])
        varying = np.stack([np.asarray(v, dtype=float) for _, v in varying_sets.values()])
        batch = Batch(phases, rows, np.asarray(phase_of, dtype=np.int64), fixed, varying,
                      np.asarray(varying_of, dtype=np.int64), np.asarray([p.min_hold for p in plans], dtype=np.int64),
                      np.asarray([p.rebalance_every for p in plans], dtype=np.int64),
                      np.asarray([p.drift_band for p in params], dtype=float),
                      np.asarray([p.cash_buffer for p in params], dtype=float))
        simulate_batch(ready.prices, batch, Frictions.of(self.costs), a.t0, values, stats)


def signal_inputs(market):
    """The inputs of `canary.indicators.signals.evaluate`, for every declared role: close,
    volume and close instants (Backtrader day numbers, as the indicators see them); coins on
    the master clock (a role of many coins as bars x coins), indices on their sessions."""
    u = market.universe
    instants = bt_datetimes(market.clock)

    def fields(frames, many):
        if not many:
            return {f: frames[0][f].to_numpy(dtype=float) for f in ("close", "volume")}
        return {f: np.column_stack([x[f].to_numpy(dtype=float) for x in frames]) if frames
                else np.empty((len(instants), 0)) for f in ("close", "volume")}

    out = {}
    for r in declared():
        frames = [(market.equity if r.kind == EQUITY else market.crypto)[s] for s in u.of(r.name)]
        times = bt_datetimes(frames[0].index) if r.kind == EQUITY else instants
        out[r.name] = dict(fields(frames, r.many), datetime=times)
    return out

