"""Series from different calendars on one clock: `asof`, `on_clock`, `master_clock`, and no look-ahead."""
import numpy as np
import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds import DataLibrary, asof, load_csv, master_clock, on_clock
from canary.feeds.clocks import expected_session_dates

RECORDED = "2030-01-01"
COLS = ["open", "high", "low", "close", "volume"]


def ts(text):
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def equity(tmp_path_factory):
    """A synthetic NYSE series over 2024 (close = 1000 + session number), loaded as a user's file."""
    sessions = expected_session_dates("2024-01-02", "2024-12-31")
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{d.date()},{999 + i},{1002 + i},{998 + i},{1000 + i},{10 * i}" for i, d in enumerate(sessions)]
    path = tmp_path_factory.mktemp("eq") / "EQ.csv"
    path.write_text("\n".join(lines) + "\n")
    s = load_csv(path, recorded_at=RECORDED)
    assert len(s.frame) == len(sessions) == 252
    return s.frame


def close_of(frame, session):
    """The synthetic close of `session` (a New York date), looked up by date, not by instant."""
    dates = frame.index.tz_convert("America/New_York").normalize().tz_localize(None)
    return frame["close"].iloc[int(np.flatnonzero(dates == pd.Timestamp(session))[0])]


@pytest.mark.parametrize("instant,session,age", [
    # summer (EDT): Friday 2024-07-12 closes 20:00 UTC
    ("2024-07-13 00:00", "2024-07-12", 4),      # Saturday's crypto close (Friday's daily bar)
    ("2024-07-14 00:00", "2024-07-12", 28),     # Sunday
    ("2024-07-15 00:00", "2024-07-12", 52),     # Monday 00:00: still Friday's close
    ("2024-07-16 00:00", "2024-07-15", 4),
    # a Monday holiday: the Monday crypto bar (closing Tuesday 00:00) still sees Friday's close
    ("2024-05-28 00:00", "2024-05-24", 76),     # Memorial Day, EDT
    # winter (EST): Friday 2024-01-12 closes 21:00 UTC
    ("2024-01-13 00:00", "2024-01-12", 3),
    ("2024-01-14 00:00", "2024-01-12", 27),
    ("2024-01-15 00:00", "2024-01-12", 51),
    ("2024-01-16 00:00", "2024-01-12", 75),     # Monday 2024-01-15 is a holiday (MLK day), EST
    ("2024-01-17 00:00", "2024-01-16", 3),
    # early closes at 13:00 New York
    ("2024-11-30 00:00", "2024-11-29", 6),      # Friday after Thanksgiving, 18:00 UTC
    ("2024-07-05 00:00", "2024-07-03", 31),     # Independence Day: Wednesday's 17:00 close
    ("2024-12-25 00:00", "2024-12-24", 6),
    # a 4-hour clock, inside a summer session day
    ("2024-07-12 16:00", "2024-07-11", 20),
    ("2024-07-12 20:00", "2024-07-12", 0),      # at the close instant itself: known
    ("2024-01-12 20:00", "2024-01-11", 23),     # winter: 20:00 UTC is an hour before the close
])
def test_asof_carries_the_last_known_close_and_its_age(equity, instant, session, age):
    out = asof(equity, pd.DatetimeIndex([ts(instant)]))
    assert out["close"].iloc[0] == close_of(equity, session)
    assert out["age_hours"].iloc[0] == pytest.approx(age)


def test_asof_carries_every_column_and_nothing_before_the_first_bar(equity):
    clock = pd.date_range("2024-01-01", "2024-01-04", freq="4h", tz="UTC")
    out = asof(equity, clock)
    assert list(out.columns) == COLS + ["age_hours"]
    assert out.index.equals(clock)
    first = equity.index[0]  # 2024-01-02 21:00
    before = out.index < first
    assert before.sum() == 11 + 1  # 2024-01-01 00:00 .. 2024-01-02 20:00
    assert out[before].isna().all(axis=None)
    row = out.loc[ts("2024-01-03 00:00")]
    assert row[COLS].tolist() == equity.iloc[0][COLS].tolist()
    assert not out[~before].isna().any(axis=None)


