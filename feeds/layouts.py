"""Reading the daily OHLCV CSV layouts a user is likely to have.

* exchange klines: ``timestamp,open,high,low,close,volume`` (a date, or epoch milliseconds);
* index / fund bars: ``date,open,high,low,close,volume[,wap,count]``;
* close-only files: a date and a close (``close``, ``price`` or ``PriceUSD``), with an optional
  volume (``volume``, ``total_volume``) and other columns ignored: CoinGecko's
  ``date,price,total_volume,market_cap``, Coin Metrics' ``time,PriceUSD``, hourly closes
  ``open_time,close``. Open, high and low are the close (see `CLOSE_ONLY`); a missing volume
  is 0. CoinGecko's layout (``price`` with ``total_volume`` or ``market_cap``) is labelled by
  the bar's *close* (a row dated D is the close of UTC day D-1: `labels_at`), by its date alone
  (a time of day written on a few rows, 00:05, is the minute the value was taken);
* Yahoo / yfinance exports: ``Date,Close,High,Low,Open,Volume`` (any column order, an
  ``Adj Close`` column ignored), under one, two or three header lines: the column names with
  a row of tickers (``Date,Open,...`` / ``,BTC-USD,...``), or the header of
  ``yfinance.download(...).to_csv()`` (``Price,...`` / ``Ticker,...`` / ``Date,,,``, the first
  two in either order).

Column names are matched without regard to case, order or spaces. The result is a *raw* frame:
the bar labels (``label``), the label text as written (``text``), the five price columns as
floats, and ``line``, the file line of each row, so that validation can name it.

Dates written with slashes or dots (``05/01/2024``, ``05.01.2024``) are read in one order for
the whole file: day first if some first field is above 12, month first if some second field
is; a file whose every such date is ambiguous is refused.
"""
import csv
import re

import numpy as np
import pandas as pd

from canary.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
CLOSE_NAMES = ("close", "price", "priceusd")   # a close-only file's close, in order of preference
VOLUME_NAMES = ("volume", "total_volume")
CLOSE_ONLY = ("close only: open, high and low are the close (a fill there is at the close-derived price, "
              "with no high/low cap; costs are charged as on any bar)")
DATE_NAMES = ("date", "datetime", "timestamp", "time", "opentime", "open_time")
_OFFSET = r"(?:[+-]\d\d:?\d\d|Z)$"


def _norm(name):
    return str(name).strip().lower().replace(" ", "").replace("-", "_")


