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
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError, suggest

from ..report.figures import figures

OBJECTIVES = ("sharpe", "sortino", "calmar", "cagr")
SIGNIFICANT = 12


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
        # compiled with numba (the [tune] extra), which the configuration, importing this module, does not need
        from .significant import significant

        value = figs[self.name]
        if self.max_drawdown is not None:
            value = np.where(figs["max_drawdown"] < -self.max_drawdown, -np.inf, value)
        return np.where(np.isnan(value), -np.inf, significant(value, SIGNIFICANT))

    def __str__(self):
        limit = f", drawdown at most {self.max_drawdown:.0%}" if self.max_drawdown is not None else ""
        return f"{self.name}{limit}"
