"""Does altcoin volume hold up while BTC goes nowhere? The third confirmation."""
import numpy as np

from canary.feeds.windows import window_rule
from canary.params import Rule

from .array_indicator import ArrayIndicator
from .rolling import rolling_median, rolling_sum, row_median, shift


def sideways(btc_close, period, band):
    """1 on the bars where BTC's return over `period` bars is within +/- `band`, else 0; NaN
    for the first `period` bars."""
    btc_close = np.asarray(btc_close, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        move = btc_close / shift(btc_close, period) - 1.0
        return np.where(np.isnan(move), np.nan, (np.abs(move) < band).astype(float))


def basket_relative_volume(volumes, lookback):
    """Per bar: the median across coins of (the bar's volume / the coin's median volume over
    the ``lookback`` bars before).

    Array in: ``volumes``, bars x coins. A coin with a missing or zero volume among those
    ``lookback + 1`` bars is left out at that bar; NaN when none remain, and for the first
    ``lookback`` bars. Unit-free, so coins whose volumes are in different units (base-asset
    coins) pool fairly.
    """
    volumes = np.asarray(volumes, dtype=float)
    usual = shift(rolling_median(volumes, lookback), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        good = np.isfinite(volumes) & (volumes > 0)
        ok = rolling_sum(good.astype(float), lookback + 1) == lookback + 1
        return row_median(volumes / usual, ok)


def sideways_mean(values, sideways, window):
    """Mean of `values` over the bars of the last `window` flagged `sideways` (1) whose value is
    known; NaN where there are none (or the window is not full)."""
    values = np.asarray(values, dtype=float)
    use = (np.asarray(sideways, dtype=float) > 0.5) & np.isfinite(values)
    count = rolling_sum(use.astype(float), window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, rolling_sum(np.where(use, values, 0.0), window) / count, np.nan)


def alt_volume_hold(btc_close, volumes, sideways_period, sideways_band, lookback, window):
    """Altcoin volume on the bars where BTC moves sideways, at every bar.

    Arrays in: the BTC closes (1-D) and the altcoin volumes (bars x coins), one crypto clock.
    Arrays out: ``sideways`` (see `sideways`), ``ratio`` (see `basket_relative_volume`) and
    ``hold``, the mean of ``ratio`` over the sideways bars of the last ``window`` bars where
    it is known (see `sideways_mean`); NaN for the first ``max(lookback, sideways_period) +
    window - 1`` bars.
    """
    flags = sideways(btc_close, sideways_period, sideways_band)
    ratio = basket_relative_volume(volumes, lookback)
    hold = sideways_mean(ratio, flags, window)
    hold[:max(lookback, sideways_period) + window - 1] = np.nan
    return flags, ratio, hold


class AltVolumeHold(ArrayIndicator):
    """Altcoin volume on the bars where BTC moves sideways: the note's sign of money rotating
    down the risk curve while BTC rests.

    Feeds: data0 is BTC, the other feeds the altcoin basket (one crypto clock).
    Formula (see `alt_volume_hold`):
      sideways = |btc.close / btc.close(-sideways_period) - 1| < sideways_band
      ratio = median over coins of volume / median(volume of the previous ``lookback`` bars)
      hold = mean of ratio over the sideways bars of the last ``window`` bars
    Above 1, altcoin activity stays up while BTC rests. A bar with no basket ratio yet (say
    before the altcoins list) is skipped, not a hole. Lines: ``sideways`` (1/0), ``ratio``,
    ``hold``.
    """

    lines = ("sideways", "ratio", "hold")
    params = (("sideways_period", "7d"), ("sideways_band", 0.03), ("lookback", "30d"), ("window", "30d"))
    windows = ("sideways_period", "lookback", "window")
    param_rules = {"sideways_period": window_rule().searched(["3d", "7d", "14d"]),
                   "sideways_band": Rule(lambda v: v > 0, "positive", space=[0.02, 0.03, 0.05]),
                   "lookback": window_rule().searched(["14d", "30d", "60d"]),
                   "window": window_rule().searched(["14d", "30d", "60d"])}
    function = staticmethod(alt_volume_hold)
    inputs = ("close", "volume")
    basket = True

    def lookback(self, p):
        return max(p["lookback"], p["sideways_period"]) + p["window"]
