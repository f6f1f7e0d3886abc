"""The Probability of Backtest Overfitting, by combinatorially symmetric cross-validation.

Bailey, Borwein, Lopez de Prado and Zhu (2015), "The probability of backtest overfitting",
Journal of Computational Finance 20(4). The days of a (days x trials) return matrix are cut
into S consecutive blocks of (nearly) equal length. For each of the C(S, S/2) ways of taking
half the blocks as the training set (the other half is the test set), the trial with the best
objective in training is found, and its relative rank w among all trials in testing
(rank / (trials + 1), the rank 1 for the worst) gives the logit ln(w / (1 - w)). The PBO is
the share of splits whose logit is at most 0: how often the best trial in sample is no better
than the median trial out of sample. Pure noise gives about 0.5; real skill gives about 0.
"""
import itertools
import math
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError

from .objectives import Segment, figures

CELLS = 2_000_000  # splits x trials evaluated at once (bounds memory: about 16 MB per summary field)
MEMORY = 2 ** 30   # bytes the splits' tables may take: C(S, S/2) grows fast (S = 26: 10 million splits)


def split_bytes(blocks):
    """Memory of the splits' tables: the blocks of each training and test set, and three figures."""
    return math.comb(blocks, blocks // 2) * (blocks * 8 + 3 * 8)


def check_blocks(blocks, days):
    """A ConfigError in one line unless `blocks` is even, at least 2, fits the days and the memory."""
    if blocks < 2 or blocks % 2:
        raise ConfigError(f"tune.blocks: {blocks} must be an even number of at least 2")
    most = max([b for b in range(2, min(blocks, days // 2) + 1, 2) if split_bytes(b) <= MEMORY], default=None)
    if days < 2 * blocks:
        raise ConfigError(f"tune.blocks: {blocks} blocks need at least {2 * blocks} days of returns, "
                          f"there are {days}" + (f": give --blocks {most} or fewer" if most else ""))
    if split_bytes(blocks) > MEMORY:
        raise ConfigError(f"tune.blocks: {blocks} blocks make {math.comb(blocks, blocks // 2):,} splits needing "
                          f"{split_bytes(blocks) / 2 ** 30:.1f} GiB (at most {MEMORY / 2 ** 30:.0f} GiB): "
                          f"give --blocks {most} or fewer")


@dataclass
class Overfitting:
    """The outcome of CSCV: one entry per split."""

    blocks: int
    logits: np.ndarray
    in_sample: np.ndarray       # objective of the training set's best trial, in training
    out_of_sample: np.ndarray   # that trial's objective in testing

    @property
    def pbo(self):
        return float(np.mean(self.logits <= 0.0))

    @property
    def splits(self):
        return len(self.logits)


def _relative_rank(scores, chosen):
    """Rank of scores[i, chosen[i]] within row i (1 the lowest, ties averaged) / (trials + 1)."""
    mine = scores[np.arange(len(scores)), chosen][:, None]
    rank = (scores < mine).sum(axis=1) + ((scores == mine).sum(axis=1) + 1) / 2.0
    return rank / (scores.shape[1] + 1)


def cscv(matrix, objective, blocks=16):
    """CSCV of a days x trials return matrix (array or DataFrame) by `objective`."""
    values = np.asarray(matrix, dtype=float)
    days, trials = values.shape
    check_blocks(blocks, days)
    if trials < 2:
        raise ConfigError("tune: the probability of backtest overfitting needs at least two trials")
    parts = Segment.stack([Segment.of(chunk) for chunk in np.array_split(values, blocks)])
    train_sets = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    everything = set(range(blocks))
    test_sets = np.array([sorted(everything.difference(c)) for c in train_sets])
    logits, inside, outside = [], [], []
    chunk = max(1, CELLS // trials)
    for start in range(0, len(train_sets), chunk):
        train = Segment.joined(parts.take(train_sets[start:start + chunk, j]) for j in range(blocks // 2))
        test = Segment.joined(parts.take(test_sets[start:start + chunk, j]) for j in range(blocks // 2))
        train_figs, test_figs = figures(train), figures(test)
        best = np.argmax(objective.score_of(train_figs), axis=1)
        w = _relative_rank(objective.score_of(test_figs), best)
        logits.append(np.log(w / (1.0 - w)))
        rows = np.arange(len(best))
        inside.append(train_figs[objective.name][rows, best])
        outside.append(test_figs[objective.name][rows, best])
    return Overfitting(blocks, np.concatenate(logits), np.concatenate(inside), np.concatenate(outside))
