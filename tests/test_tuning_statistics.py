"""The statistics of tuning on a days x trials return matrix, against cases worked out by hand.

Synthetic returns only (these are tests of arithmetic, not market data).
"""
import math

import numpy as np
import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.runs.report.figures import Segment, figures
from canary.runs.tune.cscv import cscv
from canary.runs.tune.deflated_sharpe import deflate, deflated_sharpe_ratio, effective_trials, expected_max_sharpe
from canary.runs.tune.objectives import Objective
from canary.runs.tune.report import verdict
from canary.runs.tune.spa import spa_test
from canary.runs.tune.walkforward import split_window, walk_forward, walk_forward_windows


def _days(n):
    return pd.date_range("2020-01-02", periods=n, freq="D", tz="UTC")


# --- objectives ---------------------------------------------------------------------------

def test_figures_follow_the_metrics_definitions():
    r = np.random.default_rng(3).normal(0.001, 0.03, size=(400, 3))
    figs = figures(Segment.of(r))
    for j in range(3):
        s = pd.Series(r[:, j])
        equity = pd.concat([pd.Series([1.0]), (1 + s).cumprod()], ignore_index=True)
        assert figs["sharpe"][j] == pytest.approx(s.mean() / s.std() * math.sqrt(365), rel=1e-10)
        downside = math.sqrt((s[s < 0] ** 2).sum() / len(s))
        assert figs["sortino"][j] == pytest.approx(s.mean() / downside * math.sqrt(365), rel=1e-10)
        cagr = equity.iloc[-1] ** (365 / len(s)) - 1
        assert figs["cagr"][j] == pytest.approx(cagr, rel=1e-10)
        mdd = (equity / equity.cummax() - 1).min()
        assert figs["max_drawdown"][j] == pytest.approx(mdd, rel=1e-10)
        assert figs["calmar"][j] == pytest.approx(cagr / -mdd, rel=1e-10)
        assert figs["volatility"][j] == pytest.approx(s.std() * math.sqrt(365), rel=1e-10)


def test_a_drawdown_is_measured_from_the_start_and_across_joined_segments():
    # equity 1, 1.1, 0.55, 0.66: the fall from 1.1 to 0.55 is -50 %
    assert figures(Segment.of([0.1, -0.5, 0.2]))["max_drawdown"][0] == pytest.approx(-0.5)
    # a first-day loss is a drawdown from the starting value
    assert figures(Segment.of([-0.2, 0.1]))["max_drawdown"][0] == pytest.approx(-0.2)
    # peak 1.1 in the first segment, trough 1.1 * 0.8 * 0.9 in the second: -28 %
    joined = Segment.of([0.1]).then(Segment.of([-0.2, -0.1, 0.5]))
    assert figures(joined)["max_drawdown"][0] == pytest.approx(0.8 * 0.9 - 1)


def test_joined_segments_sum_up_exactly():
    r = np.random.default_rng(5).normal(0.0, 0.05, size=(300, 4))
    whole = Segment.of(r)
    pieces = Segment.joined([Segment.of(r[:17]), Segment.of(r[17:150]), Segment.of(r[150:])])
    for name, value in figures(whole).items():
        np.testing.assert_allclose(figures(pieces)[name], value, rtol=1e-10, err_msg=name)


def test_the_drawdown_limit_refuses_a_trial():
    seg = Segment.of(np.array([[0.10, 0.01], [-0.05, 0.01], [0.10, 0.01]]))
    assert np.argmax(Objective("cagr").score(seg)) == 0            # 1.1495 against 1.0303
    scores = Objective("cagr", max_drawdown=0.04).score(seg)        # the first fell 5 %
    assert scores[0] == -np.inf and np.argmax(scores) == 1
    with pytest.raises(ConfigError, match="did you mean 'sharpe'"):
        Objective("sharp")


# --- walk-forward -------------------------------------------------------------------------

