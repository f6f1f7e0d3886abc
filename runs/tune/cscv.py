"""The Probability of Backtest Overfitting, by combinatorially symmetric cross-validation.

Bailey, Borwein, Lopez de Prado and Zhu (2015), "The probability of backtest overfitting",
Journal of Computational Finance 20(4). The days of a (days x trials) return matrix are cut
into S consecutive blocks of (nearly) equal length. For each of the C(S, S/2) ways of taking
half the blocks as the training set (the other half is the test set), the trial with the best
objective in training is found, and its relative rank w among all trials in testing
(rank / (trials + 1), the rank 1 for the worst, tied trials sharing their mean rank) gives the
logit ln(w / (1 - w)). The PBO is how often the best trial in sample is worse than the median
trial out of sample: the share of splits whose logit is below 0, plus half the share whose logit
is exactly 0 (the tie share: the chosen trial ranks exactly at the median, as the middle one of
an odd number of trials or tied with others across it). The paper's PBO, the share of logits at
most 0, assumes a continuous distribution of logits; on ranks it counts a median as overfit, so
that pure noise gives (N + 1) / 2N for N trials (0.67 for 3, 0.56 for 9). Counting a tie as half
overfit, as rank tests count ties, pure noise gives 0.5 for any number of trials; real skill
gives about 0. Without ties the PBO is the paper's to the last digit.
"""
import collections
import itertools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError

from ..report.figures import Segment, fields_for, figures

CELLS = 250_000   # splits x trials evaluated at once by a thread (about 2 MB per summary field)
THREADS = 2
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
        """The share of splits overfit: below the median, and half of those at it."""
        return self.below + self.ties / 2

    @property
    def below(self):
        """The share of splits whose chosen trial ranks below the median out of sample."""
        return float(np.mean(self.logits < 0.0))

    @property
    def ties(self):
        """The share of splits whose chosen trial ranks exactly at the median out of sample."""
        return float(np.mean(self.logits == 0.0))

    @property
    def splits(self):
        return len(self.logits)


def _relative_rank(scores, chosen):
    """Rank of scores[i, chosen[i]] within row i (1 the lowest, ties averaged) / (trials + 1)."""
    mine = scores[np.arange(len(scores)), chosen][:, None]
    rank = (scores < mine).sum(axis=1) + ((scores == mine).sum(axis=1) + 1) / 2.0
    return rank / (scores.shape[1] + 1)


def _joins(parts, half, fields, reverse=False):
    """The join (`Segment.joined`, carrying `fields`) of each set of `half` of the block segments
    `parts`, the sets in lexicographic order (`reverse`: last first). A depth-first walk joins each
    shared beginning once: `joined` adds blocks from left to right, so a set's join is that of its
    first blocks then its last one, the same arithmetic on the same numbers, about two joins a set
    instead of `half` - 1."""
    def walk(joined, after, left):
        if not left:
            yield joined
            return
        ends = range(after + 1, len(parts) - left + 1)
        for b in reversed(ends) if reverse else ends:
            yield from walk(parts[b] if joined is None else joined.then(parts[b], fields), b, left - 1)

    return walk(None, -1, half)


def _scored(joins, fields, objective):
    """The objective (to rank by) and its figure (to report) of each set's join (carrying `fields`)."""
    figs = figures(Segment.stack(joins, fields), objective.reads)
    return objective.score_of(figs), figs[objective.name]


def cscv(matrix, objective, blocks=16):
    """CSCV of a days x trials return matrix (array or DataFrame) by `objective`.

    Each set of blocks is summarised once: in the lexicographic order of the training sets the
    test set of split i is the training set of split n - 1 - i, so the sets walked from the first
    and from the last, side by side, give chunks of splits and their mirror images. This thread
    walks (Python); the chunks are scored in threads (numpy releases the GIL), each bounded to
    CELLS splits x trials, a few chunks waiting at most."""
    days, trials = np.shape(matrix)
    check_blocks(blocks, days)
    if trials < 2:
        raise ConfigError("tune: the probability of backtest overfitting needs at least two trials")
    parts = Segment.blocks(matrix, blocks)
    fields = fields_for(objective.reads)
    n = math.comb(blocks, blocks // 2)
    logits, inside, outside = np.empty(n), np.empty(n), np.empty(n)
    chunk = max(1, CELLS // (2 * trials))
    pairs = zip(_joins(parts, blocks // 2, fields), _joins(parts, blocks // 2, fields, reverse=True), strict=True)

    def work(first, joins):
        rows = np.concatenate([first, n - 1 - first])
        score, value = _scored(joins, fields, objective)
        mirror = np.concatenate([np.arange(len(first), len(rows)), np.arange(len(first))])
        best = np.argmax(score, axis=1)
        w = _relative_rank(score[mirror], best)
        logits[rows] = np.log(w / (1.0 - w))
        inside[rows] = value[np.arange(len(rows)), best]
        outside[rows] = value[mirror, best]

    threads = min(THREADS, os.cpu_count() or 1)
    with ThreadPoolExecutor(threads) as pool:
        waiting = collections.deque()
        for start in range(0, n // 2, chunk):
            first = np.arange(start, min(start + chunk, n // 2))
            ahead, behind = zip(*itertools.islice(pairs, len(first)), strict=True)
            waiting.append(pool.submit(work, first, ahead + behind))
            if len(waiting) > 2 * threads:
                waiting.popleft().result()
        for future in waiting:
            future.result()
    return Overfitting(blocks, logits, inside, outside)
