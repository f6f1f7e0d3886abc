"""ETH against BTC: the first confirmation from crypto itself."""
import numpy as np

from canary.feeds.windows import window_rule

from .array_indicator import ArrayIndicator
from .rolling import rolling_mean, shift


def eth_btc_strength(eth_close, btc_close, period, momentum_period):
    """ETH/BTC ratio, its moving average, trend and momentum, at every bar.

    Arrays in: the ETH and BTC closes on one crypto clock (1-D, NaN where a coin had no bar).
    Arrays out, same length: ``ratio`` (ETH / BTC), ``average`` (its ``period``-bar simple
    moving average), ``trend`` (ratio / average - 1) and ``momentum`` (ratio / the ratio
    ``momentum_period`` bars earlier - 1); NaN until their window is full.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray(eth_close, dtype=float) / np.asarray(btc_close, dtype=float)
        average = rolling_mean(ratio, period)
        return ratio, average, ratio / average - 1.0, ratio / shift(ratio, momentum_period) - 1.0


class EthBtcStrength(ArrayIndicator):
    """ETH/BTC ratio (data0 = ETH, data1 = BTC, same crypto clock) against its moving average,
    and its momentum: ETH is strengthening when both are positive.

    Formula (see `eth_btc_strength`):
      ratio = eth.close / btc.close;  average = SMA(ratio, period)
      trend = ratio / average - 1;    momentum = ratio / ratio(-momentum_period) - 1
    """

    lines = ("ratio", "average", "trend", "momentum")
    params = (("period", "30d"), ("momentum_period", "14d"))
    windows = ("period", "momentum_period")
    param_rules = {"period": window_rule().searched(["14d", "30d", "60d"]),
                   "momentum_period": window_rule().searched(["7d", "14d", "30d"])}
    function = staticmethod(eth_btc_strength)
    inputs = ("close", "close")

    def lookback(self, p):
        return max(p["period"], p["momentum_period"] + 1)
