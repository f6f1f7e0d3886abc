"""The scaled CSCV, SPA and score rounding give the same numbers, to the last digit, as the
straightforward algorithms they replace (kept here as references, not in the package)."""
import itertools

import numpy as np
import pytest

from canary.runs.report.figures import SEGMENT_FIELDS, Segment, fields_for, figures
from canary.runs.tune.cscv import cscv
from canary.runs.tune.objectives import Objective
from canary.runs.tune.significant import significant
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


def vectorised_cscv(values, objective, blocks):
    """Every training set joined at once, block by block in the order of the set (the numpy CSCV
    the walk over shared beginnings replaced), each split's test set the training set of its
    mirror image."""
    parts = Segment.stack(Segment.blocks(values, blocks))
    fields = fields_for(objective.reads)
    sets = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    n = len(sets)

    def take(rows):
        return Segment(parts.days[rows], *(getattr(parts, f)[rows] if f in fields else None for f in SEGMENT_FIELDS),
                       periods=parts.periods)

    figs = figures(Segment.joined((take(sets[:, j]) for j in range(blocks // 2)), fields), objective.reads)
    score, value = objective.score_of(figs), figs[objective.name]
    best = np.argmax(score, axis=1)
    test = score[::-1]
    mine = test[np.arange(n), best][:, None]
    rank = (test < mine).sum(axis=1) + ((test == mine).sum(axis=1) + 1) / 2.0
    w = rank / (score.shape[1] + 1)
    return np.log(w / (1.0 - w)), value[np.arange(n), best], value[::-1][np.arange(n), best]


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


@pytest.mark.parametrize("objective", [Objective("sharpe"), Objective("sortino"), Objective("cagr"),
                                       Objective("calmar", 0.3)], ids=str)
@pytest.mark.parametrize("trials", [2, 7, 40, 41])
@pytest.mark.parametrize("blocks", [2, 4, 6, 10])
def test_cscv_equals_the_vectorised_algorithm(objective, trials, blocks):
    m = _matrix(days=611, trials=max(trials, 12), seed=trials + blocks)[:, -trials:]   # ties among 40 and 41
    m[:, 0] = m[:, -1]                                                                 # and among the fewer
    result = cscv(m, objective, blocks)
    logits, inside, outside = vectorised_cscv(m, objective, blocks)
    assert np.array_equal(result.logits, logits)
    assert np.array_equal(result.in_sample, inside, equal_nan=True)
    assert np.array_equal(result.out_of_sample, outside, equal_nan=True)


def powered(values, digits):
    """`values` to `digits` significant digits, a logarithm and a power per value (what the
    exponent from the binary one and the table of powers replaced)."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values) & (values != 0)
    exponent = np.floor(np.log10(np.abs(values, where=finite, out=np.ones_like(values))))
    scale = 10.0 ** (digits - 1 - exponent)
    return np.where(finite, np.round(values * scale) / scale, values)


def test_significant_digits_equal_a_logarithm_and_a_power_per_value():
    rng = np.random.default_rng(5)
    tens = 10.0 ** np.arange(-323, 309)
    with np.errstate(all="ignore"):   # overflows, and the inf * 0 of the smallest values
        values = np.concatenate([rng.normal(0.0, 1.0, 50_000) * 10.0 ** rng.integers(-330, 309, 50_000),
                                 tens, rng.normal(1.0, 0.3, 1000), 2.0 ** np.arange(-1074, 1024),
                                 # next to a power of ten, inside and outside the band numpy's logarithm decides
                                 np.nextafter(tens, 0), np.nextafter(tens, np.inf), -tens * (1 + 1e-9),
                                 tens * (1 - 1e-9), tens * (1 + 2e-9), tens * (1 - 2e-9), tens * (1 + 1e-7),
                                 [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.7976931348623157e308,
                                  2.2250738585072014e-308, 1e-290, np.nextafter(1e-290, 1)]])
        for digits in (3, 12, 15):
            mine, theirs = significant(values, digits), powered(values, digits)
            assert np.array_equal(mine, theirs, equal_nan=True)
            assert np.array_equal(np.signbit(mine), np.signbit(theirs))   # -0.0 stays -0.0
        square = values[:len(values) // 5 * 5].reshape(5, -1)
        for laid_out in (square, np.asfortranarray(square), values[::2]):
            assert np.array_equal(significant(laid_out, 12), powered(laid_out, 12), equal_nan=True)
            assert significant(laid_out, 12).shape == laid_out.shape


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
