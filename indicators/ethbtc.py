"""ETH against BTC: the first confirmation from crypto itself."""
import backtrader as bt

from canary.params import Indicator


class EthBtcStrength(Indicator):
    """ETH/BTC ratio (data0 = ETH, data1 = BTC, same crypto clock) against its moving average,
    and its momentum.

    Lines: ``ratio`` (ETH close / BTC close), ``average`` (its ``period``-bar SMA), ``trend``
    (ratio / average - 1), ``momentum`` (ratio / ratio ``momentum`` bars ago - 1). ETH is
    strengthening when both are positive.
    """

    lines = ("ratio", "average", "trend", "momentum")
    params = (("period", 30), ("momentum", 14))

    def __init__(self):
        ratio = self.data0.close / self.data1.close
        self.lines.ratio = ratio
        self.lines.average = bt.ind.SMA(ratio, period=self.p.period)
        self.lines.trend = ratio / self.lines.average - 1.0
        self.lines.momentum = ratio / ratio(-self.p.momentum) - 1.0
