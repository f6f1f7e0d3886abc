"""tune.dtype: a tuning's return matrix in float32 takes half the memory, its statistics read it
a piece at a time, its figures stay within 1e-6 of float64's, the Backtrader parity check keeps
its 1e-6 on curves screened again in float64, and a checkpoint resumes only where that is exact."""
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.runs.config import load_config, validate
from canary.runs.report.figures import FIGURES, Returns, Segment, figures
from canary.runs.tune.cscv import cscv
from canary.runs.tune.deflated_sharpe import deflate
from canary.runs.tune.objectives import Objective
from canary.runs.tune.spa import spa_test
from canary.runs.tune.tuning import Checkpoint, Interrupted, ParityError, Screening, screen_batch, tune
from canary.runs.tune.walkforward import walk_forward, walk_forward_windows
from canary.runs.tune.workers import Workers

TOLERANCE = 1e-6   # relative, of every figure; measured: 1.1e-7 at most on the README's 200-trial search
NEAR_ZERO = 1e-6   # absolute, for a figure near 0 (the annualised Sharpe ratio of 100 days of noise)
CANARY = str(Path(sys.executable).with_name("canary"))
# the README's search, smaller: the shipped data, the fast engine, filter and strategy keys
SEARCH = ["tune.method=\"random\"", "tune.count=40", "tune.rerun=0", "tune.reps=200",
          "tune.space={ \"filter.small_cap.confirm\" = { low = 1, high = 15, distribution = \"integer\" }, "
          "\"filter.small_cap.period\" = { low = 20, high = 250, distribution = \"integer\" }, "
          "\"strategy.weighting\" = [\"equal\", \"inverse_vol\", \"momentum\"] }"]
# one altcoin from 2024, on the fast engine: a Backtrader rerun takes about 2 s
SMALL = ['universe.alts=["BNB-USDT"]', "data.start=2024-01-01", 'tune.scheme="cscv"', "tune.blocks=4", "tune.reps=200",
         "tune.rerun=1", 'tune.space={ "filter.small_cap.confirm" = [2, 4, 6, 8] }']


def _tune(folder, config, progress=None):
    checkpoint = Checkpoint(folder)
    checkpoint.start(config)
    with Workers(1) as workers:
        return tune(config, checkpoint, workers, progress)