def test_asof_one_instant_before_a_close_does_not_see_it(equity):
    close = equity.index[10]
    out = asof(equity, pd.DatetimeIndex([close - pd.Timedelta(1, "ns"), close, close + pd.Timedelta(1, "h")]))
    assert out["close"].tolist() == [equity["close"].iloc[9], equity["close"].iloc[10], equity["close"].iloc[10]]


@pytest.mark.parametrize("clock_unit,frame_unit", [("us", "ns"), ("ns", "us"), ("s", "ns"), ("ms", "ms")])
def test_asof_does_not_depend_on_the_index_units(equity, clock_unit, frame_unit):
    # pandas 3 makes microsecond indexes by default; comparing raw ticks of two units is wrong.
    clock = pd.date_range("2024-01-01", "2024-12-31", freq="D", tz="UTC")
    expected = asof(equity, clock.as_unit("ns"))
    frame = equity.copy()
    frame.index = frame.index.as_unit(frame_unit)
    got = asof(frame, clock.as_unit(clock_unit))
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert got["close"].notna().sum() == 366 - 2  # nothing known before 2024-01-02 21:00


def test_master_clock_is_the_sorted_union():
    a = pd.DataFrame({"close": [1.0, 2.0]}, index=pd.DatetimeIndex([ts("2024-01-02"), ts("2024-01-04")]))
    b = pd.DataFrame({"close": [1.0, 2.0]}, index=pd.DatetimeIndex([ts("2024-01-01"), ts("2024-01-02")]))
    clock = master_clock([a, b])
    assert clock.tolist() == [ts("2024-01-01"), ts("2024-01-02"), ts("2024-01-04")]
    assert clock.name == "close_time"


def coin(instants, base=1.0):
    idx = pd.DatetimeIndex(instants)
    n = len(idx)
    p = base + np.arange(n, dtype=float)
    return pd.DataFrame({"open": p, "high": p + 1, "low": p - 0.5, "close": p + 0.5, "volume": 10 + p}, index=idx)


