"""When does a bar's close become known?

Two clocks cover the data this project reads:

* ``session``: one bar per exchange session, labelled by the exchange-local session date
  (NYSE index and fund bars). The close is known at the session close of the exchange
  calendar: 16:00 New York, 13:00 on early-close days, whatever the DST offset.
* ``interval``: bars labelled by their open instant in UTC (Binance klines, ccxt candles,
  Yahoo crypto and intraday bars). The close is known at open + interval.

Everything downstream sees only the close instants, tz-aware UTC.
"""
from functools import lru_cache

import numpy as np
import pandas as pd

from canary.errors import DataError

CLOCKS = ("session", "interval")
DEFAULT_CALENDAR = "XNYS"  # the exchange calendar of session bars: NYSE
MIN_INFER_ROWS = 5  # fewer bars say too little about weekends to infer a clock from


@lru_cache(maxsize=8)
def exchange_calendar(name=DEFAULT_CALENDAR):
    """The exchange_calendars calendar `name`, covering 1990 to a year from now."""
    import warnings

    import exchange_calendars as xcals

    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.13 trips pandas 3.1 deprecations while building a calendar
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return xcals.get_calendar(name, start="1990-01-02")
    except Exception as exc:  # InvalidCalendarName and friends
        raise DataError(f"unknown exchange calendar '{name}': {exc}") from None


def session_close_instants(session_dates, exchange=DEFAULT_CALENDAR, source="", lines=None):
    """UTC close instants of the sessions labelled `session_dates` (tz-naive midnight dates).

    A date that is not a session of `exchange` is refused, naming its line in `source`.
    """
    cal = exchange_calendar(exchange)
    dates = pd.DatetimeIndex(session_dates)
    closes = cal.schedule["close"].reindex(dates)
    missing = np.flatnonzero(closes.isna().to_numpy())
    if missing.size:
        i = missing[0]
        where = f" line {lines[i]}" if lines is not None else ""
        raise DataError(
            f"{source}{where}: {dates[i].date()} is not a {exchange} session "
            "(is this a 24/7 crypto file? set its clock to 'interval')"
        )
    return pd.DatetimeIndex(closes.to_numpy(), tz="UTC")


def session_open_instants(session_dates, exchange=DEFAULT_CALENDAR):
    """UTC open instants of the sessions labelled `session_dates` (sessions of `exchange`)."""
    opens = exchange_calendar(exchange).schedule["open"].reindex(pd.DatetimeIndex(session_dates))
    return pd.DatetimeIndex(opens.to_numpy(), tz="UTC")


def interval_close_instants(open_instants, interval):
    """Close instants of bars that open at `open_instants` (UTC) and last `interval`."""
    idx = pd.DatetimeIndex(open_instants)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return idx + pd.Timedelta(interval)


def infer_clock(labels, source=""):
    """'interval' if the labels include a weekend day or a time of day, else 'session'.

    A 24/7 market has weekend bars; an exchange-session file never has them. Fewer than
    MIN_INFER_ROWS date labels are refused: a few weekday bars of a crypto file look like sessions.
    """
    labels = pd.DatetimeIndex(labels)
    if labels.tz is not None:
        return "interval"
    has_time = bool((labels != labels.normalize()).any())
    has_weekend = bool((labels.day_of_week >= 5).any())
    if has_time or has_weekend:
        return "interval"
    if len(labels) < MIN_INFER_ROWS:
        raise DataError(
            f"{source}: cannot infer the clock from {len(labels)} bar(s) without a weekend day or a time of day; "
            "declare it in the folder's manifest.json ('session' for exchange sessions, 'interval' for 24/7 markets)")
    return "session"


def infer_interval(open_instants, source=""):
    """The bar interval: the most common step between consecutive open instants."""
    idx = pd.DatetimeIndex(open_instants)
    if len(idx) < 2:
        raise DataError(f"{source}: cannot tell the bar interval from fewer than two bars; declare it in the folder's manifest.json")
    steps = pd.Series(np.diff(idx.as_unit("ns").asi8)).mode()
    return pd.Timedelta(int(steps.iloc[0]), unit="ns")


def expected_session_dates(first, last, exchange=DEFAULT_CALENDAR):
    """Session dates of `exchange` from `first` to `last` inclusive (tz-naive)."""
    cal = exchange_calendar(exchange)
    return pd.DatetimeIndex(cal.sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))).tz_localize(None)
