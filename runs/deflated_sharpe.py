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
takes 3 off a kurtosis that is already excess kurtosis, so it is not used here.) N counts every
trial, however alike: trials that move together make it conservative.
"""
import math
from dataclasses import dataclass

import numpy as np

from canary.extras import require

stats = require("scipy.stats", "the deflated Sharpe ratio of canary tune")

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(trials, variance):
    """SR0: the expected largest daily Sharpe ratio of `trials` trials without skill."""
    if trials < 2:
        return 0.0
    z = stats.norm.ppf
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * z(1 - 1 / trials) + EULER_GAMMA * z(1 - 1 / (trials * math.e)))


def deflated_sharpe_ratio(sharpe, days, skewness, kurtosis, trials, variance):
    """The DSR from its ingredients (daily Sharpe ratios; Pearson kurtosis)."""
    sr0 = expected_max_sharpe(trials, variance)
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe ** 2
    return float(stats.norm.cdf((sharpe - sr0) * math.sqrt(days - 1) / math.sqrt(spread)))


@dataclass
class Deflated:
    """The DSR of a pick and what went into it."""

    dsr: float
    sharpe: float          # the pick's daily Sharpe ratio
    expected_max: float    # SR0, daily
    trials: int
    variance: float        # of the trials' daily Sharpe ratios
    days: int
    skewness: float
    kurtosis: float


def daily_sharpe(values):
    """Mean over sample standard deviation of each column (0 for a flat column)."""
    std = values.std(axis=0, ddof=1)
    return np.divide(values.mean(axis=0), std, out=np.zeros(values.shape[1]), where=std > 0)


def deflate(matrix, pick):
    """The DSR of column `pick` of a days x trials return matrix, among all its columns."""
    values = np.asarray(matrix, dtype=float)
    sharpes = daily_sharpe(values)
    mine = values[:, pick]
    skew = float(stats.skew(mine)) if mine.std() > 0 else 0.0
    kurt = float(stats.kurtosis(mine, fisher=False)) if mine.std() > 0 else 3.0
    variance = float(sharpes.var(ddof=1)) if len(sharpes) > 1 else 0.0
    dsr = deflated_sharpe_ratio(sharpes[pick], len(mine), skew, kurt, len(sharpes), variance)
    return Deflated(dsr, float(sharpes[pick]), expected_max_sharpe(len(sharpes), variance), len(sharpes),
                    variance, len(mine), skew, kurt)
