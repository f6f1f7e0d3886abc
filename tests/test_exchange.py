"""The ccxt loader: paging, retries, pacing and errors.

Most tests use FakeExchange, which has the attributes and methods the loader uses, answers in
ccxt's shapes (candles ``[open ms, open, high, low, close, volume]``) and raises ccxt's own
exception classes. The last tests run the real ccxt.binance against a `responses`-mocked
session serving Binance's kline shape (tests/fixtures/live/binance_klines_BTCUSDT_1d.json).
"""
import json
import re
from pathlib import Path

import ccxt
import pandas as pd
import pytest
import requests
import responses

from canary.errors import ConfigError, DataError
from canary.feeds import exchange

FIXTURES = Path(__file__).parent / "fixtures" / "live"
DAY_MS = 86_400_000
JAN1 = pd.Timestamp("2024-01-01", tz="UTC")


def daily_candles(n, first=JAN1):
    start = first.value // 1_000_000
    return [[start + i * DAY_MS, 100.0 + i, 102.0 + i, 99.0 + i, 101.0 + i, 10.0 + i] for i in range(n)]


class FakeExchange:
    """A ccxt exchange serving `candles`, at most `page` per call, starting `overlap` candles before
    `since` (as exchanges that round `since` down do); `failures` are raised by successive calls."""

    id = "fakex"
    timeframes = {"1h": "1h", "1d": "1d", "1M": "1M"}
    has = {"fetchOHLCV": True}
    features = {"spot": {"fetchOHLCV": {"limit": 1000}}}
    parse_timeframe = staticmethod(ccxt.Exchange.parse_timeframe)

    def __init__(self, candles, page=3, overlap=0, failures=(), rate_limit=0):
        self.candles, self.page, self.overlap = candles, page, overlap
        self.failures = list(failures)
        self.rateLimit = rate_limit
        self.markets = {"BTC/USDT": {"type": "spot"}, "ETH/USDT": {"type": "spot"}}
        self.symbols = list(self.markets)
        self.requests = []

    def load_markets(self):
        return self.markets

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None, params=None):
        self.requests.append(since)
        if self.failures:
            raise self.failures.pop(0)
        first = next((i for i, c in enumerate(self.candles) if c[0] >= since), len(self.candles))
        first = max(0, first - self.overlap)
        return [list(c) for c in self.candles[first:first + min(limit, self.page)]]


