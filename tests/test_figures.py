"""One definition of every figure: `canary run` and `canary tune` agree on every bar size.

Hand-made curves for the arithmetic; then the commands themselves on the shipped daily and
4-hour bars: every trial's figures in trials.csv are what `canary run` prints for it.
"""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canary.runs.report.figures import Returns, Segment, bar_returns, figures, figures_of
from canary.runs.report.metrics import figures as table_figures
from canary.runs.tune.objectives import Objective

FIGURES = ("sharpe", "sortino", "calmar", "cagr", "total_return", "volatility", "max_drawdown")


def _four_hourly(days, seed=1):
    index = pd.date_range("2024-01-01 04:00", periods=6 * days, freq="4h", tz="UTC")
    r = np.random.default_rng(seed).normal(0.0005, 0.02, size=(3, len(index)))
    return np.cumprod(1 + r, axis=1) * 1000.0, index


def _run_figures(values, index):
    n = len(values)
    return table_figures(values, index, np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n))


def _tune_figures(values, index):
    """As a tuning computes them: from the returns at every bar, by days."""
    r, bars = bar_returns(values, index)
    return figures(Segment.of(Returns.of_bars(pd.DataFrame(r, index=bars))))


def test_an_intraday_dip_counts_in_the_drawdown_of_run_and_tune():
    index = pd.date_range("2024-01-01 04:00", periods=6 * 4, freq="4h", tz="UTC")
    values = np.full((1, len(index)), 100.0)
    values[0, 5:] = 110.0                  # the first daily close (00:00 on the 2nd) at 110
    values[0, 8] = 55.0                    # a dip at 12:00 on the 2nd, back to 110 by its close
    run, tune = _run_figures(values, index), _tune_figures(values, index)
    assert run["max_drawdown"][0] == pytest.approx(-0.5) and tune["max_drawdown"][0] == pytest.approx(-0.5)
    assert run["total_return"][0] == tune["total_return"][0] == 0.0   # close to close, it never moved


def test_run_and_tune_give_the_same_figures_on_four_hour_bars():
    values, index = _four_hourly(200)
    run, tune = _run_figures(values, index), _tune_figures(values, index)
    for name in FIGURES:
        np.testing.assert_array_equal(run[name], tune[name], err_msg=name)
    closes = values[:, 5::6]   # the daily closes miss the intraday falls
    peak = np.maximum.accumulate(values[:, 5:], axis=1)
    np.testing.assert_allclose(run["max_drawdown"], (values[:, 5:] / peak - 1).min(axis=1), rtol=1e-12)
    at_closes = (closes / np.maximum.accumulate(closes, axis=1) - 1).min(axis=1)
    assert (run["max_drawdown"] <= at_closes + 1e-12).all() and (run["max_drawdown"] < at_closes).any()
    daily = closes[:, 1:] / closes[:, :-1] - 1
    np.testing.assert_allclose(run["sharpe"], daily.mean(axis=1) / daily.std(axis=1, ddof=1) * math.sqrt(365),
                               rtol=1e-10)


def test_joined_blocks_of_intraday_days_give_the_figures_of_the_whole():
    values, index = _four_hourly(300, seed=4)
    r, bars = bar_returns(values, index)
    days = Returns.of_bars(pd.DataFrame(r, index=bars))
    whole = figures(Segment.of(days))
    pieces = figures(Segment.joined(Segment.blocks(days, 7)))
    for name in FIGURES:
        np.testing.assert_allclose(pieces[name], whole[name], rtol=1e-10, err_msg=name)


def test_daily_bars_keep_the_daily_matrix_bit_for_bit():
    r = np.random.default_rng(9).normal(0.001, 0.03, size=(500, 4))
    index = pd.date_range("2020-01-02", periods=500, freq="D", tz="UTC")
    matrix = pd.DataFrame(r, index=index)   # as a tuning held it: a DataFrame of daily returns
    days = Returns.of_bars(matrix)
    assert days.low is None
    np.testing.assert_array_equal(days.daily.to_numpy(), r)
    for name, value in figures(Segment.of(matrix.to_numpy())).items():
        np.testing.assert_array_equal(figures(Segment.of(days))[name], value, err_msg=name)


