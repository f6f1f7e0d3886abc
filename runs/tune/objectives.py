"""What a tuner maximises: the Sharpe, Sortino, Calmar or CAGR of a trial, optionally refusing
any trial whose drawdown went deeper than a limit.

The figures are `canary.runs.report.figures`' (the same as `canary run` prints, intraday drawdowns
included), computed on `Segment`s: a window of days is one segment; a combinatorially symmetric
cross-validation split is several joined. A trial whose figure is n/a (a flat curve's Sharpe)
scores -inf, as does one that broke the drawdown limit: it ranks below every other.

Scores are compared at 12 significant digits: two trials that trade alike over a window differ
only by float rounding (about 1e-15), and such a tie goes to the first trial, whatever the
memory layout or summation order that computed them.
"""
import functools
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError, suggest

from ..report.figures import figures

OBJECTIVES = ("sharpe", "sortino", "calmar", "cagr")
SIGNIFICANT = 12
LOWEST_EXPONENT, HIGHEST_EXPONENT = -324, 308   # floor(log10(|x|)) of a finite nonzero double


@functools.cache
def _scales(digits):
    """10.0 ** (digits - 1 - e) for each decimal exponent e from LOWEST_EXPONENT up, computed by
    numpy's power as it computes each value alone: a look-up costs a tenth of a power per value
    (CSCV rounds 10^8 scores)."""
    with np.errstate(over="ignore"):   # inf for values below 1e-297, as their own power gives
        return 10.0 ** (digits - 1 - np.arange(LOWEST_EXPONENT, HIGHEST_EXPONENT + 1, dtype=float))


def _significant(values, digits):
    """`values` rounded to `digits` significant digits (infinities and NaN as they are). The
    steps work in place in one array (CSCV rounds 10^8 scores: fresh arrays cost a sixth more);
    each is the ufunc it always was, on an array laid out as before."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    finite &= values != 0
    work = np.abs(values, where=finite, out=np.ones_like(values))
    np.log10(work, out=work)
    np.floor(work, out=work)
    work -= LOWEST_EXPONENT
    scale = _scales(digits)[work.astype(np.intp)]   # 10 ** (digits - 1 - the decimal exponent)
    np.multiply(values, scale, out=work)
    np.round(work, out=work)
    work /= scale
    return np.where(finite, work, values)


@dataclass(frozen=True)
class Objective:
    """The figure to maximise, and the deepest drawdown a trial may have had (None: any).

    A trial that broke the drawdown limit scores -inf: it is never picked while another
    trial kept within the limit.
    """

    name: str = "sharpe"
    max_drawdown: float | None = None

    def __post_init__(self):
        if self.name not in OBJECTIVES:
            raise ConfigError(f"tune.objective: {self.name!r} is not one of {', '.join(OBJECTIVES)}"
                              f"{suggest(self.name, OBJECTIVES)}")

    def score(self, seg):
        """The objective of each trial over a segment (higher is better; -inf: not allowed)."""
        return self.score_of(figures(seg))

    @property
    def reads(self):
        """The figures `score_of` reads: the objective's, and the drawdown with a limit."""
        return (self.name,) if self.max_drawdown is None else (self.name, "max_drawdown")

    def score_of(self, figs):
        """The objective from a dict of `figures`."""
        value = figs[self.name]
        if self.max_drawdown is not None:
            value = np.where(figs["max_drawdown"] < -self.max_drawdown, -np.inf, value)
        return np.where(np.isnan(value), -np.inf, _significant(value, SIGNIFICANT))

    def __str__(self):
        limit = f", drawdown at most {self.max_drawdown:.0%}" if self.max_drawdown is not None else ""
        return f"{self.name}{limit}"
