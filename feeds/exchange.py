"""Candles from a crypto exchange, through ccxt.

Any exchange ccxt supports (``binance`` by default) and any symbol and timeframe it lists:
``download("ETH/USDT", "binance", "4h")``. ccxt symbols are ``BASE/QUOTE`` (``BTC/USDT``).

Time: a candle is labelled by its open instant in UTC (ccxt gives milliseconds), so the bars
are on the ``interval`` clock: a candle closes at open + timeframe. The newest candle is
usually still open; it is kept in the raw bars and dropped when they are normalised with
``recorded_at``, the instant the download started.

Paging: ``fetch_ohlcv`` returns at most one page of candles from ``since`` on; the next page
starts after the newest candle so far, until a page brings nothing newer or the candle still
open now has been reached. Pages that overlap (some exchanges round ``since`` down to the
candle containing it) are de-duplicated, the later copy winning.

Politeness: requests are spaced by at least the exchange's ``rateLimit`` (milliseconds), on
top of ccxt's own throttle. A network error, a timeout or a rate-limit refusal is retried
after 1, 2, 4 ... seconds (at most ``RETRIES`` times); then, like a bad symbol or timeframe,
it becomes one DataError line.

HTTP: ccxt's synchronous exchanges talk through a ``requests.Session`` (``session`` below);
tests pass a `responses`-mocked one, or a fake exchange object as ``client``.
"""
import time

import pandas as pd

from canary.errors import ConfigError, DataError, suggest
from canary.extras import require

from .layouts import PRICE_COLUMNS
from .loading import utc_instant
from .rawbars import RawBars

ccxt = require("ccxt", "fetching from a crypto exchange")

DEFAULT_EXCHANGE = "binance"
RETRIES = 4
BACKOFF_START = 1.0  # seconds before the first retry; doubles each time (1, 2, 4, 8 s: 15 s in all)
DEFAULT_PAGE = 500  # candles per request when ccxt does not know the exchange's maximum
# ccxt.RateLimitExceeded, DDoSProtection, RequestTimeout and ExchangeNotAvailable all derive
# from NetworkError: every one of them is worth another try.
TRANSIENT = (ccxt.NetworkError,)


class Unreachable(DataError):
    """The exchange could not be reached, or kept refusing, through every retry."""


def exchange_id(exchange=None):
    """`exchange` (default binance), checked against the exchanges ccxt supports."""
    exchange = exchange or DEFAULT_EXCHANGE
    if exchange not in ccxt.exchanges:
        raise ConfigError(f"unknown ccxt exchange '{exchange}'{suggest(exchange, ccxt.exchanges)}")
    return exchange


def connect(exchange=DEFAULT_EXCHANGE, session=None):
    """A ccxt exchange object for the exchange id `exchange` (its throttle on)."""
    config = {"enableRateLimit": True}
    if session is not None:
        config["session"] = session
    return getattr(ccxt, exchange_id(exchange))(config)


class Requests:
    """Calls to one exchange, spaced by its rate limit and retried when the failure is transient.

    `sleep(seconds)` and `clock()` (monotonic seconds) are injectable so tests never wait.
    """

    def __init__(self, client, what, sleep=time.sleep, clock=time.monotonic, retries=RETRIES):
        self.client, self.what = client, what
        self.sleep, self.clock, self.retries = sleep, clock, retries
        self._last = None

    def _pace(self):
        gap = (self.client.rateLimit or 0) / 1000
        if self._last is not None:
            wait = self._last + gap - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def __call__(self, method, *args, **kwargs):
        for attempt in range(self.retries + 1):
            self._pace()
            try:
                return method(*args, **kwargs)
            except TRANSIENT as exc:
                if attempt == self.retries:
                    raise Unreachable(
                        f"{self.what}: {type(exc).__name__} after {attempt + 1} tries ({_first_line(exc)}); "
                        "check the connection (or wait if rate-limited) and fetch again"
                    ) from None
                self.sleep(BACKOFF_START * 2 ** attempt)
            except ccxt.BadSymbol as exc:
                raise DataError(f"{self.what}: the exchange does not know this symbol ({_first_line(exc)})") from None
            except ccxt.BaseError as exc:
                raise DataError(f"{self.what}: the exchange refused the request ({_first_line(exc)})") from None


