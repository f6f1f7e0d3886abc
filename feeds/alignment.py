"""Putting series from different calendars on one clock, without look-ahead.

Backtrader already synchronises feeds by timestamp; because every bar is stamped with the
instant its close becomes known, that synchronisation never shows a bar before its close.
These functions build the frames for two extra views:

* ``on_clock``: a crypto series on the master crypto clock, with NaN prices and
  ``listed = 0`` on instants where the coin had no bar (before its listing, in a gap, after
  a delisting), ``mark`` (the last traded close, carried through a gap) and ``delisting = 1``
  on the last two bars of a series that stops before the clock does. All basket feeds then
  share one index, bar for bar.
* ``asof``: an equity series on the crypto clock: at each instant, the last close already
  known, carried forward, and ``age_hours`` since that close.
"""
import numpy as np
import pandas as pd

from canary.errors import DataError

from .layouts import PRICE_COLUMNS


def master_clock(frames):
    """The union of the close instants of `frames` (the crypto clock)."""
    idx = frames[0].index
    for f in frames[1:]:
        idx = idx.union(f.index)
    return pd.DatetimeIndex(idx, name="close_time")


def clock_interval(clock):
    """The bar interval of a clock: its most common spacing (gaps aside); one day for a
    clock of fewer than two bars."""
    if len(clock) < 2:
        return pd.Timedelta(days=1)
    steps = np.diff(pd.DatetimeIndex(clock).as_unit("ns").asi8)
    values, counts = np.unique(steps, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), "ns")


def on_clock(frame, clock, source="series"):
    """`frame` reindexed onto `clock`: NaN prices and listed=0 where it has no bar."""
    stray = frame.index.difference(clock)
    if len(stray):
        raise DataError(f"{source}: bar closing {stray[0].isoformat()} is not on the master clock")
    out = frame[list(PRICE_COLUMNS)].reindex(clock)
    out["listed"] = clock.isin(frame.index).astype("float64")
    # The last traded close, carried through a gap in the coin's history (never before its
    # first bar or after its last): what a position is worth on a bar without a trade.
    out["mark"] = out["close"].ffill()
    if len(frame):
        out.loc[(clock < frame.index[0]) | (clock > frame.index[-1]), "mark"] = float("nan")
    # A series that stops before the clock does was delisted (or migrated): exchanges announce
    # this ahead, so the notice is visible from the bar before the last one.
    out["delisting"] = 0.0
    if len(frame) and frame.index[-1] < clock[-1]:
        last = clock.get_loc(frame.index[-1])
        out.iloc[max(last - 1, 0):last + 1, out.columns.get_loc("delisting")] = 1.0
    return out


def known_at(closes, instants):
    """For each of `instants`, the position in `closes` (sorted, same unit) of the last close at
    or before it; -1 before the first. The one as-of rule of the project: a value is seen from
    the instant its close is known."""
    return np.searchsorted(closes, instants, side="right") - 1


def asof(frame, clock):
    """For each instant of `clock`, the last bar of `frame` that closed at or before it.

    Adds ``age_hours``: hours from that bar's close to the clock instant (NaN before the first).
    """
    # Compare in one unit: pandas 3 indexes may hold ns, us or s ticks.
    closes = pd.DatetimeIndex(frame.index).as_unit("ns").asi8
    instants = pd.DatetimeIndex(clock).as_unit("ns").asi8
    pos = known_at(closes, instants)
    known = pos >= 0
    out = pd.DataFrame(np.nan, index=clock, columns=list(PRICE_COLUMNS) + ["age_hours"])
    values = frame[list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    out.loc[known, list(PRICE_COLUMNS)] = values[pos[known]]
    age_ns = instants[known] - closes[pos[known]]
    out.loc[known, "age_hours"] = age_ns / 3.6e12
    return out


def to_interval(frame, bar, interval):
    """Bars of `bar` (hourly, 4-hour) combined into bars of the coarser `interval` of the crypto
    clock (UTC days for daily): open of the first, highest high, lowest low, close of the last,
    summed volume. A bar of `interval` is kept only if its last part closes when it does (a day
    whose last hour is missing, or is still open, is not a day's close); a missing part in the
    middle (a maintenance window) leaves it in."""
    if frame.empty:
        return frame
    bucket = (frame.index - bar).floor(interval)
    groups = frame.groupby(bucket)
    out = pd.DataFrame({"open": groups["open"].first(), "high": groups["high"].max(), "low": groups["low"].min(),
                        "close": groups["close"].last(), "volume": groups["volume"].sum()})
    last = pd.Series(frame.index, index=frame.index).groupby(bucket).last().to_numpy()
    out = out[last == (out.index + interval)]
    out.index = pd.DatetimeIndex(out.index + interval, name="close_time")
    return out