class FakeTime:
    """A monotonic clock that only sleeping advances; records every sleep."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def download(client, symbol="BTC/USDT", timeframe="1d", now=None, **kwargs):
    now = JAN1 + pd.Timedelta(days=30) if now is None else now
    time = kwargs.pop("time", FakeTime())
    return exchange.download(symbol, client=client, timeframe=timeframe, now=now, sleep=time.sleep,
                             clock=time.clock, **kwargs)


def test_overlapping_pages_are_joined_without_duplicates():
    candles = daily_candles(8)
    client = FakeExchange(candles, page=3, overlap=1)
    bars = download(client)
    assert list(bars.raw["label"]) == [pd.Timestamp("2024-01-01") + pd.Timedelta(days=i) for i in range(8)]
    assert list(bars.raw["close"]) == [c[4] for c in candles]
    assert len(client.requests) >= 4  # 8 candles, 3 per page, one repeated per page
    assert client.requests[0] == 0  # no `since`: from the beginning


def test_the_later_copy_of_an_overlapping_candle_wins():
    candles = daily_candles(4)
    client = FakeExchange(candles, page=2, overlap=1)
    revised = [list(c) for c in candles]
    revised[1][4] = 150.0  # the second page repeats candle 1 with a revised close
    original_fetch = client.fetch_ohlcv

    def fetch(*args, **kwargs):
        client.candles = revised if client.requests else candles
        return original_fetch(*args, **kwargs)

    client.fetch_ohlcv = fetch
    assert download(client).raw["close"].iloc[1] == 150.0


def test_paging_stops_at_the_candle_still_open():
    client = FakeExchange(daily_candles(5), page=3)  # the exchange's history ends with the open candle
    now = JAN1 + pd.Timedelta(days=4, hours=6)  # during the candle of 2024-01-05
    bars = download(client, now=now)
    assert bars.raw["label"].iloc[-1] == pd.Timestamp("2024-01-05")
    assert len(client.requests) == 2
    series = bars.series("BTC/USDT")
    assert series.last == pd.Timestamp("2024-01-05", tz="UTC")  # the open candle is dropped
    assert bars.recorded_at == now


def test_since_is_sent_in_milliseconds():
    client = FakeExchange(daily_candles(10))
    bars = download(client, since="2024-01-06")
    assert client.requests[0] == pd.Timestamp("2024-01-06", tz="UTC").value // 1_000_000
    assert bars.raw["label"].iloc[0] == pd.Timestamp("2024-01-06")


def test_a_rate_limit_refusal_is_retried_after_a_backoff():
    time = FakeTime()
    client = FakeExchange(daily_candles(3), failures=[ccxt.RateLimitExceeded("fakex 429 Too Many Requests")])
    bars = download(client, time=time)
    assert len(bars.raw) == 3
    assert time.sleeps == [exchange.BACKOFF_START]


def test_a_network_error_that_persists_ends_in_one_line():
    time = FakeTime()
    client = FakeExchange(daily_candles(3), failures=[ccxt.NetworkError("fakex GET https://x down")] * 10)
    with pytest.raises(DataError) as err:
        download(client, time=time)
    message = str(err.value)
    assert message.startswith(f"fakex BTC/USDT: NetworkError after {exchange.RETRIES + 1} tries")
    assert "\n" not in message
    assert time.sleeps == [1.0, 2.0, 4.0, 8.0]  # bounded: RETRIES waits, doubling
    assert len(client.requests) == exchange.RETRIES + 1


def test_requests_are_spaced_by_the_rate_limit():
    time = FakeTime()
    client = FakeExchange(daily_candles(9), page=3, rate_limit=1200)
    download(client, time=time)
    assert len(client.requests) == 4  # three full pages, then an empty one: the end
    assert time.sleeps == [pytest.approx(1.2)] * 4  # load_markets came first


def test_a_symbol_not_listed_is_refused_with_a_suggestion():
    with pytest.raises(DataError) as err:
        download(FakeExchange(daily_candles(3)), symbol="BTC-USDT")
    assert str(err.value).startswith("fakex BTC-USDT: no such market on fakex (did you mean 'BTC/USDT'?)")


def test_a_symbol_the_exchange_rejects_is_one_line():
    client = FakeExchange(daily_candles(3), failures=[ccxt.BadSymbol('fakex {"code":-1121,"msg":"Invalid symbol."}')])
    with pytest.raises(DataError, match="^fakex BTC/USDT: the exchange does not know this symbol"):
        download(client)
    assert len(client.requests) == 1  # not retried


@pytest.mark.parametrize("timeframe, problem", [
    ("4h", "timeframe '4h' is not offered by fakex (choose 1h, 1d, 1M)"),
    ("1M", "timeframe '1M' has no fixed length"),
])
def test_an_unsupported_timeframe_is_refused(timeframe, problem):
    with pytest.raises(DataError, match=re.escape(problem)):
        download(FakeExchange(daily_candles(3)), timeframe=timeframe)


def test_an_unknown_exchange_is_a_configuration_error():
    with pytest.raises(ConfigError, match="unknown ccxt exchange 'binanse' \\(did you mean 'binance'\\?\\)"):
        exchange.connect("binanse")


def binance(mock):
    """The real ccxt.binance on a mocked session, its markets set from the fixture."""
    doc = json.loads((FIXTURES / "binance_klines_BTCUSDT_1d.json").read_text())
    client = exchange.connect("binance", session=requests.Session())
    client.enableRateLimit = False
    client.set_markets([doc["market"]])
    return client, doc


KLINES = re.compile(r"https://api\.binance\.com/api/v3/klines\?.*")


def test_real_binance_klines_after_a_429():
    with responses.RequestsMock() as mock:
        client, doc = binance(mock)
        mock.add(responses.GET, KLINES, status=429, json=doc["rate_limited"])
        mock.add(responses.GET, KLINES, json=doc["klines"])
        time = FakeTime()
        bars = download(client, since="2023-12-29", now=pd.Timestamp("2024-01-06 12:00", tz="UTC"), time=time)
        urls = [c.request.url for c in mock.calls]
    assert time.sleeps == [pytest.approx(client.rateLimit / 1000), exchange.BACKOFF_START]
    assert "symbol=BTCUSDT" in urls[0] and "startTime=1703808000000" in urls[0] and "limit=1000" in urls[0]
    assert bars.feed == "ccxt/binance"
    series = bars.series("BTC/USDT")
    assert series.frame.loc[pd.Timestamp("2024-01-02", tz="UTC"), "close"] == 44179.55  # 2024-01-01's candle
    assert series.last == pd.Timestamp("2024-01-06", tz="UTC")  # 2024-01-06's candle was still open


def test_real_binance_offline_is_one_line():
    with responses.RequestsMock() as mock:  # nothing registered: connection refused
        client, _ = binance(mock)
        with pytest.raises(DataError) as err:
            download(client)
    assert str(err.value).startswith("binance BTC/USDT: NetworkError after 5 tries (binance GET https://api.binance")
    assert "\n" not in str(err.value)
