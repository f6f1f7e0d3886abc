"""The Yahoo loader, run through the real yfinance against a `responses`-mocked requests session.

The fake Yahoo serves recorded-shape chart responses (tests/fixtures/live/yahoo_chart_*.json),
cut to the period1/period2 window yfinance asks for, so yfinance's own parsing (time zones,
daily-bar dates, intraday open instants) is what gets tested.
"""
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
import pytest
import requests
import responses
import yfinance.base as yf_base
import yfinance.cache as yf_cache
import yfinance.data as yf_data

from canary.errors import DataError
from canary.feeds import yahoo
from canary.feeds.fetch import cached_series, fetch

FIXTURES = Path(__file__).parent / "fixtures" / "live"
CHART = re.compile(r"https://query\d\.finance\.yahoo\.com/v8/finance/chart/.*")
SUMMARY = re.compile(r"https://query\d\.finance\.yahoo\.com/v10/finance/quoteSummary/.*")


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


class FakeYahoo:
    """Yahoo's chart endpoint for the symbols given, answering from fixtures; records each query."""

    def __init__(self, mock, charts):
        self.charts = {sym: fixture(name) for sym, name in charts.items()}
        self.queries = []
        self.until = None  # the instant the fake is asked at: no bar opening later is served
        mock.add(responses.GET, "https://fc.yahoo.com/", status=404,
                 headers={"Set-Cookie": "A3=d=AQABBfake; Domain=.yahoo.com; Path=/"})
        mock.add(responses.GET, "https://query1.finance.yahoo.com/v1/test/getcrumb", body="fakecrumb")
        mock.add_callback(responses.GET, CHART, callback=self.chart)

    def chart(self, request):
        url = urlsplit(request.url)
        symbol = unquote(url.path.rsplit("/", 1)[1])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.queries.append((symbol, query))
        doc = self.charts.get(symbol, fixture("yahoo_chart_not_found.json"))
        body = json.loads(json.dumps(doc["body"]))
        result = (body["chart"]["result"] or [None])[0]
        if result is not None and "period1" in query:
            ts = result["timestamp"]
            end = int(query["period2"])
            if self.until is not None:
                end = min(end, self.until.timestamp() + 1)
            keep = [i for i, t in enumerate(ts) if int(query["period1"]) <= t < end]
            result["timestamp"] = [ts[i] for i in keep]
            for block in result["indicators"]["quote"] + result["indicators"].get("adjclose", []):
                for key in block:
                    block[key] = [block[key][i] for i in keep]
        return doc["status"], {"Content-Type": "application/json"}, json.dumps(body)


@pytest.fixture
def mock(monkeypatch):
    """A responses mock; yfinance's process-wide state (session singleton, sqlite caches) made fresh."""
    monkeypatch.setattr(yf_cache._TzCacheManager, "_tz_cache", yf_cache._TzCacheDummy())
    monkeypatch.setattr(yf_cache._CookieCacheManager, "_Cookie_cache", yf_cache._CookieCacheDummy())
    monkeypatch.setattr(yf_data.SingletonMeta, "_instances", {})
    monkeypatch.setattr(yf_base, "_tz_info_fetch_ctr", 0)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_rut_daily_bars_close_at_the_nyse_session_close(mock):
    fake = FakeYahoo(mock, {"^RUT": "yahoo_chart_RUT_1d.json"})
    bars = yahoo.download("^RUT", "1d", since="2024-07-01", session=requests.Session(), now=utc("2024-07-10"))
    series = bars.series("^RUT")
    assert (bars.clock, bars.calendar, bars.bar) == ("session", "XNYS", None)
    assert list(bars.labels.strftime("%Y-%m-%d")) == [
        "2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08", "2024-07-09"]
    closes = series.frame.index
    assert closes[2] == utc("2024-07-03 17:00")  # early close: 13:00 New York
    assert closes[3] == utc("2024-07-05 20:00")
    assert series.frame["close"].iloc[2] == 2036.62  # raw Close, as in the shipped RUT.csv
    start = [q for s, q in fake.queries if "period1" in q][0]
    assert int(start["period1"]) == pd.Timestamp("2024-07-01", tz="America/New_York").timestamp()
    assert start["interval"] == "1d"


def test_btc_daily_bar_closes_at_the_next_utc_midnight(mock):
    FakeYahoo(mock, {"BTC-USD": "yahoo_chart_BTC-USD_1d.json"})
    bars = yahoo.download("BTC-USD", "1d", since="2023-12-30", session=requests.Session(), now=utc("2024-01-05"))
    series = bars.series("BTC-USD")
    assert (bars.clock, bars.bar) == ("interval", pd.Timedelta("1D"))
    by_label = dict(zip(bars.labels, series.frame.index, strict=True))
    assert by_label[pd.Timestamp("2024-01-01")] == utc("2024-01-02 00:00")
    assert pd.Timestamp("2023-12-30") in by_label  # a Saturday: 24/7 market
    assert series.frame.loc[utc("2024-01-02"), "close"] == 44179.55


