"""Close-only price files (CoinGecko, Coin Metrics, hourly closes), their clocks, and files
written newest first."""
import json

import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds.library import DataLibrary
from canary.feeds.loading import load_csv

DAYS = pd.date_range("2024-01-01", periods=10, freq="D")


def write(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_a_coingecko_row_dated_d_is_the_close_of_day_d_minus_1(tmp_path):
    rows = [(d.date(), 10 + i, 1000 + i, 0.0, "coin") for i, d in enumerate(DAYS)]
    s = load_csv(write(tmp_path / "X-USD.csv", "date,price,total_volume,market_cap,coin_name", rows),
                 recorded_at="2030-01-01")
    assert s.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")   # the close of 2023-12-31
    assert s.interval == pd.Timedelta(days=1)
    bar = s.frame.iloc[3]
    assert bar["open"] == bar["high"] == bar["low"] == bar["close"] == 13
    assert bar["volume"] == 1003
    assert any("close only" in n for n in s.report.notes)


def test_a_coin_metrics_row_dated_d_is_the_close_of_day_d(tmp_path):
    rows = [(d.date(), 2 * (i + 1)) for i, d in enumerate(DAYS)]
    s = load_csv(write(tmp_path / "X-USD.csv", "time,PriceUSD", rows), recorded_at="2030-01-01")
    assert s.frame.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert s.frame["close"].iloc[0] == 2 and (s.frame["volume"] == 0).all()


def test_a_declared_clock_overrides_the_layout(tmp_path):
    write(tmp_path / "X-USD.csv", "time,PriceUSD", [(d.date(), 5) for d in DAYS])
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"files": {"X-USD": {"path": "X-USD.csv", "clock": "interval", "interval": "1D", "labels": "close"}}}))
    s = DataLibrary(tmp_path, recorded_at="2030-01-01").load("X-USD")
    assert s.frame.index[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_rows_newest_first_read_as_oldest_first(tmp_path):
    rows = [(d.date(), 1 + i, 2 + i, 0.5 + i, 1.5 + i, 10) for i, d in enumerate(DAYS)]
    header = "date,open,high,low,close,volume"
    oldest = load_csv(write(tmp_path / "A.csv", header, rows), recorded_at="2030-01-01")
    newest = load_csv(write(tmp_path / "B.csv", header, rows[::-1]), recorded_at="2030-01-01")
    pd.testing.assert_frame_equal(oldest.frame, newest.frame)
    assert any("newest first" in n for n in newest.report.notes)


def test_rows_out_of_order_are_still_refused(tmp_path):
    rows = [(d.date(), 5, 5, 5, 5, 1) for d in DAYS]
    rows[3], rows[4] = rows[4], rows[3]
    with pytest.raises(DataError, match="not sorted"):
        load_csv(write(tmp_path / "A.csv", "date,open,high,low,close,volume", rows))


def test_hourly_closes(tmp_path):
    hours = pd.date_range("2024-01-01", periods=48, freq="h")
    s = load_csv(write(tmp_path / "F-USDT.csv", "open_time,close", [(h, 1 + i) for i, h in enumerate(hours)]),
                 recorded_at="2030-01-01")
    assert s.interval == pd.Timedelta(hours=1)
    assert s.frame.index[0] == pd.Timestamp("2024-01-01 01:00", tz="UTC")


def test_a_bad_price_names_file_line_and_field(tmp_path):
    rows = [(d.date(), 3, 1, 0, "c") for d in DAYS]
    rows[2] = (DAYS[2].date(), "$3", 1, 0, "c")
    with pytest.raises(DataError, match=r"X-USD.csv line 4: price '\$3' is not a number"):
        load_csv(write(tmp_path / "X-USD.csv", "date,price,total_volume,market_cap,coin_name", rows))


def test_cryptodatadownload_base_volume(tmp_path):
    rows = [(0, d.date(), "E/USDT", 1, 2, 0.5, 1.5, 7, 99, 3) for d in DAYS][::-1]
    s = load_csv(write(tmp_path / "E.csv", "unix,date,symbol,open,high,low,close,Volume E,Volume USDT,tradecount", rows),
                 recorded_at="2030-01-01")
    assert (s.frame["volume"] == 7).all()


def test_a_coingecko_time_of_day_is_read_as_its_date(tmp_path):
    rows = [(f"{d.date()} 00:00:00.000", 3, 1, 0, "c") for d in DAYS]
    rows[4] = (f"{DAYS[4].date()} 00:05:19.614", 3, 1, 0, "c")
    s = load_csv(write(tmp_path / "X-USD.csv", "date,price,total_volume,market_cap,coin_name", rows),
                 recorded_at="2030-01-01")
    assert (s.frame.index == s.frame.index.normalize()).all() and not s.report.gaps
    assert any("time of day" in n for n in s.report.notes)