def _first_line(exc):
    text = (str(exc).splitlines() or [""])[0]
    return text[:200] or type(exc).__name__


def download(symbol, exchange=DEFAULT_EXCHANGE, timeframe="1d", since=None, client=None,
             sleep=time.sleep, clock=time.monotonic, now=None):
    """RawBars of `symbol`'s `timeframe` candles on `exchange` from `since` (default: all).

    `client` replaces the exchange object built by connect() (pass one to reuse its loaded
    markets across symbols); `now` is the download instant (recorded_at).
    """
    client = client if client is not None else connect(exchange)
    recorded_at = utc_instant(now if now is not None else pd.Timestamp.now(tz="UTC"))
    what = f"{client.id} {symbol}"
    call = Requests(client, what, sleep, clock)
    call(client.load_markets)
    if symbol not in client.markets:
        raise DataError(f"{what}: no such market on {client.id}{suggest(symbol, client.symbols)} "
                        "(ccxt symbols look like BTC/USDT)")
    step = _timeframe(client, timeframe, what)
    start = 0 if since is None else utc_instant(since, "since").value // 1_000_000
    per_page = _page_limit(client, client.markets[symbol])
    candles = fetch_candles(call, client, symbol, timeframe, start, per_page, step, recorded_at)
    frame = pd.DataFrame(candles, columns=["ms", *PRICE_COLUMNS], dtype="float64")
    raw = pd.DataFrame({"label": pd.to_datetime(frame["ms"].astype("int64"), unit="ms").astype("datetime64[ns]")})
    for col in PRICE_COLUMNS:
        raw[col] = frame[col]
    return RawBars(feed=f"ccxt/{client.id}", symbol=symbol, interval=timeframe, clock="interval", bar=step,
                   calendar=None, recorded_at=recorded_at, raw=raw)


def fetch_candles(call, client, symbol, timeframe, start_ms, per_page, step, recorded_at):
    """All candles from `start_ms` on, page after page, each open instant once (the latest copy)."""
    by_open = {}
    since = start_ms
    now_ms = recorded_at.value // 1_000_000
    step_ms = step.value // 1_000_000
    while True:
        page = call(client.fetch_ohlcv, symbol, timeframe, since=since, limit=per_page)
        before = max(by_open, default=None)
        by_open.update((int(c[0]), c) for c in page)
        newest = max(by_open, default=None)
        if newest is None or newest == before:
            break  # nothing newer: the end of the history
        if newest + step_ms > now_ms:
            break  # the candle still open now: nothing after it exists yet
        since = newest + 1
    return [by_open[t] for t in sorted(by_open)]


def _timeframe(client, timeframe, what):
    """The fixed length of `timeframe` candles, or a DataError if the exchange lacks it."""
    if not client.has.get("fetchOHLCV"):
        raise DataError(f"{what}: {client.id} offers no candle history through ccxt")
    offered = list(client.timeframes or {})
    if timeframe not in offered:
        raise DataError(f"{what}: timeframe '{timeframe}' is not offered by {client.id} "
                        f"(choose {', '.join(offered)})")
    if timeframe[-1] in "My":
        raise DataError(f"{what}: timeframe '{timeframe}' has no fixed length; use days or weeks")
    return pd.Timedelta(seconds=client.parse_timeframe(timeframe))


def _page_limit(client, market):
    """The most candles `client` returns per request for `market`, as ccxt knows it."""
    features = (client.features or {}).get(market.get("type", "spot")) or {}
    if market.get("type") in ("swap", "future"):
        features = features.get("linear" if market.get("linear") else "inverse") or {}
    return (features.get("fetchOHLCV") or {}).get("limit") or DEFAULT_PAGE
