"""How often do altcoin breakouts fail? The second confirmation from crypto itself."""
import numpy as np

from canary.feeds.windows import window_rule

from .array_indicator import ArrayIndicator
from .rolling import rolling_max, rolling_sum, shift


def breakout_outcomes(closes, period, horizon):
    """Breakouts across coins that fail / resolve at each bar.

    Array in: ``closes``, bars x coins on one crypto clock (NaN where a coin had no bar).
    A breakout at bar t is a close above the highest close of the ``period`` bars before it
    (all of them listed). It *fails* at the first later close below that level within
    ``horizon`` bars, and *succeeds* once it has held for ``horizon`` bars. A missing bar
    (not listed yet, delisted, gap) before the outcome voids it.
    Arrays out, one value per bar: (failed, resolved), counts of breakouts failing /
    resolving at that bar; NaN for the first ``period + horizon`` bars.
    """
    closes = np.asarray(closes, dtype=float)
    n = len(closes)
    failed, resolved = np.zeros(n), np.zeros(n)
    with np.errstate(invalid="ignore"):
        level = shift(rolling_max(closes, period), 1)     # the highest close of the bars before
        alive = closes > level                             # broke out (NaN anywhere -> False)
        for k in range(1, min(horizon, n - 1) + 1):
            later = closes[k:]                             # the close k bars after the breakout
            base = level[:n - k]
            fails = alive[:n - k] & (later < base)
            holds = alive[:n - k] & (later >= base)
            failed[k:] += fails.sum(axis=1)
            resolved[k:] += fails.sum(axis=1) + (holds.sum(axis=1) if k == horizon else 0)
            alive = holds                                  # still open, k bars on
    failed[:period + horizon] = resolved[:period + horizon] = np.nan
    return failed, resolved


def failed_breakout_rate(closes, period, horizon, window):
    """Share of the altcoin breakouts resolved over the last ``window`` bars that failed.

    Array in: ``closes``, bars x coins (see `breakout_outcomes`). Arrays out, one value per
    bar: ``failed`` and ``resolved`` (sums over the window) and ``rate`` = failed / resolved
    (NaN when none resolved, and for the first ``period + horizon + window - 1`` bars).
    """
    failed, resolved = breakout_outcomes(closes, period, horizon)
    failed, resolved = rolling_sum(failed, window), rolling_sum(resolved, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(resolved != 0, failed / resolved, np.nan)
    return failed, resolved, rate


class BreakoutOutcomes(ArrayIndicator):
    """Per bar, across the coin feeds given (one crypto clock, `ListedData`): breakouts that
    failed / resolved on this bar (see `breakout_outcomes`)."""

    lines = ("failed", "resolved")
    params = (("period", "20d"), ("horizon", "5d"))
    windows = ("period", "horizon")
    param_rules = {"period": window_rule(), "horizon": window_rule()}
    function = staticmethod(breakout_outcomes)
    inputs = ("close",)
    basket = True

    def lookback(self, p):
        return p["period"] + p["horizon"] + 1


class FailedBreakoutRate(ArrayIndicator):
    """Share of recent altcoin breakouts that failed, across the basket (the coin feeds given,
    one crypto clock): a falling rate means breakouts stick, the market has regained its
    resilience.

    Formula (see `failed_breakout_rate`): over the last ``window`` bars, the breakouts whose
    outcome became known: ``rate = failed / resolved``, NaN when none resolved. Only coins
    with a ``period``-bar history enter, so a coin listed later adds no look-ahead and no hole.
    Lines: ``failed`` and ``resolved`` (window sums), ``rate``.
    """

    lines = ("failed", "resolved", "rate")
    params = (("period", "20d"), ("horizon", "5d"), ("window", "30d"))
    windows = ("period", "horizon", "window")
    param_rules = {"period": window_rule().searched(["10d", "20d", "40d"]),
                   "horizon": window_rule().searched(["3d", "5d", "10d"]),
                   "window": window_rule().searched(["14d", "30d", "60d"])}
    function = staticmethod(failed_breakout_rate)
    inputs = ("close",)
    basket = True

    def lookback(self, p):
        return p["period"] + p["horizon"] + p["window"]
