"""The CSV layouts the loader reads (synthetic files; the shipped data are in test_library)."""
import textwrap

import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds import load_csv
from canary.feeds.layouts import read_raw

RECORDED = "2030-01-01"  # after every synthetic bar: nothing is still open


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def utc(*stamps):
    return pd.DatetimeIndex([pd.Timestamp(s, tz="UTC") for s in stamps])


def assert_one_line_error(excinfo, *parts):
    msg = str(excinfo.value)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, f"{part!r} not in {msg!r}"
    return msg


# Four crypto days, Friday to Monday, with distinct numbers in every column.
KLINE_ROWS = [
    ("2024-01-05", 100.0, 110.0, 95.0, 105.0, 1.5),
    ("2024-01-06", 105.0, 112.0, 101.0, 108.0, 2.5),
    ("2024-01-07", 108.0, 109.0, 99.0, 100.0, 3.5),
    ("2024-01-08", 100.0, 120.0, 98.0, 118.0, 4.5),
]
KLINE_CLOSES = utc("2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09")


def kline_text(labels=None, header="timestamp,open,high,low,close,volume"):
    lines = [header]
    for i, (day, o, h, lo, c, v) in enumerate(KLINE_ROWS):
        label = labels[i] if labels else day
        lines.append(f"{label},{o},{h},{lo},{c},{v}")
    return "\n".join(lines) + "\n"


def expected_kline_frame():
    cols = list(zip(*KLINE_ROWS, strict=True))
    return pd.DataFrame({"open": cols[1], "high": cols[2], "low": cols[3], "close": cols[4], "volume": cols[5]},
                        index=KLINE_CLOSES)


def check_frame(series, expected):
    assert list(series.frame.columns) == ["open", "high", "low", "close", "volume"]
    assert series.frame.index.equals(expected.index), series.frame.index
    pd.testing.assert_frame_equal(series.frame, expected, check_names=False, check_freq=False,
                                  check_index_type=False)


def test_binance_klines_with_dates(tmp_path):
    s = load_csv(write(tmp_path, "BTC-USDT.csv", kline_text()), recorded_at=RECORDED)
    assert s.symbol == "BTC-USDT"
    assert s.clock == "interval"
    assert s.interval == pd.Timedelta(days=1)
    check_frame(s, expected_kline_frame())
    assert s.report.dropped == [] and s.report.gaps == []
    # the clock was inferred, and the report says so
    assert s.report.lines() == [f"{s.path}: clock inferred: interval (weekend bars or times of day): bars are "
                                "labelled by their open instant in UTC and close 1 day later (declare another "
                                "clock in the folder's manifest.json)"]


def test_binance_klines_with_epoch_milliseconds(tmp_path):
    ms = [str(int(pd.Timestamp(r[0], tz="UTC").timestamp() * 1000)) for r in KLINE_ROWS]
    assert ms[0] == "1704412800000"
    s = load_csv(write(tmp_path, "k.csv", kline_text(ms)), recorded_at=RECORDED)
    assert s.clock == "interval"
    check_frame(s, expected_kline_frame())


@pytest.mark.parametrize("scale", [1, 1_000_000, 1_000_000_000], ids=["seconds", "microseconds", "nanoseconds"])
def test_binance_klines_with_other_epoch_units(tmp_path, scale):
    # Binance's public spot dumps switched to microseconds in 2025.
    stamps = [str(int(pd.Timestamp(r[0], tz="UTC").timestamp()) * scale) for r in KLINE_ROWS]
    s = load_csv(write(tmp_path, "k.csv", kline_text(stamps)), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())


def test_epoch_unit_change_inside_one_file(tmp_path):
    stamps = [str(int(pd.Timestamp(r[0], tz="UTC").timestamp()) * (1000 if i < 2 else 1_000_000))
              for i, r in enumerate(KLINE_ROWS)]
    s = load_csv(write(tmp_path, "k.csv", kline_text(stamps)), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())


def test_compact_yyyymmdd_dates(tmp_path):
    labels = [r[0].replace("-", "") for r in KLINE_ROWS]
    s = load_csv(write(tmp_path, "k.csv", kline_text(labels)), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())


