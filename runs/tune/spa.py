"""Hansen's test for superior predictive ability of the trials against BTC buy-and-hold.

Hansen (2005), "A test for superior predictive ability", Journal of Business and Economic
Statistics 23(4), as `arch.bootstrap.SPA` computes it, with its draws (`runs.resampling`). The null hypothesis: no trial has a higher
expected daily return than BTC buy-and-hold. A small p-value says at least one setting beat it
beyond what the luckiest of so many trials would; a large one says the best trial's lead is
within what luck among them explains. The test works on losses: a day's loss is minus its
return. The stationary bootstrap resamples blocks of about a month, keeping volatility
clusters together; it is seeded, so the same matrix gives the same p-value.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..report.figures import floats
from ..resampling import stationary_resamples

BLOCK_DAYS = 30
CHUNK = 512  # trials per matrix product (bounds memory: days x CHUNK a thread)
THREADS = 2


@dataclass
class SuperiorAbility:
    """SPA p-values (consistent is the one to read; lower and upper bound it)."""

    consistent: float
    lower: float
    upper: float
    reps: int


def _long_run_variance(demeaned, block):
    """Each column's variance of its mean under the stationary bootstrap (Politis and Romano's
    kernel, as `arch.bootstrap.SPA` weighs the autocovariances), the autocovariances by FFT. numpy
    transforms one column at a time, copied out of the matrix whatever its layout: columns laid
    out one after the other give the same numbers without striding across the whole matrix for
    each (a third of the time)."""
    t = len(demeaned)
    size = 1 << (2 * t - 1).bit_length()
    spectrum = np.fft.rfft(np.ascontiguousarray(demeaned.T), n=size, axis=1)
    autocov = np.ascontiguousarray(np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :t].T)
    lags = np.arange(1, t)
    p = 1.0 / block
    kappa = (1.0 - lags / t) * (1 - p) ** lags + lags / t * (1 - p) ** (t - lags)
    return np.sum(demeaned ** 2, 0) / t + 2 * (kappa @ autocov[1:]) / t


def spa_test(matrix, benchmark, reps=1000, seed=0):
    """SPA of the columns of a days x trials return matrix against the benchmark's returns.

    The same test as `arch.bootstrap.SPA(-benchmark, -matrix, block_size=BLOCK_DAYS,
    bootstrap="stationary", seed=seed)`, with its bootstrap's own draws, scaled for thousands of
    trials: each draw's mean loss differential is a count-weighted sum (one matrix product per
    chunk of trials) and only the largest over the trials is kept."""
    models = floats(matrix)   # float32 upcast a chunk at a time, by the subtraction
    bench = -np.asarray(benchmark, dtype=float).reshape(-1, 1)
    t = len(bench)
    draws = stationary_resamples(t, BLOCK_DAYS, seed)
    counts = np.array([np.bincount(next(draws), minlength=t) for _ in range(reps)], dtype=float)

    def largest_of(start):
        """Per draw, the largest recentred mean (lower, consistent, upper) of the chunk of trials
        from `start`, and the chunk's best mean."""
        diff = bench - -models[:, start:start + CHUNK]
        mean = diff.mean(0)
        variance = _long_run_variance(diff - mean, BLOCK_DAYS)
        valid = mean >= -1.0 * np.sqrt((variance / t) * 2 * np.log(np.log(t)))
        centres = (np.where(mean < 0, 0.0, mean), np.where(valid, mean, 0.0), mean)
        drawn = counts @ diff / t
        return np.stack([(drawn - centre).max(axis=1) for centre in centres], axis=1), float(mean.max())

    best_mean = -np.inf
    largest = np.full((reps, 3), -np.inf)   # per draw: the largest recentred mean (lower, consistent, upper)
    with ThreadPoolExecutor(min(THREADS, os.cpu_count() or 1)) as pool:   # numpy releases the GIL
        for chunk, chunk_best in pool.map(largest_of, range(0, models.shape[1], CHUNK)):
            largest = np.maximum(largest, chunk)
            best_mean = max(best_mean, chunk_best)
    lower, consistent, upper = (largest > best_mean).mean(axis=0)
    return SuperiorAbility(float(consistent), float(lower), float(upper), reps)
