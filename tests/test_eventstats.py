"""The event study's statistics: block-bootstrap intervals checked on series with a known answer."""
import numpy as np
import pytest
from scipy import stats

from canary.runs.study.eventstats import difference_interval, hit_rate, mean_interval, non_overlapping

SEEDS = 300          # data sets per coverage check: the coverage is known to about +-2 points
REPS = 300           # resamples per interval


def coverage(make, interval, truth):
    """Share of SEEDS data sets whose interval covers `truth`."""
    hits = 0
    for seed in range(SEEDS):
        low, high = interval(make(np.random.default_rng(seed)), seed)
        hits += low <= truth <= high
    return hits / SEEDS


def test_the_interval_of_a_mean_covers_it_at_its_stated_rate():
    """Independent normal draws: the 90% interval covers the true mean about 90% of the time
    (300 data sets: +-5 points is three standard errors), and about as often as the exact
    Student t interval does on the same data sets."""
    def make(rng):
        return rng.normal(0.3, 1.0, 200)

    rate = coverage(make, lambda x, seed: mean_interval(x, 1, REPS, 0.9, 10_000 + seed), 0.3)
    t = stats.t.ppf(0.95, 199)
    exact = coverage(make, lambda x, seed: (x.mean() - t * x.std(ddof=1) / np.sqrt(len(x)),
                                            x.mean() + t * x.std(ddof=1) / np.sqrt(len(x))), 0.3)
    assert 0.83 <= rate <= 0.96, rate
    assert abs(rate - exact) <= 0.03, (rate, exact)


def test_the_interval_of_an_event_difference_covers_zero_when_events_tell_nothing():
    """Events drawn at random among independent normal days: the true difference is 0."""
    def make(rng):
        x = rng.normal(0.01, 1.0, 600)
        events = np.zeros(600, dtype=bool)
        events[rng.choice(600, 25, replace=False)] = True
        return x, events

    rate = coverage(make, lambda d, seed: difference_interval(*d, 1, REPS, 0.9, 10_000 + seed)[:2], 0.0)
    assert 0.83 <= rate <= 0.96, rate


def test_blocks_keep_the_overlap_of_forward_windows():
    """Overlapping 10-day sums of independent draws: resampling single days ignores the overlap
    and the interval is far too narrow; blocks of twice the window keep most of it."""
    h = 10

    def make(rng):
        return np.convolve(rng.normal(0.0, 1.0, 800 + h - 1), np.ones(h), "valid")

    days = coverage(make, lambda x, seed: mean_interval(x, 1, REPS, 0.9, 10_000 + seed), 0.0)
    blocks = coverage(make, lambda x, seed: mean_interval(x, 2 * h, REPS, 0.9, 10_000 + seed), 0.0)
    assert days < 0.5, days
    assert blocks > 0.78, blocks


def test_a_real_difference_is_found():
    """Events followed by returns one standard deviation higher: the interval excludes zero."""
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 600)
    events = np.zeros(600, dtype=bool)
    events[rng.choice(600, 40, replace=False)] = True
    x[events] += 1.0
    low, high, empty = difference_interval(x, events, 1, 500, 0.9, 2)
    assert 0.6 < low < high < 1.4 and empty == 0.0


def test_counts_and_hit_rate():
    assert non_overlapping([0, 5, 10, 31, 40, 70], 30) == 3      # 0, 31, 70
    assert non_overlapping([], 30) == 0
    assert hit_rate([0.1, -0.2, 0.0, np.nan, 0.3]) == pytest.approx(0.5)
    assert np.isnan(hit_rate([np.nan]))


def test_lengths_must_agree():
    with pytest.raises(ValueError):
        difference_interval(np.zeros(5), np.zeros(4, dtype=bool), 1)
