"""canary tune on the shipped data: each trial screened once over the whole history, the schemes
computed on its returns, the same result wherever it ran, and a rerunnable pick."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.feeds.market import load_market
from canary.runs.backtest import plan
from canary.runs.config import load_config, rotation_params, validate, with_values
from canary.runs.report.metrics import performance
from canary.runs.tune import report as tune_report
from canary.runs.tune.trial_returns import returns_at_bars
from canary.runs.tune.tuning import Checkpoint, Interrupted, ParityError, recheck, tune
from canary.runs.tune.workers import Workers
from canary.strategies import SmallCapRotation, run_backtest

# one altcoin from 2024: each backtest still warms up on the years before, about 2 s
SMALL = ['universe.alts=["BNB-USDT"]', "data.start=2024-01-01", "tune.engine=backtrader", "tune.train=120d",
         "tune.test=60d", "tune.blocks=4", "tune.reps=200", "tune.space={ \"filter.small_cap.confirm\" = [2, 8] }"]


@pytest.fixture(scope="module")
def config():
    return load_config(overrides=SMALL)


@pytest.fixture(scope="module")
def tuned(config, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tune")
    checkpoint = Checkpoint(folder)
    checkpoint.start(config)
    with Workers(1) as workers:
        return tune(config, checkpoint, workers), folder


def test_walk_forward_on_the_matrix(tuned):
    t, _ = tuned
    assert t.trials == [{"filter.small_cap.confirm": 2}, {"filter.small_cap.confirm": 8}]
    assert t.matrix.shape[1] == 2 and t.matrix.index.equals(t.benchmark.index)
    assert t.matrix.index[0] == pd.Timestamp("2024-01-02", tz="UTC")  # the first day close after the start
    first = t.walk.windows[0]
    assert (first.train_start, first.train_end, first.test_end) == (0, 120, 180)
    assert len(t.walk.returns) == len(t.matrix) - 120
    for w, pick in zip(t.walk.windows, t.walk.picks, strict=True):
        np.testing.assert_array_equal(t.walk.returns.loc[t.matrix.index[w.train_end:w.test_end]],
                                      t.matrix[pick].iloc[w.train_end:w.test_end])
    assert t.overfitting.splits == 6 and 0.0 <= t.overfitting.pbo <= 1.0
    assert t.deflated.trials == 2 and 0.0 < t.deflated.dsr < 1.0


def test_the_pick_reruns_to_the_reported_figures(tuned, config):
    t, folder = tuned
    tune_report.write(t, folder)
    for name in ("trials.csv", "trials.parquet", "returns.parquet", "walkforward.csv", "best.toml", "tuning.json",
                 "tearsheet.html", "walkforward.png", "logits.png", "is_vs_oos.png", "heatmap.png"):
        assert (folder / name).stat().st_size > 0, name
    best = load_config(folder / "best.toml")
    picked = with_values(config, t.trials[t.pick])
    assert dataclasses.replace(best, tune=picked.tune) == picked
    p = plan(best)
    result = run_backtest(load_market(p.library, p.universe, "2024-01-01"), SmallCapRotation, rotation_params(best),
                          p.costs)
    row = pd.read_csv(folder / "trials.csv").set_index("trial").loc[t.pick]
    figures = performance(result)
    for name in ("sharpe", "sortino", "cagr", "calmar", "max_drawdown", "total_return", "volatility"):
        assert row[name] == pytest.approx(figures[name], rel=1e-9), name
    summary = json.loads((folder / "tuning.json").read_text())
    assert summary["pick"]["settings"] == t.trials[t.pick]
    assert summary["out_of_sample"]["days"] == len(t.walk.returns)
    sheet, period = (folder / "tearsheet.html").read_text(), summary["out_of_sample"]["period"]
    assert f"BTC buy-and-hold, {period}</h1>" in sheet and f"<p>Period {period} (" in sheet  # one period
    assert "equity.csv" not in sheet   # a tuning folder has none
    text = tune_report.text(t, folder)
    assert text.index("OUT OF SAMPLE") < text.index("probability of backtest overfitting") < text.index("IN SAMPLE")
    returns = pd.read_parquet(folder / "returns.parquet")
    np.testing.assert_array_equal(returns["btc_buy_hold"].to_numpy(), t.benchmark.to_numpy())


def test_a_window_of_the_whole_run_against_a_restart_from_cash(tuned, config):
    """The matrix takes a trial's returns from its whole-history run: on a window's first day it
    is already warm and invested. Restarting from cash at the window's start waits a day in cash
    and pays to buy in; after that both hold the same regime's coins and earn nearly the same."""
    t, _ = tuned
    w = t.walk.windows[2]
    pick = t.walk.picks[2]
    days = t.matrix.index[w.train_end:w.test_end]
    trial = with_values(config, t.trials[pick])
    p = plan(trial)
    fresh = run_backtest(load_market(p.library, p.universe, days[0] - pd.Timedelta(days=1), days[-1]),
                         SmallCapRotation, rotation_params(trial), p.costs)
    restart = returns_at_bars(fresh.equity)
    whole = t.matrix[pick].loc[days]
    assert restart.index.equals(days)
    gap = (1 + whole).prod() - (1 + restart).prod()
    print(f"window {days[0].date()} to {days[-1].date()}: whole-history slice {(1 + whole).prod() - 1:+.2%}, "
          f"restart from cash {(1 + restart).prod() - 1:+.2%}, gap {gap:+.2%}")
    # the restart buys in at its first open: its first day is short by the fee and the slippage
    buy_in = (trial.costs.fee_bp + trial.costs.slippage_bp) / 1e4
    assert whole.iloc[0] - restart.iloc[0] == pytest.approx(buy_in, rel=0.1)
    # afterwards both hold the same regime's coins: the days differ by rounding of the weights
    assert (whole.iloc[1:] - restart.iloc[1:]).abs().max() < 1e-4
    assert abs(gap) < 2 * buy_in * (1 + whole).prod()


