"""The running sums of a segment worked row by row, SPA's autocovariances and its chunks of
trials in threads, the Parquet writer of a tuning's returns and the matrix gathered from the
screened batches give the same numbers (and the same file), to the last bit, as the
straightforward code they replace (kept here as references, not in the package), the
stationary bootstrap draws arch's resamples; and the statistics of a tuning do not depend on
how many BLAS threads the process may run."""
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from threadpoolctl import threadpool_limits

from canary.runs.config import load_config
from canary.runs.report import figures as figures_module
from canary.runs.report.figures import SEGMENT_FIELDS, Returns, Segment, _running
from canary.runs.report.files import write_parquet
from canary.runs.resampling import stationary_resamples
from canary.runs.tune import spa
from canary.runs.tune.spa import BLOCK_DAYS, spa_test
from canary.runs.tune.trial_returns import ScreenedReturns
from canary.runs.tune.tuning import evaluate


def _awkward(days, columns, seed):
    """Returns with ties, a flat column, a total loss, infinities, NaN and signed zeros."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0005, 0.03, (days, columns))
    if columns > 3 and days > 5:
        r[:, 1] = r[:, 0]              # identical columns
        r[:, 2] = 0.0                  # one in cash
        r[3, 3] = -1.0                 # a total loss: log1p is -inf from there
        r[4, 0] = np.nan
        r[2, -1], r[5, -1] = np.inf, -0.0
        r[::7, -2] = np.round(r[::7, -2], 2)   # repeated values
    return r


def reference_running(ufunc, a):
    """numpy's accumulate down each column (what `_running` replaced)."""
    return ufunc.accumulate(a, axis=0)


@pytest.mark.parametrize("ufunc", [np.add, np.maximum], ids=["sum", "high"])
@pytest.mark.parametrize("days, columns", [(0, 70), (1, 70), (2, 64), (611, 63), (611, 64), (611, 65), (300, 513),
                                           (5, 1)])
def test_running_sums_equal_numpys_accumulate(ufunc, days, columns):
    a = _awkward(days, columns, seed=days + columns)
    with np.errstate(invalid="ignore"):
        expected = reference_running(ufunc, a.copy())
        mine = _running(ufunc, a.copy())
    assert np.array_equal(mine, expected, equal_nan=True)
    assert np.array_equal(np.signbit(mine), np.signbit(expected))


@pytest.mark.parametrize("columns", [3, 64, 65, 700, 1025])
@pytest.mark.parametrize("intraday", [False, True], ids=["daily", "4-hour"])
def test_segments_equal_those_of_numpys_accumulate(columns, intraday, monkeypatch):
    with np.errstate(invalid="ignore"):   # inf - inf on the day of the infinite return
        if intraday:
            index = pd.date_range("2020-01-01 04:00", periods=6 * 97, freq="4h", tz="UTC")
            returns = Returns.of_bars(pd.DataFrame(_awkward(len(index), columns, 3) / 10, index=index))
        else:
            returns = Returns.of(_awkward(611, columns, 4))
        mine = [Segment.of(returns), *Segment.blocks(returns, 6)]
        monkeypatch.setattr(figures_module, "_running", reference_running)
        expected = [Segment.of(returns), *Segment.blocks(returns, 6)]
    for a, b in zip(mine, expected, strict=True):
        for name in SEGMENT_FIELDS:
            assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
            assert np.array_equal(np.signbit(getattr(a, name)), np.signbit(getattr(b, name))), name


def reference_long_run_variance(demeaned, block):
    """The autocovariances transformed down the columns of the days x trials matrix (what the
    transform of contiguous columns replaced)."""
    t = len(demeaned)
    size = 1 << (2 * t - 1).bit_length()
    spectrum = np.fft.rfft(demeaned, n=size, axis=0)
    autocov = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[:t]
    lags = np.arange(1, t)
    p = 1.0 / block
    kappa = (1.0 - lags / t) * (1 - p) ** lags + lags / t * (1 - p) ** (t - lags)
    return np.sum(demeaned ** 2, 0) / t + 2 * (kappa @ autocov[1:]) / t


def reference_spa(matrix, benchmark, reps, seed):
    """The chunks of trials one after the other in this thread (what the threads replaced)."""
    from arch.bootstrap import StationaryBootstrap

    models = np.asarray(matrix, dtype=float)
    bench = -np.asarray(benchmark, dtype=float).reshape(-1, 1)
    t = len(bench)
    draws = StationaryBootstrap(BLOCK_DAYS, np.empty(t), seed=seed)
    counts = np.array([np.bincount(draws.update_indices(), minlength=t) for _ in range(reps)], dtype=float)
    best_mean = -np.inf
    largest = np.full((reps, 3), -np.inf)
    for start in range(0, models.shape[1], spa.CHUNK):
        diff = bench - -models[:, start:start + spa.CHUNK]
        mean = diff.mean(0)
        variance = reference_long_run_variance(diff - mean, BLOCK_DAYS)
        valid = mean >= -1.0 * np.sqrt((variance / t) * 2 * np.log(np.log(t)))
        centres = (np.where(mean < 0, 0.0, mean), np.where(valid, mean, 0.0), mean)
        drawn = counts @ diff / t
        for j, centre in enumerate(centres):
            largest[:, j] = np.maximum(largest[:, j], (drawn - centre).max(axis=1))
        best_mean = max(best_mean, float(mean.max()))
    return tuple((largest > best_mean).mean(axis=0))


