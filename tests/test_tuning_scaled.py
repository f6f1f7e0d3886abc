"""The scaled CSCV and SPA give the same numbers, to the last digit, as the straightforward
algorithms they replace (kept here as references, not in the package)."""
import itertools

import numpy as np
import pytest

from canary.runs.tune.cscv import cscv
from canary.runs.tune.objectives import Objective, Segment, figures
from canary.runs.tune.spa import BLOCK_DAYS, spa_test


def reference_cscv(values, objective, blocks):
    """Every split's training and test sets joined and ranked one split at a time."""
    parts = [Segment.of(chunk) for chunk in np.array_split(values, blocks)]
    logits, inside, outside = [], [], []
    for train in itertools.combinations(range(blocks), blocks // 2):
        test = [b for b in range(blocks) if b not in train]
        train_figs = figures(Segment.joined(parts[b] for b in train))
        test_figs = figures(Segment.joined(parts[b] for b in test))
        best = int(np.argmax(objective.score_of(train_figs)))
        scores = objective.score_of(test_figs)
        rank = (scores < scores[best]).sum() + ((scores == scores[best]).sum() + 1) / 2.0
        w = rank / (len(scores) + 1)
        logits.append(np.log(w / (1.0 - w)))
        inside.append(train_figs[objective.name][best])
        outside.append(test_figs[objective.name][best])
    return np.array(logits), np.array(inside), np.array(outside)


def _matrix(days=600, trials=40, seed=3):
    rng = np.random.default_rng(seed)
    m = rng.normal(0.0005, 0.03, (days, trials))
    m[:, 5:9] = m[:, [4]]            # identical trials: tied ranks
    m[:, 10] = 0.0                   # a trial that stays in cash
    m[:, 11] += 0.002                # one with an edge
    return m


@pytest.mark.parametrize("objective", [Objective("sharpe"), Objective("sortino"), Objective("cagr"),
                                       Objective("calmar", 0.3)], ids=str)
def test_cscv_equals_the_split_by_split_algorithm(objective):
    m = _matrix()
    result = cscv(m, objective, blocks=8)
    logits, inside, outside = reference_cscv(m, objective, 8)
    np.testing.assert_array_equal(result.logits, logits)
    np.testing.assert_array_equal(result.in_sample, inside)
    np.testing.assert_array_equal(result.out_of_sample, outside)


def test_pbo_without_ties_is_the_papers_share_of_logits_at_most_zero():
    noise = np.random.default_rng(12).normal(0.0, 0.02, (600, 40))   # an even number of distinct trials
    result = cscv(noise, Objective("sharpe"), blocks=8)
    assert result.ties == 0.0
    assert result.pbo == np.mean(reference_cscv(noise, Objective("sharpe"), 8)[0] <= 0)


def test_spa_equals_archs_test():
    from arch.bootstrap import SPA

    m = _matrix(days=500, trials=60)
    bench = np.random.default_rng(9).normal(0.0004, 0.035, 500)
    for seed, reps in ((0, 300), (42, 500)):
        mine = spa_test(m, bench, reps, seed)
        theirs = SPA(-bench, -m, block_size=BLOCK_DAYS, reps=reps, bootstrap="stationary", seed=seed)
        theirs.compute()
        p = theirs.pvalues
        assert (mine.consistent, mine.lower, mine.upper) == (p["consistent"], p["lower"], p["upper"])