# three trials over eight days, worked by hand with the CAGR objective (the best growth):
RETURNS = pd.DataFrame({
    "A": [0.02, 0.02, 0.02, 0.01, 0.01, -0.03, -0.03, 0.05],
    "B": [0.00, 0.00, 0.01, 0.03, 0.03, 0.02, 0.02, -0.01],
    "C": [-0.01, 0.00, 0.00, 0.00, 0.04, 0.00, 0.04, 0.02],
}, index=_days(8))


def test_rolling_walk_forward_stitches_each_windows_pick():
    windows = walk_forward_windows(8, train=3, test=2)
    assert [(w.train_start, w.train_end, w.test_end) for w in windows] == [(0, 3, 5), (2, 5, 7), (4, 7, 8)]
    wf = walk_forward(RETURNS, windows, Objective("cagr"))
    # days 0-2: A grew 1.02^3; days 2-4: B 1.01*1.03^2 beats A 1.02*1.01^2 and C 1.04;
    # days 4-6: C 1.04^2 beats B 1.03*1.02^2
    assert wf.picks == [0, 1, 2]
    assert wf.returns.tolist() == [0.01, 0.01, 0.02, 0.02, 0.02]
    assert list(wf.returns.index) == list(RETURNS.index[3:])
    table = wf.table(RETURNS.index, list(RETURNS.columns))
    assert table["trial"].tolist() == ["A", "B", "C"]
    assert table["test_objective"].iloc[2] == pytest.approx(1.02 ** 365 - 1)


def test_anchored_walk_forward_trains_from_the_first_day():
    windows = walk_forward_windows(8, train=3, test=2, anchored=True)
    assert [(w.train_start, w.train_end, w.test_end) for w in windows] == [(0, 3, 5), (0, 5, 7), (0, 7, 8)]
    wf = walk_forward(RETURNS, windows, Objective("cagr"))
    # days 0-4: A 1.02^3*1.01^2 = 1.0824 beats B 1.0715; days 0-6: B 1.1148 beats C 1.0708, A 1.0184
    assert wf.picks == [0, 0, 1]
    assert wf.returns.tolist() == [0.01, 0.01, -0.03, -0.03, -0.01]


def test_a_window_where_no_trial_keeps_the_drawdown_limit_stays_in_cash():
    windows = walk_forward_windows(8, train=3, test=2, step=3)
    assert [(w.train_start, w.train_end, w.test_end) for w in windows] == [(0, 3, 5), (3, 6, 8)]
    # days 3-5: A fell 3 %, B never fell, C never fell; with a 0.5 % limit B and C remain
    wf = walk_forward(RETURNS, windows, Objective("cagr", max_drawdown=0.005))
    assert wf.picks == [0, 1]
    wf = walk_forward(RETURNS.drop(columns=["B", "C"]), windows, Objective("cagr", max_drawdown=0.005))
    assert wf.picks == [0, -1]
    assert wf.returns.tolist() == [0.01, 0.01, 0.0, 0.0]  # the second test window in cash


def test_split_and_window_mistakes():
    [w] = split_window(RETURNS.index, pd.Timestamp("2020-01-06", tz="UTC"))
    assert (w.train_start, w.train_end, w.test_end) == (0, 4, 8)
    with pytest.raises(ConfigError, match="tune.split"):
        split_window(RETURNS.index, pd.Timestamp("2030-01-01", tz="UTC"))
    with pytest.raises(ConfigError, match="overlap"):
        walk_forward_windows(8, train=3, test=2, step=1)
    with pytest.raises(ConfigError, match="tune.train"):
        walk_forward_windows(8, train=8, test=2)


# --- CSCV and the probability of backtest overfitting ------------------------------------

def test_pbo_of_a_trial_that_is_best_everywhere_is_zero():
    # X gains 1 % a day, Y loses 1 %: X is best in every training half and best out of
    # sample: rank 2 of 2, w = 2/3, logit ln 2 in all C(4, 2) = 6 splits
    matrix = np.column_stack([np.full(8, 0.01), np.full(8, -0.01)])
    result = cscv(matrix, Objective("cagr"), blocks=4)
    assert result.splits == 6
    np.testing.assert_allclose(result.logits, math.log(2))
    assert result.pbo == 0.0


