"""Hansen's test for superior predictive ability of the trials against BTC buy-and-hold.

Hansen (2005), "A test for superior predictive ability", Journal of Business and Economic
Statistics 23(4), through `arch.bootstrap.SPA`. The null hypothesis: no trial has a higher
expected daily return than BTC buy-and-hold. A small p-value says at least one setting beat it
beyond what the luckiest of so many trials would; a large one says the best trial's lead is
within what luck among them explains. The test works on losses: a day's loss is minus its
return. The stationary bootstrap resamples blocks of about a month, keeping volatility
clusters together; it is seeded, so the same matrix gives the same p-value.
"""
from dataclasses import dataclass

import numpy as np

BLOCK_DAYS = 30


@dataclass
class SuperiorAbility:
    """SPA p-values (consistent is the one to read; lower and upper bound it)."""

    consistent: float
    lower: float
    upper: float
    reps: int


def spa_test(matrix, benchmark, reps=1000, seed=0):
    """SPA of the columns of a days x trials return matrix against the benchmark's returns."""
    from arch.bootstrap import SPA

    models = -np.asarray(matrix, dtype=float)
    bench = -np.asarray(benchmark, dtype=float)
    test = SPA(bench, models, block_size=BLOCK_DAYS, reps=reps, bootstrap="stationary", seed=seed)
    test.compute()
    p = test.pvalues
    return SuperiorAbility(float(p["consistent"]), float(p["lower"]), float(p["upper"]), reps)
