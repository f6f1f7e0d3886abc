"""Small caps against large caps: is money rotating out of the mega caps?"""
import math
from array import array

import numpy as np

from canary.errors import ConfigError
from canary.feeds.alignment import known_at
from canary.feeds.windows import SESSIONS, session_count

from .once_per_bar import OncePerBarIndicator
from .rolling import rolling_mean


def asof_ratio(time, close, other_time, other_close):
    """`close` / the `other_close` known at each of `time` (the last one closing at or before
    it, see `known_at`); NaN before the other series' first close or where it is 0.

    Arrays in: two series with their close instants (sorted, in one unit, e.g. Backtrader day
    numbers), on calendars and histories of their own. Array out: one ratio per `time`.
    """
    close = np.asarray(close, dtype=float)
    pos = known_at(np.asarray(other_time, dtype=float), np.asarray(time, dtype=float))
    known = np.asarray(other_close, dtype=float)[np.maximum(pos, 0)] if len(other_close) else np.full(len(pos), 0.0)
    known = np.where(pos >= 0, known, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(known != 0, close / known, np.nan)


def relative_strength(ratio, period):
    """(average, strength): the ``period``-bar simple moving average of `ratio` and
    ratio / average - 1, at every bar."""
    average = rolling_mean(ratio, period)
    with np.errstate(invalid="ignore", divide="ignore"):
        return average, np.asarray(ratio, dtype=float) / average - 1.0


def small_vs_large_cap(small_time, small_close, large_time, large_close, period):
    """Relative strength of small caps over large caps, one value per small-cap session.

    Arrays in: each index's close instants and closes (see `asof_ratio`). Arrays out:
    ``ratio`` (small / the large close known then), ``average`` (its ``period``-session SMA)
    and ``strength`` (ratio / average - 1).
    """
    ratio = asof_ratio(small_time, small_close, large_time, large_close)
    return (ratio, *relative_strength(ratio, period))


class SmallVsLargeCap(OncePerBarIndicator):
    """Relative strength of small caps (data0, the Russell 2000) over large caps (data1, the
    S&P 500), against its own ``period``-session moving average.

    Lines: ``ratio`` (small / large), ``average`` (its SMA), ``strength`` (ratio / average - 1:
    above 0 means small caps are outperforming their recent norm). One value per small-cap
    session, against the large-cap close known at that session's close, so the two feeds
    need not share a calendar or a history; NaN before the large cap's first bar.
    Formula: see `small_vs_large_cap`.
    """

    lines = ("ratio", "average", "strength")
    params = (("period", 50),)
    param_rules = {"period": SESSIONS.searched([20, 50, 100])}
    function = staticmethod(small_vs_large_cap)
    inputs = (("datetime", "close"), ("datetime", "close"))

    def __init__(self):
        if len(self.datas) < 2:
            raise ConfigError(f"SmallVsLargeCap: needs 2 feeds (small caps, large caps), got {len(self.datas)}")
        self.addminperiod(session_count(self.p.period, "SmallVsLargeCap.period"))

    def next_bar(self):
        # once per data0 bar: a later data1 close never rewrites its values
        now, large = self.data0.datetime[0], self.data1
        known = math.nan
        for ago in range(0, -len(large), -1):
            if large.datetime[ago] <= now:
                known = large.close[ago]
                break
        ratio = self.data0.close[0] / known if known != 0 else math.nan
        self.lines.ratio[0] = ratio
        size = min(len(self), self.p.period)
        recent = np.asarray(self.lines.ratio.get(size=size), dtype=float)
        average, strength = relative_strength(recent, self.p.period)
        self.lines.average[0], self.lines.strength[0] = average[-1], strength[-1]

    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        pass

    def once(self, start, end):
        small, large = self.data0, self.data1
        values = small_vs_large_cap(np.asarray(small.datetime.array[:end]), np.asarray(small.close.array[:end]),
                                    np.asarray(large.datetime.array), np.asarray(large.close.array), self.p.period)
        for line, column in zip(self.lines, values, strict=True):
            line.array[:end] = array("d", column.tobytes())
