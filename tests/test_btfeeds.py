"""Backtrader feeds stamped with close instants: what a 4-hour crypto strategy sees of a daily equity feed."""
import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds import AsOfData, CloseInstantData, ListedData, asof, load_csv, master_clock, on_clock
from canary.feeds.clocks import expected_session_dates

RECORDED = "2030-01-01"
MODES = {
    "runonce": dict(runonce=True, preload=True),
    "next": dict(runonce=False, preload=True),
    "no-preload": dict(runonce=False, preload=False),
}


def ts(text):
    return pd.Timestamp(text, tz="UTC")


# ------------------------------------------------------------------ synthetic data (unit tests only)

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bt")
    sessions = expected_session_dates("2024-01-02", "2024-12-31")
    eq = ["date,open,high,low,close,volume"]
    eq += [f"{d.date()},{999 + i},{1002 + i},{998 + i},{1000 + i},{100 + i}" for i, d in enumerate(sessions)]
    (folder / "EQ.csv").write_text("\n".join(eq) + "\n")
    opens = pd.date_range("2024-01-01", "2024-12-31 20:00", freq="4h")
    cr = ["timestamp,open,high,low,close,volume"]
    cr += [f"{t:%Y-%m-%d %H:%M},{20000 + i},{20010 + i},{19990 + i},{20005 + i},{1 + i}" for i, t in enumerate(opens)]
    (folder / "BTC-4h.csv").write_text("\n".join(cr) + "\n")
    return folder


@pytest.fixture(scope="module")
def equity(files):
    s = load_csv(files / "EQ.csv", recorded_at=RECORDED)
    assert s.clock == "session" and len(s.frame) == 252
    return s


@pytest.fixture(scope="module")
def crypto(files):
    s = load_csv(files / "BTC-4h.csv", recorded_at=RECORDED)
    assert s.interval == pd.Timedelta(hours=4) and len(s.frame) == 366 * 6
    return s


def session_close(equity, session):
    """(close instant, close) of `session`, found by its New York date."""
    dates = equity.frame.index.tz_convert("America/New_York").normalize().tz_localize(None)
    i = int(np.flatnonzero(dates == pd.Timestamp(session))[0])
    return equity.frame.index[i], equity.frame["close"].iloc[i], i


# ------------------------------------------------------------------ a recording strategy

class Recorder(bt.Strategy):
    """Records, at every call (prenext included), each feed's len, datetime and lines."""

    params = (("lines", ("close",)),)

    def __init__(self):
        self.rows = []

    def prenext(self):
        self.next()

    def next(self):
        row = [bt.num2date(self.datetime[0])]
        for d in self.datas:
            n = len(d)
            row.append((n, d.datetime.datetime(0) if n else None,
                        tuple(getattr(d.lines, a)[0] if n and hasattr(d.lines, a) else None
                              for a in self.p.lines)))
        self.rows.append(tuple(row))


def run(feeds, mode="runonce", lines=("close",)):
    cerebro = bt.Cerebro(stdstats=False, **MODES[mode])
    for make in feeds:
        cerebro.adddata(make())
    cerebro.addstrategy(Recorder, lines=lines)
    return cerebro.run()[0].rows


def comparable(rows):
    """Rows with NaN made comparable (NaN != NaN)."""
    def fix(v):
        if isinstance(v, float) and math.isnan(v):
            return "nan"
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        return v
    return [fix(r) for r in rows]


def crypto_events(rows):
    """For each crypto bar (data0 advanced): (its close instant, equity len, equity close)."""
    out, last = [], 0
    for row in rows:
        (n, dt, _), (en, _, (eclose,)) = row[1], row[2]
        if n != last:
            assert n == last + 1, "a crypto bar was skipped"
            out.append((pd.Timestamp(dt, tz="UTC"), en, eclose))
            last = n
    return out


@pytest.fixture(scope="module")
def both_runs(equity, crypto):
    feeds = [lambda: CloseInstantData(dataname=crypto.frame, name="BTC", timeframe=bt.TimeFrame.Minutes,
                                      compression=240),
             lambda: CloseInstantData(dataname=equity.frame, name="EQ")]
    return {mode: run(feeds, mode) for mode in MODES}


def test_every_bar_is_delivered_at_its_close_instant(both_runs, equity, crypto):
    rows = both_runs["runonce"]
    events = crypto_events(rows)
    assert [t for t, _, _ in events] == crypto.frame.index.tolist()
    eq_dts = []
    for row in rows:
        now = row[0]
        for n, dt, _ in row[1:]:
            if n:
                assert dt <= now  # no feed ever shows a bar stamped after the current instant
        if row[2][0] and (not eq_dts or eq_dts[-1] != row[2][1]):
            eq_dts.append(row[2][1])
    assert [pd.Timestamp(t, tz="UTC") for t in eq_dts] == equity.frame.index.tolist()