def test_a_flat_curve_has_no_sharpe_sortino_or_calmar_anywhere():
    index = pd.date_range("2024-01-01", periods=400, freq="D", tz="UTC")
    flat = np.full((1, len(index)), 1000.0)
    for figs in (_run_figures(flat, index), figures_of(np.zeros(399))):
        for name in ("sharpe", "sortino", "calmar"):
            assert np.isnan(figs[name][0]), name
        assert figs["total_return"][0] == 0.0 and figs["max_drawdown"][0] == 0.0
    # as an objective, undefined ranks below every defined figure, even a negative one
    scores = Objective("sharpe").score(Segment.of(np.column_stack([np.zeros(50), np.full(50, -0.01) + 0.001 *
                                                                    np.sin(np.arange(50))])))
    assert scores[0] == -np.inf and np.isfinite(scores[1]) and scores[1] < 0


# --- the commands -------------------------------------------------------------------------

CANARY = str(Path(sys.executable).with_name("canary"))
FOUR_HOURS = ["universe.btc=BTC-USDT-4h", "universe.eth=ETH-USDT-4h", 'universe.alts=["BNB-USDT-4h"]']
SHORT = ["data.start=2024-06-01", "tune.train=180d", "tune.test=90d", "tune.blocks=4", "tune.reps=100"]


def _canary(*args, cwd):
    proc = subprocess.run([CANARY, *args], capture_output=True, text=True, timeout=600, cwd=cwd)
    return proc


def _sets(settings):
    return [a for s in settings for a in ("--set", s)]


@pytest.mark.parametrize("bars", [pytest.param(FOUR_HOURS, marks=pytest.mark.slow), ['universe.alts=["BNB-USDT"]']], ids=["4-hour", "daily"])
def test_each_trials_figures_are_what_canary_run_prints_for_it(bars, tmp_path):
    tune = _canary("tune", "--grid", "filter.small_cap.confirm=2,8", "--rerun", "0", "--out", str(tmp_path),
                   "--name", "t", "--quiet", *_sets(bars + SHORT), cwd=tmp_path)
    assert tune.returncode == 0, tune.stderr
    trials = pd.read_csv(tmp_path / "t" / "trials.csv")
    for _, row in trials.iterrows():
        name = f"run{int(row['trial'])}"
        run = _canary("run", str(tmp_path / "t" / "best.toml"), "--engine", "fast", "--no-report", "--quiet",
                      "--set", f"filter.small_cap.confirm={int(row['filter.small_cap.confirm'])}",
                      "--out", str(tmp_path), "--name", name, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())["rotation"]
        for figure in FIGURES:
            assert row[figure] == pytest.approx(metrics[figure], rel=1e-9), figure
    # the last test window is cut short by the end of the data: its annual rates are not meaningful
    walk = pd.read_csv(tmp_path / "t" / "walkforward.csv")
    assert walk["test_days"].iloc[-1] < 90 and walk["test_objective"].iloc[-1] == "n/m"
    assert (walk["test_days"].iloc[:-1] == 90).all() and walk["test_objective"].iloc[:-1].ne("n/m").all()


def test_a_drawdown_limit_no_trial_keeps_is_said_in_one_line(tmp_path):
    proc = _canary("tune", "--grid", "filter.small_cap.confirm=2,8", "--rerun", "0", "--max-drawdown", "0.01",
                   "--out", str(tmp_path), "--quiet", *_sets(['universe.alts=["BNB-USDT"]'] + SHORT), cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "no trial qualifies" in proc.stderr, proc.stderr
    assert not list(tmp_path.glob("*/best.toml"))
