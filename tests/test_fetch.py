"""fetch / cached_series / list_cache, end to end through the real ccxt.binance.

A fake Binance (a `responses` callback on a mocked requests session) serves the recorded-shape
klines of tests/fixtures/live/binance_klines_BTCUSDT_1d.json, as the real one would: from
``startTime`` on, never a candle that has not opened yet, a few per answer.
"""
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests
import responses

from canary.errors import ConfigError, DataError
from canary.feeds import cache, exchange
from canary.feeds.fetch import cached_series, fetch, list_cache

FIXTURES = Path(__file__).parent / "fixtures" / "live"
KLINES = re.compile(r"https://api\.binance\.com/api/v3/klines\?.*")
DOC = json.loads((FIXTURES / "binance_klines_BTCUSDT_1d.json").read_text())
DAY_MS = 86_400_000


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def ms(text):
    return utc(text).value // 1_000_000


class FakeBinance:
    """Binance's klines endpoint as seen at instant `now`; requests from the `fail_from`-th on fail."""

    def __init__(self, mock, now, page=3):
        self.klines = [list(k) for k in DOC["klines"]]
        self.now, self.page = utc(now), page
        self.fail_from = None
        self.starts = []
        mock.add_callback(responses.GET, KLINES, callback=self.answer)

    def answer(self, request):
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.starts.append(int(query["startTime"]))
        if self.fail_from is not None and len(self.starts) >= self.fail_from:
            raise requests.ConnectionError("connection refused")
        now_ms = self.now.value // 1_000_000
        rows = [k for k in self.klines if int(query["startTime"]) <= k[0] <= now_ms]
        return 200, {"Content-Type": "application/json"}, json.dumps(rows[:min(self.page, int(query["limit"]))])

    def revise(self, day, close):
        """Change the close of the candle opening at `day` (to a still-open or revised figure)."""
        row = next(k for k in self.klines if k[0] == ms(day))
        row[2] = f"{max(float(row[2]), close):.8f}"
        row[3] = f"{min(float(row[3]), close):.8f}"
        row[4] = f"{close:.8f}"


@pytest.fixture
def mock():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client():
    binance = exchange.connect("binance", session=requests.Session())
    binance.enableRateLimit = False
    binance.set_markets([DOC["market"]])
    return binance


def run(client, cache_dir, now, symbols=("BTC/USDT",), **kwargs):
    return fetch(list(symbols), "ccxt", exchange="binance", cache_dir=cache_dir, client=client, now=utc(now),
                 sleep=lambda seconds: None, progress=False, **kwargs)


def test_a_first_fetch_caches_the_closed_bars(mock, client, tmp_path):
    FakeBinance(mock, now="2024-01-06 12:00")
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert (result.status, result.bars, result.added) == ("created", 8, 8)
    assert result.last == utc("2024-01-06 00:00")  # 2024-01-05's candle; 2024-01-06's was still open
    assert result.path == tmp_path / "ccxt" / "binance" / "1d" / "BTC%2FUSDT.parquet"
    series = cached_series("ccxt", "BTC/USDT", "1d", cache_dir=tmp_path, exchange="binance")
    assert series.frame.loc[utc("2024-01-02"), "close"] == 44179.55
    assert series.last == result.last
    assert result.line() == ("BTC/USDT (ccxt/binance, 1d): created, 8 new bar(s), 8 cached, "
                             "last closed 2024-01-06T00:00:00+00:00")


