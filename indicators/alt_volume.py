"""Does altcoin volume hold up while BTC goes nowhere? The third confirmation."""
import math

import backtrader as bt
import numpy as np

from .params import Indicator
from .windowed import WindowIndicator


def basket_relative_volume(volumes):
    """Median across coins of (this bar's volume / the median of the coin's previous bars).

    `volumes`: one column per coin, the last row the current bar. Coins with any missing
    or zero volume in the window are left out; NaN when none remain. Unit-free, so coins
    with volumes in different units (base-asset coins) can be pooled.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        usual = np.median(volumes[:-1], axis=0)
        ratio = volumes[-1] / usual
    ok = np.isfinite(ratio) & (usual > 0) & np.all(np.isfinite(volumes), axis=0)
    return (float(np.median(ratio[ok])) if ok.any() else math.nan,)


class BasketRelativeVolume(WindowIndicator):
    """Per bar: the basket's median relative volume (see `basket_relative_volume`), each coin
    against its own median over the previous ``lookback`` bars."""

    lines = ("ratio",)
    params = (("lookback", 30),)

    def __init__(self):
        self.setup([d.volume for d in self.datas], self.p.lookback + 1)

    def compute(self, block):
        return basket_relative_volume(block)


class AltVolumeHold(Indicator):
    """Altcoin volume on the bars where BTC moves sideways.

    data0 is BTC, the other feeds the altcoin basket (one crypto clock). BTC is *sideways* on
    a bar when ``|close / close(-sideways_period) - 1| < sideways_band``. ``ratio`` is the
    basket's median relative volume (each coin against its median of the previous
    ``lookback`` bars). ``hold`` is the mean of ``ratio`` over the sideways bars among the
    last ``window`` bars (NaN if there were none): above 1, altcoin activity stays up while
    BTC rests, the note's sign of money rotating down the risk curve.
    Lines: ``sideways`` (1/0), ``ratio``, ``hold``.
    """

    lines = ("sideways", "ratio", "hold")
    params = (("sideways_period", 7), ("sideways_band", 0.03), ("lookback", 30), ("window", 30))

    def __init__(self):
        btc = self.data0.close
        self.lines.sideways = abs(btc / btc(-self.p.sideways_period) - 1.0) < self.p.sideways_band
        self.lines.ratio = BasketRelativeVolume(*self.datas[1:], lookback=self.p.lookback).ratio
        on_sideways = bt.ind.SumN(self.lines.ratio * self.lines.sideways, period=self.p.window)
        count = bt.ind.SumN(self.lines.sideways, period=self.p.window)
        self.lines.hold = bt.DivByZero(on_sideways, count, zero=math.nan)