def test_interrupted_screening_keeps_finished_trials_and_resumes(tuned, config, tmp_path):
    t, _ = tuned
    checkpoint = Checkpoint(tmp_path)
    checkpoint.start(config)

    def stop(count, best):
        raise KeyboardInterrupt

    with Workers(1) as workers, pytest.raises(Interrupted, match="1 screened trial.*--resume"):
        tune(config, checkpoint, workers, stop)
    assert len(list((tmp_path / "screened").glob("*.npz"))) == 1
    ticks = []
    with Workers(1) as workers:
        resumed = tune(validate(Checkpoint.config_of(tmp_path)), Checkpoint(tmp_path), workers,
                       lambda n, best: ticks.append(n))
    assert ticks == [1, 1]  # one kept, one screened
    pd.testing.assert_frame_equal(resumed.matrix, t.matrix)
    assert resumed.pick == t.pick and resumed.walk.picks == t.walk.picks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_saved_batch_reads_back_as_it_was_screened(dtype, tmp_path):
    checkpoint = Checkpoint(tmp_path)
    checkpoint.start(load_config())
    closes = pd.date_range("2024-01-01", periods=30, freq="4h", tz="UTC", unit="us", name="close_time")
    values = np.random.default_rng(3).normal(0, 0.01, (30, 3)).astype(dtype)
    values[4, 1], values[5, 2] = np.nan, -0.0
    frame = pd.DataFrame(values, index=closes, columns=range(3))
    checkpoint.save([7, 2, 9], frame)
    assert [p.name for p in checkpoint.parts.iterdir()] == ["trials-000007-000009.npz"]
    kept = checkpoint.load(np.dtype(dtype).name)
    for k, i in enumerate((7, 2, 9)):
        pd.testing.assert_series_equal(kept.series(i), frame[k], check_names=False, check_exact=True, check_freq=False)
        assert np.array_equal(np.signbit(kept.column(i)), np.signbit(values[:, k]))
    assert kept.series(2).index.dtype == closes.dtype and kept.series(2).index.name == "close_time"


def test_a_batch_saved_as_parquet_by_an_earlier_version_resumes(tmp_path):
    checkpoint = Checkpoint(tmp_path)
    checkpoint.start(load_config())
    closes = pd.date_range("2024-01-01", periods=20, tz="UTC", unit="us", name="close_time")
    old = pd.DataFrame({"3": np.linspace(-0.01, 0.01, 20), "4": np.full(20, 0.002)}, index=closes)
    old.to_parquet(checkpoint.parts / "trials-000003-000004.parquet")   # as the earlier Checkpoint.save wrote it
    checkpoint.save([0, 1], pd.DataFrame(np.zeros((20, 2)), index=closes, columns=range(2)))
    kept = checkpoint.load()
    assert len(kept) == 4
    assert np.array_equal(kept.column(3), old["3"].to_numpy()) and np.array_equal(kept.column(4), old["4"].to_numpy())
    assert kept.series(3).index.equals(closes) and kept.series(0).index.equals(closes)


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_matrix(tuned, config, tmp_path):
    from distributed import LocalCluster

    t, _ = tuned
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Workers(scheduler=cluster.scheduler_address) as workers:
        assert workers.size == 2
        remote = tune(config, _fresh(tmp_path, config), workers)
    pd.testing.assert_frame_equal(remote.matrix, t.matrix)
    assert remote.pick == t.pick and remote.walk.picks == t.walk.picks
    assert remote.overfitting.pbo == t.overfitting.pbo and remote.spa == t.spa


def test_a_scheduler_without_workers_says_it_waits_then_gives_up_in_one_line(capsys):
    from distributed import LocalCluster

    from canary.errors import ConfigError

    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ConfigError, match=f"--scheduler {address}: no worker joined in 1 s"):
            with Workers(scheduler=address, wait_for_workers=1):
                pass
    assert f"waiting for a Dask worker at {address}" in capsys.readouterr().err