def test_a_refresh_asks_only_for_newer_bars_and_replaces_the_overlap(mock, client, tmp_path):
    server = FakeBinance(mock, now="2024-01-03 12:00")
    server.revise("2024-01-03", 43000.0)  # the open candle's figure at the first fetch
    run(client, tmp_path, "2024-01-03 12:00")
    assert cached_series("ccxt", "BTC/USDT", cache_dir=tmp_path, exchange="binance").last == utc("2024-01-03")
    server.klines = [list(k) for k in DOC["klines"]]
    server.revise("2024-01-02", 44950.0)  # revised after the first fetch, by less than a split would
    server.now, server.starts = utc("2024-01-06 12:00"), []
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert server.starts[0] == ms("2024-01-02")  # the newest cached bar, fetched again
    assert (result.status, result.added, result.bars) == ("updated", 3, 8)
    frame = cached_series("ccxt", "BTC/USDT", cache_dir=tmp_path, exchange="binance").frame
    assert frame.loc[utc("2024-01-03"), "close"] == 44950.0  # the overlapping bar replaced
    assert frame.loc[utc("2024-01-04"), "close"] == 42845.23  # never the still-open 43000
    assert frame.index.is_unique


def test_a_rebased_history_is_fetched_again(mock, client, tmp_path):
    server = FakeBinance(mock, now="2024-01-04 12:00")
    run(client, tmp_path, "2024-01-04 12:00")
    for k in server.klines:  # a 2-for-1 split rewrites the whole past
        k[1:5] = [f"{float(v) / 2:.8f}" for v in k[1:5]]
    server.now, server.starts = utc("2024-01-06 12:00"), []
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert result.status == "rebuilt"
    assert server.starts[0] == ms("2024-01-03") and 0 in server.starts  # the overlap, then from the start
    frame = cached_series("ccxt", "BTC/USDT", cache_dir=tmp_path, exchange="binance").frame
    assert frame.loc[utc("2023-12-30"), "close"] == pytest.approx(42066.95 / 2)


def test_a_fetch_failing_half_way_leaves_the_cache_byte_for_byte(mock, client, tmp_path):
    server = FakeBinance(mock, now="2024-01-02 12:00")
    [first] = run(client, tmp_path, "2024-01-02 12:00")
    before = first.path.read_bytes()
    server.now, server.starts, server.fail_from = utc("2024-01-06 12:00"), [], 2
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert result.status == "failed"
    assert result.error.startswith("binance BTC/USDT: NetworkError after 5 tries")
    assert result.error.endswith(f"; the cache file {first.path} was left as it was")
    assert first.path.read_bytes() == before


def test_a_refresh_killed_while_writing_leaves_the_cache_byte_for_byte(mock, client, tmp_path, monkeypatch):
    server = FakeBinance(mock, now="2024-01-02 12:00")
    [first] = run(client, tmp_path, "2024-01-02 12:00")
    before = first.path.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache.os, "replace", killed)
    server.now = utc("2024-01-06 12:00")
    with pytest.raises(KeyboardInterrupt):
        run(client, tmp_path, "2024-01-06 12:00")
    assert first.path.read_bytes() == before
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]


def test_a_corrupt_cache_file_is_reported_kept_and_not_refetched(mock, client, tmp_path):
    server = FakeBinance(mock, now="2024-01-06 12:00")
    path = cache.path_for(tmp_path, "ccxt/binance", "BTC/USDT", "1d")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage")
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert result.status == "failed"
    assert result.error.startswith(f"{path}: unusable cache file (")
    assert path.read_bytes() == b"\x00garbage"
    assert server.starts == []
    [entry] = list_cache(tmp_path)
    assert entry.path == path and entry.problem == result.error.split("; the cache file")[0]


def test_offline_with_nothing_cached_says_how_to_get_the_bars(mock, client, tmp_path):
    FakeBinance(mock, now="2024-01-06 12:00").fail_from = 1
    [result] = run(client, tmp_path, "2024-01-06 12:00")
    assert result.error.endswith(
        "; nothing is cached for BTC/USDT yet: run `canary data fetch BTC/USDT --source ccxt --exchange binance` "
        "when online, or use the shipped series BTC-USDT")
    assert "\n" not in result.error
    assert not result.path.exists()


def test_a_symbol_not_cached_names_the_command_that_fetches_it(tmp_path):
    with pytest.raises(DataError) as err:
        cached_series("yahoo", "^RUT", "1d", cache_dir=tmp_path)
    assert str(err.value) == (
        f"no cached yfinance 1d bars for ^RUT (looked for {tmp_path / 'yahoo' / '1d' / '^RUT.parquet'}): "
        "run `canary data fetch ^RUT --source yfinance` when online, or use the shipped series RUT")


