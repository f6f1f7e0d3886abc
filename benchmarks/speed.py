"""Speed and memory of the two engines on the shipped data: prints labelled figures, asserts nothing.

    python benchmarks/speed.py            # about two minutes on 2 cores

Not collected by pytest (timings depend on the machine and its load). Each line is one figure:

* Backtrader path: trials (full default backtests) per second on every core, and the fast
  path's trials per second when only [strategy] keys vary and when [filter] keys vary too,
  with their ratio;
* the default backtest against bare Backtrader (an empty strategy over the same 22 feeds);
* `canary run` end to end (a new process, tear sheet included);
* a 10,000-point grid over [filter] and [strategy] keys screened end to end in a new process
  with an empty compilation cache (numba compiles first), and that process's peak memory.
"""
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import backtrader as bt
from printing import say

from canary.feeds.market import load_market
from canary.runs.backtest import plan, strategies
from canary.runs.config import load_config, with_values
from canary.runs.screening import Screen
from canary.strategies import run_backtest
from canary.strategies.engine import _feeds

CORES = os.cpu_count() or 1


def grid(config, spec):
    keys = list(spec)
    return [with_values(config, dict(zip(keys, values, strict=True)), space=False) for values in itertools.product(*spec.values())]


_SHARED = {}


def _backtest(params):
    return run_backtest(_SHARED["market"], _SHARED["cls"], params, _SHARED["costs"]).equity.iloc[-1]


def main():
    config = load_config()
    p = plan(config)
    market = load_market(p.library, p.universe, config.data.start)
    label, cls, params = strategies(p)[0]
    print(f"machine: {CORES} cores, Python {sys.version.split()[0]}; shipped data, default configuration, "
          f"{len(market.clock)} daily bars, {len(market.universe.symbols)} series")

    # -- the default backtest against bare Backtrader over the same feeds ----------------------
    def bare():
        cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True, quicknotify=True)
        for feed in _feeds(market, cls.roles):
            cerebro.adddata(feed)
        cerebro.addstrategy(bt.Strategy)
        cerebro.run()

    def best(func, repeat=3):
        """(wall, CPU) seconds, the best of `repeat` (CPU time is what a busy machine distorts least)."""
        walls, cpus = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            func()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        return min(walls), min(cpus)

    (w_bare, c_bare), (w_default, c_default) = best(bare), best(lambda: run_backtest(market, cls, params, p.costs))
    say("bare Backtrader, 22 feeds, empty strategy (s wall / CPU)", f"{w_bare:.2f} / {c_bare:.2f}")
    say("default rotation backtest (s wall / CPU)", f"{w_default:.2f} / {c_default:.2f}")
    say("default backtest / bare Backtrader (wall / CPU)", f"{w_default / w_bare:.2f} / {c_default / c_bare:.2f}", "x")

    # -- Backtrader path: trials per second on every core --------------------------------------
    trials = [dict(params, drift_band=0.01 + 0.005 * i) for i in range(2 * CORES)]
    _SHARED.update(market=market, cls=cls, costs=p.costs)
    t = time.perf_counter()
    with ProcessPoolExecutor(CORES, mp_context=get_context("fork")) as pool:
        list(pool.map(_backtest, trials))
    bt_rate = len(trials) / (time.perf_counter() - t)
    say(f"Backtrader path, trials/s ({CORES} processes)", f"{bt_rate:.2f}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {CORES} cores (other work slows every figure)")

    # -- fast path ---------------------------------------------------------------------------
    screen = Screen(market, p.costs)
    screen.screen([config])  # compiled code loaded
    strategy_grid = grid(config, {"strategy.weighting": ["equal", "inverse_vol", "momentum"],
                                  "strategy.min_hold": [0, 1, 3, 5], "strategy.rebalance_every": [0, 3, 7, 14],
                                  "strategy.drift_band": [0.01, 0.02, 0.05, 0.1],
                                  "strategy.cash_buffer": [0.0, 0.005, 0.01],
                                  "strategy.eth_weight": [0.5, 1.0]})
    t, c = time.perf_counter(), time.process_time()
    screen.screen(strategy_grid)
    fast_rate = len(strategy_grid) / (time.perf_counter() - t)
    say(f"fast path, trials/s, [strategy] keys vary ({len(strategy_grid)} trials)", f"{fast_rate:.0f}")
    say("fast path, CPU ms per trial, [strategy] keys vary", f"{(time.process_time() - c) / len(strategy_grid) * 1e3:.2f}")
    filter_grid = grid(config, {"filter.small_cap.confirm": [2, 3, 5, 8, 10],
                                "filter.small_cap.period": [50, 75, 100, 150, 200],
                                "filter.eth_btc.period": ["20d", "30d", "45d", "60d"],
                                "filter.failed_breakouts.max_rate": [0.4, 0.5, 0.6],
                                "strategy.min_hold": [1, 3]})
    fresh = Screen(market, p.costs)   # no signal computed yet
    t, c = time.perf_counter(), time.process_time()
    fresh.screen(filter_grid)
    filter_rate = len(filter_grid) / (time.perf_counter() - t)
    say(f"fast path, trials/s, [filter] keys vary ({len(filter_grid)} trials)", f"{filter_rate:.0f}")
    say("fast path, CPU ms per trial, [filter] keys vary", f"{(time.process_time() - c) / len(filter_grid) * 1e3:.2f}")
    say("fast path / Backtrader path ([strategy] keys)", f"{fast_rate / bt_rate:.0f}", "x")
    say("fast path / Backtrader path ([filter] keys)", f"{filter_rate / bt_rate:.0f}", "x")

    # -- canary run end to end ----------------------------------------------------------------
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "canary.runs", "-q", "run", "--out", out, "--name", "b"], check=True,
                       stdout=subprocess.DEVNULL)
        say("canary run, tear sheet included, end to end (s)", f"{time.perf_counter() - t:.2f}")

    # -- a 10,000-point grid, cold --------------------------------------------------------------
    script = textwrap.dedent("""
        import itertools, resource, sys, time
        t = time.perf_counter()
        from canary.feeds.market import load_market
        from canary.runs.backtest import plan
        from canary.runs.config import load_config, with_values
        from canary.runs.screening import Screen
        config = load_config(); p = plan(config)
        market = load_market(p.library, p.universe, config.data.start)
        configs = []
        for c, per, mh, every, band in itertools.product([1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
                                                         [20, 40, 60, 80, 100, 120, 140, 160, 180, 200],
                                                         [0, 1, 2, 3, 5], [0, 3, 7, 14, 28], [0.01, 0.02, 0.05, 0.1]):
            configs.append(config.with_checked({"filter.small_cap.confirm": c, "filter.small_cap.period": per,
                                                "strategy.min_hold": mh, "strategy.rebalance_every": every,
                                                "strategy.drift_band": band}))
        result = Screen(market, p.costs).screen(configs)
        print(len(configs), time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              result.figures["sharpe"].max())
    """)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    points, seconds, peak, _ = out.stdout.split()
    say(f"{int(points):,}-point grid, cold, end to end (s)", f"{float(seconds):.1f}")
    say("peak resident memory of the grid process (MiB)", f"{float(peak):.0f}")
    say("peak resident memory of this process (MiB)",
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