def test_index_bars_with_wap_and_count(tmp_path):
    # MB layout: extra wap,count columns, empty on the last rows.
    path = write(tmp_path, "RUT.csv", """
        date,open,high,low,close,volume,wap,count
        2024-07-01,2040.5,2050.25,2030.0,2045.75,0.0,0.0,2992.0
        2024-07-02,2045.75,2060.0,2040.0,2055.5,0.0,0.0,2586.0
        2024-07-03,2055.5,2070.0,2050.0,2065.0,0.0,,
    """)
    s = load_csv(path, recorded_at=RECORDED, clock="session")  # three bars: too few to infer the clock
    assert s.clock == "session"
    assert list(s.frame.columns) == ["open", "high", "low", "close", "volume"]
    assert s.frame["close"].tolist() == [2045.75, 2055.5, 2065.0]
    assert s.frame["open"].tolist() == [2040.5, 2045.75, 2055.5]
    assert s.frame["volume"].tolist() == [0.0, 0.0, 0.0]
    # 16:00 New York (EDT), then the 13:00 early close before Independence Day
    assert s.frame.index.equals(utc("2024-07-01 20:00", "2024-07-02 20:00", "2024-07-03 17:00"))
    assert s.report.lines() == []


def test_yfinance_export_column_order(tmp_path):
    # AR layout: Close first. Every column has a different value so a mix-up shows.
    path = write(tmp_path, "IWM.csv", """
        Date,Close,High,Low,Open,Volume
        2024-01-02,4.0,5.0,1.0,2.0,700
        2024-01-03,40.0,50.0,10.0,20.0,800
    """)
    s = load_csv(path, recorded_at=RECORDED, clock="session")
    row = s.frame.iloc[0]
    assert (row["open"], row["high"], row["low"], row["close"], row["volume"]) == (2.0, 5.0, 1.0, 4.0, 700.0)
    assert s.frame["close"].tolist() == [4.0, 40.0]
    assert s.frame.index.equals(utc("2024-01-02 21:00", "2024-01-03 21:00"))


def test_yfinance_multi_row_header(tmp_path):
    path = write(tmp_path, "BTC.csv", """
        Price,Close,High,Low,Open,Volume
        Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD
        Date,,,,,
        2024-01-05,105.0,110.0,95.0,100.0,1.5
        2024-01-06,108.0,112.0,101.0,105.0,2.5
        2024-01-07,100.0,109.0,99.0,108.0,3.5
        2024-01-08,118.0,120.0,98.0,100.0,4.5
    """)
    raw = read_raw(path)
    assert raw["line"].tolist() == [4, 5, 6, 7]  # the three header lines are counted
    s = load_csv(path, recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())


def test_yfinance_multi_row_header_without_date_row(tmp_path):
    path = write(tmp_path, "BTC.csv", """
        Price,Close,High,Low,Open,Volume
        Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD
        2024-01-05,105.0,110.0,95.0,100.0,1.5
        2024-01-06,108.0,112.0,101.0,105.0,2.5
        2024-01-07,100.0,109.0,99.0,108.0,3.5
        2024-01-08,118.0,120.0,98.0,100.0,4.5
    """)
    check_frame(load_csv(path, recorded_at=RECORDED), expected_kline_frame())


def test_plain_lower_case_layout(tmp_path):
    text = kline_text(header="date,open,high,low,close,volume")
    check_frame(load_csv(write(tmp_path, "x.csv", text), recorded_at=RECORDED), expected_kline_frame())


def test_column_names_in_any_case_order_and_spacing(tmp_path):
    lines = [" VOLUME , Close,DATE,High , open,LOW"]
    for day, o, h, lo, c, v in KLINE_ROWS:
        lines.append(f"{v},{c},{day},{h},{o},{lo}")
    s = load_csv(write(tmp_path, "x.csv", "\n".join(lines) + "\n"), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())


def test_adj_close_column_is_ignored(tmp_path):
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for day, o, h, lo, c, v in KLINE_ROWS:
        lines.append(f"{day},{o},{h},{lo},{c},{c / 2},{v}")
    s = load_csv(write(tmp_path, "x.csv", "\n".join(lines) + "\n"), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())
    assert "adjclose" not in s.frame.columns