def test_intraday_bars_are_stamped_open_plus_interval(mock):
    FakeYahoo(mock, {"IWM": "yahoo_chart_IWM_60m.json"})
    bars = yahoo.download("IWM", "60m", since="2024-07-02", session=requests.Session(), now=utc("2024-07-03"))
    series = bars.series("IWM")
    assert (bars.clock, bars.bar) == ("interval", pd.Timedelta("60min"))
    assert bars.labels[0] == pd.Timestamp("2024-07-02 13:30")  # 09:30 New York, as UTC
    assert series.frame.index[0] == utc("2024-07-02 14:30")
    assert len(series.frame) == 7


def test_a_bar_counts_as_closed_only_after_the_quote_delay(mock):
    FakeYahoo(mock, {"^RUT": "yahoo_chart_RUT_1d.json"})
    session_close = utc("2024-07-09 20:00")

    def last_close(now):
        bars = yahoo.download("^RUT", "1d", since="2024-07-08", session=requests.Session(), now=now)
        return bars.series("^RUT").last

    assert last_close(session_close - pd.Timedelta(minutes=10)) == utc("2024-07-08 20:00")
    assert last_close(session_close + pd.Timedelta(minutes=10)) == utc("2024-07-08 20:00")
    assert last_close(session_close + yahoo.QUOTE_DELAY) == session_close


def test_unknown_symbol_becomes_one_data_error_line(mock):
    FakeYahoo(mock, {})
    mock.add(responses.GET, SUMMARY, status=404, json=fixture("yahoo_chart_not_found.json")["quote_summary"])
    with pytest.raises(DataError) as err:
        yahoo.download("NOSUCH", "1d", since="2024-07-01", session=requests.Session())
    assert str(err.value) == "NOSUCH: Yahoo does not know this symbol (HTTP 404); check it on finance.yahoo.com"


# yfinance looks a new symbol's time zone up in a fallback that raises the HTTP error for the
# first two symbols of a process; after that, it returns an empty frame and only logs.
@pytest.mark.parametrize("lookups_done, reason", [
    (0, "cannot get bars from Yahoo (ConnectionError"),
    (2, "Yahoo returned no 1d bars ($^RUT: possibly delisted; no timezone found)"),
])
def test_offline_becomes_one_data_error_line(mock, monkeypatch, lookups_done, reason):
    monkeypatch.setattr(yf_base, "_tz_info_fetch_ctr", lookups_done)
    # Nothing registered: every request fails as it does offline.
    with pytest.raises(DataError) as err:
        yahoo.download("^RUT", "1d", session=requests.Session())
    message = str(err.value)
    assert message.startswith(f"^RUT: {reason}")
    assert message.endswith("that this machine is online")
    assert "\n" not in message


def test_an_empty_answer_becomes_a_data_error(mock):
    FakeYahoo(mock, {"^RUT": "yahoo_chart_RUT_1d.json"})
    with pytest.raises(DataError, match=r"^\^RUT: Yahoo returned no 1d bars from 2024-08-01 "):
        yahoo.download("^RUT", "1d", since="2024-08-01", session=requests.Session())


def test_unsupported_interval_is_refused():
    with pytest.raises(DataError, match="interval '1wk' is not supported"):
        yahoo.download("^RUT", "1wk")


def test_a_calendar_on_another_time_zone_is_refused(mock):
    FakeYahoo(mock, {"^RUT": "yahoo_chart_RUT_1d.json"})
    with pytest.raises(DataError, match="America/New_York time but calendar XLON"):
        yahoo.download("^RUT", "1d", since="2024-07-01", calendar="XLON", session=requests.Session(),
                       now=utc("2024-07-10"))




def test_a_refresh_starts_at_the_newest_cached_session(mock, tmp_path):
    fake = FakeYahoo(mock, {"^RUT": "yahoo_chart_RUT_1d.json"})

    def refresh(now):
        fake.until, fake.queries = utc(now), []
        [result] = fetch(["^RUT"], "yahoo", cache_dir=tmp_path, client=requests.Session(), now=utc(now),
                         progress=False)
        return result

    first = refresh("2024-07-03 18:00")  # after the early close (17:00 UTC) and the quote delay
    assert (first.status, first.bars, first.last) == ("created", 3, utc("2024-07-03 17:00"))
    second = refresh("2024-07-09 21:00")
    period1 = [int(q["period1"]) for s, q in fake.queries if "period1" in q][0]
    assert period1 == pd.Timestamp("2024-07-03", tz="America/New_York").timestamp()
    assert (second.status, second.added, second.bars) == ("updated", 3, 6)
    series = cached_series("yahoo", "^RUT", cache_dir=tmp_path)
    assert list(series.frame.index.strftime("%m-%d %H:%M")) == [
        "07-01 20:00", "07-02 20:00", "07-03 17:00", "07-05 20:00", "07-08 20:00", "07-09 20:00"]