def _looks_like_data(row):
    """A price row: a date or number first, or some number after it (a bad date still reads as data)."""
    if not row:
        return False
    first = row[0].strip()
    if first and (_is_number(first) or not pd.isna(pd.to_datetime(first, errors="coerce", format="mixed"))):
        return True
    return any(_is_number(c) for c in row[1:])


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def _header(path):
    """(column names, number of header lines) of the CSV at `path`.

    One header line names the columns. yfinance has written more: the column names with a
    row of tickers under them (``Date,Open,...`` / ``,BTC-USD,...``), and the
    ``Price,Close,...`` / ``Ticker,BTC-USD,...`` / ``Date,,,,`` header of
    ``yfinance.download(...).to_csv()``, in either order of the first two. The leading rows
    that hold no price are the header; the one naming the price columns gives the names (its
    first column is the date), a ticker row must name one ticker, a date row nothing else.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            head = [row for _, row in zip(range(_MAX_HEADER_LINES + 1), csv.reader(fh), strict=False)]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    if not head or not head[0]:
        raise DataError(f"{path}: empty file")
    if len(head[0]) == 1 and (";" in head[0][0] or "\t" in head[0][0]):
        sep = "';'" if ";" in head[0][0] else "a tab"
        raise DataError(f"{path}: the header is one column; only comma-separated files are read "
                        f"(is the separator {sep}?)")
    n = next((i for i, row in enumerate(head) if i and _looks_like_data(row)), len(head))
    if n <= 1:
        return [_norm(c) for c in head[0]], 1
    if n > _MAX_HEADER_LINES:
        raise DataError(f"{path} line {_MAX_HEADER_LINES + 1}: '{','.join(head[_MAX_HEADER_LINES])}' is not a "
                        f"price row, and a header has at most {_MAX_HEADER_LINES} lines")
    rows = [[_norm(c) for c in row] for row in head[:n]]
    named = [i for i, row in enumerate(rows) if sum(c in PRICE_COLUMNS for c in row[1:]) >= 4]
    if not named:
        raise DataError(f"{path}: cannot tell the layout: none of header lines 1-{n} names the columns "
                        "(expected date,open,high,low,close,volume in any order)")
    for i, row in enumerate(rows):
        rest = sorted({c for c in head[i][1:] if c.strip()})
        if i == named[0]:
            continue
        if row[0] in DATE_NAMES and not rest:
            continue  # "Date,,,,"
        if row[0] in ("ticker", "price", "") and len(rest) == 1:
            continue  # one ticker over every column
        if row[0] in ("ticker", "price", "") and len(rest) > 1:
            raise DataError(f"{path} line {i + 1}: the header names several tickers ({', '.join(rest[:3])}"
                            f"{', ...' if len(rest) > 3 else ''}): save one ticker per file")
        raise DataError(f"{path} line {i + 1}: header line '{','.join(head[i])}' is neither the column names, "
                        "a row of one ticker, nor a date row")
    names = rows[named[0]]
    if names[0] in ("price", "ticker", "") or names[0] in DATE_NAMES:
        names = ["date"] + names[1:]
    return names, n


_MAX_HEADER_LINES = 3


def read_raw(path):
    """The raw bars of the CSV at `path`, or a DataError naming what is wrong with its layout.

    ``attrs``: ``close_only`` for a close-only file, ``labels_at`` ("open" or "close": which
    instant of the bar a row's date names, as the layout says)."""
    names, header_lines = _header(path)
    names = _base_volume(names)
    date_col = next((n for n in names if n in DATE_NAMES), None)
    missing = [c for c in PRICE_COLUMNS if c not in names]
    close_col = next((n for n in CLOSE_NAMES if n in names), None)
    close_only = date_col is not None and close_col is not None and not {"open", "high", "low"} & set(names)
    if close_only:
        volume_col = next((n for n in VOLUME_NAMES if n in names), None)
        columns = {"close": close_col, "volume": volume_col}
    elif date_col is None or missing:
        lacks = ([] if date_col else ["no date column"])
        if missing:
            lacks.append(f"no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}")
        raise DataError(
            f"{path}: cannot tell the layout: the header {','.join(names)} has {' and '.join(lacks)} "
            "(expected date,open,high,low,close,volume in any order, or a date and a close or price)"
        )
    else:
        columns = {c: c for c in PRICE_COLUMNS}
    used = [c for c in columns.values() if c]
    dupes = sorted({n for n in names if names.count(n) > 1 and n in (*used, date_col)})
    if dupes:
        raise DataError(f"{path}: column {dupes[0]} appears twice in the header")
    try:
        table = pd.read_csv(
            path, header=None, skiprows=header_lines, names=names, usecols=[date_col, *used],
            dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: malformed CSV: {str(exc).splitlines()[0]}") from None
    _check_field_counts(path, len(names), header_lines)
    table["line"] = np.arange(len(table)) + header_lines + 1
    blank = (table[[date_col, *used]].apply(lambda s: s.str.strip()) == "").all(axis=1)
    blank_lines = table.loc[blank, "line"]
    table = table[~blank]
    labels, offsets = _parse_labels(table[date_col], table["line"], path)
    raw = pd.DataFrame({"label": labels, "text": table[date_col].str.strip().to_numpy()}, index=table.index)
    for col, name in columns.items():
        raw[col] = _parse_numbers(table[name], table["line"], path, name) if name else 0.0
    if close_only:
        raw["open"] = raw["high"] = raw["low"] = raw["close"]
        raw = raw[["label", "text", *PRICE_COLUMNS]]
    raw["line"] = table["line"].to_numpy()
    raw.attrs["blank_lines"] = int(blank.sum())
    raw.attrs["blank_line_numbers"] = [int(n) for n in blank_lines]
    raw.attrs["close_only"] = close_only
    coingecko = close_only and close_col == "price" and bool({"total_volume", "market_cap"} & set(names))
    raw.attrs["labels_at"] = "close" if coingecko else "open"
    if coingecko:   # daily values at 00:00 UTC; a few rows carry the minutes they were taken at (00:05)
        late = raw["label"] != raw["label"].dt.normalize()
        raw["label"] = raw["label"].dt.normalize()
        if late.any():
            raw.attrs["dated"] = (f"{int(late.sum())} CoinGecko date(s) with a time of day (line "
                                    f"{', '.join(str(n) for n in raw.loc[late, 'line'][:3])}"
                                    f"{', ...' if late.sum() > 3 else ''}): read as their date")
    if offsets:
        raw.attrs["offsets"] = offsets
    return raw.reset_index(drop=True)


def _base_volume(names):
    """`names` with CryptoDataDownload's base-asset volume (``Volume EOS``, beside ``Volume USDT``,
    the quote volume) named ``volume``, when no column is."""
    if "volume" in names:
        return names
    base = next((n for n in names if n.startswith("volume") and n[6:] and not n.endswith(("usdt", "usd"))), None)
    return [("volume" if n == base else n) for n in names]


def _check_field_counts(path, width, header_lines):
    """Refuse a row with more fields than the header: pandas would silently drop the extra ones."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for row in reader:
            if reader.line_num > header_lines and len(row) > width:
                raise DataError(f"{path}: line {reader.line_num} has {len(row)} fields, the header has {width}")


def _parse_numbers(values, lines, path, column):
    text = values.str.strip()
    numbers = pd.to_numeric(text.where(text != "", np.nan), errors="coerce")
    bad = numbers.isna() & (text != "") & ~text.str.lower().isin(["nan", "null", "none"])
    if bad.any():
        i = np.flatnonzero(bad.to_numpy())[0]
        raise DataError(f"{path} line {lines.iloc[i]}: {column} '{text.iloc[i]}' is not a number")
    return numbers.astype("float64").to_numpy()


def _parse_labels(values, lines, path):
    """(bar labels as tz-naive UTC datetimes (or naive dates for session files), a note on what
    was done with a UTC offset written in them, or None)."""
    text = values.str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    note = None
    if numeric.notna().all() and len(text):
        parsed = _parse_numeric_labels(text, numeric)
    else:
        iso = _slash_dates_to_iso(text, lines, path)
        parsed = pd.to_datetime(iso, errors="coerce", utc=True, format="mixed")
        offset = iso.str.contains(_OFFSET, regex=True)
        if offset.any():
            # "2024-01-02 00:00:00-05:00" (yfinance, exchange time): midnight local labels are
            # session dates, not instants; keep the local date.
            wall = pd.to_datetime(iso.str.replace(_OFFSET, "", regex=True), errors="coerce", format="mixed")
            dates = bool((wall.dropna() == wall.dropna().dt.normalize()).all())
            if dates:
                parsed = wall.dt.tz_localize("UTC")
            note = _offset_note(iso, dates)
    bad = parsed.isna()
    if bad.any():
        i = np.flatnonzero(bad.to_numpy())[0]
        raise DataError(f"{path} line {lines.iloc[i]}: date '{text.iloc[i]}' cannot be parsed")
    labels = pd.DatetimeIndex(parsed).tz_localize(None).as_unit("ns")
    return labels, note


def _offset_note(iso, dates):
    """What was done with labels written with an offset from UTC (none for Z or +00:00)."""
    offsets = iso.str.extract(f"({_OFFSET})")[0].dropna()
    shown = sorted({o for o in offsets if o.replace(":", "") not in ("Z", "+0000", "-0000")})
    if not shown:
        return None
    named = ", ".join(shown[:3]) + (", ..." if len(shown) > 3 else "")
    if dates:
        return (f"dates written at local midnight with a UTC offset ({named}): read as the local dates (session "
                "dates), the offset dropped")
    return f"times written with a UTC offset ({named}): converted to UTC"


_SLASH_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})(?!\d)(.*)", re.S)


def _slash_dates_to_iso(text, lines, path):
    """`text` with dd/mm/yyyy or mm/dd/yyyy dates (slashes or dots) rewritten YYYY-MM-DD.

    The order is decided for the whole file: day first if some first field is above 12,
    month first if some second field is; a file where both happen, or neither, is refused.
    """
    parts = text.str.extract(_SLASH_DATE)
    slashed = parts[0].notna()
    if not slashed.any():
        return text
    first, second = parts[0][slashed].astype(int), parts[1][slashed].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        i, j = np.flatnonzero((first > 12).to_numpy())[0], np.flatnonzero((second > 12).to_numpy())[0]
        raise DataError(
            f"{path}: dates in two orders: line {lines[slashed].iloc[i]} '{text[slashed].iloc[i]}' is day first, "
            f"line {lines[slashed].iloc[j]} '{text[slashed].iloc[j]}' is month first; write dates as YYYY-MM-DD")
    if not (day_first or month_first):
        raise DataError(
            f"{path} line {lines[slashed].iloc[0]}: date '{text[slashed].iloc[0]}' could be day or month first, "
            "and so could every date in the file; write dates as YYYY-MM-DD")
    day, month = (first, second) if day_first else (second, first)
    year = parts[2][slashed]
    short = year.str.len() == 2
    # Two-digit years as strptime's %y reads them: 69-99 are 19xx, 00-68 are 20xx.
    year = year.where(~short, year.astype(int).map(lambda y: str(1900 + y if y >= 69 else 2000 + y)))
    iso = (year + "-" + month.map("{:02d}".format) + "-" + day.map("{:02d}".format)
           + parts[3][slashed].fillna(""))
    return text.where(~slashed, iso)


# Epoch magnitudes: seconds below 1e11 (year 5138), then ms, us (Binance spot dumps since
# 2025), ns. Each value is read by its own magnitude, so a file that switched unit still reads.
_EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (-1.0, "s"))


def _parse_numeric_labels(text, numeric):
    """Labels written as numbers: YYYYMMDD dates, or epoch times in s, ms, us or ns."""
    if text.str.fullmatch(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])").all():
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce", utc=True)
    mag = numeric.abs().to_numpy(dtype="float64")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    done = np.zeros(len(mag), dtype=bool)
    for floor, unit in _EPOCH_UNITS:
        pick = (mag > floor) & ~done
        if pick.any():
            try:
                parsed[pick] = pd.to_datetime(numeric[pick], unit=unit, utc=True).dt.as_unit("ns")
            except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
                pass  # left NaT: reported as an unparseable date
            done |= pick
    return parsed
