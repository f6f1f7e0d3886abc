"""How often do altcoin breakouts fail? The second confirmation from crypto itself."""
import math

import backtrader as bt
import numpy as np

from canary.params import Indicator

from .windowed import WindowIndicator


def breakout_outcomes(closes, period, horizon):
    """Breakouts across coins whose outcome becomes known at the last row of `closes`.

    `closes` has one column per coin and ``period + horizon + 1`` rows, the last being the
    current bar. A breakout at bar t is a close above the highest close of the ``period``
    bars before it (all of them listed). It *fails* at the first later close below that
    level within ``horizon`` bars, and *succeeds* once it has held for ``horizon`` bars.
    A coin with a missing bar (NaN: not listed yet, delisted, gap) in the window voids it.
    Returns (failed, resolved): counts of breakouts failing / resolving at the current bar.
    """
    failed = resolved = 0
    now = len(closes) - 1
    with np.errstate(invalid="ignore"):
        for k in range(1, horizon + 1):
            t = now - k
            level = np.max(closes[t - period:t], axis=0)
            broke = closes[t] > level  # NaN anywhere -> False
            held_before = np.all(closes[t + 1:now] >= level, axis=0)
            fails_now = broke & held_before & (closes[now] < level)
            holds_now = broke & held_before & (closes[now] >= level) & (k == horizon)
            failed += int(fails_now.sum())
            resolved += int(fails_now.sum() + holds_now.sum())
    return failed, resolved


class BreakoutOutcomes(WindowIndicator):
    """Per bar, across the coin feeds given: breakouts that failed / resolved on this bar.

    See `breakout_outcomes`. All feeds must share one crypto clock (`ListedData`).
    """

    lines = ("failed", "resolved")
    params = (("period", 20), ("horizon", 5))

    def __init__(self):
        self.setup([d.close for d in self.datas], self.p.period + self.p.horizon + 1)

    def compute(self, block):
        return breakout_outcomes(block, self.p.period, self.p.horizon)


class FailedBreakoutRate(Indicator):
    """Share of recent altcoin breakouts that failed, across the basket (the coin feeds given).

    Over the last ``window`` bars, the breakouts whose outcome became known (see
    `breakout_outcomes`): ``rate = failed / resolved``, NaN when none resolved. Only coins
    with a ``period``-bar history enter, so a coin listed later adds no look-ahead and no hole.
    A falling rate means breakouts stick: the market has regained its resilience.
    Lines: ``failed`` and ``resolved`` (window sums), ``rate``.
    """

    lines = ("failed", "resolved", "rate")
    params = (("period", 20), ("horizon", 5), ("window", 30))

    def __init__(self):
        events = BreakoutOutcomes(*self.datas, period=self.p.period, horizon=self.p.horizon)
        self.lines.failed = bt.ind.SumN(events.failed, period=self.p.window)
        self.lines.resolved = bt.ind.SumN(events.resolved, period=self.p.window)
        self.lines.rate = bt.DivByZero(self.lines.failed, self.lines.resolved, zero=math.nan)
