"""Small caps against large caps: is money rotating out of the mega caps?"""
import backtrader as bt

from .params import Indicator


class SmallVsLargeCap(Indicator):
    """Relative strength of small caps (data0, the Russell 2000) over large caps (data1, the
    S&P 500), against its own ``period``-session moving average.

    Lines: ``ratio`` (small / large), ``average`` (its SMA), ``strength`` (ratio / average - 1:
    above 0 means small caps are outperforming their recent norm). Both feeds must be on the
    same exchange-session calendar.
    """

    lines = ("ratio", "average", "strength")
    params = (("period", 50),)

    def __init__(self):
        self.lines.ratio = self.data0.close / self.data1.close
        self.lines.average = bt.ind.SMA(self.lines.ratio, period=self.p.period)
        self.lines.strength = self.lines.ratio / self.lines.average - 1.0