def test_the_crypto_strategy_sees_exactly_the_closed_sessions(both_runs, equity):
    """At every crypto bar, the equity feed shows the last session whose close instant is at or before it."""
    events = crypto_events(both_runs["runonce"])
    closes = equity.frame.index
    for t, en, eclose in events:
        k = int(np.searchsorted(closes.as_unit("ns").asi8, t.as_unit("ns").value, side="right"))
        assert en == k, t
        if k:
            assert eclose == equity.frame["close"].iloc[k - 1], t


@pytest.mark.parametrize("session,first_seen", [
    ("2024-07-10", "2024-07-10 20:00"),   # summer: 16:00 EDT = 20:00 UTC, the 16:00-20:00 bar
    ("2024-01-10", "2024-01-11 00:00"),   # winter: 16:00 EST = 21:00 UTC, the 20:00-24:00 bar
    ("2024-07-03", "2024-07-03 20:00"),   # early close 17:00 UTC
    ("2024-12-24", "2024-12-24 20:00"),   # early close 18:00 UTC
    ("2024-03-08", "2024-03-09 00:00"),   # the Friday before the spring DST change (EST)
    ("2024-11-01", "2024-11-01 20:00"),   # the Friday before the autumn DST change (EDT)
])
def test_equity_close_of_day_d_first_visible_at_the_crypto_bar_closing_at_or_after_it(
        both_runs, equity, session, first_seen):
    instant, close, i = session_close(equity, session)
    events = crypto_events(both_runs["runonce"])
    seen = [(t, en) for t, en, c in events if c == close]
    assert seen, "never seen"
    t, en = seen[0]
    assert t == ts(first_seen)
    assert t >= instant and t - instant < pd.Timedelta(hours=4)
    assert en == i + 1  # the equity feed's len advanced to this session
    # D's own 00:00-04:00 bar (and every bar before the close) sees the previous session
    day = pd.Timestamp(session, tz="UTC")
    before = [(t, c) for t, _, c in events if day < t < instant]
    assert len(before) >= 4
    prev_close = equity.frame["close"].iloc[i - 1]
    assert all(c == prev_close for _, c in before)


@pytest.mark.parametrize("friday,first_seen,next_seen", [
    ("2024-07-12", "2024-07-12 20:00", "2024-07-15 20:00"),   # summer
    ("2024-01-12", "2024-01-13 00:00", "2024-01-17 00:00"),   # winter, Monday MLK holiday
    ("2024-11-29", "2024-11-29 20:00", "2024-12-03 00:00"),   # early close Friday, EST Monday
])
def test_friday_close_is_seen_by_the_weekend_crypto_bars(both_runs, equity, friday, first_seen, next_seen):
    _, close, i = session_close(equity, friday)
    events = crypto_events(both_runs["runonce"])
    window = [(t, c) for t, _, c in events if ts(first_seen) <= t < ts(next_seen)]
    assert all(c == close for _, c in window)
    # Saturday and Sunday bars are all in the window
    assert {t.day_name() for t, _ in window} >= {"Saturday", "Sunday"}
    after = [c for t, _, c in events if t == ts(next_seen)]
    assert after == [equity.frame["close"].iloc[i + 1]]
    before = [c for t, _, c in events if t == ts(first_seen) - pd.Timedelta(hours=4)]
    assert before == [equity.frame["close"].iloc[i - 1]]


def test_runonce_next_and_unpreloaded_modes_agree(both_runs):
    base = comparable(both_runs["runonce"])
    assert len(base) > 366 * 6
    for mode in ("next", "no-preload"):
        assert comparable(both_runs[mode]) == base, mode


# ------------------------------------------------------------------ AsOfData and ListedData

