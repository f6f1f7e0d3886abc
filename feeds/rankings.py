"""Market-cap ranking snapshots (CoinMarketCap's historical pages), read into one table.

A snapshot dated D is CMC's page for the **end of UTC day D** (its prices match the Binance
close of the bar of D), so it is known from the close instant of that bar, D+1 00:00 UTC, and
a universe chosen from it trades from the bar after (``known_at``). The layouts read, by header:

* weekly top 100 ``snapshot_date,rank,name,symbol,market_cap,...``, numbers as text
  (``"$1,234.56"``; ``$`` and thousands separators stripped);
* monthly top 200 ``Rank,Name,Symbol,Market Cap,...,snapshot_date`` (``YYYYMMDD``);
* a folder of ``YYYYMMDD.csv`` files ``coin,mkt_cap`` (the date in the file name);
* a JSON array of ``{year, month, day, rank, symbol, marketCap, ...}`` (weekly top 10).

Rows are sorted by market cap within each snapshot (CMC's rank is not strictly market-cap
order). Known defects are repaired here: `BOGUS` entries dropped, `GARBLED` symbols mapped,
a symbol listed twice in one snapshot ranked once (the larger). A mistake in a file is one
line naming the file, the line (or entry) and the field.
"""
import csv
import json
from pathlib import Path

import pandas as pd

from canary.errors import DataError

COLUMNS = ("snapshot", "known_at", "symbol", "market_cap")

# (snapshot date, symbol) of entries that are not coins (scraping defects of CMC's pages).
BOGUS = {("2020-03-15", "STO"), ("2020-04-05", "TAGZ5")}
# Symbols garbled by a scraper -> the symbol CMC shows.
GARBLED = {"Máximos histórico (ATH)": "ATH"}


def load_rankings(where):
    """The snapshots of a file, a folder of ``YYYYMMDD.csv`` files, or a list of those:
    a frame of `COLUMNS` (``snapshot``: the date, naive; ``known_at``: UTC instant; ``symbol``
    as CMC writes it, upper case; ``market_cap`` in USD), sorted by snapshot then market cap,
    largest first. A date found in two sources of a list is taken from the first."""
    sources = where if isinstance(where, (list, tuple)) else [where]
    frames = []
    seen = set()
    for source in sources:
        frame = _load_one(Path(source))
        frame = frame[~frame["snapshot"].isin(seen)]
        seen |= set(frame["snapshot"])
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    if table.empty:
        raise DataError(f"rankings {', '.join(map(str, sources))}: no snapshot")
    table["symbol"] = table["symbol"].map(lambda s: GARBLED.get(s, s).strip().upper())
    bogus = [(d.date().isoformat(), s) in BOGUS for d, s in zip(table["snapshot"], table["symbol"], strict=True)]
    table = table[~pd.Series(bogus, index=table.index)]
    table = table.sort_values(["snapshot", "market_cap"], ascending=[True, False], kind="stable")
    # a symbol twice in one snapshot (BNX of 2023-03: two tokens): the larger is ranked
    table = table.drop_duplicates(["snapshot", "symbol"], keep="first")
    table["known_at"] = (table["snapshot"] + pd.Timedelta(days=1)).dt.tz_localize("UTC")
    return table[list(COLUMNS)].reset_index(drop=True)


def _load_one(path):
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise DataError(f"rankings folder {path}: no YYYYMMDD.csv file")
        return pd.concat([_dated_file(f) for f in files], ignore_index=True)
    if not path.exists():
        raise DataError(f"rankings file {path} does not exist")
    if path.suffix.lower() == ".json":
        return _json_file(path)
    return _csv_file(path)


def _number(text, where, field):
    """A market cap written plainly, or as text with ``$``, thousands separators and spaces;
    `where` names the file and line for the error."""
    cleaned = str(text).replace("$", "").replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise DataError(f"{where}: {field} '{text}' is not a number") from None
    if not value > 0:
        raise DataError(f"{where}: {field} '{text}' is not a positive market cap")
    return value


def _date(text, where, field):
    try:
        return pd.Timestamp(str(text).strip())
    except ValueError:
        raise DataError(f"{where}: {field} '{text}' is not a date") from None


def _rows(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [c.strip().lower().replace(" ", "_") for c in next(reader, [])]
            return header, [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file") from None


def _table(path, rows, date_of, symbol_col, cap_col, header):
    out = []
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
        record = dict(zip(header, row, strict=True))
        out.append((date_of(record, line), record[symbol_col], _number(record[cap_col], f"{path} line {line}", cap_col)))
    return pd.DataFrame(out, columns=["snapshot", "symbol", "market_cap"])


def _csv_file(path):
    header, rows = _rows(path)
    date_col = next((c for c in ("snapshot_date", "date") if c in header), None)
    cap_col = next((c for c in ("market_cap", "mkt_cap", "marketcap") if c in header), None)
    if date_col is None or cap_col is None or "symbol" not in header:
        raise DataError(f"{path}: cannot tell the rankings layout: the header {','.join(header)} needs a "
                        "snapshot_date (or date), a symbol and a market_cap column")
    return _table(path, rows, lambda r, line: _date(r[date_col], f"{path} line {line}", date_col), "symbol", cap_col, header)


def _dated_file(path):
    snapshot = _date(path.stem, str(path), "file name")
    header, rows = _rows(path)
    symbol_col = next((c for c in ("coin", "symbol") if c in header), None)
    cap_col = next((c for c in ("mkt_cap", "market_cap") if c in header), None)
    if symbol_col is None or cap_col is None:
        raise DataError(f"{path}: cannot tell the rankings layout: the header {','.join(header)} needs a coin "
                        "(or symbol) and a mkt_cap (or market_cap) column")
    return _table(path, rows, lambda r, line: snapshot, symbol_col, cap_col, header)


def _json_file(path):
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a JSON array of snapshot entries")
    out = []
    for i, e in enumerate(entries):
        try:
            when = pd.Timestamp(year=int(e["year"]), month=int(e["month"]), day=int(e["day"]))
            out.append((when, str(e["symbol"]), _number(e["marketCap"], f"{path} entry {i + 1}", "marketCap")))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path} entry {i + 1}: needs year, month, day, symbol and marketCap ({exc})") from None
    return pd.DataFrame(out, columns=["snapshot", "symbol", "market_cap"])
