"""Small caps against large caps: is money rotating out of the mega caps?"""
import math

import backtrader as bt
import numpy as np

from canary.feeds.alignment import known_at
from canary.params import Indicator


def _ratio(num, den):
    return num / den if den != 0 else math.nan


class AsOfRatio(Indicator):
    """data0 close / the data1 close known at data0's bar close (the last data1 bar closing
    at or before it); NaN before data1's first bar.

    Aligned by time, not by bar number: the two series may have different calendars or
    histories (IWM from 2000 against the S&P 500 from 2016, a session one of them lacks).
    """

    lines = ("ratio",)

    def __init__(self):
        self._done = 0

    def next(self):
        # Called on every step, including steps where only data1 moves: a data0 bar's ratio
        # is fixed when that bar arrives, so a later data1 close never rewrites it.
        if len(self) == self._done:
            return
        self._done = len(self)
        now, large = self.data0.datetime[0], self.data1
        known = math.nan
        for ago in range(0, -len(large), -1):
            if large.datetime[ago] <= now:
                known = large.close[ago]
                break
        self.lines.ratio[0] = _ratio(self.data0.close[0], known)

    def once(self, start, end):
        small_dt = np.asarray(self.data0.datetime.array[start:end])
        large_dt = np.asarray(self.data1.datetime.array)
        large = self.data1.close.array
        pos = known_at(large_dt, small_dt)
        close, out = self.data0.close.array, self.lines.ratio.array
        for j, i in enumerate(range(start, end)):
            out[i] = _ratio(close[i], large[pos[j]] if pos[j] >= 0 else math.nan)


class SmallVsLargeCap(Indicator):
    """Relative strength of small caps (data0, the Russell 2000) over large caps (data1, the
    S&P 500), against its own ``period``-session moving average.

    Lines: ``ratio`` (small / large), ``average`` (its SMA), ``strength`` (ratio / average - 1:
    above 0 means small caps are outperforming their recent norm). One value per small-cap
    session, against the large-cap close known at that session's close (see `AsOfRatio`), so
    the two feeds need not share a calendar or a history; NaN before the large cap's first bar.
    """

    lines = ("ratio", "average", "strength")
    params = (("period", 50),)

    def __init__(self):
        ratio = AsOfRatio(self.data0, self.data1).ratio
        self.lines.ratio = ratio
        self.lines.average = bt.ind.SMA(ratio, period=self.p.period)
        self.lines.strength = ratio / self.lines.average - 1.0
