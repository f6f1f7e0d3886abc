"""The research note's background condition: the Russell 2000 breaks out and holds."""
import math

import backtrader as bt

from canary.errors import ConfigError, suggest
from canary.params import Indicator

MODES = ("absolute", "channel", "ma")


def breakout_step(close, trigger, was_on, streak, held_level, mode, confirm, hysteresis):
    """One equity session of the breakout state machine; returns (level, streak, on).

    ``level`` is the reference the close is judged against: the trigger, except in channel
    mode, where the channel high of the breakout session is held while the breakout is being
    confirmed or is on (a rising channel would otherwise demand a new high every session).
    """
    if math.isnan(trigger) and not (mode == "channel" and (was_on or streak)):
        return math.nan, 0, 0.0
    level = held_level if mode == "channel" and (was_on or streak) else trigger
    streak = streak + 1 if close > level else 0
    if was_on:
        on = 0.0 if close < level * (1.0 - hysteresis) else 1.0
    else:
        on = 1.0 if streak >= confirm else 0.0
    return level, streak, on


class SmallCapBreakout(Indicator):
    """Small caps crossing a level and *holding* it: the risk-on background.

    Fed with the Russell 2000 on its own exchange-session clock, so every count is in equity
    sessions. The level takes one of three forms (``mode``):

    * ``absolute``: a fixed index level (``level``, 3,000 in the research note);
    * ``channel``: the highest close of the previous ``period`` sessions (a new N-session high);
    * ``ma``: the ``period``-session simple moving average times ``1 + distance``.

    ``risk_on`` turns to 1 once the close has been above the level for ``confirm`` consecutive
    sessions, and back to 0 on a close below ``level * (1 - hysteresis)``: the fake-out.
    Lines: ``level`` (the reference level), ``streak`` (sessions in a row above it),
    ``risk_on`` (1 risk-on, 0 not).
    """

    lines = ("level", "streak", "risk_on", "trigger")
    params = (
        ("mode", "absolute"),
        ("level", 3000.0),
        ("period", 50),
        ("distance", 0.0),
        ("confirm", 3),
        ("hysteresis", 0.01),
    )
    plotinfo = dict(subplot=True)
    plotlines = dict(trigger=dict(_plotskip=True))

    def __init__(self):
        if self.p.mode not in MODES:
            raise ConfigError(f"SmallCapBreakout: mode '{self.p.mode}' is not one of {', '.join(MODES)}"
                              f"{suggest(self.p.mode, MODES)}")
        close = self.data.close
        if self.p.mode == "absolute":
            self.lines.trigger = close * 0.0 + float(self.p.level)
        elif self.p.mode == "channel":
            self.lines.trigger = bt.ind.Highest(close(-1), period=self.p.period)
        else:
            self.lines.trigger = bt.ind.SMA(close, period=self.p.period) * (1.0 + self.p.distance)

    def _args(self):
        return self.p.mode, self.p.confirm, self.p.hysteresis

    def nextstart(self):
        self._write(0.0, 0, math.nan)

    def next(self):
        self._write(self.lines.risk_on[-1], int(self.lines.streak[-1]), self.lines.level[-1])

    def _write(self, was_on, streak, held):
        level, streak, on = breakout_step(self.data.close[0], self.lines.trigger[0], was_on, streak, held,
                                          *self._args())
        self.lines.level[0], self.lines.streak[0], self.lines.risk_on[0] = level, streak, on

    def once(self, start, end):
        close, trigger = self.data.close.array, self.lines.trigger.array
        level, streak, on = self.lines.level.array, self.lines.streak.array, self.lines.risk_on.array
        args = self._args()
        for i in range(start, end):
            prev = (0.0, 0, math.nan) if i == self._minperiod - 1 else (on[i - 1], int(streak[i - 1]), level[i - 1])
            level[i], streak[i], on[i] = breakout_step(close[i], trigger[i], *prev, *args)
