"""Bars as a source labels them (before they become a normalised frame), and how to read the labels."""
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .clocks import interval_close_instants, session_close_instants
from .loading import normalise


@dataclass
class RawBars:
    """One symbol's bars as a source labels them, and how to read those labels.

    ``raw`` has ``label`` (tz-naive: the exchange-local session date at midnight on the
    ``session`` clock, the UTC open instant on the ``interval`` clock) and the five price
    columns. ``bar`` is the bar length on the interval clock, ``calendar`` the exchange
    calendar on the session clock. Bars closing after ``recorded_at`` were still open.
    """

    feed: str
    symbol: str
    interval: str
    clock: str
    bar: pd.Timedelta | None
    calendar: str | None
    recorded_at: pd.Timestamp
    raw: pd.DataFrame

    def series(self, source):
        """The validated PriceSeries of these bars; `source` names them in error messages."""
        raw = self.raw.assign(line=np.arange(1, len(self.raw) + 1))
        return normalise(raw, source, clock=self.clock, interval=self.bar, exchange=self.calendar,
                         recorded_at=self.recorded_at, symbol=self.symbol)

    def close_instants(self):
        """The UTC instant each bar's close becomes known."""
        if self.clock == "session":
            return session_close_instants(self.raw["label"], self.calendar, self.symbol)
        return interval_close_instants(self.raw["label"], self.bar)

    def closed(self):
        """These bars without the ones still open at ``recorded_at``."""
        done = np.asarray(self.close_instants() <= self.recorded_at)
        return replace(self, raw=self.raw[done].reset_index(drop=True))

    @property
    def labels(self):
        return pd.DatetimeIndex(self.raw["label"])
