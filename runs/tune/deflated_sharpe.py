"""The Deflated Sharpe Ratio: how likely the picked trial's true Sharpe ratio is above zero,
given how many trials it was picked from.

Bailey and Lopez de Prado (2014), "The deflated Sharpe ratio: correcting for selection bias,
backtest overfitting and non-normality", Journal of Portfolio Management 40(5). With SR the
pick's Sharpe ratio per day (not annualised) over T daily returns of skewness g3 and kurtosis
g4 (Pearson's: 3 for a normal distribution), N trials whose daily Sharpe ratios have variance
V, and gamma the Euler-Mascheroni constant:

    SR0 = sqrt(V) * ((1 - gamma) * Z(1 - 1/N) + gamma * Z(1 - 1/(N e)))   the best of N skill-less trials
    DSR = Phi((SR - SR0) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))

where Z is the standard normal quantile and Phi its distribution function. With one trial
SR0 = 0 and the DSR is the probabilistic Sharpe ratio. (QuantStats' probabilistic Sharpe ratio
takes 3 off a kurtosis that is already excess kurtosis, so it is not used here.)

The DSR is given twice. With N every trial, however alike: trials that move together make it
conservative. And with N the effective number of independent trials M, from the eigenvalues l of
the trials' correlation matrix of daily returns, by Li and Ji (2005), "Adjusting multiple testing
in multilocus analyses using the eigenvalues of a correlation matrix", Heredity 95(3):

    M = sum f(|l|),  f(x) = (1 if x >= 1 else 0) + (x - floor(x))

An eigenvalue of at least 1 counts as one independent trial plus its fraction; a group of n
identical trials has one eigenvalue n and n - 1 zeros, so it counts once. M is 1 for identical
trials, k for k uncorrelated groups of identical trials (of any sizes), N for independent trials
while their eigenvalues stay below 2 (for noise (1 + sqrt(N/T))^2 < 2: about six times as many
days as trials), and never more than N. (Nyholt's count, American Journal of Human Genetics
74(4), 2004, gives N - n + 1 for k groups of n identical trials; Galwey's, Genetic Epidemiology
33(7), 2009, 1.2 for one trial beside a group of 99 identical ones.) The fraction makes M jump by
one as an eigenvalue crosses a whole number (a group whose eigenvalue comes out 36.99 rather than
37 adds 1.99): M is precise to within the number of eigenvalues above 1 (6 for the 200 trials of
the README's random search). Eigenvalues within numpy's rank tolerance of a whole number (largest
eigenvalue x size x machine epsilon) are taken as that number, so that identical trials count
exactly. M is rounded to a whole trial for SR0.

The eigenvalues come from the trials x trials correlation matrix or, with more trials than days,
from the days x days Gram matrix of the standardised returns, which has the same nonzero
eigenvalues (10,000 trials of 2,927 days: about 6 s on one core of this machine, and 200 MB
beyond the matrix). Flat trials (always in cash) have no correlation: together they
count as one trial. V stays the variance of all trials' Sharpe ratios in both DSRs. As M <= N the
second DSR is never below the first, which is the one the verdict uses.
"""
import math
from dataclasses import dataclass

import numpy as np

from canary.extras import require

from ..report.figures import column_runs, floats

EULER_GAMMA = 0.5772156649015329
CHUNK = 1000   # trials standardised at once when there are more trials than days, or the matrix is float32


def _stats():
    """scipy.stats, imported when a ratio is first computed: the second it takes to import then
    passes beside the other statistics instead of before `canary tune` starts to work."""
    return require("scipy.stats", "the deflated Sharpe ratio of canary tune")


def expected_max_sharpe(trials, variance):
    """SR0: the expected largest daily Sharpe ratio of `trials` trials without skill."""
    if trials < 2:
        return 0.0
    z = _stats().norm.ppf
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * z(1 - 1 / trials) + EULER_GAMMA * z(1 - 1 / (trials * math.e)))


