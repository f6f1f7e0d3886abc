"""Backtrader data feeds built from normalised frames.

Each bar's datetime is its close instant (UTC, naive inside Backtrader as Backtrader
expects), so Backtrader's own multi-feed synchronisation never shows a bar before it closed:
an equity session's close (20:00 or 21:00 UTC) reaches a 4-hour crypto strategy at the
crypto bar closing at or after it, never at that day's 00:00-04:00 bar.
"""
import backtrader as bt
import numpy as np
import pandas as pd

from .alignment import asof, clock_interval, on_clock
from .validation import check_normalised

_EPOCH_ORDINAL = 719163.0  # bt.date2num(datetime(1970, 1, 1))


def bt_datetimes(index):
    """Backtrader float day numbers of a UTC DatetimeIndex."""
    return _EPOCH_ORDINAL + pd.DatetimeIndex(index).as_unit("ns").asi8 / 86_400e9


def bt_timeframe(interval):
    """(timeframe, compression) for a bar interval; daily sessions when `interval` is None."""
    if interval is None:
        return bt.TimeFrame.Days, 1
    minutes = int(pd.Timedelta(interval).total_seconds() // 60)
    if minutes % 1440 == 0:
        return bt.TimeFrame.Days, minutes // 1440
    return bt.TimeFrame.Minutes, minutes


class CloseInstantData(bt.feed.DataBase):
    """Bars of one market, each stamped with the instant its close became known.

    ``dataname`` is a normalised frame (UTC close-instant index; open, high, low, close,
    volume). Extra lines declared by subclasses are read from columns of the same name.
    """

    def __init__(self):
        frame = self.p.dataname
        check_normalised(frame, self.p.name or "feed")
        self._columns = {}
        for alias in self.getlinealiases():
            if alias == "datetime":
                self._columns[alias] = bt_datetimes(frame.index)
            elif alias in frame.columns:
                self._columns[alias] = frame[alias].to_numpy(dtype="float64")
            else:
                self._columns[alias] = np.zeros(len(frame))
        self._lines = [(getattr(self.lines, a), self._columns[a]) for a in self.getlinealiases()]

    def start(self):
        super().start()
        self._row = 0

    def _load(self):
        if self._row >= len(self.p.dataname):
            return False
        i = self._row
        for line, values in self._lines:
            line[0] = values[i]
        self._row += 1
        return True


class ListedData(CloseInstantData):
    """A coin on the master crypto clock: NaN prices and ``listed`` 0 where it had no bar.

    Every basket feed then has the same bars as BTC, so multi-coin indicators line up bar
    for bar, and a coin listed later simply is not in the basket yet. ``delisting`` is 1 on
    the last two bars of a coin whose series stops early (a delisting or a token migration,
    announced ahead by the exchange), so a strategy can sell it at its last bar. ``mark`` is
    the last traded close, carried through a gap in the coin's history, to value a position
    on a bar where the coin did not trade.
    """

    lines = ("listed", "delisting", "mark")

    @classmethod
    def on_clock(cls, frame, clock, **kwargs):
        """`frame` on the master `clock`; the feed's timeframe is the clock's bar interval
        unless given (so windows given as durations turn into the right bar counts)."""
        if "timeframe" not in kwargs:
            kwargs["timeframe"], kwargs["compression"] = bt_timeframe(clock_interval(clock))
        return cls(dataname=on_clock(frame, clock, kwargs.get("name", "series")), **kwargs)


class AsOfData(CloseInstantData):
    """An equity series seen from the crypto clock: the last close already known at each
    crypto bar close, carried forward, with ``age_hours`` since that close (a Saturday's
    crypto bar sees Friday's close, about 28 hours old)."""

    lines = ("age_hours",)

    @classmethod
    def on_clock(cls, frame, clock, **kwargs):
        return cls(dataname=asof(frame, clock), **kwargs)
