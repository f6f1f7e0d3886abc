"""From a price file to a normalised frame.

The normalised frame is the one shape every later layer sees: a tz-aware UTC
``DatetimeIndex`` named ``close_time`` holding each bar's *close instant*, and float
columns ``open, high, low, close, volume``; sorted, unique, validated.
"""
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from canary.errors import DataError

from .clocks import (
    CLOCKS,
    DEFAULT_CALENDAR,
    expected_session_dates,
    infer_clock,
    infer_interval,
    interval_close_instants,
    session_close_instants,
    session_open_instants,
)
from .layouts import CLOSE_ONLY, PRICE_COLUMNS, read_raw
from .validation import LoadReport, check_rows, drop_open_bars, find_gaps


@dataclass
class PriceSeries:
    """One symbol's validated bars and how they were read."""

    symbol: str
    frame: pd.DataFrame
    report: LoadReport
    clock: str
    interval: pd.Timedelta | None = None
    exchange: str | None = None
    path: Path | None = None

    @property
    def first(self):
        return self.frame.index[0]

    @property
    def last(self):
        return self.frame.index[-1]


def utc_instant(value, what="instant"):
    """`value` (str, datetime or Timestamp) as a tz-aware UTC Timestamp; naive means UTC."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"{what} '{value}' is not a date or time") from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _duration(delta):
    """'1 day', '4 hours', '15 minutes' for a whole number of days, hours or minutes, else pandas' text."""
    for unit, size in (("day", pd.Timedelta(days=1)), ("hour", pd.Timedelta(hours=1)),
                       ("minute", pd.Timedelta(minutes=1))):
        if delta >= size and delta % size == pd.Timedelta(0):
            n = delta // size
            return f"{n} {unit}{'s' if n > 1 else ''}"
    return str(delta)


LABELS_AT = ("open", "close")


def newest_first(raw):
    """True if the rows of `raw` run from the newest date to the oldest (CryptoDataDownload's
    exports): every label earlier than the one before it."""
    steps = pd.DatetimeIndex(raw["label"]).asi8
    return len(steps) > 1 and bool((steps[1:] < steps[:-1]).all())


def normalise(raw, source, clock=None, interval=None, exchange=DEFAULT_CALENDAR, recorded_at=None, symbol=None,
              labels_at=None):
    """Validate a raw frame (``label`` + prices + ``line``) and stamp each bar with its close instant.

    `labels_at`: which instant of a bar its label names, ``open`` (exchange klines, dates of
    daily bars) or ``close`` (CoinGecko: a row dated D is the close of UTC day D-1, so it is
    the bar labelled D-1); by default what the layout says (``raw.attrs['labels_at']``), else
    ``open``. Rows written newest first are read in reverse.
    """
    report = LoadReport(source)
    labels_at = labels_at or raw.attrs.get("labels_at") or "open"
    if labels_at not in LABELS_AT:
        raise DataError(f"{source}: unknown labels '{labels_at}' (choose {' or '.join(LABELS_AT)})")
    if raw.attrs.get("close_only"):
        report.notes.append(CLOSE_ONLY)
    if newest_first(raw):
        raw = raw.iloc[::-1].reset_index(drop=True)
        report.notes.append("rows are newest first: read from the last line up")
    if raw.attrs.get("blank_lines"):
        where = raw.attrs.get("blank_line_numbers")
        where = f" (line {', '.join(str(n) for n in where)})" if where else ""
        report.dropped.append(f"{raw.attrs['blank_lines']} blank line(s) skipped{where}")
    for note in ("offsets", "dated"):
        if raw.attrs.get(note):
            report.notes.append(raw.attrs[note])
    if raw.empty:
        raise DataError(f"{source}: no price rows")
    raw = check_rows(raw, source, report)
    if raw.empty:
        raise DataError(f"{source}: no price rows (every row is empty)")
    labels = pd.DatetimeIndex(raw["label"])
    inferred = not clock
    clock = clock or infer_clock(labels, source)
    if clock not in CLOCKS:
        raise DataError(f"{source}: unknown clock '{clock}' (choose {' or '.join(CLOCKS)})")
    if clock == "session":
        if (labels != labels.normalize()).any():
            raise DataError(f"{source}: session bars must be labelled by date, found a time of day")
        if labels_at == "close":
            raise DataError(f"{source}: labels 'close' are for 24/7 bars (clock 'interval'); session bars are "
                            "labelled by their date")
        closes = session_close_instants(labels, exchange, source, raw["line"].to_numpy())
        opens = session_open_instants(labels, exchange)
        expected = expected_session_dates(labels[0], labels[-1], exchange)
        interval = None
        if inferred:
            report.notes.append(f"clock inferred: session (no weekend bar, no time of day): bars close at the "
                                f"{exchange} session close; if this is a 24/7 market, declare clock 'interval' in the folder's manifest.json")
    else:
        interval = pd.Timedelta(interval) if interval is not None else infer_interval(labels, source)
        if labels_at == "close":
            labels = labels - interval
            report.notes.append(f"dates are bar closes (a row dated D closes the {_duration(interval)} bar "
                                "opening one interval earlier): read as that bar")
        closes = interval_close_instants(labels, interval)
        opens = labels.tz_localize("UTC") if labels.tz is None else labels.tz_convert("UTC")
        expected = pd.date_range(labels[0], labels[-1], freq=interval)
        exchange = None
        if inferred:
            report.notes.append(f"clock inferred: interval (weekend bars or times of day): bars are labelled by "
                                f"their open instant in UTC and close {_duration(interval)} later (declare another clock in the folder's "
                                f"manifest.json)")
    frame = pd.DataFrame({c: raw[c].to_numpy(dtype="float64") for c in PRICE_COLUMNS},
                         index=pd.DatetimeIndex(closes, name="close_time"))
    report.gaps = find_gaps(labels, expected)
    when = utc_instant(recorded_at if recorded_at is not None else pd.Timestamp.now(tz="UTC"), "recorded_at")
    frame = drop_open_bars(frame, opens, when, report)
    if frame.empty:
        raise DataError(f"{source}: no closed bars left after validation")
    return PriceSeries(symbol or source, frame, report, clock, interval, exchange)


def load_csv(path, symbol=None, clock=None, interval=None, exchange=DEFAULT_CALENDAR, recorded_at=None,
             labels_at=None):
    """Read, validate and normalise the daily (or intraday) OHLCV or close-only CSV at `path`
    (`labels_at`: see `normalise`)."""
    path = Path(path)
    series = normalise(read_raw(path), str(path), clock, interval, exchange, recorded_at,
                       symbol or path.stem, labels_at)
    series.path = path
    return series