def test_pbo_of_trials_that_swap_halfway_counts_ties_as_half():
    # X gains in blocks 0-1 and loses in 2-3; Y the reverse. Training on {0,1} picks X, which
    # is worst on {2,3} (w = 1/3); {2,3} likewise picks Y. The four mixed splits tie in
    # training (X is taken, the first) and tie in testing (w = 1/2, logit 0): 2 of 6 splits
    # below the median, 4 at it, PBO (2 + 4/2) / 6 (the paper's share of logits <= 0 is 1)
    x = np.array([0.01] * 4 + [-0.01] * 4)
    result = cscv(np.column_stack([x, -x]), Objective("cagr"), blocks=4)
    np.testing.assert_allclose(sorted(result.logits), [math.log(0.5)] * 2 + [0.0] * 4, atol=1e-12)
    assert (result.below, result.ties) == (2 / 6, 4 / 6)
    assert result.pbo == pytest.approx(2 / 3)


def test_the_middle_of_three_trials_counts_as_half_overfit():
    # two blocks of two days, three trials; growth in block 0: A 1.0404 > B 1.0201 > C 1, in
    # block 1: B 1.0404 > A 1.01 > C 1. Training on block 0 picks A, second of three on block 1
    # (w = 2/4, logit 0); training on block 1 picks B, second on block 0: both splits at the
    # median, PBO 1/2 (the paper's share of logits <= 0 would call it certain overfitting)
    matrix = np.array([[0.02, 0.01, 0.0], [0.02, 0.01, 0.0], [0.01, 0.02, 0.0], [0.0, 0.02, 0.0]])
    result = cscv(matrix, Objective("cagr"), blocks=2)
    assert result.logits.tolist() == [0.0, 0.0]
    assert (result.below, result.ties, result.pbo) == (0.0, 1.0, 0.5)


@pytest.mark.parametrize("trials", [3, 9])
def test_pbo_of_pure_noise_is_one_half_for_an_odd_number_of_trials(trials):
    # 1,000 noise matrices of two blocks: the in-sample best is at the median out of sample in
    # 1/N of splits. Counting those as overfit would give (N + 1) / 2N: 0.67 for 3, 0.56 for 9
    # (measured 0.68 and 0.55 on these seeds); half of them gives 0.5 (standard error 0.012)
    rng = np.random.default_rng(trials)
    results = [cscv(rng.normal(0.0, 0.02, size=(40, trials)), Objective("sharpe"), blocks=2) for _ in range(1000)]
    assert abs(np.mean([r.pbo for r in results]) - 0.5) < 0.03
    assert abs(np.mean([r.ties for r in results]) - 1 / trials) < 0.04
    assert abs(np.mean([r.below + r.ties for r in results]) - 0.5) > 0.03   # the paper's share of logits <= 0


def test_pbo_of_pure_noise_is_near_one_half():
    # one noise matrix's PBO varies a lot (its 252 splits share the same days); ten average out
    pbos = []
    for seed in range(10):
        noise = np.random.default_rng(seed).normal(0.0, 0.02, size=(1200, 40))
        result = cscv(noise, Objective("sharpe"), blocks=10)
        pbos.append(result.pbo)
    assert result.splits == 252
    assert abs(np.mean(pbos) - 0.5) < 0.1


def test_pbo_of_one_skilful_trial_among_noise_is_near_zero():
    rng = np.random.default_rng(7)
    matrix = rng.normal(0.0, 0.02, size=(1200, 40))
    matrix[:, 17] = rng.normal(0.006, 0.02, size=1200)  # a daily Sharpe ratio of 0.3
    result = cscv(matrix, Objective("sharpe"), blocks=10)
    assert result.pbo < 0.05
    assert np.median(result.logits) > 2


def test_cscv_mistakes():
    with pytest.raises(ConfigError, match="even"):
        cscv(np.zeros((100, 3)), Objective(), blocks=5)
    with pytest.raises(ConfigError, match="two trials"):
        cscv(np.zeros((100, 1)), Objective(), blocks=4)
    with pytest.raises(ConfigError, match="at least 32 days"):
        cscv(np.zeros((20, 3)), Objective(), blocks=16)


