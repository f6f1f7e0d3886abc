"""Statistics of an event study: hit rates, non-overlapping counts and block-bootstrap intervals.

Forward returns over h days read every day overlap: neighbouring days share h - 1 days of
their windows, so the series is autocorrelated and an interval that resamples single days
would be far too narrow. The intervals here resample whole stretches of days with the
stationary bootstrap (Politis and Romano, 1994; `runs.resampling`, as arch draws it), whose
blocks have a random length of mean `block`: with `block` a few times the horizon, the
overlap within a window is kept. Days are resampled with their event flag, so the number of
events in a resample varies as it would in another history of the same length.
"""
import warnings

import numpy as np

from ..resampling import stationary_resamples

CHUNK = 250   # resamples held in memory at once


def hit_rate(values):
    """Share of the finite `values` above zero (NaN if none)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float((x > 0).mean()) if len(x) else float("nan")


def non_overlapping(positions, length):
    """How many of the sorted bar `positions` remain when each must start at least `length`
    bars after the last one kept: events whose forward windows do not overlap."""
    count, last = 0, None
    for p in positions:
        if last is None or p - last >= length:
            count, last = count + 1, p
    return count


def resamples(n, block, reps, seed):
    """Index arrays of the stationary bootstrap of n items, mean block length `block`, in
    chunks of at most CHUNK rows (a (rows, n) array each)."""
    draws = stationary_resamples(n, max(float(block), 1.0), seed)
    done = 0
    while done < reps:
        rows = min(CHUNK, reps - done)
        yield np.stack([next(draws) for _ in range(rows)])
        done += rows


def _interval(stats, confidence):
    tail = (1.0 - confidence) / 2.0
    stats = stats[np.isfinite(stats)]
    if not len(stats):
        return float("nan"), float("nan")
    low, high = np.quantile(stats, [tail, 1.0 - tail])
    return float(low), float(high)


def mean_interval(values, block, reps=2000, confidence=0.9, seed=0):
    """Percentile interval of the mean of `values` (a series in time order, no NaN)."""
    x = np.asarray(values, dtype=float)
    stats = np.concatenate([x[idx].mean(axis=1) for idx in resamples(len(x), block, reps, seed)])
    return _interval(stats, confidence)


def difference_interval(values, is_event, block, reps=2000, confidence=0.9, seed=0):
    """Percentile interval of mean(values on event days) - mean(values on all days).

    `values` is one forward return per day in time order (no NaN), `is_event` a boolean of
    the same length. Returns (low, high, share of resamples without an event; those are
    left out of the interval).
    """
    x = np.asarray(values, dtype=float)
    e = np.asarray(is_event, dtype=bool)
    if len(x) != len(e):
        raise ValueError("values and is_event differ in length")
    stats = []
    for idx in resamples(len(x), block, reps, seed):
        xs, es = x[idx], e[idx]
        count = es.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            stats.append(np.where(es, xs, 0.0).sum(axis=1) / count - xs.mean(axis=1))
    stats = np.concatenate(stats)
    low, high = _interval(stats, confidence)
    return low, high, float(np.mean(~np.isfinite(stats)))


def mean_band(samples, reps=1000, confidence=0.9, seed=0):
    """Percentile band (low, high) of the mean over the rows of `samples` (independent draws,
    e.g. events; NaN ignored), at every other index: rows resampled with replacement."""
    x = np.asarray(samples, dtype=float)
    rng = np.random.default_rng(seed)
    tail = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an index where every row is NaN stays NaN
        means = np.stack([np.nanmean(x[rng.integers(0, len(x), len(x))], axis=0) for _ in range(reps)])
        return np.nanquantile(means, tail, axis=0), np.nanquantile(means, 1.0 - tail, axis=0)
