"""One test per validation rule: refused rows name the file, the line and the problem in one line."""
import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds import load_csv

RECORDED = "2030-01-01"
HEADER = "timestamp,open,high,low,close,volume"
# Crypto days from a Friday (the weekend makes the clock 'interval'); header is line 1.
BASE = [
    "2024-01-05,100,110,95,105,10",    # line 2
    "2024-01-06,105,112,101,108,11",   # line 3
    "2024-01-07,108,109,99,100,12",    # line 4
    "2024-01-08,100,120,98,118,13",    # line 5
    "2024-01-09,118,121,110,115,14",   # line 6
]


def write(tmp_path, rows, name="coin.csv", header=HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def replaced(index, row, rows=BASE):
    out = list(rows)
    out[index] = row
    return out


def refused(path, *parts, **kwargs):
    """Load `path`, expect a DataError and check its message: one line naming each of `parts`."""
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=kwargs.pop("recorded_at", RECORDED), **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg
    assert path.name in msg, msg
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


def test_the_base_file_is_clean(tmp_path):
    s = load_csv(write(tmp_path, BASE), recorded_at=RECORDED)
    assert len(s.frame) == 5
    assert s.report.dropped == [] and s.report.gaps == []
    assert [line.split(": ")[:2] for line in s.report.lines()] == [[str(s.path), "clock inferred"]]


@pytest.mark.parametrize("label", ["2024-01-0x", "2024-13-45", "yesterday", "", "NaN"])
def test_unparseable_date(tmp_path, label):
    path = write(tmp_path, replaced(2, f"{label},108,109,99,100,12"))
    refused(path, "coin.csv line 4:", "date", "cannot be parsed")


@pytest.mark.parametrize("column,index", [("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5)])
def test_unparseable_number(tmp_path, column, index):
    fields = BASE[3].split(",")
    fields[index] = "1O5"
    path = write(tmp_path, replaced(3, ",".join(fields)))
    refused(path, "coin.csv line 5:", f"{column} '1O5' is not a number")


def test_exact_duplicate_row_is_dropped_and_reported(tmp_path):
    rows = BASE[:3] + [BASE[2]] + BASE[3:]  # line 5 repeats line 4
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert len(s.frame) == 5
    assert s.frame.index.is_unique
    assert s.report.dropped == ["line 5: exact duplicate row dropped"]
    assert f"{s.path}: line 5: exact duplicate row dropped" in s.report.lines()


def test_conflicting_duplicate_is_refused(tmp_path):
    rows = BASE[:3] + ["2024-01-07,108,109,99,101,12"] + BASE[3:]  # line 5: same date, other close
    refused(write(tmp_path, rows), "coin.csv line 5:", "duplicate date", "2024-01-07", "different prices")


def test_dates_out_of_order_are_refused(tmp_path):
    rows = [BASE[0], BASE[2], BASE[1], BASE[3], BASE[4]]  # line 4 goes back in time
    refused(write(tmp_path, rows), "coin.csv line 4:", "2024-01-06", "earlier than the row before")


@pytest.mark.parametrize("value", ["0", "-1.5"])
@pytest.mark.parametrize("column,index", [("open", 1), ("high", 2), ("low", 3), ("close", 4)])
def test_non_positive_price_is_refused(tmp_path, value, column, index):
    fields = BASE[1].split(",")
    fields[index] = value
    path = write(tmp_path, replaced(1, ",".join(fields)))
    refused(path, "coin.csv line 3:", "non-positive price", column)


def test_high_below_the_body_is_refused(tmp_path):
    path = write(tmp_path, replaced(3, "2024-01-08,100,117,98,118,13"))
    refused(path, "coin.csv line 5:", "high 117 is below max(open, close) 118")


def test_low_above_the_body_is_refused(tmp_path):
    path = write(tmp_path, replaced(0, "2024-01-05,100,110,101,105,10"))
    refused(path, "coin.csv line 2:", "low 101 is above min(open, close) 100")


def test_negative_volume_is_refused(tmp_path):
    path = write(tmp_path, replaced(4, "2024-01-09,118,121,110,115,-14"))
    refused(path, "coin.csv line 6:", "negative volume -14")


def test_zero_volume_passes(tmp_path):
    s = load_csv(write(tmp_path, replaced(4, "2024-01-09,118,121,110,115,0")), recorded_at=RECORDED)
    assert s.frame["volume"].iloc[-1] == 0.0


@pytest.mark.parametrize("row,missing", [
    ("2024-01-07,108,109,99,100,", "volume"),
    ("2024-01-07,108,,99,,12", "high, close"),
    ("2024-01-07,nan,109,99,100,12", "open"),
])
def test_row_with_some_values_missing_is_refused(tmp_path, row, missing):
    refused(write(tmp_path, replaced(2, row)), "coin.csv line 4:", f"missing value in {missing}")


def test_fully_empty_row_is_dropped_and_reported(tmp_path):
    rows = BASE[:2] + ["2024-01-07,,,,,"] + BASE[3:]  # a date and nothing else, line 4
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert pd.Timestamp("2024-01-08", tz="UTC") not in s.frame.index  # the 2024-01-07 bar's close
    assert len(s.frame) == 4
    assert s.report.dropped == ["line 4: empty row dropped"]
    # and, being absent, the day is a gap: reported, not filled
    assert s.report.gaps == [("2024-01-07", "2024-01-07", 1)]


def test_blank_lines_are_dropped_and_reported(tmp_path):
    rows = BASE[:2] + [",,,,,", ""] + BASE[2:]  # lines 4 and 5
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert len(s.frame) == 5
    assert s.report.dropped == ["2 blank line(s) skipped (line 4, 5)"]
    # later lines keep their own numbers
    bad = rows[:]
    bad[6] = "2024-01-09,118,121,110,115,-14"
    refused(write(tmp_path, bad, name="b.csv"), "b.csv line 8:", "negative volume")


def test_a_file_of_empty_rows_is_refused(tmp_path):
    refused(write(tmp_path, ["2024-01-05,,,,,", "2024-01-06,,,,,"]), "no price rows")


def test_real_flash_crash_wick_passes(tmp_path):
    # LINK 2020-03-12: a low of 0.0001 against an open and close of a few dollars.
    path = write(tmp_path, replaced(2, "2024-01-07,108,109,0.0001,100,12"))
    s = load_csv(path, recorded_at=RECORDED)
    assert s.frame["low"].iloc[2] == 0.0001
    assert s.report.dropped == [] and s.report.gaps == []


def test_float_rounding_of_adjusted_prices_is_clipped_and_reported(tmp_path):
    rows = replaced(1, "2024-01-06,105,107.99999999999999,101,108,11")
    rows = replaced(3, "2024-01-08,100,120,100.00000000000001,118,13", rows)
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert s.frame["high"].iloc[1] == 108.0
    assert s.frame["low"].iloc[3] == 100.0
    assert s.frame["low"].iloc[2] == 99.0  # other bars untouched
    assert s.report.dropped == ["2 bar(s) with high/low off by float rounding: clipped to the body (line 3, 5)"]


def test_rounding_elsewhere_does_not_hide_a_bad_high(tmp_path):
    # One bar off by float rounding must not clip (and so accept) a genuinely wrong bar.
    rows = replaced(1, "2024-01-06,105,107.99999999999999,101,108,11")
    rows = replaced(3, "2024-01-08,100,117,98,118,13", rows)
    refused(write(tmp_path, rows), "coin.csv line 5:", "high 117 is below")
    rows = replaced(3, "2024-01-08,100,120,101,118,13", replaced(1, "2024-01-06,105,112,101.00000000000001,101,11"))
    refused(write(tmp_path, rows, name="low.csv"), "low.csv line 5:", "low 101 is above")


def test_bar_still_open_when_recorded_is_dropped_and_reported(tmp_path):
    path = write(tmp_path, BASE)
    s = load_csv(path, recorded_at="2024-01-09T12:00:00Z")  # during the 2024-01-09 bar
    assert s.last == pd.Timestamp("2024-01-09", tz="UTC")
    assert len(s.frame) == 4
    assert s.report.dropped == [
        "bar closing 2024-01-10T00:00:00+00:00 was still open when recorded (2024-01-09T12:00:00+00:00): dropped"]
    # a bar closing exactly at the recording instant was complete
    s = load_csv(path, recorded_at="2024-01-10T00:00:00Z")
    assert len(s.frame) == 5 and s.report.dropped == []


def test_equity_session_still_open_when_recorded(tmp_path):
    path = write(tmp_path, ["2024-07-01,10,12,9,11,1", "2024-07-02,11,13,10,12,1"], name="SPY.csv",
                 header="date,open,high,low,close,volume")
    s = load_csv(path, recorded_at="2024-07-02T19:59:00Z", clock="session")  # one minute before the 16:00 EDT close
    assert s.frame.index.tolist() == [pd.Timestamp("2024-07-01 20:00", tz="UTC")]
    assert "2024-07-02T20:00:00+00:00 was still open" in s.report.dropped[0]


def test_missing_crypto_days_are_reported_as_gaps_and_never_filled(tmp_path):
    days = pd.date_range("2024-01-05", "2024-01-20", freq="D")
    missing = {"2024-01-08", "2024-01-09", "2024-01-10", "2024-01-15"}
    rows = [f"{d.date()},10,11,9,10,1" for d in days if str(d.date()) not in missing]
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert s.interval == pd.Timedelta(days=1)
    assert s.report.gaps == [("2024-01-08", "2024-01-10", 3), ("2024-01-15", "2024-01-15", 1)]
    assert s.report.missing_bars == 4
    assert f"{s.path}: gap of 3 bar(s) from 2024-01-08 to 2024-01-10" in s.report.lines()
    assert len(s.frame) == len(days) - 4
    for day in missing:  # no row closes at the end of a missing day
        assert pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1) not in s.frame.index
    assert not s.frame.isna().any(axis=None)


def test_missing_four_hour_bars_are_reported_with_their_open_instants(tmp_path):
    opens = pd.date_range("2024-01-05", periods=12, freq="4h")
    rows = [f"{t:%Y-%m-%d %H:%M},10,11,9,10,1" for i, t in enumerate(opens) if i not in (4, 5)]
    s = load_csv(write(tmp_path, rows), recorded_at=RECORDED)
    assert s.interval == pd.Timedelta(hours=4)
    assert s.report.gaps == [("2024-01-05T16:00:00", "2024-01-05T20:00:00", 2)]
    assert len(s.frame) == 10


def test_missing_equity_session_is_reported(tmp_path):
    rows = ["2024-01-02,10,12,9,11,1", "2024-01-03,10,12,9,11,1", "2024-01-05,10,12,9,11,1"]
    s = load_csv(write(tmp_path, rows, name="SPY.csv", header="date,open,high,low,close,volume"),
                 recorded_at=RECORDED, clock="session")
    assert s.clock == "session"
    assert s.report.gaps == [("2024-01-04", "2024-01-04", 1)]
    assert len(s.frame) == 3


def test_dates_out_of_order_are_quoted_as_written(tmp_path):
    # day-first dates: the error quotes the text of the file, not a reparsed (month-first) date
    rows = ["05/01/2024,100,110,95,105,10", "13/01/2024,105,112,101,108,11", "06/01/2024,108,109,99,100,12"]
    msg = refused(write(tmp_path, rows), "coin.csv line 4:", "date 06/01/2024 is earlier than the row before")
    assert "00:00" not in msg and "2024-06-01" not in msg


def test_conflicting_duplicate_is_quoted_as_written(tmp_path):
    rows = ["05/01/2024,100,110,95,105,10", "13/01/2024,105,112,101,108,11", "13/01/2024,108,109,99,100,12"]
    refused(write(tmp_path, rows), "coin.csv line 4:", "duplicate date 13/01/2024 with different prices")
