"""Does altcoin volume hold up while BTC goes nowhere? The third confirmation."""
import math

import numpy as np

from canary.params import Indicator

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
        ok = np.all(np.isfinite(volumes) & (volumes > 0), axis=0)
    return (float(np.median(ratio[ok])) if ok.any() else math.nan,)


def sideways_mean(values, sideways):
    """Mean of `values` over the bars flagged `sideways` whose value is known; NaN if none."""
    use = (sideways > 0.5) & np.isfinite(values)
    return (float(np.mean(values[use])) if use.any() else math.nan,)


class BasketRelativeVolume(WindowIndicator):
    """Per bar: the basket's median relative volume (see `basket_relative_volume`), each coin
    against its own median over the previous ``lookback`` bars."""

    lines = ("ratio",)
    params = (("lookback", 30),)

    def __init__(self):
        self.setup([d.volume for d in self.datas], self.p.lookback + 1)

    def compute(self, block):
        return basket_relative_volume(block)


class SidewaysMean(WindowIndicator):
    """Per bar: the mean of data0 (a line) over the last ``window`` bars where data1 (a 1/0
    line) is set and data0 is known (see `sideways_mean`)."""

    lines = ("mean",)
    params = (("window", 30),)

    def __init__(self):
        self.setup([self.data0.lines[0], self.data1.lines[0]], self.p.window)

    def compute(self, block):
        return sideways_mean(block[:, 0], block[:, 1])


class AltVolumeHold(Indicator):
    """Altcoin volume on the bars where BTC moves sideways.

    data0 is BTC, the other feeds the altcoin basket (one crypto clock). BTC is *sideways* on
    a bar when ``|close / close(-sideways_period) - 1| < sideways_band``. ``ratio`` is the
    basket's median relative volume (each coin against its median of the previous
    ``lookback`` bars). ``hold`` is the mean of ``ratio`` over the sideways bars among the
    last ``window`` bars whose ratio is known (NaN if there were none; a bar with no basket
    ratio yet, say before the altcoins list, is skipped, not a hole): above 1, altcoin
    activity stays up while BTC rests, the note's sign of money rotating down the risk curve.
    Lines: ``sideways`` (1/0), ``ratio``, ``hold``.
    """

    lines = ("sideways", "ratio", "hold")
    params = (("sideways_period", 7), ("sideways_band", 0.03), ("lookback", 30), ("window", 30))

    def __init__(self):
        btc = self.data0.close
        sideways = abs(btc / btc(-self.p.sideways_period) - 1.0) < self.p.sideways_band
        ratio = BasketRelativeVolume(*self.datas[1:], lookback=self.p.lookback).ratio
        self.lines.sideways = sideways
        self.lines.ratio = ratio
        # A NaN ratio must not poison the window (NaN * 0 is NaN): average in numpy.
        self.lines.hold = SidewaysMean(ratio, sideways, window=self.p.window).mean
