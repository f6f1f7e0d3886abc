"""When a bar's close becomes known: NYSE sessions (DST, early closes, holidays) and UTC intervals."""
import backtrader as bt
import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds import bt_timeframe, load_csv
from canary.feeds.clocks import (
    expected_session_dates,
    infer_clock,
    infer_interval,
    interval_close_instants,
    session_close_instants,
)

RECORDED = "2030-01-01"


def equity_file(tmp_path, dates, name="SPY.csv"):
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{d},{10 + i},{12 + i},{9 + i},{11 + i},100" for i, d in enumerate(dates)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def close_utc(session, tmp_path):
    s = load_csv(equity_file(tmp_path, [session]), recorded_at=RECORDED, clock="session")
    assert len(s.frame) == 1
    return s.frame.index[0]


@pytest.mark.parametrize("session,expected", [
    # spring forward (Sunday 2024-03-10): EST Friday, EDT Monday
    ("2024-03-08", "2024-03-08 21:00"),
    ("2024-03-11", "2024-03-11 20:00"),
    # fall back (Sunday 2024-11-03): EDT Friday, EST Monday
    ("2024-11-01", "2024-11-01 20:00"),
    ("2024-11-04", "2024-11-04 21:00"),
    # deep winter and deep summer, other years
    ("2021-01-15", "2021-01-15 21:00"),
    ("2023-07-14", "2023-07-14 20:00"),
    # the US changes DST weeks before Europe: New York time, not a fixed or European offset
    ("2024-03-28", "2024-03-28 20:00"),
    ("2024-10-30", "2024-10-30 20:00"),
])
def test_session_closes_at_1600_new_york(tmp_path, session, expected):
    closes = close_utc(session, tmp_path)
    assert closes == pd.Timestamp(expected, tz="UTC")
    assert closes.tz_convert("America/New_York").strftime("%H:%M") == "16:00"


@pytest.mark.parametrize("session,expected", [
    ("2024-07-03", "2024-07-03 17:00"),   # before Independence Day (EDT)
    ("2024-11-29", "2024-11-29 18:00"),   # day after Thanksgiving (EST)
    ("2024-12-24", "2024-12-24 18:00"),   # Christmas Eve (EST)
    ("2023-11-24", "2023-11-24 18:00"),
])
def test_early_close_at_1300_new_york(tmp_path, session, expected):
    closes = close_utc(session, tmp_path)
    assert closes == pd.Timestamp(expected, tz="UTC")
    assert closes.tz_convert("America/New_York").strftime("%H:%M") == "13:00"


def test_one_file_across_both_dst_changes(tmp_path):
    sessions = expected_session_dates("2024-03-01", "2024-11-30")
    s = load_csv(equity_file(tmp_path, [d.date() for d in sessions]), recorded_at=RECORDED)
    assert s.clock == "session"
    hours = pd.Series(s.frame.index.hour, index=sessions)
    early = {pd.Timestamp("2024-07-03"): 17, pd.Timestamp("2024-11-29"): 18}
    for day, hour in hours.items():
        if day in early:
            assert hour == early[day]
        elif pd.Timestamp("2024-03-10") <= day < pd.Timestamp("2024-11-03"):
            assert hour == 20, day
        else:
            assert hour == 21, day
    assert (s.frame.index.tz_convert("America/New_York").strftime("%H:%M") == "16:00").sum() == len(s.frame) - 2


@pytest.mark.parametrize("day,why", [
    ("2024-07-04", "Independence Day"),
    ("2024-11-28", "Thanksgiving"),
    ("2024-12-25", "Christmas"),
    ("2024-03-29", "Good Friday"),
])
def test_holiday_is_not_a_session(tmp_path, day, why):
    path = equity_file(tmp_path, ["2024-01-02", "2024-01-03", day])
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED, clock="session")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path} line 4: {day} is not a XNYS session"), msg