@pytest.mark.parametrize("days, trials", [(61, 1), (500, 7), (611, 64), (997, 129)])
def test_spas_autocovariances_equal_those_transformed_down_the_columns(days, trials):
    r = _awkward(days, trials, seed=trials)[:, ::-1]
    r = np.where(np.isfinite(r), r, 0.01)
    demeaned = r - r.mean(0)
    assert np.array_equal(spa._long_run_variance(demeaned, BLOCK_DAYS),
                          reference_long_run_variance(demeaned, BLOCK_DAYS))


@pytest.mark.parametrize("chunk", [7, 512])
def test_spa_in_threads_equals_the_chunks_one_after_the_other(chunk, monkeypatch):
    monkeypatch.setattr(spa, "CHUNK", chunk)
    rng = np.random.default_rng(11)
    m = rng.normal(0.0004, 0.03, (503, 45))
    m[:, 5:9] = m[:, [4]]          # tied trials
    m[:, 10] = 0.0                 # one in cash
    m[:, 11] += 0.002              # one with an edge
    bench = rng.normal(0.0004, 0.035, 503)
    for seed, reps in ((0, 301), (42, 500)):
        mine = spa_test(m, bench, reps, seed)
        assert (mine.lower, mine.consistent, mine.upper) == reference_spa(m, bench, reps, seed)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_returns_parquet_is_the_file_pandas_writes(dtype, tmp_path):
    days = 37
    index = pd.date_range("2021-03-01", periods=days, tz="UTC", name="date")
    values = _awkward(days, 9, seed=2).astype(dtype)
    columns = {str(i): values[:, i] for i in range(9)} | {"btc_buy_hold": np.linspace(-0.01, 0.02, days)}
    write_parquet(tmp_path / "mine.parquet", columns, index)
    pd.DataFrame(columns, index=index).to_parquet(tmp_path / "pandas.parquet", use_dictionary=False,
                                                 write_statistics=False)
    assert (tmp_path / "mine.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()
    assert pq.read_table(tmp_path / "mine.parquet").equals(pq.read_table(tmp_path / "pandas.parquet"),
                                                           check_metadata=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "mine.parquet"), pd.DataFrame(columns, index=index),
                                  check_freq=False)


def reference_matrix(kept, trials, dtype):
    """The matrix as gathered from a Series per trial ({trial id: Series}, the later batch's
    Series replacing an earlier one's)."""
    values = np.empty((trials, len(kept[0])), dtype=dtype)
    for i in range(trials):
        values[i] = kept[i].to_numpy(dtype=values.dtype)
    return pd.DataFrame(values.T, index=kept[0].index, columns=range(trials))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_matrix_gathered_from_batches_is_the_one_gathered_from_a_series_each(dtype):
    index = pd.date_range("2022-01-01", periods=40, tz="UTC", name="close_time")
    batches = [[4, 0, 7], [2, 5], [1, 6, 3], [5]]   # out of order, as the workers finish; trial 5 twice
    store, kept = ScreenedReturns(), {}
    for n, ids in enumerate(batches):
        block = _awkward(len(index), len(ids), seed=n).astype(dtype)
        frame = pd.DataFrame(block if n % 2 else np.asfortranarray(block), index=index, columns=range(len(ids)))
        store.add(ids, frame)
        kept.update({i: frame[c] for i, c in zip(ids, frame.columns, strict=True)})
    assert len(store) == 8 and 5 in store and 8 not in store
    assert np.array_equal(store.column(5), kept[5].to_numpy(), equal_nan=True)
    mine, theirs = store.matrix(8, dtype), reference_matrix(kept, 8, dtype)
    pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
    assert mine.to_numpy().flags.f_contiguous == theirs.to_numpy().flags.f_contiguous   # laid out alike
    assert np.shares_memory(store.column(3), mine.to_numpy())   # the kept trials are views of it


def test_the_statistics_do_not_depend_on_the_blas_threads_the_process_may_run():
    """OpenBLAS's threaded eigenvalue solver sums in an order that depends on its threads, so the
    effective number of trials differed in its last bits from a 1-core to a 2-core machine."""
    rng = np.random.default_rng(5)
    days, trials = 300, 400
    index = pd.date_range("2023-01-01", periods=days, tz="UTC", name="close_time")
    common = rng.normal(0, 0.01, (days, 8)) @ rng.normal(0, 1, (8, trials))
    bars = pd.DataFrame(common + rng.normal(0.0005, 0.004, (days, trials)), index=index)
    bench = pd.DataFrame({"btc_buy_hold": rng.normal(0.0004, 0.03, days)}, index=index)
    config = load_config(overrides=["tune.blocks=8", "tune.reps=200", 'tune.scheme="cscv"'])
    settings = [{"strategy.drift_band": 0.01 + i / 10_000} for i in range(trials)]
    results = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            t = evaluate(config, settings, bars, bench)
        results.append((t.deflated, t.spa, t.pick, t.overfitting.logits.tobytes()))
    assert results[0] == results[1]
    assert 1 < results[0][0].effective_estimate < trials


@pytest.mark.parametrize("days, block, seed", [(1, 30, 0), (2, 30, 1), (29, 30, 3), (2927, 30, 42), (500, 2.5, 7),
                                               (100, 1.0, 9), (300, 17.3, 0)])
def test_the_stationary_resamples_are_archs_draws(days, block, seed):
    from arch.bootstrap import StationaryBootstrap

    theirs = StationaryBootstrap(block, np.empty(days), seed=seed)
    mine = stationary_resamples(days, block, seed)
    for _ in range(25):
        drawn = next(mine)
        assert drawn.dtype == np.int64 and np.array_equal(drawn, theirs.update_indices())