def test_byte_order_mark_and_crlf(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + kline_text().replace("\n", "\r\n").encode())
    check_frame(load_csv(path, recorded_at=RECORDED), expected_kline_frame())


@pytest.mark.parametrize("header,missing", [
    ("foo,bar,baz,qux,quux,corge", "has no date column and no open, high, low, close, volume columns"),
    ("date,open,high,low,close", "the header date,open,high,low,close has no volume column ("),
    ("when,open,high,low,close,volume", "has no date column ("),
])
def test_unknown_layout_is_one_line_error_naming_the_file(tmp_path, header, missing):
    path = write(tmp_path, "mystery.csv", header + "\n2024-01-02,1,2,3,4,5\n")
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    assert_one_line_error(exc, "mystery.csv", "cannot tell the layout", missing)


def test_duplicate_column_is_refused(tmp_path):
    path = write(tmp_path, "dup.csv", "date,open,high,low,close,close,volume\n2024-01-02,1,2,1,2,2,5\n")
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    assert_one_line_error(exc, "dup.csv", "close", "twice")


@pytest.mark.parametrize("content,problem", [
    (b"", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a text CSV"),
    (b"date,open,high,low,close,volume\n", "no price rows"),
])
def test_empty_or_binary_file(tmp_path, content, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    assert_one_line_error(exc, "bad.csv", problem)


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as exc:
        load_csv(tmp_path / "nowhere.csv")
    assert_one_line_error(exc, "nowhere.csv", "not found")


def test_offset_labels_at_local_midnight_are_session_dates(tmp_path):
    # yfinance writes equity dates as exchange-local midnight with the offset of that day.
    path = write(tmp_path, "SPY.csv", """
        Date,Open,High,Low,Close,Volume
        2024-01-02 00:00:00-05:00,10,12,9,11,100
        2024-01-03 00:00:00-05:00,11,13,10,12,100
        2024-07-01 00:00:00-04:00,12,14,11,13,100
    """)
    raw = read_raw(path)
    assert raw["label"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"),
                                     pd.Timestamp("2024-07-01")]
    s = load_csv(path, recorded_at=RECORDED, clock="session")
    assert s.clock == "session"
    # read as 05:00 UTC instants they would close at 09:00/10:00 UTC: they close at 16:00 New York
    assert s.frame.index.equals(utc("2024-01-02 21:00", "2024-01-03 21:00", "2024-07-01 20:00"))
    assert "dates written at local midnight with a UTC offset (-04:00, -05:00): read as the local dates" \
        in " ".join(s.report.lines())


def test_offset_labels_with_a_time_of_day_are_instants(tmp_path):
    path = write(tmp_path, "4h.csv", """
        timestamp,open,high,low,close,volume
        2024-01-05 00:00:00+00:00,1,2,1,2,1
        2024-01-05 04:00:00+00:00,2,3,2,3,1
        2024-01-05 08:00:00+00:00,3,4,3,4,1
        2024-01-05 14:00:00+02:00,4,5,4,5,1
    """)
    s = load_csv(path, recorded_at=RECORDED)
    assert s.clock == "interval"
    assert s.interval == pd.Timedelta(hours=4)
    assert s.frame.index.equals(utc("2024-01-05 04:00", "2024-01-05 08:00", "2024-01-05 12:00", "2024-01-05 16:00"))
    assert "times written with a UTC offset (+02:00): converted to UTC" in " ".join(s.report.lines())
    plain = write(tmp_path, "utc.csv", "timestamp,open,high,low,close,volume\n"
                  "2024-01-05T00:00:00Z,1,2,1,2,1\n2024-01-05T04:00:00Z,2,3,2,3,1\n2024-01-05T08:00:00Z,3,4,3,4,1\n")
    assert not [n for n in load_csv(plain, recorded_at=RECORDED).report.notes if "offset" in n]


@pytest.mark.parametrize("sep,named", [(";", "(is the separator ';'?)"), ("\t", "(is the separator a tab?)")],
                         ids=["semicolon", "tab"])
def test_a_file_not_separated_by_commas_is_named_as_such(tmp_path, sep, named):
    text = kline_text().replace(",", sep)
    path = write(tmp_path, "eu.csv", text)
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    msg = assert_one_line_error(exc, "eu.csv", named)
    assert msg == f"{path}: the header is one column; only comma-separated files are read {named}"


def test_a_price_column_is_not_taken_for_the_date(tmp_path):
    lines = ["Price,Open,High,Low,Close,Volume,Date"]
    for day, o, h, lo, c, v in KLINE_ROWS:
        lines.append(f"{c},{o},{h},{lo},{c},{v},{day}")
    s = load_csv(write(tmp_path, "x.csv", "\n".join(lines) + "\n"), recorded_at=RECORDED)
    check_frame(s, expected_kline_frame())
    path = write(tmp_path, "nodate.csv", "price,open,high,low,close,volume\n105,100,110,95,105,1\n")
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    assert_one_line_error(exc, "nodate.csv", "has no date column")


def test_a_row_with_more_fields_than_the_header_is_refused(tmp_path):
    text = kline_text().splitlines()
    text[3] += ",7"  # line 4
    path = write(tmp_path, "wide.csv", "\n".join(text) + "\n")
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    msg = assert_one_line_error(exc)
    assert msg == f"{path}: line 4 has 7 fields, the header has 6"


# Crypto days Friday 2024-01-05 to Monday 2024-01-08, with the day first and with the month first.
DAY_FIRST = ["05/01/2024", "06/01/2024", "07/01/2024", "08/01/2024"]


@pytest.mark.parametrize("labels", [
    ["05/01/2024", "06/01/2024", "07/01/2024", "13/01/2024"],     # day first: 13 is no month
    ["01/05/2024", "01/06/2024", "01/07/2024", "01/13/2024"],     # month first: 13 is no month
    ["05.01.2024", "06.01.2024", "07.01.2024", "13.01.2024"],     # dots
    ["05/01/24", "06/01/24", "07/01/24", "13/01/24"],             # two-digit years
], ids=["day first", "month first", "dots", "short year"])
def test_slash_dates_are_read_in_one_order_for_the_whole_file(tmp_path, labels):
    raw = read_raw(write(tmp_path, "k.csv", kline_text(labels)))
    # without the file-wide decision, 05/01/2024 would read as May 1st next to a 13 January
    assert raw["label"].tolist() == [pd.Timestamp(d) for d in ("2024-01-05", "2024-01-06", "2024-01-07",
                                                               "2024-01-13")]
    assert raw["text"].tolist() == labels


def test_slash_dates_with_a_time_of_day(tmp_path):
    labels = ["05/01/2024 00:00", "05/01/2024 04:00", "05/01/2024 08:00", "13/01/2024 12:00"]
    raw = read_raw(write(tmp_path, "k.csv", kline_text(labels)))
    assert raw["label"].tolist() == [pd.Timestamp("2024-01-05 00:00"), pd.Timestamp("2024-01-05 04:00"),
                                     pd.Timestamp("2024-01-05 08:00"), pd.Timestamp("2024-01-13 12:00")]


def test_ambiguous_slash_dates_are_refused(tmp_path):
    path = write(tmp_path, "k.csv", kline_text(DAY_FIRST))
    with pytest.raises(DataError) as exc:
        read_raw(path)
    msg = assert_one_line_error(exc, "YYYY-MM-DD")
    assert msg.startswith(f"{path} line 2: date '05/01/2024' could be day or month first"), msg


def test_slash_dates_in_two_orders_are_refused(tmp_path):
    path = write(tmp_path, "k.csv", kline_text(["13/01/2024", "06/01/2024", "01/14/2024", "08/01/2024"]))
    with pytest.raises(DataError) as exc:
        read_raw(path)
    assert_one_line_error(exc, "k.csv", "line 2 '13/01/2024' is day first", "line 4 '01/14/2024' is month first",
                          "YYYY-MM-DD")


def test_iso_and_year_first_slash_dates_are_not_reordered(tmp_path):
    raw = read_raw(write(tmp_path, "k.csv", kline_text(["2024/01/05", "2024/01/06", "2024-01-07", "2024-01-08"])))
    assert raw["label"].tolist() == [pd.Timestamp(r[0]) for r in KLINE_ROWS]


YF_ROWS = """
    2024-01-05,105.0,110.0,95.0,100.0,1.5
    2024-01-06,108.0,112.0,101.0,105.0,2.5
    2024-01-07,100.0,109.0,99.0,108.0,3.5
    2024-01-08,118.0,120.0,98.0,100.0,4.5
"""


@pytest.mark.parametrize("header, lines", [
    ("Date,Close,High,Low,Open,Volume", 1),
    ("Date,Close,High,Low,Open,Volume\n,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD", 2),
    ("Price,Close,High,Low,Open,Volume\nTicker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD", 2),
    ("Price,Close,High,Low,Open,Volume\nTicker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD\nDate,,,,,", 3),
    ("Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD\nPrice,Close,High,Low,Open,Volume\nDate,,,,,", 3),
    (",Close,High,Low,Open,Volume\n,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD\nDate,,,,,", 3),
])
def test_every_yfinance_header_shape(tmp_path, header, lines):
    path = write(tmp_path, "BTC-USD.csv", "\n".join(["", header, textwrap.dedent(YF_ROWS).strip(), ""]))
    assert read_raw(path)["line"].tolist() == [lines + 1, lines + 2, lines + 3, lines + 4]
    check_frame(load_csv(path, recorded_at=RECORDED), expected_kline_frame())


def test_yfinance_columns_in_another_order_with_adj_close(tmp_path):
    path = write(tmp_path, "BTC-USD.csv", """
        Price,Adj Close,Volume,Open,Low,High,Close
        Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD
        Date,,,,,,
        2024-01-05,999,1.5,100.0,95.0,110.0,105.0
        2024-01-06,999,2.5,105.0,101.0,112.0,108.0
        2024-01-07,999,3.5,108.0,99.0,109.0,100.0
        2024-01-08,999,4.5,100.0,98.0,120.0,118.0
    """)
    check_frame(load_csv(path, recorded_at=RECORDED), expected_kline_frame())


@pytest.mark.parametrize("header, words", [
    ("Price,Close,High,Low,Open,Volume\nTicker,BTC-USD,ETH-USD,BTC-USD,ETH-USD,BTC-USD\nDate,,,,,",
     ("line 2", "several tickers", "BTC-USD, ETH-USD", "one ticker per file")),
    ("Date,Close,High,Low,Open,Volume\nunits,USD,USD,USD,USD,coins",
     ("line 2", "header line 'units,USD,USD,USD,USD,coins'", "neither the column names")),
    ("Symbol,A,B,C,D,E\nTicker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD",
     ("none of header lines 1-2 names the columns",)),
])
def test_a_header_that_cannot_be_read_is_named_by_its_line(tmp_path, header, words):
    path = write(tmp_path, "bad.csv", "\n".join(["", header, textwrap.dedent(YF_ROWS).strip(), ""]))
    with pytest.raises(DataError) as exc:
        load_csv(path, recorded_at=RECORDED)
    assert_one_line_error(exc, "bad.csv", *words)


def test_only_a_bar_begun_before_the_recording_was_still_open(tmp_path):
    path = write(tmp_path, "SPY.csv", """
        date,open,high,low,close,volume
        2024-01-02,10,12,9,11,100
        2024-01-03,11,13,10,12,100
        2024-01-04,12,14,11,13,100
        2024-01-05,13,15,12,14,100
    """)
    # 10:00 in New York on 3 January: that session had opened (14:30 UTC), the next two had not
    s = load_csv(path, recorded_at="2024-01-03T15:00:00", clock="session")
    assert s.frame.index.equals(utc("2024-01-02 21:00"))
    assert s.report.dropped == [
        "bar closing 2024-01-03T21:00:00+00:00 was still open when recorded (2024-01-03T15:00:00+00:00): dropped",
        "2 bar(s) opening after recorded_at (2024-01-03T15:00:00+00:00), closing 2024-01-04T21:00:00+00:00 to "
        "2024-01-05T21:00:00+00:00: dropped"]
    before = load_csv(path, recorded_at="2024-01-03T12:00:00", clock="session")   # before that session's open
    assert [d for d in before.report.dropped if "still open" in d] == []
