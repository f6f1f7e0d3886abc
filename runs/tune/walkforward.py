"""Walk-forward and split validation on a days x trials matrix of daily returns (`Returns`,
with their intraday paths on bars shorter than a day).

Each trial was run once over the whole history; a window is a range of rows of its returns.
On each training window the trial with the best objective is picked, and its returns over the
following test window are kept. The test windows, joined in time, are the out-of-sample
curve: what a tuner re-picking by the same rule at each step would have earned.

Taking a trial's returns from a run over the whole history is not the same as restarting it
from cash at the start of each test window: its indicators are warm and it holds whatever
positions it held the day before. That is the curve a live strategy would have had if the
tuner had switched to it then, except for the one trade a real switch would cost (the
positions of the previous pick are not sold into the new one's); the README measures the
difference on a small case.

`split` is one training window (everything before the split date) and one test window
(everything from it); `rolling` windows keep their training length; `anchored` windows all
start at the first day.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canary.errors import ConfigError

from ..report.figures import Returns, Segment, figures

_UNITS = {"d": 1, "w": 7, "y": 365}


def days_in(text):
    """'730d', '26w', '2y' (365 days) or a whole number of days -> days; None if not one."""
    text = str(text).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in _UNITS else (text, "d")
    if not number.isdigit() or int(number) < 1:
        return None
    return int(number) * _UNITS[unit]


@dataclass(frozen=True)
class Window:
    """Rows [train_start, train_end) train, rows [train_end, test_end) test."""

    train_start: int
    train_end: int
    test_end: int


def walk_forward_windows(days, train, test, step=None, anchored=False):
    """The windows over `days` rows: training `train` rows, testing the next `test` rows,
    moving `step` rows each time (default `test`); the last test window may be shorter."""
    step = test if step is None else step
    if min(train, test, step) < 1:
        raise ConfigError("tune: train, test and step must each be at least one day")
    if step < test:
        raise ConfigError(f"tune.step: {step} days is shorter than tune.test ({test} days): "
                          "test windows would overlap")
    if train >= days:
        raise ConfigError(f"tune.train: {train} days leaves nothing to test in {days} days of returns")
    windows = []
    end = train
    while end < days:
        windows.append(Window(0 if anchored else end - train, end, min(end + test, days)))
        end += step
    return windows


def split_window(index, split):
    """One window: train before the first day at or after `split`, test from it."""
    at = int(index.searchsorted(split))
    if at < 2 or at >= len(index):
        raise ConfigError(f"tune.split: {split.date()} must leave at least two days on each side "
                          f"({index[0].date()} to {index[-1].date()})")
    return [Window(0, at, len(index))]


@dataclass
class WalkForward:
    """The picks per window and the stitched out-of-sample returns."""

    windows: list
    picks: list           # trial column position per window (-1: no trial allowed, cash)
    train_scores: list
    test_scores: list
    stitched: Returns     # the test windows' returns of each window's pick, joined in time

    @property
    def returns(self):
        """The stitched out-of-sample daily returns (a Series)."""
        return self.stitched.daily.iloc[:, 0].rename("walk_forward")

    def table(self, index, columns):
        rows = []
        for n, (w, pick, inside, outside) in enumerate(zip(self.windows, self.picks, self.train_scores,
                                                           self.test_scores, strict=True)):
            rows.append({"window": n + 1, "train_start": index[w.train_start], "train_end": index[w.train_end - 1],
                         "test_start": index[w.train_end], "test_end": index[w.test_end - 1],
                         "trial": columns[pick] if pick >= 0 else None, "train_objective": inside,
                         "test_objective": outside})
        return pd.DataFrame(rows)


def walk_forward(matrix, windows, objective):
    """Pick the best trial by `objective` on each training window of `matrix` (days x trials
    `Returns`, or a DataFrame of daily returns) and stitch its returns over the test windows.

    A window where every trial broke the objective's drawdown limit stays in cash.
    """
    days = Returns.of(matrix)
    picks, inside, outside, pieces = [], [], [], []
    for w in windows:
        scores = objective.score(Segment.of(days.rows(slice(w.train_start, w.train_end))))
        pick = int(np.argmax(scores)) if np.isfinite(scores).any() else -1
        test = days.rows(slice(w.train_end, w.test_end))
        chosen = test.column(pick) if pick >= 0 else test.column(0).cash()
        picks.append(pick)
        inside.append(float(scores[pick]) if pick >= 0 else np.nan)
        outside.append(float(figures(Segment.of(chosen))[objective.name][0]))
        pieces.append(chosen)
    return WalkForward(windows, picks, inside, outside, Returns.concat(pieces))
