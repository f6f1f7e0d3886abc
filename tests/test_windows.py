"""Windows in time, and the shipped 4-hour bars.

Crypto windows given as durations mean the same span on daily and on 4-hour bars; equity
windows count sessions. The shipped 4-hour Binance bars (with their real maintenance gaps)
run end to end, and every output carries full timestamps on intraday bars.
"""
import backtrader as bt
import pandas as pd
import pytest
from test_cli import assert_user_error, canary
from test_indicators import _run, bars, coin_feeds, crypto_days, equity_feed, sessions

from canary.errors import ConfigError
from canary.feeds import DataLibrary
from canary.feeds.windows import feed_interval, parse_window, session_count, window_bars
from canary.indicators import EthBtcStrength, SmallCapBreakout

FOUR_HOURS = pd.Timedelta(hours=4)
DAY = pd.Timedelta(days=1)
UNIVERSE_4H = ["--set", "universe.btc=BTC-USDT-4h", "--set", "universe.eth=ETH-USDT-4h",
               "--set", 'universe.alts=["BNB-USDT-4h", "SOL-USDT-4h"]']


@pytest.mark.parametrize("value,interval,bars_", [
    ("30d", DAY, 30), ("30d", FOUR_HOURS, 180), ("12h", FOUR_HOURS, 3), ("1w", DAY, 7), ("90min", pd.Timedelta("30min"), 3),
    (7, FOUR_HOURS, 7), ("0d", DAY, 0),
])
def test_a_window_in_time_is_a_count_of_bars_of_the_interval(value, interval, bars_):
    assert window_bars(value, interval, minimum=0) == bars_


@pytest.mark.parametrize("value,interval,words", [
    ("12h", DAY, "not a whole number of 1-day bars"),
    ("30x", DAY, "duration"),
    (True, DAY, "duration"),
    ("0d", DAY, "at least 1"),
])
def test_a_window_that_means_no_whole_number_of_bars_is_refused(value, interval, words):
    with pytest.raises(ConfigError, match=words):
        window_bars(value, interval, "filter.eth_btc.period")


def test_equity_windows_count_sessions():
    assert session_count(100) == 100
    with pytest.raises(ConfigError, match="counts equity sessions"):
        session_count("100d", "filter.small_cap.period")
    assert parse_window(" 14d ") == pd.Timedelta(days=14)


def test_an_indicator_turns_its_durations_into_bars_of_its_feeds(tmp_path):
    idx = pd.date_range("2024-01-01", periods=400, freq="4h", tz="UTC")
    close = pd.Series(range(1, 401), dtype=float).to_numpy()
    feeds = coin_feeds([bars(close * 2, idx), bars(close, idx)])
    four_hourly = _run(feeds, lambda e, b: EthBtcStrength(e, b, period="2d", momentum_period="1d"), True)
    counted = _run(feeds, lambda e, b: EthBtcStrength(e, b, period=12, momentum_period=6), True)
    for name in four_hourly:
        pd.testing.assert_series_equal(pd.Series(four_hourly[name]), pd.Series(counted[name]))
    assert pd.isna(four_hourly["average"][10]) and not pd.isna(four_hourly["average"][11])
    # the same durations on daily bars are 2 and 1 bars
    daily = coin_feeds([bars(close[:20] * 2, crypto_days(20)), bars(close[:20], crypto_days(20))])
    out = _run(daily, lambda e, b: EthBtcStrength(e, b, period="2d", momentum_period="1d"), True)
    assert pd.isna(out["average"][0]) and not pd.isna(out["average"][1])
    with pytest.raises(ConfigError, match="12h.*1-day"):
        _run(daily, lambda e, b: EthBtcStrength(e, b, period="12h"), True)
    with pytest.raises(ConfigError, match="sessions"):
        _run(equity_feed(bars(close[:20], sessions(20))), lambda d: SmallCapBreakout(d, period="20d"), True)


def test_feed_interval_reads_the_declared_bar_size():
    data = bt.feeds.PandasData(dataname=pd.DataFrame({"close": [1.0]}, index=[pd.Timestamp("2024-01-01")]),
                               timeframe=bt.TimeFrame.Minutes, compression=240)
    assert feed_interval(data) == FOUR_HOURS


def test_shipped_four_hour_bars_keep_their_real_gaps():
    lib = DataLibrary()
    assert {s for s in lib.symbols() if s.endswith("-4h")} == {f"{c}-USDT-4h" for c in
                                                                ("BTC", "ETH", "BNB", "XRP", "ADA", "SOL")}
    btc = lib.load("BTC-USDT-4h")
    assert lib.verify("BTC-USDT-4h") is None
    assert btc.frame.index[0] == pd.Timestamp("2017-08-17 08:00", tz="UTC")       # opened 04:00
    assert btc.frame.index[-1] == pd.Timestamp("2026-01-06 12:00", tz="UTC")      # the 12:00 bar was still open
    assert any("gap of 7 bar(s) from 2018-02-08T04:00:00" in g for g in btc.report.lines())
    assert len(btc.frame) == 18370


@pytest.mark.slow
def test_a_four_hour_run_means_the_same_windows_and_writes_timestamps(tmp_path):
    proc = canary("run", *UNIVERSE_4H, "--start", "2024-01-01", "--end", "2024-04-01", "--no-report",
                  "--out", str(tmp_path), "--name", "h4")
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "h4"
    equity = pd.read_csv(folder / "equity.csv")
    assert equity["date"].iloc[:3].tolist() == ["2024-01-01T00:00:00+00:00", "2024-01-01T04:00:00+00:00",
                                                 "2024-01-01T08:00:00+00:00"]
    assert equity["date"].is_unique and len(equity) >= 6 * 90
    for name in ("regimes.csv", "weights.csv"):
        assert pd.read_csv(folder / name)["date"].tolist() == equity["date"].tolist(), name
    trades = pd.read_csv(folder / "trades.csv")
    assert len(trades) and (pd.to_datetime(trades["date"]).dt.hour != 0).any()
    assert "gap" in proc.stdout                       # the venue's maintenance gaps are reported
    assert "values in USDT" in proc.stdout            # the quote the manifest records, not the "-4h" suffix
    # a window that is no whole number of 4-hour bars is a one-line usage mistake
    bad = canary("run", *UNIVERSE_4H, "--set", "strategy.min_hold=90min", "--start", "2024-01-01",
                 "--end", "2024-02-01", "--no-report", "--out", str(tmp_path))
    assert_user_error(bad, 2, "strategy.min_hold", "4-hour")