def test_one_failing_symbol_does_not_stop_the_others(mock, client, tmp_path):
    FakeBinance(mock, now="2024-01-06 12:00")
    seen = []
    results = fetch(["NOPE/USDT", "BTC/USDT"], "ccxt", cache_dir=tmp_path, client=client,
                    now=utc("2024-01-06 12:00"), sleep=lambda s: None, progress=seen.append)
    assert [r.status for r in results] == ["failed", "created"]
    assert results[0].error.startswith("binance NOPE/USDT: no such market on binance")
    assert seen == results


def test_the_progress_bar_is_silent_when_not_on_a_terminal(mock, client, tmp_path, capsys):
    FakeBinance(mock, now="2024-01-06 12:00")
    fetch(["BTC/USDT"], "ccxt", cache_dir=tmp_path, client=client, now=utc("2024-01-06 12:00"),
          sleep=lambda s: None, progress=True)
    assert capsys.readouterr().err == ""


def test_list_cache_describes_each_file(mock, client, tmp_path):
    FakeBinance(mock, now="2024-01-06 12:00")
    run(client, tmp_path, "2024-01-06 12:00")
    [entry] = list_cache(tmp_path)
    assert (entry.feed, entry.symbol, entry.interval, entry.bars) == ("ccxt/binance", "BTC/USDT", "1d", 8)
    assert (entry.first, entry.last) == (utc("2023-12-30"), utc("2024-01-06"))
    assert entry.recorded_at == utc("2024-01-06 12:00") and entry.problem is None


@pytest.mark.parametrize("source, exchange_id, message", [
    ("yahooo", None, "unknown data source 'yahooo' (did you mean 'yahoo'?)"),
    ("yahoo", "binance", "an exchange applies to --source ccxt only"),
    ("ccxt", "binanse", "unknown ccxt exchange 'binanse' (did you mean 'binance'?)"),
])
def test_usage_mistakes_are_configuration_errors(tmp_path, source, exchange_id, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        fetch(["X"], source, exchange=exchange_id, cache_dir=tmp_path, progress=False)


def test_once_the_exchange_is_unreachable_the_other_symbols_are_not_tried(mock, client, tmp_path):
    server = FakeBinance(mock, now="2024-01-06 12:00")
    server.fail_from = 1
    first, second = run(client, tmp_path, "2024-01-06 12:00", symbols=("BTC/USDT", "ETH/USDT"))
    assert first.error.startswith("binance BTC/USDT: NetworkError after 5 tries")
    assert second.error.startswith("binance ETH/USDT: not tried, the exchange was unreachable for BTC/USDT")
    assert len(server.starts) == exchange.RETRIES + 1


def test_the_data_fetch_command_fills_the_cache(mock, client, tmp_path, monkeypatch, capsys):
    from canary.runs.cli import main

    fake = FakeBinance(mock, now="2030-01-01")
    monkeypatch.setattr(exchange, "connect", lambda *args, **kwargs: client)
    status = main(["data", "fetch", "BTC/USDT", "--source", "ccxt", "--cache-dir", str(tmp_path), "-q"])
    assert status == 0
    assert "BTC/USDT (ccxt/binance, 1d): created" in capsys.readouterr().out
    cached = cached_series("ccxt", "BTC/USDT", cache_dir=tmp_path, exchange="binance")
    assert len(cached.frame) == len(fake.klines)

    before = cache.path_for(tmp_path, "ccxt/binance", "BTC/USDT", "1d").read_bytes()
    status = main(["data", "fetch", "BTC/USTD", "--source", "ccxt", "--cache-dir", str(tmp_path), "-q"])
    assert status == 1
    captured = capsys.readouterr()  # the failure is reported on stdout or, as an error, on stderr
    assert "BTC/USTD" in captured.out + captured.err
    assert cache.path_for(tmp_path, "ccxt/binance", "BTC/USDT", "1d").read_bytes() == before