def _fresh(folder, config):
    checkpoint = Checkpoint(folder)
    checkpoint.start(config)
    return checkpoint


def test_a_parity_failure_stops_the_tuning(tuned, config):
    t, _ = tuned
    with Workers(1) as workers:
        recheck(config, t.trials, t.matrix, [t.pick], workers)  # the Backtrader run itself: identical
        wrong = t.matrix.copy()
        wrong.iloc[100, t.pick] += 1e-4
        with pytest.raises(ParityError, match=f"trial {t.pick} .*on {t.matrix.index[100].date()}"):
            recheck(config, t.trials, wrong, [t.pick], workers)


CANARY = str(Path(sys.executable).with_name("canary"))


@pytest.mark.slow
def test_the_tune_command(tuned, tmp_path):
    t, _ = tuned
    args = [CANARY, "tune", "--grid", "filter.small_cap.confirm=2,8", "--split", "2024-07-01", "--out", str(tmp_path),
            "--name", "t", "--jobs", "2", *(a for s in SMALL for a in ("--set", s))]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("OUT OF SAMPLE 2024-07-01") < out.index("deflated Sharpe") < out.index("IN SAMPLE")
    assert "SPA test" in out and "probability of backtest overfitting" in out
    walk = pd.read_csv(tmp_path / "t" / "walkforward.csv")
    assert len(walk) == 1 and walk["test_start"].iloc[0] == "2024-07-01"
    assert sorted(pd.read_csv(tmp_path / "t" / "trials.csv")["filter.small_cap.confirm"]) == [2, 8]
    # two worker processes screened the same trials as the one process of the fixture
    returns = pd.read_parquet(tmp_path / "t" / "returns.parquet")
    np.testing.assert_array_equal(returns[["0", "1"]].to_numpy(), t.matrix.to_numpy())


def test_workers_ended_for_the_statistics_are_forked_again_for_the_reruns():
    with Workers(2) as workers:
        assert sorted(r for _, r in workers.run(abs, [(-1,), (-2,), (-3,)])) == [1, 2, 3]
        first = workers.pool
        workers.rest()
        assert workers.pool is None
        assert sorted(r for _, r in workers.run(abs, [(-4,), (-5,)])) == [4, 5]
        assert workers.pool is not first


@pytest.mark.parametrize("args, says", [
    (["--split", "1999-01-01", "--set", SMALL[0]], "tune.split"),
    (["--resume", ".", "--seed", "3"], "--resume continues the recorded tuning: drop --seed"),
    (["--resume", "."], "not a kept partial run folder"),
])
def test_tuning_mistakes_are_one_line(args, says, tmp_path):
    proc = subprocess.run([CANARY, "tune", "--out", str(tmp_path), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and says in proc.stderr, proc.stderr


def test_a_trials_configuration_is_the_checked_one_without_revalidating(config):
    from canary.runs.tune.trial_values import TrialValues

    before = config.as_dict()
    values = TrialValues(config)
    setting = {"filter.small_cap.confirm": 3, "strategy.drift_band": 0}
    applied = config.with_checked(values.checked(setting))
    assert applied == with_values(config, setting)
    assert isinstance(applied.strategy.params["drift_band"], float)
    assert config.as_dict() == before  # the run's configuration is untouched
    with pytest.raises(ConfigError, match="strategy.weighting"):
        values.checked({"strategy.weighting": "momentun"})


LONG_LIVED = """
import sys
import numba
from clirun import main
first = main("tune", "--rerun", "0", "--grid", "filter.small_cap.confirm=2,8", "--jobs", "1", *sys.argv[2:],
             "--out", sys.argv[1], "--name", "first", "-q")
assert first.returncode == 0, first.stderr
print("threading layer", numba.threading_layer())
second = main("tune", "--rerun", "0", "--grid", "filter.small_cap.confirm=2,8", "--jobs", "2", *sys.argv[2:],
              "--out", sys.argv[1], "--name", "second", "-q")
print("second", second.returncode, second.stderr)
"""


@pytest.mark.slow
def test_a_process_that_ran_the_parallel_kernel_still_tunes_on_worker_processes(tmp_path):
    """A notebook that tuned once in process (the kernel's threads started) tunes again on two
    workers: forked children of a GNU OpenMP process would die, and the pool wait for ever."""
    small = [a for s in ['universe.alts=["BNB-USDT"]', "data.start=2024-01-01"] for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-c", LONG_LIVED, str(tmp_path), *small], capture_output=True, text=True,
                          timeout=180, cwd=Path(__file__).parent)
    assert proc.returncode == 0, proc.stderr
    assert "threading layer" in proc.stdout and "second 0" in proc.stdout, proc.stdout + proc.stderr
    first, second = (pd.read_csv(tmp_path / n / "trials.csv") for n in ("first", "second"))
    pd.testing.assert_frame_equal(first, second)