def test_on_clock_marks_before_listing_gaps_and_after_delisting():
    clock = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC", name="close_time")
    # listed on day 3, a gap on days 5-6, delisted after day 8
    present = clock[[2, 3, 6, 7]]
    frame = coin(present, base=50.0)
    out = on_clock(frame, clock, "ALT")
    assert out.index.equals(clock)
    assert out["listed"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    off = out["listed"] == 0
    assert out.loc[off, COLS].isna().all(axis=None)
    pd.testing.assert_frame_equal(out.loc[~off, COLS], frame, check_freq=False, check_names=False)


def test_on_clock_refuses_a_bar_that_is_not_on_the_clock():
    clock = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    frame = coin([clock[0], clock[1] + pd.Timedelta(hours=12), clock[2]])
    with pytest.raises(DataError) as exc:
        on_clock(frame, clock, "ALT-USDT")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg == "ALT-USDT: bar closing 2024-01-02T12:00:00+00:00 is not on the master clock"


# ---------------------------------------------------------------- the shipped data: no look-ahead

CRYPTO = ("BTC-USDT", "XMR-USDT", "MATIC-USDT", "SOL-USDT")
ON_CLOCK_DATA = COLS + ["listed"]  # what a bar at or before T may depend on


@pytest.fixture(scope="module")
def shipped():
    lib = DataLibrary()
    return lib.load("RUT").frame, {s: lib.load(s).frame for s in CRYPTO}


def cut_instants(rut, crypto):
    """Seeded random cut instants, plus cuts exactly at an equity close and at a crypto close."""
    btc = crypto["BTC-USDT"]
    lo, hi = btc.index[0].value, btc.index[-1].value
    rng = np.random.default_rng(20250704)
    cuts = [pd.Timestamp(int(v), tz="UTC") for v in rng.integers(lo, hi, size=8)]
    rng_idx = rng.integers(0, len(rut), size=2)
    cuts += [rut.index[i] for i in rng_idx if rut.index[i] > btc.index[0]]
    cuts += [btc.index[int(rng.integers(1, len(btc) - 1))], pd.Timestamp("2024-02-21", tz="UTC")]  # XMR's last
    return cuts


def test_shipped_asof_against_an_independent_merge(shipped):
    rut, crypto = shipped
    clock = master_clock(list(crypto.values()))
    out = asof(rut, clock)
    ref = pd.merge_asof(pd.DataFrame({"t": clock}), pd.DataFrame({"t": rut.index, "close": rut["close"].to_numpy(),
                                                                  "closed_at": rut.index}),
                        on="t", direction="backward", allow_exact_matches=True)
    np.testing.assert_array_equal(out["close"].to_numpy(), ref["close"].to_numpy())
    age = (ref["t"] - ref["closed_at"]).dt.total_seconds().to_numpy() / 3600
    np.testing.assert_allclose(out["age_hours"].to_numpy(), age)
    assert (out["age_hours"] >= 0).all()
    assert out["age_hours"].max() < 5 * 24  # the longest NYSE closure in range is a long weekend
    # Saturday's crypto close sees Friday's RUT close: 4 hours old in summer, 3 in winter
    assert out.loc[ts("2024-07-13"), "close"] == rut.loc[ts("2024-07-12 20:00"), "close"]
    assert out.loc[ts("2024-07-13"), "age_hours"] == 4
    assert out.loc[ts("2025-01-11"), "close"] == rut.loc[ts("2025-01-10 21:00"), "close"]
    assert out.loc[ts("2025-01-13"), "age_hours"] == 51  # Monday 00:00
    assert out.loc[ts("2025-01-21"), "close"] == rut.loc[ts("2025-01-17 21:00"), "close"]  # after MLK day
    assert out.loc[ts("2025-01-21"), "age_hours"] == 75
    assert out.loc[ts("2025-05-27"), "age_hours"] == 76  # after Memorial Day (EDT)


def test_truncation_asof_and_on_clock_do_not_look_ahead(shipped):
    rut, crypto = shipped
    clock = master_clock(list(crypto.values()))
    full_asof = asof(rut, clock)
    full_on = {s: on_clock(f, clock, s) for s, f in crypto.items()}
    cuts = cut_instants(rut, crypto)
    assert len(cuts) >= 10
    for cut in cuts:
        rut_t = rut[rut.index <= cut]
        crypto_t = {s: f[f.index <= cut] for s, f in crypto.items()}
        assert len(rut_t) < len(rut) and len(crypto_t["BTC-USDT"]) < len(crypto["BTC-USDT"])
        clock_t = master_clock([f for f in crypto_t.values() if len(f)])
        assert clock_t.equals(clock[clock <= cut])
        got = asof(rut_t, clock_t)
        pd.testing.assert_frame_equal(got, full_asof[full_asof.index <= cut], obj=f"asof cut at {cut}", check_freq=False)
        for s in CRYPTO:
            got = on_clock(crypto_t[s], clock_t, s)[ON_CLOCK_DATA]
            want = full_on[s].loc[full_on[s].index <= cut, ON_CLOCK_DATA]
            pd.testing.assert_frame_equal(got, want, obj=f"on_clock {s} cut at {cut}", check_freq=False)


def test_delisting_notice_is_the_one_column_known_ahead(shipped):
    """`delisting` (added for the strategies) flags the last two bars of a series that stops before
    the clock: it stands for the exchange's announcement, so it depends on data after T by design."""
    _, crypto = shipped
    clock = master_clock(list(crypto.values()))
    out = on_clock(crypto["XMR-USDT"], clock, "XMR-USDT")
    flagged = out.index[out["delisting"] == 1].tolist()
    assert flagged == [ts("2024-02-20"), ts("2024-02-21")]  # XMR's last two daily closes
    assert out.loc[ts("2024-02-22"), "listed"] == 0
    assert (on_clock(crypto["BTC-USDT"], clock, "BTC-USDT")["delisting"] == 0).all()