def deflated_sharpe_ratio(sharpe, days, skewness, kurtosis, trials, variance):
    """The DSR from its ingredients (daily Sharpe ratios; Pearson kurtosis)."""
    sr0 = expected_max_sharpe(trials, variance)
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe ** 2
    return float(_stats().norm.cdf((sharpe - sr0) * math.sqrt(days - 1) / math.sqrt(spread)))


@dataclass
class Deflated:
    """The DSR of a pick and what went into it."""

    dsr: float
    sharpe: float          # the pick's daily Sharpe ratio
    expected_max: float    # SR0, daily
    trials: int
    effective_trials: int          # M, rounded
    effective_estimate: float      # M before rounding
    effective_dsr: float           # the DSR with N = M
    effective_expected_max: float  # SR0 with N = M, daily
    variance: float        # of the trials' daily Sharpe ratios
    days: int
    skewness: float
    kurtosis: float


def daily_sharpe(values):
    """Mean over sample standard deviation of each column (0 for a flat column)."""
    out = np.zeros(values.shape[1])
    for s in column_runs(values.shape[1], values.dtype):
        part = np.asarray(values[:, s], dtype=float)
        std = part.std(axis=0, ddof=1)
        out[s] = np.divide(part.mean(axis=0), std, out=np.zeros(part.shape[1]), where=std > 0)
    return out


def _standardised(values):
    """Columns of mean 0 whose sums of squares are 1: X with X'X the correlation matrix."""
    values = np.asarray(values, dtype=float)
    centred = values - values.mean(axis=0)
    return centred / np.sqrt((centred ** 2).sum(axis=0))


def _gram(values):
    """A matrix whose nonzero eigenvalues are those of the columns' correlation matrix: X'X
    (trials x trials), or XX' (days x days, summed over chunks of trials) when there are more
    trials than days."""
    days, trials = values.shape
    if trials <= days:
        runs = column_runs(trials, values.dtype, CHUNK)
        gram = np.empty((trials, trials))
        for n, a in enumerate(runs):
            x = _standardised(values[:, a])
            gram[a, a] = x.T @ x
            for b in runs[n + 1:]:
                gram[a, b] = x.T @ _standardised(values[:, b])
                gram[b, a] = gram[a, b].T
        return gram
    gram = np.zeros((days, days))
    for start in range(0, trials, CHUNK):
        x = _standardised(values[:, start:start + CHUNK])
        gram += x @ x.T
    return gram


def effective_trials(matrix):
    """M, Li and Ji's effective number of independent trials of a days x trials return matrix
    (unrounded)."""
    values = floats(matrix)
    flat = np.ptp(values, axis=0) == 0
    if flat.all():
        return 1.0
    eigen = np.abs(np.linalg.eigvalsh(_gram(values[:, ~flat] if flat.any() else values)))
    whole = np.round(eigen)
    eigen = np.where(np.abs(eigen - whole) <= eigen.max() * max(values.shape) * np.finfo(float).eps, whole, eigen)
    return float(((eigen >= 1) + eigen - np.floor(eigen)).sum()) + float(flat.any())


def deflate(matrix, pick, estimate=None):
    """The DSR of column `pick` of a days x trials return matrix, among all its columns and among
    their effective number (`estimate`: `effective_trials(matrix)`, if computed already)."""
    values = floats(matrix)
    estimate = effective_trials(values) if estimate is None else estimate
    effective = max(1, round(estimate))
    stats = _stats()
    sharpes = daily_sharpe(values)
    mine = np.asarray(values[:, pick], dtype=float)
    skew = float(stats.skew(mine)) if mine.std() > 0 else 0.0
    kurt = float(stats.kurtosis(mine, fisher=False)) if mine.std() > 0 else 3.0
    variance = float(sharpes.var(ddof=1)) if len(sharpes) > 1 else 0.0

    def dsr(trials):
        return deflated_sharpe_ratio(sharpes[pick], len(mine), skew, kurt, trials, variance)

    return Deflated(dsr(len(sharpes)), float(sharpes[pick]), expected_max_sharpe(len(sharpes), variance),
                    len(sharpes), effective, estimate, dsr(effective), expected_max_sharpe(effective, variance),
                    variance, len(mine), skew, kurt)
