"""Speed and memory of the main steps, on the shipped data: prints figures, asserts nothing.

The two engines against each other, and the issue's targets: `speed.py`.

    python benchmarks/steps.py

Not a test (pytest does not collect it): timings depend on the machine and its load.
"""
import resource
import time
import timeit

from canary.feeds import DataLibrary
from canary.feeds.market import load_market
from canary.runs.backtest import plan, strategies
from canary.runs.config import load_config
from canary.runs.tune.trial_values import TrialValues
from canary.strategies import run_backtest


def timed(label, func, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t)
    print(f"{label:48s} {best:8.2f} s")
    return out


TRIAL = {"filter.small_cap.confirm": 3, "filter.small_cap.period": 50, "strategy.weighting": "momentum",
         "strategy.drift_band": 0.05}


def trial_configuration(config, count=20_000):
    """Microseconds to make one trial's configuration of four tuned keys (`RunConfig.with_checked`
    on values `TrialValues` has checked), as every screened trial costs."""
    values = TrialValues(config).checked(TRIAL)
    seconds = min(timeit.repeat(lambda: config.with_checked(values), number=count, repeat=3))
    print(f"{'a trial configuration (4 keys)':48s} {seconds / count * 1e6:8.1f} us")


def main():
    config = load_config()
    p = plan(config)
    trial_configuration(config)
    timed("load + validate the 32 shipped files", lambda: [DataLibrary().load(s) for s in DataLibrary().symbols()])
    market = timed("load the default market (22 series, aligned)",
                   lambda: load_market(p.library, p.universe, config.data.start))
    print(f"{'':48s} {len(market.clock):8d} crypto bars, {len(market.universe.symbols)} series")
    for label, cls, params in strategies(p, "all"):
        timed(f"backtest {label} (runonce)", lambda cls=cls, params=params: run_backtest(market, cls, params, p.costs), repeat=2)
    label, cls, params = strategies(p)[0]
    timed(f"backtest {label} (bar by bar)", lambda: run_backtest(market, cls, params, p.costs, runonce=False))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':48s} {peak:8.0f} MB")


if __name__ == "__main__":
    main()
