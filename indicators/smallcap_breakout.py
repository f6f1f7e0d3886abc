"""The research note's background condition: the Russell 2000 breaks out and holds."""
import math
from array import array

import numpy as np

from canary.feeds.windows import SESSIONS, session_count
from canary.params import Indicator, Rule

from .rolling import rolling_max, rolling_mean, shift

MODES = ("absolute", "channel", "ma")


def breakout_trigger(close, mode, level, period, distance):
    """The level a session's close is judged against, at every session: ``level`` (absolute),
    the highest close of the ``period`` sessions before (channel), or the ``period``-session
    simple moving average times ``1 + distance`` (ma); NaN until the window is full."""
    close = np.asarray(close, dtype=float)
    if mode == "absolute":
        return close * 0.0 + float(level)
    if mode == "channel":
        return shift(rolling_max(close, period), 1)
    return rolling_mean(close, period) * (1.0 + distance)


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


def warmup(mode, period):
    """Sessions before the trigger of `mode` is known (the state machine starts after them)."""
    return {"absolute": 0, "channel": period, "ma": period - 1}[mode]


def small_cap_breakout(close, mode, level, period, distance, confirm, hysteresis):
    """The breakout state machine over every session.

    Array in: the small-cap index closes, one per equity session. Arrays out, one per
    session: ``level`` (the reference level), ``streak`` (sessions in a row above it),
    ``risk_on`` (1/0) and ``trigger`` (see `breakout_trigger`); NaN before the trigger is
    known. Each session's state depends on the one before (a path, not a window), so this
    is one loop over the sessions, calling `breakout_step`.
    """
    close = np.asarray(close, dtype=float)
    trigger = breakout_trigger(close, mode, level, period, distance)
    n = len(close)
    out_level, streak, on = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    state = (0.0, 0, math.nan)
    for i in range(warmup(mode, period), n):
        lv, st, o = breakout_step(float(close[i]), float(trigger[i]), state[0], state[1], state[2], mode, confirm,
                                  hysteresis)
        out_level[i], streak[i], on[i] = lv, st, o
        state = (o, st, lv)
    return out_level, streak, on, trigger


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
    ``risk_on`` (1 risk-on, 0 not), ``trigger`` (the level before the channel hold).
    Formula: see `small_cap_breakout` (vectorised) and `breakout_step` (one session).
    """

    lines = ("level", "streak", "risk_on", "trigger")
    params = (
        ("mode", "ma"),
        ("level", 3000.0),
        ("period", 100),
        ("distance", 0.0),
        ("confirm", 5),
        ("hysteresis", 0.02),
    )
    param_rules = {   # and the default search ranges of `canary tune --space KEY=auto`
        "mode": Rule.one_of(MODES),
        "level": Rule(lambda v: v >= 0, "not negative (0: every close is above it)"),
        "period": SESSIONS.searched({"low": 50, "high": 200, "step": 50}),
        "distance": Rule(lambda v: v > -1, "above -1", space=[0.0, 0.02, 0.05]),
        "confirm": SESSIONS.searched([2, 3, 5, 10]),
        "hysteresis": Rule(lambda v: 0 <= v < 1, "in [0, 1)", space=[0.0, 0.01, 0.02, 0.05]),
    }
    function = staticmethod(small_cap_breakout)
    inputs = ("close",)
    plotinfo = dict(subplot=True)
    plotlines = dict(trigger=dict(_plotskip=True))

    def __init__(self):
        session_count(self.p.period, "SmallCapBreakout.period")
        session_count(self.p.confirm, "SmallCapBreakout.confirm")
        self._start = warmup(self.p.mode, self.p.period)
        self.addminperiod(self._start + 1)

    def _trigger_now(self):
        p = self.p
        close = np.asarray(self.data.close.get(size=min(len(self.data), p.period + 1)), dtype=float)
        return float(breakout_trigger(close, p.mode, p.level, p.period, p.distance)[-1])

    def nextstart(self):
        self._write(0.0, 0, math.nan)

    def next(self):
        self._write(self.lines.risk_on[-1], int(self.lines.streak[-1]), self.lines.level[-1])

    def _write(self, was_on, streak, held):
        trigger = self._trigger_now()
        level, streak, on = breakout_step(self.data.close[0], trigger, was_on, streak, held, self.p.mode,
                                          self.p.confirm, self.p.hysteresis)
        self.lines.trigger[0] = trigger
        self.lines.level[0], self.lines.streak[0], self.lines.risk_on[0] = level, streak, on

    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        pass

    def once(self, start, end):
        p = self.p
        close = np.asarray(self.data.close.array[:end], dtype=float)
        values = small_cap_breakout(close, p.mode, p.level, p.period, p.distance, p.confirm, p.hysteresis)
        for line, column in zip(self.lines, values, strict=True):
            line.array[:end] = array("d", column.tobytes())