@pytest.mark.parametrize("day", ["2024-07-06", "2024-07-07"])
def test_weekend_is_not_a_session(tmp_path, day):
    path = equity_file(tmp_path, ["2024-07-05", day, "2024-07-08"])
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED, clock="session")
    msg = str(exc.value)
    assert "\n" not in msg
    assert f"SPY.csv line 3: {day} is not a XNYS session" in msg


def test_session_close_instants_directly():
    dates = pd.DatetimeIndex(["2024-07-03", "2024-07-05", "2024-12-24", "2024-12-26"])
    closes = session_close_instants(dates)
    assert closes.tz is not None and str(closes.tz) == "UTC"
    assert closes.tolist() == [pd.Timestamp(t, tz="UTC") for t in
                               ("2024-07-03 17:00", "2024-07-05 20:00", "2024-12-24 18:00", "2024-12-26 21:00")]
    with pytest.raises(DataError, match=r"prices\.csv line 12: 2024-07-04 is not a XNYS session"):
        session_close_instants(pd.DatetimeIndex(["2024-07-03", "2024-07-04"]), source="prices.csv",
                               lines=[11, 12])


def test_session_labels_with_a_time_of_day_are_refused(tmp_path):
    path = tmp_path / "SPY.csv"
    path.write_text("date,open,high,low,close,volume\n2024-07-01 09:30,10,12,9,11,1\n2024-07-02 09:30,10,12,9,11,1\n")
    with pytest.raises(DataError, match="session bars must be labelled by date"):
        load_csv(path, recorded_at=RECORDED, clock="session")


def test_unknown_exchange_calendar(tmp_path):
    with pytest.raises(DataError, match="unknown exchange calendar 'NOPE'"):
        load_csv(equity_file(tmp_path, ["2024-07-01"]), recorded_at=RECORDED, clock="session", exchange="NOPE")


def test_unknown_clock(tmp_path):
    with pytest.raises(DataError, match="unknown clock 'hourly'"):
        load_csv(equity_file(tmp_path, ["2024-07-01"]), recorded_at=RECORDED, clock="hourly")


def test_crypto_daily_bar_labelled_d_closes_at_d_plus_1_midnight_utc(tmp_path):
    path = tmp_path / "BTC-USDT.csv"
    path.write_text("timestamp,open,high,low,close,volume\n"
                    "2024-03-09,1,2,1,2,1\n2024-03-10,2,3,2,3,1\n2024-03-11,3,4,3,4,1\n"
                    "2024-12-31,3,4,3,4,1\n")
    s = load_csv(path, recorded_at=RECORDED, interval="1D")
    assert s.clock == "interval"  # inferred: weekend bars
    # no DST anywhere in UTC; a year-end bar closes in the next year
    assert s.frame.index.tolist() == [pd.Timestamp(t, tz="UTC") for t in
                                      ("2024-03-10", "2024-03-11", "2024-03-12", "2025-01-01")]


def test_crypto_four_hour_clock_closes_at_open_plus_four_hours(tmp_path):
    opens = pd.date_range("2024-03-09 00:00", "2024-03-11 20:00", freq="4h")  # across the US DST change
    lines = ["timestamp,open,high,low,close,volume"] + [f"{t:%Y-%m-%d %H:%M:%S},1,2,1,2,1" for t in opens]
    path = tmp_path / "BTC-4h.csv"
    path.write_text("\n".join(lines) + "\n")
    s = load_csv(path, recorded_at=RECORDED)
    assert s.clock == "interval"
    assert s.interval == pd.Timedelta(hours=4)
    assert len(s.frame) == 18
    assert (s.frame.index - opens.tz_localize("UTC") == pd.Timedelta(hours=4)).all()
    assert s.frame.index[0] == pd.Timestamp("2024-03-09 04:00", tz="UTC")
    assert sorted(set(s.frame.index.hour)) == [0, 4, 8, 12, 16, 20]


