"""Checks run on every load, with one policy per problem.

==========================  =====================================================
problem                     policy
==========================  =====================================================
unparseable date / number   refuse (layouts)
row with every value empty  repair: drop the row, report it
row with some values empty  refuse
exact duplicate row         repair: drop the copy, report it
conflicting duplicate date  refuse
dates out of order          refuse
price <= 0                  refuse
high < max(open, close)     refuse; within 1e-9 relative (float rounding of
low > min(open, close)      adjusted prices): repair by clipping, report it
negative volume             refuse
bar still open when the     repair: drop the bar, report it
data were recorded
missing bars (gaps)         report; never filled
==========================  =====================================================

Real flash-crash wicks (a low far below open and close) are consistent bars and pass.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from canary.errors import DataError

from .layouts import PRICE_COLUMNS

ROUNDING = 1e-9  # relative tolerance for high/low against the bar body


@dataclass
class LoadReport:
    """What a load repaired or noticed: each entry is a human-readable line."""

    source: str
    dropped: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # what was inferred rather than given

    @property
    def missing_bars(self):
        return sum(n for _, _, n in self.gaps)

    def lines(self):
        out = [f"{self.source}: {n}" for n in self.notes]
        out += [f"{self.source}: {d}" for d in self.dropped]
        out += [f"{self.source}: gap of {n} bar(s) from {a} to {b}" for a, b, n in self.gaps]
        return out


def _written(row):
    """A row's date as written in the file (the ``text`` column of read_raw), else its label."""
    text = row.get("text")
    if isinstance(text, str) and text:
        return text
    label = pd.Timestamp(row["label"])
    return label.date().isoformat() if label == label.normalize() else label.isoformat()


def _refuse(source, raw, mask, problem):
    i = int(np.flatnonzero(np.asarray(mask))[0])
    raise DataError(f"{source} line {raw['line'].iloc[i]}: {problem(raw.iloc[i])}")


def check_rows(raw, source, report):
    """Row-level checks on a raw frame (labels as written); returns the repaired frame."""
    values = raw[list(PRICE_COLUMNS)]
    empty = values.isna().all(axis=1)
    for line in raw.loc[empty, "line"]:
        report.dropped.append(f"line {line}: empty row dropped")
    raw = raw[~empty]
    nan = raw[list(PRICE_COLUMNS)].isna()
    if nan.any(axis=None):
        _refuse(source, raw, nan.any(axis=1),
                lambda r: f"missing value in {', '.join(c for c in PRICE_COLUMNS if pd.isna(r[c]))}")

    same_label = raw["label"].duplicated(keep="first")
    exact = raw.duplicated(subset=["label", *PRICE_COLUMNS], keep="first")
    if (same_label & ~exact).any():
        _refuse(source, raw, same_label & ~exact,
                lambda r: f"duplicate date {_written(r)} with different prices")
    for line in raw.loc[exact, "line"]:
        report.dropped.append(f"line {line}: exact duplicate row dropped")
    raw = raw[~exact]

    backwards = raw["label"].diff() <= pd.Timedelta(0)
    if backwards.any():
        _refuse(source, raw, backwards, lambda r: f"date {_written(r)} is earlier than the row before (not sorted)")
    prices = raw[["open", "high", "low", "close"]]
    if (prices <= 0).any(axis=None):
        _refuse(source, raw, (prices <= 0).any(axis=1),
                lambda r: f"non-positive price in {', '.join(c for c in ('open', 'high', 'low', 'close') if r[c] <= 0)}")
    body_top = np.maximum(raw["open"], raw["close"])
    body_low = np.minimum(raw["open"], raw["close"])
    # Adjusted prices (yfinance auto_adjust) carry float rounding: a high 1e-15 below the close.
    # Only those bars are clipped: a high or low off by more is refused below.
    high_off = (raw["high"] < body_top) & (raw["high"] >= body_top * (1 - ROUNDING))
    low_off = (raw["low"] > body_low) & (raw["low"] <= body_low * (1 + ROUNDING))
    rounding = high_off | low_off
    if rounding.any():
        raw = raw.assign(high=raw["high"].where(~high_off, body_top), low=raw["low"].where(~low_off, body_low))
        lines = ", ".join(str(n) for n in raw.loc[rounding, "line"])
        report.dropped.append(
            f"{int(rounding.sum())} bar(s) with high/low off by float rounding: clipped to the body (line {lines})")
    if (raw["high"] < body_top).any():
        _refuse(source, raw, raw["high"] < body_top,
                lambda r: f"high {r['high']:g} is below max(open, close) {max(r['open'], r['close']):g}")
    if (raw["low"] > body_low).any():
        _refuse(source, raw, raw["low"] > body_low,
                lambda r: f"low {r['low']:g} is above min(open, close) {min(r['open'], r['close']):g}")
    if (raw["volume"] < 0).any():
        _refuse(source, raw, raw["volume"] < 0, lambda r: f"negative volume {r['volume']:g}")
    return raw


def drop_open_bars(frame, opens, recorded_at, report):
    """Drop the bars whose close instant is after `recorded_at`: the one that had opened
    (`opens`, its open instant, before it) was still open; those opening later had not begun,
    and are said in one line."""
    unclosed = frame.index > recorded_at
    begun = np.asarray(opens <= recorded_at)
    for instant in frame.index[unclosed & begun]:
        report.dropped.append(
            f"bar closing {instant.isoformat()} was still open when recorded ({recorded_at.isoformat()}): dropped"
        )
    later = frame.index[unclosed & ~begun]
    if len(later):
        report.dropped.append(f"{len(later)} bar(s) {AFTER_RECORDED} ({recorded_at.isoformat()}), closing "
                              f"{later[0].isoformat()} to {later[-1].isoformat()}: dropped")
    return frame[~unclosed]


AFTER_RECORDED = "opening after recorded_at"


def find_gaps(present, expected):
    """(first missing, last missing, count) runs of `expected` labels absent from `present`."""
    missing = expected.difference(present)
    if missing.empty:
        return []
    pos = expected.get_indexer(missing)
    breaks = np.flatnonzero(np.diff(pos) != 1)
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(pos) - 1]
    daily = bool((expected == expected.normalize()).all())

    def label(ts):  # dates for daily bars, the open instant for intraday ones
        return ts.date().isoformat() if daily else ts.isoformat()

    return [(label(missing[a]), label(missing[b]), int(b - a + 1)) for a, b in zip(starts, ends, strict=True)]


def check_normalised(frame, source="frame"):
    """Raise DataError unless `frame` follows the normalised-frame contract."""
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex) or str(idx.tz) != "UTC":
        raise DataError(f"{source}: index must be a tz-aware UTC DatetimeIndex of bar close instants")
    if not idx.is_monotonic_increasing or not idx.is_unique:
        raise DataError(f"{source}: close instants must be sorted and unique")
    missing = [c for c in PRICE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(missing)}")
