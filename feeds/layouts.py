"""Reading the daily OHLCV CSV layouts a user is likely to have.

* exchange klines: ``timestamp,open,high,low,close,volume`` (a date, or epoch milliseconds);
* index / fund bars: ``date,open,high,low,close,volume[,wap,count]``;
* Yahoo / yfinance exports: ``Date,Close,High,Low,Open,Volume`` (any column order, an
  ``Adj Close`` column ignored) or the multi-row header of ``yfinance.download(...).to_csv()``
  (``Price,...`` / ``Ticker,...`` / ``Date,,,``).

Column names are matched without regard to case, order or spaces. The result is a *raw* frame:
the bar labels as written (``label``), the five price columns as floats, and ``line``, the
file line of each row, so that validation can name it.
"""
import csv
import io

import numpy as np
import pandas as pd

from .errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
DATE_NAMES = ("date", "datetime", "timestamp", "time", "opentime", "open_time", "price")
_OFFSET = r"(?:[+-]\d\d:?\d\d|Z)$"


def _norm(name):
    return str(name).strip().lower().replace(" ", "").replace("-", "_")


def _header(path):
    """(column names, number of header lines) of the CSV at `path`."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            head = [row for _, row in zip(range(3), csv.reader(fh))]
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None
    if not head or not head[0]:
        raise DataError(f"{path}: empty file")
    names = [_norm(c) for c in head[0]]
    # yfinance's multi-row header: "Price,Close,..." / "Ticker,BTC-USD,..." / "Date,,,,"
    if names[0] == "price" and len(head) > 1 and head[1] and _norm(head[1][0]) == "ticker":
        skip = 3 if len(head) > 2 and head[2] and _norm(head[2][0]) in DATE_NAMES else 2
        return ["date"] + names[1:], skip
    return names, 1


def read_raw(path):
    """The raw bars of the CSV at `path`, or a DataError naming what is wrong with its layout."""
    names, header_lines = _header(path)
    date_col = next((n for n in names if n in DATE_NAMES), None)
    missing = [c for c in PRICE_COLUMNS if c not in names]
    if date_col is None or missing:
        need = ([] if date_col else ["a date column"]) + missing
        raise DataError(
            f"{path}: cannot tell the layout: no {', '.join(need)} in header {','.join(names)} "
            "(expected date,open,high,low,close,volume in any order)"
        )
    dupes = sorted({n for n in names if names.count(n) > 1 and n in PRICE_COLUMNS + (date_col,)})
    if dupes:
        raise DataError(f"{path}: column {dupes[0]} appears twice in the header")
    try:
        table = pd.read_csv(
            path, header=None, skiprows=header_lines, names=names, usecols=[date_col, *PRICE_COLUMNS],
            dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path}: malformed CSV: {str(exc).splitlines()[0]}") from None
    table["line"] = np.arange(len(table)) + header_lines + 1
    blank = (table[[date_col, *PRICE_COLUMNS]].apply(lambda s: s.str.strip()) == "").all(axis=1)
    blank_lines = table.loc[blank, "line"]
    table = table[~blank]
    raw = pd.DataFrame({"label": _parse_labels(table[date_col], table["line"], path)}, index=table.index)
    for col in PRICE_COLUMNS:
        raw[col] = _parse_numbers(table[col], table["line"], path, col)
    raw["line"] = table["line"].to_numpy()
    raw.attrs["blank_lines"] = int(blank.sum())
    raw.attrs["blank_line_numbers"] = [int(n) for n in blank_lines]
    return raw.reset_index(drop=True)


def _parse_numbers(values, lines, path, column):
    text = values.str.strip()
    numbers = pd.to_numeric(text.where(text != "", np.nan), errors="coerce")
    bad = numbers.isna() & (text != "") & ~text.str.lower().isin(["nan", "null", "none"])
    if bad.any():
        i = np.flatnonzero(bad.to_numpy())[0]
        raise DataError(f"{path} line {lines.iloc[i]}: {column} '{text.iloc[i]}' is not a number")
    return numbers.astype("float64").to_numpy()


def _parse_labels(values, lines, path):
    """Bar labels as tz-naive UTC datetimes (or naive dates for session files)."""
    text = values.str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all() and len(text):
        parsed = _parse_numeric_labels(text, numeric)
    else:
        parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
        offset = text.str.contains(_OFFSET, regex=True)
        if offset.any():
            # "2024-01-02 00:00:00-05:00" (yfinance, exchange time): midnight local labels are
            # session dates, not instants; keep the local date.
            wall = pd.to_datetime(text.str.replace(_OFFSET, "", regex=True), errors="coerce", format="mixed")
            if bool((wall.dropna() == wall.dropna().dt.normalize()).all()):
                parsed = wall.dt.tz_localize("UTC")
    bad = parsed.isna()
    if bad.any():
        i = np.flatnonzero(bad.to_numpy())[0]
        raise DataError(f"{path} line {lines.iloc[i]}: date '{text.iloc[i]}' cannot be parsed")
    return pd.DatetimeIndex(parsed).tz_localize(None).as_unit("ns")


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
