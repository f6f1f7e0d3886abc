"""What a tuner maximises: Sharpe, Sortino, Calmar or CAGR of daily returns, optionally
refusing any trial whose drawdown went deeper than a limit.

Figures follow `runs/metrics.py` (365-day annualisation, zero risk-free rate, sample standard
deviation, downside deviation over all days, CAGR over the number of returns, drawdown from the
starting value). They are computed from *segment summaries*: a few sums per trial over a run
of consecutive days, which add up exactly when segments are joined end to end. A window of
days is one segment; a combinatorially symmetric cross-validation split is several joined, so
every split costs a handful of additions instead of a pass over the returns.
"""
from dataclasses import dataclass

import numpy as np

from canary.errors import ConfigError, suggest

from .metrics import DAYS_PER_YEAR

OBJECTIVES = ("sharpe", "sortino", "calmar", "cagr")


@dataclass(frozen=True)
class Segment:
    """Sums over consecutive daily returns, one value per trial (arrays of shape (trials,)).

    `log_*` are in log-growth units: `log_end` the growth over the segment, `log_low` and
    `log_high` the lowest and highest points of the path from the segment's start, and
    `log_drawdown` the deepest fall from a running peak inside the segment (<= 0).
    """

    days: int  # or an array broadcasting against the others, for stacked segments
    total: np.ndarray
    squares: np.ndarray
    down_squares: np.ndarray
    log_end: np.ndarray
    log_low: np.ndarray
    log_high: np.ndarray
    log_drawdown: np.ndarray

    @classmethod
    def of(cls, returns):
        """The summary of a (days x trials) array of daily returns (a 1-d array is one trial)."""
        r = np.asarray(returns, dtype=float)
        if r.ndim == 1:
            r = r[:, None]
        with np.errstate(divide="ignore"):
            path = np.cumsum(np.log1p(r), axis=0)
        start = np.zeros((1, r.shape[1]))
        peaks = np.maximum.accumulate(np.vstack([start, path]), axis=0)[1:]
        return cls(days=r.shape[0], total=r.sum(axis=0), squares=(r * r).sum(axis=0),
                   down_squares=(np.minimum(r, 0.0) ** 2).sum(axis=0), log_end=path[-1],
                   log_low=path.min(axis=0), log_high=path.max(axis=0),
                   log_drawdown=np.minimum((path - peaks).min(axis=0), 0.0))

    def then(self, later):
        """The summary of this segment followed at once by `later`."""
        # the running peak entering `later` is this segment's high (or its start, 0)
        peak_in = np.maximum(self.log_high, 0.0)
        fall = self.log_end + later.log_low - peak_in
        return Segment(days=self.days + later.days, total=self.total + later.total,
                       squares=self.squares + later.squares, down_squares=self.down_squares + later.down_squares,
                       log_end=self.log_end + later.log_end,
                       log_low=np.minimum(self.log_low, self.log_end + later.log_low),
                       log_high=np.maximum(self.log_high, self.log_end + later.log_high),
                       log_drawdown=np.minimum(np.minimum(self.log_drawdown, later.log_drawdown),
                                               np.minimum(fall, 0.0)))

    @staticmethod
    def joined(segments):
        segments = list(segments)
        out = segments[0]
        for s in segments[1:]:
            out = out.then(s)
        return out

    @classmethod
    def stack(cls, segments):
        """Several segments as one whose fields have a leading axis (days as a column)."""
        return cls(np.array([[s.days] for s in segments]),
                   *(np.stack([getattr(s, f) for s in segments]) for f in _ARRAYS))

    def take(self, rows):
        """The stacked segments at `rows` (an index array along the leading axis)."""
        return Segment(self.days[rows], *(getattr(self, f)[rows] for f in _ARRAYS))


_ARRAYS = ("total", "squares", "down_squares", "log_end", "log_low", "log_high", "log_drawdown")


def _ratio(num, den):
    """num / den, with 0/0 = 0 (a flat curve earns nothing per unit of risk)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.sign(num) * np.inf)
    return np.where((num == 0) & (den == 0), 0.0, out)


def figures(seg):
    """Every figure of a segment, per trial, as a dict of arrays (annualised over 365 days)."""
    n = seg.days
    mean = seg.total / n
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.sqrt(np.maximum(seg.squares - seg.total * mean, 0.0) / (n - 1))
    std = np.where(np.asarray(n) > 1, std, np.nan)
    growth = np.exp(seg.log_end)
    cagr = growth ** (DAYS_PER_YEAR / n) - 1.0
    mdd = np.expm1(seg.log_drawdown)
    root = np.sqrt(DAYS_PER_YEAR)
    return {"total_return": growth - 1.0, "cagr": cagr, "volatility": std * root,
            "sharpe": _ratio(mean, std) * root, "sortino": _ratio(mean, np.sqrt(seg.down_squares / n)) * root,
            "max_drawdown": mdd, "calmar": _ratio(cagr, -mdd)}


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

    def score_of(self, figs):
        """The objective from a dict of `figures`."""
        value = figs[self.name]
        if self.max_drawdown is not None:
            value = np.where(figs["max_drawdown"] < -self.max_drawdown, -np.inf, value)
        return np.where(np.isnan(value), -np.inf, value)

    def __str__(self):
        limit = f", drawdown at most {self.max_drawdown:.0%}" if self.max_drawdown is not None else ""
        return f"{self.name}{limit}"