# --- the deflated Sharpe ratio ------------------------------------------------------------

def test_deflated_sharpe_ratio_of_the_papers_example():
    # Bailey and Lopez de Prado (2014), section 5: 100 trials whose annualised Sharpe ratios
    # have variance 1/2, a pick with an annualised 2.5 over 5 years of 250 days, skewness -3,
    # kurtosis 10. SR0 = sqrt(0.5/250) * (0.4228 * 2.3263 + 0.5772 * 2.6823) = 0.1132 a day,
    # and DSR = Phi((0.1581 - 0.1132) * sqrt(1249) / sqrt(1 + 3 * 0.1581 + 9/4 * 0.1581^2)) = 0.9004
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(2.5 / math.sqrt(250), 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_one_trial_gives_the_probabilistic_sharpe_ratio():
    # normal returns (skewness 0, kurtosis 3) with a daily Sharpe of 0.1 over 101 days:
    # Phi(0.1 * 10 / sqrt(1 + 2/4 * 0.01)) = Phi(0.99751)
    assert deflated_sharpe_ratio(0.1, 101, 0.0, 3.0, 1, 0.0) == pytest.approx(0.84074, abs=1e-5)
    assert deflated_sharpe_ratio(0.0, 101, 0.0, 3.0, 1, 0.0) == 0.5


def test_deflate_measures_the_picks_moments():
    # the pick alternates +3 % and -1 %: mean 1 %, skewness 0, Pearson kurtosis 1 (two points)
    pick = np.tile([0.03, -0.01], 50)
    others = np.random.default_rng(1).normal(0.0, 0.02, size=(100, 9))
    matrix = np.column_stack([others, pick])
    d = deflate(matrix, 9)
    assert d.trials == 10 and d.days == 100
    assert d.skewness == pytest.approx(0.0, abs=1e-9)
    assert d.kurtosis == pytest.approx(1.0)
    sr = 0.01 / np.std(pick, ddof=1)
    assert d.sharpe == pytest.approx(sr)
    sharpes = matrix.mean(axis=0) / matrix.std(axis=0, ddof=1)
    assert d.variance == pytest.approx(np.var(sharpes, ddof=1))
    assert d.dsr == pytest.approx(deflated_sharpe_ratio(sr, 100, 0.0, 1.0, 10, d.variance))
    # the same spread among more trials deflates more
    assert deflated_sharpe_ratio(sr, 100, 0.0, 1.0, 100, d.variance) < d.dsr


# --- the effective number of independent trials ------------------------------------------

def _uncorrelated(days, k, seed):
    """k return series of exactly zero sample correlation (orthogonal once centred)."""
    centred = np.random.default_rng(seed).normal(size=(days, k))
    q, _ = np.linalg.qr(centred - centred.mean(axis=0))
    return 0.001 + 0.02 * q * math.sqrt(days)


def _li_ji(matrix):
    """Li and Ji's count straight from the trials x trials correlation matrix."""
    eigen = np.abs(np.linalg.eigvalsh(np.corrcoef(matrix, rowvar=False)))
    return ((eigen >= 1) + eigen - np.floor(eigen)).sum()


def test_identical_trials_are_one_effective_trial():
    one = np.random.default_rng(2).normal(0.001, 0.02, size=(300, 1))
    assert effective_trials(np.repeat(one, 50, axis=1)) == pytest.approx(1.0, abs=1e-9)
    assert effective_trials(np.repeat(one, 500, axis=1)) == pytest.approx(1.0, abs=1e-9)  # more trials than days


def test_independent_trials_are_as_many_effective_trials():
    # noise over 30 times as many days as trials: every eigenvalue within (1 +- sqrt(1/30))^2,
    # below 2, so each counts as itself and they sum to the number of trials
    noise = np.random.default_rng(4).normal(0.0, 0.02, size=(1200, 40))
    assert effective_trials(noise) == pytest.approx(40.0, rel=1e-9)


def test_k_uncorrelated_groups_of_identical_trials_are_k_effective_trials():
    base = _uncorrelated(300, 3, seed=6)
    groups = np.repeat(base, [1, 5, 30], axis=1)       # sizes need not be equal
    assert effective_trials(groups) == pytest.approx(3.0, abs=1e-9)
    wide = np.repeat(_uncorrelated(30, 3, seed=7), [40, 60, 7], axis=1)   # 107 trials over 30 days
    assert effective_trials(wide) == pytest.approx(3.0, abs=1e-9)
    # trials always in cash have no correlation: together they are one more
    assert effective_trials(np.column_stack([groups, np.zeros((300, 4))])) == pytest.approx(4.0, abs=1e-9)


def test_more_trials_than_days_take_the_days_gram_matrix():
    # 150 noise trials over 60 days: the days x days path gives the count of the correlation matrix
    noise = np.random.default_rng(8).normal(0.0, 0.02, size=(60, 150))
    assert effective_trials(noise) == pytest.approx(_li_ji(noise), rel=1e-9)


def test_deflate_with_the_effective_number_of_trials():
    # three uncorrelated groups of 1, 5 and 30 identical trials: the DSR among 36 trials, and
    # among 3
    matrix = np.repeat(_uncorrelated(300, 3, seed=6), [1, 5, 30], axis=1)
    d = deflate(matrix, 0)
    assert (d.trials, d.effective_trials) == (36, 3)
    assert d.effective_dsr == pytest.approx(deflated_sharpe_ratio(d.sharpe, 300, d.skewness, d.kurtosis, 3,
                                                                  d.variance))
    assert d.effective_expected_max == pytest.approx(expected_max_sharpe(3, d.variance))
    assert d.dsr == pytest.approx(deflated_sharpe_ratio(d.sharpe, 300, d.skewness, d.kurtosis, 36, d.variance))
    assert d.effective_dsr > d.dsr
    # identical trials deflate as one: the probabilistic Sharpe ratio
    same = deflate(np.repeat(matrix[:, :1], 20, axis=1), 3)
    assert same.effective_trials == 1 and same.effective_expected_max == 0.0
    assert same.effective_dsr == pytest.approx(deflated_sharpe_ratio(same.sharpe, 300, same.skewness, same.kurtosis,
                                                                     1, 0.0))


# --- Hansen's superior predictive ability -------------------------------------------------

def test_spa_finds_a_trial_that_beats_the_benchmark_and_no_one_in_noise():
    rng = np.random.default_rng(11)
    benchmark = rng.normal(0.0, 0.02, size=1500)
    lookalikes = benchmark[:, None] + rng.normal(0.0, 0.01, size=(1500, 20))
    assert spa_test(lookalikes, benchmark, reps=200, seed=1).consistent > 0.2
    better = np.column_stack([lookalikes, benchmark + 0.004 + rng.normal(0.0, 0.01, size=1500)])
    result = spa_test(better, benchmark, reps=200, seed=1)
    assert result.consistent < 0.01
    assert result.lower <= result.consistent <= result.upper
    assert spa_test(better, benchmark, reps=200, seed=1) == result  # seeded


# --- how the report words them --------------------------------------------------------------

def test_the_verdict_states_the_tie_share_the_effective_trials_and_the_luck_of_one_half():
    s = {"objective": "sharpe", "trials": 200, "method": "random", "days": 2927, "history": "2018 to 2026",
         "pbo": {"pbo": 0.57, "below_median": 0.50, "tied_at_median": 0.14, "splits": 12870},
         "deflated_sharpe": {"dsr": 0.93, "effective_trials": 18, "effective_dsr": 0.97},
         "spa_pvalue": {"consistent": 0.2}}
    text = verdict(s)
    assert "in 50.0% of 12,870 ways of halving the history, the best trial of one half was worse than the median " \
           "trial of the other half, and in 14.0% level with it (counted as half overfit; at or above the 0.5 of " \
           "pure luck)" in text
    assert "deflated Sharpe ratio is 0.93" in text and "below the usual 0.95" in text  # all 200 trials decide
    assert "counting only the 18 independent trials their correlated returns amount to, it is 0.97" in text
    assert "does not support" in text