def test_interval_close_instants_converts_aware_input():
    opens = pd.DatetimeIndex(["2024-01-01 19:00"]).tz_localize("America/New_York")
    assert interval_close_instants(opens, "4h")[0] == pd.Timestamp("2024-01-02 04:00", tz="UTC")


def test_infer_interval_in_any_index_unit():
    for unit in ("s", "ms", "us", "ns"):
        idx = pd.date_range("2024-01-01", periods=5, freq="4h").as_unit(unit)
        assert infer_interval(idx) == pd.Timedelta(hours=4), unit
    with pytest.raises(DataError, match="fewer than two bars"):
        infer_interval(pd.DatetimeIndex(["2024-01-01"]), "x.csv")


def test_infer_clock():
    weekdays = pd.DatetimeIndex(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"])
    assert infer_clock(weekdays) == "session"
    assert infer_clock(pd.DatetimeIndex(["2024-01-05", "2024-01-06"])) == "interval"   # a Saturday
    assert infer_clock(pd.DatetimeIndex(["2024-01-05 04:00", "2024-01-05 08:00"])) == "interval"
    assert infer_clock(pd.DatetimeIndex(["2024-01-05"]).tz_localize("UTC")) == "interval"



@pytest.mark.parametrize("dates", [["2024-01-05"], ["2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"]],
                         ids=["one row", "four weekdays"])
def test_too_few_weekday_rows_to_infer_a_clock_are_refused(tmp_path, dates):
    # a 1-row or weekday-only crypto file would otherwise be stamped at the NYSE close
    path = equity_file(tmp_path, dates, name="COIN.csv")
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: cannot infer the clock from {len(dates)} bar(s)"), msg
    assert "declare it in the folder's manifest.json" in msg
    with pytest.raises(DataError, match="cannot infer the clock"):
        infer_clock(pd.DatetimeIndex(dates), "COIN.csv")
    # an explicit clock loads it
    assert len(load_csv(path, recorded_at=RECORDED, clock="interval", interval="1D").frame) == len(dates)


def test_the_load_report_says_which_clock_was_inferred(tmp_path):
    dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    s = load_csv(equity_file(tmp_path, dates), recorded_at=RECORDED)
    assert s.clock == "session"
    assert s.report.notes == ["clock inferred: session (no weekend bar, no time of day): bars close at the XNYS "
                              "session close; if this is a 24/7 market, declare clock 'interval' in the folder's "
                              "manifest.json"]
    assert s.report.lines() == [f"{s.path}: {s.report.notes[0]}"]  # the file named by its path, as in errors

    path = equity_file(tmp_path, ["2024-01-05", "2024-01-06"], name="BTC.csv")
    s = load_csv(path, recorded_at=RECORDED)
    assert s.clock == "interval"
    assert s.report.lines() == [f"{path}: clock inferred: interval (weekend bars or times of day): bars are "
                                "labelled by their open instant in UTC and close 1 day later (declare another "
                                "clock in the folder's manifest.json)"]

    # a clock that was given is not reported
    s = load_csv(equity_file(tmp_path, dates), recorded_at=RECORDED, clock="session")
    assert s.report.notes == [] and s.report.lines() == []


def test_the_calendar_default_is_named_for_what_it_is():
    from canary.feeds import clocks, exchange

    assert clocks.DEFAULT_CALENDAR == "XNYS"
    assert not hasattr(clocks, "DEFAULT_EXCHANGE")  # only the ccxt exchange default keeps that name
    assert exchange.DEFAULT_EXCHANGE == "binance"


def test_bt_timeframe():
    assert bt_timeframe(None) == (bt.TimeFrame.Days, 1)
    assert bt_timeframe("1D") == (bt.TimeFrame.Days, 1)
    assert bt_timeframe(pd.Timedelta(days=7)) == (bt.TimeFrame.Days, 7)
    assert bt_timeframe("4h") == (bt.TimeFrame.Minutes, 240)
    assert bt_timeframe("15min") == (bt.TimeFrame.Minutes, 15)