@pytest.mark.parametrize("mode", list(MODES))
def test_asof_feed_on_the_crypto_clock(equity, crypto, mode):
    clock = crypto.frame.index
    expected = asof(equity.frame, clock)
    rows = run([lambda: CloseInstantData(dataname=crypto.frame, name="BTC"),
                lambda: AsOfData.on_clock(equity.frame, clock, name="EQ")], mode, lines=("close", "age_hours"))
    assert len(rows) == len(clock)  # same clock: one step per crypto bar
    got = pd.DataFrame([r[2][2] for r in rows], columns=["close", "age_hours"],
                       index=pd.DatetimeIndex([r[2][1] for r in rows]).tz_localize("UTC"))
    assert got.index.equals(clock)
    np.testing.assert_array_equal(got.to_numpy(), expected[["close", "age_hours"]].to_numpy())
    _, fri, _ = session_close(equity, "2024-07-12")
    assert tuple(got.loc[ts("2024-07-13 00:00")]) == (fri, 4.0)   # Saturday 00:00 UTC, summer
    assert tuple(got.loc[ts("2024-07-15 00:00")]) == (fri, 52.0)  # Monday 00:00 UTC
    _, fri, _ = session_close(equity, "2024-01-12")
    assert tuple(got.loc[ts("2024-01-13 00:00")]) == (fri, 3.0)   # winter
    assert tuple(got.loc[ts("2024-01-16 00:00")]) == (fri, 75.0)  # after the MLK Monday holiday
    assert got.loc[ts("2024-01-01 04:00")].isna().all()  # before the first session


@pytest.fixture(scope="module")
def basket():
    clock = pd.date_range("2024-01-01", periods=30, freq="D", tz="UTC", name="close_time")

    def frame(idx, base):
        p = base + np.arange(len(idx), dtype=float)
        return pd.DataFrame({"open": p, "high": p + 2, "low": p - 1, "close": p + 1, "volume": p * 10},
                            index=pd.DatetimeIndex(idx, name="close_time"))

    btc = frame(clock, 100.0)
    alt = frame(clock[5:12].append(clock[15:25]), 10.0)  # listed on day 6, gap days 13-15, gone after day 25
    return clock, btc, alt


@pytest.mark.parametrize("mode", list(MODES))
def test_listed_feed_before_listing_in_a_gap_and_after_delisting(basket, mode):
    clock, btc, alt = basket
    assert master_clock([btc, alt]).equals(clock)
    rows = run([lambda: ListedData.on_clock(btc, clock, name="BTC"),
                lambda: ListedData.on_clock(alt, clock, name="ALT")], mode,
               lines=("close", "open", "listed", "delisting"))
    assert len(rows) == len(clock)
    listed = [r[2][2][2] for r in rows]
    assert listed == [0.0] * 5 + [1.0] * 7 + [0.0] * 3 + [1.0] * 10 + [0.0] * 5
    for row, on in zip(rows, listed, strict=True):
        close, opn = row[2][2][:2]
        if on:
            assert close == alt.loc[pd.Timestamp(row[0], tz="UTC"), "close"]
        else:
            assert math.isnan(close) and math.isnan(opn)
        assert row[1][2][2] == 1.0  # BTC always listed
    assert [r[2][2][3] for r in rows] == [0.0] * 23 + [1.0] * 2 + [0.0] * 5
    assert comparable(rows) == comparable(run([lambda: ListedData.on_clock(btc, clock, name="BTC"),
                                               lambda: ListedData.on_clock(alt, clock, name="ALT")],
                                              "runonce", lines=("close", "open", "listed", "delisting")))


def test_listed_feed_refuses_a_bar_not_on_the_clock(basket):
    clock, _, alt = basket
    shifted = alt.copy()
    shifted.index = shifted.index + pd.Timedelta(hours=4)
    with pytest.raises(DataError, match="ALT: bar closing 2024-01-06T04:00:00\\+00:00 is not on the master clock"):
        ListedData.on_clock(shifted, clock, name="ALT")
    assert on_clock(alt, clock, "ALT")["listed"].sum() == len(alt)


# ------------------------------------------------------------------ feed details

def test_feed_datetimes_are_the_close_instants_in_any_index_unit(equity):
    for unit in ("s", "ms", "us", "ns"):
        frame = equity.frame.iloc[:30].copy()
        frame.index = frame.index.as_unit(unit)
        rows = run([lambda frame=frame: CloseInstantData(dataname=frame, name="EQ")], "runonce", lines=("open", "close", "volume"))
        assert [pd.Timestamp(r[1][1], tz="UTC") for r in rows] == equity.frame.index[:30].tolist(), unit
        assert [r[1][2] for r in rows] == list(equity.frame[["open", "close", "volume"]].iloc[:30].itertuples(
            index=False, name=None))


@pytest.mark.parametrize("bad,problem", [
    (lambda f: f.tz_localize(None), "tz-aware UTC"),
    (lambda f: f.iloc[::-1], "sorted and unique"),
    (lambda f: f.drop(columns="volume"), "missing column(s) volume"),
])
def test_feed_refuses_a_frame_that_is_not_normalised(equity, bad, problem):
    frame = bad(equity.frame.iloc[:5].copy())
    with pytest.raises(DataError) as exc:
        CloseInstantData(dataname=frame, name="EQ")
    assert problem in str(exc.value) and str(exc.value).startswith("EQ:")