def test_the_key_is_float64_unless_given_and_a_misspelt_one_is_one_line(tmp_path):
    assert load_config().tune.dtype == "float64"
    assert load_config(overrides=['tune.dtype="float32"']).tune.dtype == "float32"
    with pytest.raises(ConfigError, match=r"tune.dtype: 'float23' is not allowed: must be one of float64, float32 "
                                          r"\(did you mean 'float32'\?\)"):
        load_config(overrides=['tune.dtype="float23"'])
    proc = subprocess.run([CANARY, "tune", "--dtype", "float16", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "tune.dtype" in proc.stderr


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same search tuned in float64 and in float32."""
    return {dtype: _tune(tmp_path_factory.mktemp(dtype), load_config(overrides=SEARCH + [f'tune.dtype="{dtype}"']))
            for dtype in ("float64", "float32")}


def test_float32_halves_the_matrix_and_keeps_the_pick_and_the_figures(both):
    wide, half = both["float64"], both["float32"]
    assert half.matrix.to_numpy().dtype == np.float32 and wide.matrix.to_numpy().dtype == np.float64
    assert half.matrix.to_numpy().nbytes * 2 == wide.matrix.to_numpy().nbytes
    # the stored returns are the float64 ones rounded, nothing else
    np.testing.assert_array_equal(half.matrix.to_numpy(), wide.matrix.to_numpy().astype(np.float32))
    assert half.pick == wide.pick and half.leaders == wide.leaders and half.walk.picks == wide.walk.picks
    for name in FIGURES:
        np.testing.assert_allclose(half.table[name], wide.table[name], rtol=TOLERANCE, atol=1e-9)
    np.testing.assert_allclose(half.walk.returns, wide.walk.returns, rtol=0, atol=1e-8)
    assert half.overfitting.pbo == wide.overfitting.pbo
    np.testing.assert_allclose(half.overfitting.logits, wide.overfitting.logits, rtol=0, atol=1e-12)
    assert half.deflated.effective_trials == wide.deflated.effective_trials
    for name in ("dsr", "effective_dsr", "sharpe", "expected_max", "variance", "skewness", "kurtosis"):
        assert getattr(half.deflated, name) == pytest.approx(getattr(wide.deflated, name), rel=TOLERANCE)
    assert half.spa == wide.spa


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_statistics_read_a_float32_matrix_without_a_float64_copy_of_it():
    days, trials = 120, 20_000
    rng = np.random.default_rng(5)
    index = pd.date_range("2020-01-02", periods=days, tz="UTC")
    half = pd.DataFrame(rng.normal(0.0005, 0.03, (days, trials)).astype(np.float32), index=index)
    bench = pd.Series(rng.normal(0.0005, 0.03, days), index=index)
    returns = Returns.of_bars(half)
    objective = Objective("sharpe")
    windows = walk_forward_windows(days, 60, 30)
    statistics = {"figures": lambda r: figures(Segment.of(r)),
                  "walk-forward": lambda r: walk_forward(r, windows, objective),
                  "cscv": lambda r: cscv(r, objective, 4), "deflated Sharpe": lambda r: deflate(r.daily, 0),
                  "SPA": lambda r: spa_test(r.daily, bench, 100, 0)}
    copy = days * trials * 8   # bytes of a float64 copy of the matrix
    for name, statistic in statistics.items():
        statistic(Returns.of_bars(half.iloc[:, :2]))   # imports and first-call caches, outside the measure
        assert _peak(lambda s=statistic: s(returns)) < copy, name
    assert returns.daily.to_numpy().dtype == np.float32
    wide = Returns.of_bars(half.astype(np.float64))
    for name, value in figures(Segment.of(returns)).items():
        np.testing.assert_allclose(value, figures(Segment.of(wide))[name], rtol=TOLERANCE, atol=NEAR_ZERO)


def test_intraday_paths_of_a_float32_matrix_stay_float32_and_agree():
    rng = np.random.default_rng(6)
    bars = pd.date_range("2024-01-01 04:00", periods=6 * 100, freq="4h", tz="UTC")
    half = pd.DataFrame(rng.normal(0, 0.01, (len(bars), 6000)).astype(np.float32), index=bars)
    r32, r64 = Returns.of_bars(half), Returns.of_bars(half.astype(np.float64))
    assert r32.daily.to_numpy().dtype == r32.low.dtype == r32.fall.dtype == np.float32
    assert _peak(lambda: Returns.of_bars(half)) < len(bars) * half.shape[1] * 8   # below a float64 copy
    for a, b in zip((r32.daily.to_numpy(), r32.low, r32.high, r32.fall),
                    (r64.daily.to_numpy(), r64.low, r64.high, r64.fall), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    for name, value in figures(Segment.of(r32)).items():
        np.testing.assert_allclose(value, figures(Segment.of(r64))[name], rtol=TOLERANCE, atol=NEAR_ZERO)


@pytest.fixture(scope="module")
def small32(tmp_path_factory):
    config = load_config(overrides=SMALL + ['tune.dtype="float32"'])
    return config, _tune(tmp_path_factory.mktemp("small32"), config)


def test_float32_keeps_the_parity_check_at_1e6_on_curves_screened_again_in_float64(small32, tmp_path):
    config, tuned = small32
    assert tuned.rechecked == [tuned.pick]   # rerun in Backtrader, within 1e-6, as in float64
    checkpoint = Checkpoint(tmp_path)
    checkpoint.start(config)
    with Workers(1) as workers:
        screening = Screening(config, checkpoint, workers)
        screening.run(tuned.matrix.index)
        exact = screening.in_float64([tuned.pick])
        wide = config.with_checked({"tune.dtype": "float64"})
        np.testing.assert_array_equal(exact[tuned.pick], screen_batch(wide, [screening.checked[tuned.pick]])[0])
        assert exact[tuned.pick].dtype == np.float64
        stored = screening.returns.series(tuned.pick).copy()
        stored.iloc[50] = np.nextafter(stored.iloc[50], np.float32(1))   # one float32 step off
        screening.returns.add([tuned.pick], stored.to_frame())
        with pytest.raises(ParityError, match=f"trial {tuned.pick}'s float32 returns are not its float64 returns"):
            screening.in_float64([tuned.pick])


def test_a_float64_checkpoint_resumes_as_float32_exactly(small32, tmp_path):
    _, tuned = small32
    wide = load_config(overrides=SMALL + ["tune.rerun=0"])

    def stop(count, best):
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        _tune(tmp_path, wide, stop)
    assert len(list((tmp_path / "screened").glob("*.npz"))) == 1
    recorded = validate(Checkpoint.config_of(tmp_path)).with_checked({"tune.dtype": "float32"})
    with Workers(1) as workers:
        resumed = tune(recorded, Checkpoint(tmp_path), workers)
    pd.testing.assert_frame_equal(resumed.matrix, tuned.matrix, check_freq=False)   # as if screened in float32


def test_a_float32_checkpoint_is_not_resumed_as_float64(tmp_path):
    checkpoint = Checkpoint(tmp_path)
    checkpoint.start(load_config(overrides=['tune.dtype="float32"']))
    index = pd.date_range("2024-01-02", periods=5, tz="UTC")
    checkpoint.save([0, 1], pd.DataFrame(np.full((5, 2), 0.01, dtype=np.float32), index=index))
    assert checkpoint.load("float32").column(1).dtype == np.float32
    with pytest.raises(ConfigError, match=r"^--resume .*trials-000000-000001.npz holds float32 returns but "
                                          r"tune.dtype is float64 \(tune.json\).*start a new run$") as caught:
        checkpoint.load("float64")
    assert "\n" not in str(caught.value)
