"""The stationary bootstrap's resamples (Politis and Romano, 1994), drawn as
`arch.bootstrap.StationaryBootstrap(block, data, seed=seed).update_indices()` draws them.

A resample of n days is made of blocks: each day starts a new block with probability 1 / block
(the first always does), at a day drawn uniformly, and otherwise takes the day after the
previous one (after the last day, the first). For each resample the generator
(`numpy.random.default_rng(seed)`) draws n start days (`integers(n, size=n)`), then n uniforms
(`random(n)`); a day whose uniform is at most 1 / block starts a block. arch walks the days one
by one; here each day's index is its block's start day plus its distance from the block's
first day (mod n), the same whole numbers. Both the SPA test of a tuning and the intervals of
an event study resample this way; tests hold the draws to arch's, which is not needed to run.
"""
import numpy as np


def stationary_resamples(n, block, seed):
    """Index arrays (n days each, int64) of the stationary bootstrap of mean block length
    `block`, one resample after another, for ever."""
    rng = np.random.default_rng(int(seed))
    p = 1.0 / block
    days = np.arange(n, dtype=np.int64)
    while True:
        starts = rng.integers(n, size=n, dtype=np.int64)
        begins = rng.random(n) <= p
        begins[:1] = True
        first = np.maximum.accumulate(np.where(begins, days, 0))   # each day's block's first day
        yield (starts[first] + (days - first)) % n
