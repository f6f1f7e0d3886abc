"""The screening engine as the command line and the tuner use it: batches agree with single
runs, `canary run --engine fast` writes the files of the Backtrader path, `canary tune` ranks
the same on both engines. (Parity with Backtrader itself: tests/test_screening_parity.py.)"""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from canary.feeds.market import load_market
from canary.runs.backtest import plan
from canary.runs.config import load_config, with_values
from canary.runs.report.metrics import COLUMNS, per_day, performance, returns_of
from canary.runs.screening import Screen
from canary.runs.tune import trial_returns
from canary.runs.tune.tuning import fast_screen

PERIOD = ["data.start=2020-06-01", "data.end=2021-03-31"]


@pytest.fixture(scope="module")
def setting():
    config = load_config(None, PERIOD)
    p = plan(config)
    market = load_market(p.library, p.universe, config.data.start, config.data.end)
    return config, p, market


def changed(config, **keys):
    """`config` with keys given as section__key=value (validated)."""
    return with_values(config, {k.replace("__", "."): v for k, v in keys.items()}, space=False)


def test_a_batch_gives_each_configuration_the_figures_of_its_own_run(setting):
    config, p, market = setting
    configs = [changed(config, strategy__weighting=w, strategy__min_hold=h, filter__small_cap__confirm=c)
               for w in ("equal", "inverse_vol", "momentum") for h in (0, 3) for c in (2, 5)]
    screen = Screen(market, p.costs)
    batch = screen.screen(configs, chunk=5)      # several chunks
    assert list(batch.figures.columns) == list(COLUMNS) and len(batch.figures) == len(configs)
    for i, cfg in enumerate(configs):
        single = screen.run(cfg)
        np.testing.assert_allclose(batch.values[i], single.equity.to_numpy(), rtol=1e-12)
        figures = performance(single)
        for key in COLUMNS:
            assert batch.figures[key][i] == pytest.approx(figures[key], rel=1e-9, nan_ok=True), key
    assert batch.figures["final_value"].nunique() > 6     # the configurations differ
    # the days x configurations return matrix of a tuning
    returns = batch.bar_returns()
    pd.testing.assert_series_equal(returns[3], returns_of(per_day(screen.run(configs[3]).equity)[0]),
                                   check_names=False, check_freq=False, rtol=1e-12)


def test_the_returns_alone_are_those_of_the_whole_screening(setting):
    config, p, market = setting
    configs = [changed(config, strategy__weighting=w, filter__small_cap__confirm=c)
               for w in ("equal", "inverse_vol", "momentum") for c in (2, 5)]
    returns, closes = Screen(market, p.costs).bar_returns(configs, chunk=4)   # what a tune's workers call
    whole = Screen(market, p.costs).screen(configs).bar_returns()
    assert np.array_equal(returns, whole.to_numpy()) and closes.equals(whole.index)
    assert len({tuple(c) for c in returns.T}) == len(configs)


def test_signals_are_computed_once_per_distinct_parameters(setting):
    config, p, market = setting
    screen = Screen(market, p.costs)
    configs = [changed(config, strategy__drift_band=d) for d in (0.01, 0.02, 0.05)]
    screen.screen(configs)
    assert len(screen._regimes) == 1
    screen.screen([changed(config, filter__eth_btc__min_trend=x) for x in (0.0, 0.01)])
    assert len(screen._regimes) == 2          # a threshold changed: the regime is new ...
    assert len([k for k in screen._signals if k[0] == "eth_btc"]) == 1   # ... its indicator is not


def _canary(*args, cwd):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "canary.runs", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def test_run_with_the_fast_engine_writes_the_same_files(tmp_path):
    sets = [a for s in PERIOD for a in ("--set", s)]
    for engine in ("backtrader", "fast"):
        out = _canary("-q", "run", "--no-report", "--engine", engine, "--out", str(tmp_path), "--name", engine,
                      *sets, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    for name in ("equity.csv", "trades.csv", "regimes.csv", "weights.csv", "orders.csv"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "backtrader" / name).read_bytes(), name
    assert (tmp_path / "fast" / "metrics.json").read_text() == (tmp_path / "backtrader" / "metrics.json").read_text()
    assert len(pd.read_csv(tmp_path / "fast" / "trades.csv")) > 20


def test_tune_screens_the_same_returns_on_both_engines():
    config = load_config(None, PERIOD)
    trials = [{"filter.small_cap.confirm": c, "strategy.weighting": w} for c in (2, 5) for w in ("equal", "momentum")]
    fast = fast_screen(config, trials)
    reference = trial_returns.screen(config, trials)
    assert list(fast.columns) == list(reference.columns) == list(range(len(trials)))
    pd.testing.assert_frame_equal(fast, reference, check_freq=False, check_names=False, rtol=1e-9)
