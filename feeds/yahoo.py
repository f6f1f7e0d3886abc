"""Bars from Yahoo Finance, through yfinance.

Any Yahoo symbol: indices (``^RUT``, ``^GSPC``), funds and shares (``IWM``), crypto
(``BTC-USD``); daily (``1d``) or intraday (``1m`` to ``90m``, ``1h``) bars.

Adjustment policy: raw prices (``auto_adjust=False``): Yahoo's Open, High, Low and Close, which
Yahoo adjusts for splits but not for dividends; its ``Adj Close`` is ignored. Why:

* the shipped RUT, SPX, SPY and QQQ files are raw, and a fetched series should continue them;
* an index pays no dividends, so for ``^RUT`` or ``^GSPC`` adjusting changes nothing;
* dividend adjustment rewrites the whole past at every ex-date, so a cache refreshed a few
  bars at a time would splice together bars on different bases. (A split rewrites the past
  too; the refresh notices it, because the overlapping bar moves, and fetches everything again.)

The price: a fund's returns leave out its dividends (one to two percent a year for IWM or SPY).

Time: a daily bar of an exchange-traded symbol is labelled by its exchange-local session date
(clock ``session``): it closes at the session close of the exchange calendar, 16:00 New York,
13:00 on early-close days. Yahoo's crypto trades 24/7 in UTC days, and intraday bars are
labelled by their open instant (clock ``interval``): they close at open + interval. (The last
intraday bar of a session can be shorter, 15:30-16:00 for 60m bars; it is still stamped
open + interval: late, never early.)

Yahoo's quotes run up to 20 minutes behind the market for many exchanges, so a bar is taken
as closed only ``QUOTE_DELAY`` after its close instant.

Offline, or for a symbol Yahoo does not know, yfinance mostly returns an empty frame and only
logs why (sometimes it raises the HTTP error instead); either becomes one DataError line
carrying the reason.

HTTP: yfinance talks through curl_cffi (browser TLS impersonation) unless given a
``requests.Session`` as ``session``; tests pass a `responses`-mocked one.
"""
import logging
import warnings
from contextlib import contextmanager

import pandas as pd

from canary.errors import DataError
from canary.extras import require

from .clocks import DEFAULT_CALENDAR, exchange_calendar
from .loading import utc_instant
from .rawbars import RawBars

yf = require("yfinance", "fetching from Yahoo Finance")
_errors = require("yfinance.exceptions", "fetching from Yahoo Finance")
YFException, YFRateLimitError = _errors.YFException, _errors.YFRateLimitError

FEED = "yahoo"
INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d")
QUOTE_DELAY = pd.Timedelta(minutes=20)
_COLUMNS = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


def download(symbol, interval="1d", since=None, calendar=DEFAULT_CALENDAR, session=None, now=None):
    """RawBars of `symbol` at `interval` from `since` (default: all Yahoo has) to now.

    `calendar` is the exchange calendar of daily exchange-traded bars; `session` the HTTP
    session yfinance uses; `now` the download instant.
    """
    if interval not in INTERVALS:
        raise DataError(f"{symbol}: Yahoo interval '{interval}' is not supported (choose {', '.join(INTERVALS)})")
    fetched_at = utc_instant(now if now is not None else pd.Timestamp.now(tz="UTC"))
    ticker = yf.Ticker(symbol, session=session)
    span = {"period": "max"} if since is None else {"start": _start(since, interval)}
    with _collect_log() as reasons, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning, module="yfinance")
        try:
            frame = ticker.history(interval=interval, auto_adjust=False, actions=False, **span)
        except YFRateLimitError:
            raise DataError(f"{symbol}: Yahoo is rate-limiting this machine; "
                            "wait a few minutes and fetch again") from None
        # Both HTTP backends' errors derive from OSError. yfinance hides most of them, but not
        # those of its fallback time-zone lookup for a symbol it has not seen before.
        except (OSError, YFException) as exc:
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                raise DataError(f"{symbol}: Yahoo does not know this symbol (HTTP 404); "
                                "check it on finance.yahoo.com") from None
            raise DataError(f"{symbol}: cannot get bars from Yahoo ({type(exc).__name__}: {_first_line(exc)}); "
                            "check that this machine is online") from None
    if frame.empty:
        span_text = f" from {since}" if since is not None else ""
        why = reasons[-1] if reasons else "no reason given"
        raise DataError(f"{symbol}: Yahoo returned no {interval} bars{span_text} ({why}); "
                        "check the symbol on finance.yahoo.com and that this machine is online")
    meta = ticker.history_metadata
    if interval != "1d" or meta.get("instrumentType") == "CRYPTOCURRENCY":
        clock, bar, calendar = "interval", _bar_length(interval), None
        labels = frame.index.tz_convert("UTC").tz_localize(None)
    else:
        clock, bar = "session", None
        _check_timezone(symbol, meta.get("exchangeTimezoneName"), calendar)
        labels = frame.index.tz_localize(None)
    raw = pd.DataFrame({"label": pd.DatetimeIndex(labels).as_unit("ns")})
    for col, yahoo_col in _COLUMNS.items():
        raw[col] = frame[yahoo_col].to_numpy(dtype="float64")
    return RawBars(feed=FEED, symbol=symbol, interval=interval, clock=clock, bar=bar, calendar=calendar,
                   recorded_at=fetched_at - QUOTE_DELAY, raw=raw)


def _bar_length(interval):
    """'60m' -> 60 minutes, '1h' -> 1 hour, '1d' -> 1 day."""
    unit = {"m": "min", "h": "h", "d": "D"}[interval[-1]]
    return pd.Timedelta(int(interval[:-1]), unit=unit)


def _first_line(exc):
    return (str(exc).splitlines() or [""])[0][:200]


def _start(since, interval):
    """yfinance's `start`: a date for daily bars (read in the exchange's time zone), else an instant."""
    instant = utc_instant(since, "since")
    return instant.date() if interval == "1d" else instant


def _check_timezone(symbol, yahoo_tz, calendar):
    """Refuse session bars whose exchange keeps another time than `calendar`: their close instants would be wrong."""
    calendar_tz = str(exchange_calendar(calendar).tz)
    if yahoo_tz != calendar_tz:
        raise DataError(f"{symbol}: Yahoo quotes it on {yahoo_tz} time but calendar {calendar} keeps "
                        f"{calendar_tz} time; give the calendar of its exchange (e.g. XLON, XTKS)")


class _Collector(logging.Handler):
    def __init__(self, messages):
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def _collect_log():
    """The messages yfinance logs at WARNING or above, kept instead of printed."""
    logger = logging.getLogger("yfinance")
    messages = []
    handler = _Collector(messages)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
