"""The shipped data: every file loads and verifies, its known defects are handled, Backtrader consumes it all."""
import csv
import hashlib
import json
import shutil

import backtrader as bt
import pandas as pd
import pytest

from canary.errors import DataError, suggest
from canary.feeds import SHIPPED_DIR, CloseInstantData, DataLibrary, bt_timeframe

# From SOURCES.md: data rows of each file (header excluded), first and last label.
SOURCES = {
    "RUT": (2552, "2016-06-28", "2026-08-21"), "SPX": (2552, "2016-06-28", "2026-08-21"),
    "IXIC": (2552, "2016-06-28", "2026-08-21"), "SPY": (2552, "2016-06-28", "2026-08-21"),
    "QQQ": (2552, "2016-06-28", "2026-08-21"), "IWM": (6497, "2000-05-26", "2026-03-27"),
    "BTC-USDT": (3065, "2017-08-17", "2026-01-06"), "ETH-USDT": (3065, "2017-08-17", "2026-01-06"),
    "BNB-USDT": (2984, "2017-11-06", "2026-01-06"), "LTC-USDT": (2947, "2017-12-13", "2026-01-06"),
    "ADA-USDT": (2822, "2018-04-17", "2026-01-06"), "XRP-USDT": (2805, "2018-05-04", "2026-01-06"),
    "XLM-USDT": (2778, "2018-05-31", "2026-01-06"), "TRX-USDT": (2767, "2018-06-11", "2026-01-06"),
    "ETC-USDT": (2766, "2018-06-12", "2026-01-06"), "LINK-USDT": (2548, "2019-01-16", "2026-01-06"),
    "XMR-USDT": (1804, "2019-03-15", "2024-02-20"), "MATIC-USDT": (1965, "2019-04-26", "2024-09-10"),
    "ATOM-USDT": (2445, "2019-04-29", "2026-01-06"), "DOGE-USDT": (2378, "2019-07-05", "2026-01-06"),
    "BCH-USDT": (2232, "2019-11-28", "2026-01-06"), "SOL-USDT": (1975, "2020-08-11", "2026-01-06"),
    "DOT-USDT": (1968, "2020-08-18", "2026-01-06"), "UNI-USDT": (1938, "2020-09-17", "2026-01-06"),
    "AVAX-USDT": (1933, "2020-09-22", "2026-01-06"), "SHIB-USDT": (1703, "2021-05-10", "2026-01-06"),
}
EQUITY = ("RUT", "SPX", "IXIC", "SPY", "QQQ", "IWM")
CRYPTO = tuple(s for s in SOURCES if s not in EQUITY)
# The 4-hour files (SOURCES.md): rows, first and last bar open (UTC).
FOUR_HOUR = {
    "BTC-USDT-4h": (18371, "2017-08-17 04:00", "2026-01-06 12:00"),
    "ETH-USDT-4h": (18371, "2017-08-17 04:00", "2026-01-06 12:00"),
    "BNB-USDT-4h": (17886, "2017-11-06 00:00", "2026-01-06 12:00"),
    "ADA-USDT-4h": (16920, "2018-04-17 04:00", "2026-01-06 12:00"),
    "XRP-USDT-4h": (16817, "2018-05-04 08:00", "2026-01-06 12:00"),
    "SOL-USDT-4h": (11847, "2020-08-11 04:00", "2026-01-06 12:00"),
}


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def ny_close(day):
    """16:00 New York on `day`, in UTC (no early close among the dates used here)."""
    return pd.Timestamp(f"{day} 16:00", tz="America/New_York").tz_convert("UTC")


@pytest.fixture(scope="module")
def lib():
    return DataLibrary()


@pytest.fixture(scope="module")
def loaded(lib):
    return {s: lib.load(s) for s in lib.symbols()}


def test_all_32_shipped_files_load(lib, loaded):
    assert sorted(loaded) == sorted([*SOURCES, *FOUR_HOUR])
    assert len(loaded) == 32
    files = sorted(p.relative_to(SHIPPED_DIR).as_posix() for p in SHIPPED_DIR.rglob("*.csv")
                   if p.relative_to(SHIPPED_DIR).parts[0] != "universe")   # libraries of their own
    assert files == sorted(lib.entries[s]["path"] for s in [*SOURCES, *FOUR_HOUR])
    for s, series in loaded.items():
        idx = series.frame.index
        assert str(idx.tz) == "UTC" and idx.is_monotonic_increasing and idx.is_unique, s
        assert not series.frame.isna().any(axis=None), s
        assert series.clock == ("session" if s in EQUITY else "interval"), s


@pytest.mark.parametrize("symbol", list(SOURCES))
def test_bar_counts_and_ranges_match_the_sources(loaded, symbol):
    rows, first, last = SOURCES[symbol]
    s = loaded[symbol]
    if symbol in EQUITY:
        assert len(s.frame) == rows
        assert s.first == ny_close(first)
        assert s.last == ny_close(last)
    else:
        still_open = last == "2026-01-06"  # pulled during that UTC day
        assert len(s.frame) == rows - still_open
        assert s.first == ts(first) + pd.Timedelta(days=1)  # a UTC day closes at the next midnight
        last_closed = ts(last) + pd.Timedelta(days=0 if still_open else 1)
        assert s.last == last_closed
        assert s.interval == pd.Timedelta(days=1)
        assert s.report.gaps == []  # no missing days


@pytest.mark.parametrize("symbol", list(FOUR_HOUR))
def test_four_hour_bars_match_the_sources_and_keep_their_gaps(loaded, symbol):
    rows, first, last = FOUR_HOUR[symbol]
    s = loaded[symbol]
    assert len(s.frame) == rows - 1                       # the 12:00 bar was still open when recorded
    assert s.first == ts(first) + pd.Timedelta(hours=4)
    assert s.last == ts(last)                             # the 08:00 bar, closing at 12:00
    assert s.interval == pd.Timedelta(hours=4)
    # Binance maintenance windows (none after SOL listed): reported, never filled
    missing = len(pd.date_range(s.first, s.last, freq="4h")) - len(s.frame)
    assert missing == sum(count for _, _, count in s.report.gaps)
    assert (missing > 0) == (symbol != "SOL-USDT-4h")


def test_checksums_verify_against_an_independent_hash(lib):
    manifest = json.loads((SHIPPED_DIR / "manifest.json").read_text())["files"]
    assert sorted(manifest) == sorted([*SOURCES, *FOUR_HOUR])
    for symbol, entry in manifest.items():
        digest = hashlib.sha256((SHIPPED_DIR / entry["path"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], symbol
        assert lib.verify(symbol) is None


@pytest.fixture
def copied(tmp_path):
    """A user copy of the shipped folder: the manifest and two files."""
    for rel in ("manifest.json", "crypto/BTC-USDT.csv", "equity/RUT.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHIPPED_DIR / rel, tmp_path / rel)
        (tmp_path / rel).chmod(0o644)
    return tmp_path


def test_unmodified_copy_loads_like_the_shipped_file(copied, loaded):
    pd.testing.assert_frame_equal(DataLibrary(copied).load("BTC-USDT").frame, loaded["BTC-USDT"].frame)


def test_modified_copy_gives_a_one_line_checksum_mismatch(copied):
    path = copied / "crypto" / "BTC-USDT.csv"
    text = path.read_text()
    path.write_text(text.replace("2017-08-18,4285.08,4371.52", "2017-08-18,4285.08,4371.53", 1))
    assert path.read_text() != text
    with pytest.raises(DataError) as exc:
        DataLibrary(copied).load("BTC-USDT")
    msg = str(exc.value)
    assert "\n" not in msg
    assert "BTC-USDT.csv" in msg and "checksum mismatch" in msg
    assert DataLibrary(copied).load("RUT").frame.shape == (2552, 5)  # the untouched file still loads


def test_file_listed_in_the_manifest_but_missing(copied):
    with pytest.raises(DataError, match=r"ETH-USDT\.csv: missing"):
        DataLibrary(copied).load("ETH-USDT")


def test_wrong_symbol_suggests_the_right_one(lib):
    with pytest.raises(DataError) as exc:
        lib.load("BTC-USD")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("no price file for symbol 'BTC-USD'")
    assert msg.endswith("(did you mean 'BTC-USDT'?)")
    with pytest.raises(DataError, match=r"did you mean 'RUT'"):
        lib.load("rut")
    with pytest.raises(DataError) as exc:
        lib.load("ZZZZZZ")
    assert "did you mean" not in str(exc.value)


def test_suggest():
    choices = ["BTC-USDT", "ETH-USDT", "XMR-USDT", "RUT"]
    assert suggest("BTC-USD", choices) == " (did you mean 'BTC-USDT'?)"
    assert suggest("eth-usdt", choices) == " (did you mean 'ETH-USDT'?)"
    assert suggest("xmr", choices) == " (did you mean 'XMR-USDT'?)"
    assert suggest("qqqqqq", choices) == ""


def test_btc_last_bar_still_open_when_recorded_is_dropped_and_reported(loaded):
    with open(SHIPPED_DIR / "crypto" / "BTC-USDT.csv", newline="") as fh:
        last_row = list(csv.reader(fh))[-1]
    assert last_row[0] == "2026-01-06"
    btc = loaded["BTC-USDT"]
    assert ts("2026-01-07") not in btc.frame.index  # the 2026-01-06 bar would close here
    assert btc.last == ts("2026-01-06")
    assert btc.frame["close"].iloc[-1] != float(last_row[4])
    assert btc.report.dropped == [
        "bar closing 2026-01-07T00:00:00+00:00 was still open when recorded (2026-01-06T00:00:00+00:00): dropped"]
    # the series that stopped earlier lose nothing
    assert loaded["XMR-USDT"].report.dropped == [] and loaded["MATIC-USDT"].report.dropped == []


def test_iwm_float_rounding_bars_are_clipped_and_reported(loaded):
    with open(SHIPPED_DIR / "equity" / "IWM.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    off = {}
    for line, r in enumerate(rows, start=2):
        o, h, lo, c = (float(r[k]) for k in ("Open", "High", "Low", "Close"))
        if h < max(o, c) or lo > min(o, c):
            assert max(max(o, c) - h, lo - min(o, c)) < 1e-9 * c  # float rounding, not a bad bar
            off[line] = (r["Date"], max(o, c))
    assert len(off) == 3
    iwm = loaded["IWM"]
    lines = ", ".join(str(n) for n in off)
    assert iwm.report.dropped == [f"3 bar(s) with high/low off by float rounding: clipped to the body (line {lines})"]
    f = iwm.frame
    assert (f["high"] >= f[["open", "close"]].max(axis=1)).all()
    assert (f["low"] <= f[["open", "close"]].min(axis=1)).all()
    for day, top in off.values():
        assert f.loc[ny_close(day), "high"] == top


def test_real_wicks_pass_unchanged(loaded):
    link = loaded["LINK-USDT"].frame.loc[ts("2020-03-13")]  # the bar of 2020-03-12
    assert (link["open"], link["low"], link["close"]) == (3.817, 0.0001, 1.9931)
    assert loaded["ETH-USDT"].frame.loc[ts("2017-08-23"), "low"] == 144.21
    assert loaded["BNB-USDT"].frame.loc[ts("2017-11-07"), "low"] == 0.5
    assert loaded["SHIB-USDT"].frame["close"].iloc[0] < 1e-4  # tiny prices parse as floats


def test_equity_close_instants_follow_new_york_time(loaded):
    rut = loaded["RUT"].frame
    assert ts("2020-03-16 20:00") in rut.index    # the 15% day, after the US DST change
    assert ts("2020-01-15 21:00") in rut.index    # winter
    assert ts("2019-11-29 18:00") in rut.index    # early close after Thanksgiving
    assert loaded["IWM"].last == ts("2026-03-27 20:00")
    assert loaded["RUT"].report.lines() == [] and loaded["RUT"].report.gaps == []


def test_a_user_folder_without_manifest(tmp_path):
    shutil.copyfile(SHIPPED_DIR / "crypto" / "ETH-USDT.csv", tmp_path / "ETH.csv")
    lib = DataLibrary(tmp_path, recorded_at="2026-01-06T12:00:00Z")
    assert lib.symbols() == ["ETH"]
    eth = lib.load("ETH")
    assert eth.clock == "interval" and eth.interval == pd.Timedelta(days=1)
    assert len(eth.frame) == 3064
    with pytest.raises(DataError, match="does not exist"):
        DataLibrary(tmp_path / "nope")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable manifest"):
        DataLibrary(tmp_path)


def test_two_files_of_one_symbol_in_two_subfolders_are_refused(tmp_path):
    for sub in ("binance", "kraken"):
        (tmp_path / sub).mkdir()
        shutil.copyfile(SHIPPED_DIR / "crypto" / "ETH-USDT.csv", tmp_path / sub / "ETH.csv")
    with pytest.raises(DataError) as exc:
        DataLibrary(tmp_path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "'ETH'" in msg
    assert str(tmp_path / "binance" / "ETH.csv") in msg and str(tmp_path / "kraken" / "ETH.csv") in msg


def test_a_file_hiding_a_manifest_entry_is_refused(copied):
    (copied / "extra").mkdir()
    shutil.copyfile(copied / "crypto" / "BTC-USDT.csv", copied / "extra" / "BTC-USDT.csv")
    with pytest.raises(DataError, match=r"two price files for symbol 'BTC-USDT': .*crypto/BTC-USDT\.csv and "
                                         r".*extra/BTC-USDT\.csv"):
        DataLibrary(copied)


def test_has_checksum_tells_verifiable_files_apart(lib, copied):
    assert all(lib.has_checksum(s) for s in lib.symbols())
    shutil.copyfile(copied / "crypto" / "BTC-USDT.csv", copied / "BTC.csv")  # not in the manifest
    user = DataLibrary(copied)
    assert user.has_checksum("BTC-USDT") is True
    assert user.has_checksum("BTC") is False
    assert user.verify("BTC") is None  # verify passes it: it cannot tell, has_checksum says so
    with pytest.raises(DataError, match="no price file for symbol 'NOPE'"):
        user.has_checksum("NOPE")


# ------------------------------------------------------------------ every bar through Backtrader

class CountBars(bt.Strategy):
    def __init__(self):
        self.counts = [0] * len(self.datas)
        self.first = [None] * len(self.datas)
        self.last = [None] * len(self.datas)
        self.skipped = 0

    def prenext(self):
        self.next()

    def next(self):
        for i, d in enumerate(self.datas):
            n = len(d)
            if n > self.counts[i]:
                self.skipped += n - self.counts[i] - 1
                self.counts[i] = n
                when = d.datetime.datetime(0)
                self.first[i] = self.first[i] or when
                self.last[i] = when


def test_every_crypto_feed_and_rut_through_one_cerebro(loaded):
    symbols = list(CRYPTO) + ["RUT"]
    cerebro = bt.Cerebro(stdstats=False)
    for s in symbols:
        series = loaded[s]
        tf, comp = bt_timeframe(series.interval)
        cerebro.adddata(CloseInstantData(dataname=series.frame, name=s, timeframe=tf, compression=comp))
    cerebro.addstrategy(CountBars)
    strat = cerebro.run()[0]
    assert strat.skipped == 0
    for i, s in enumerate(symbols):
        frame = loaded[s].frame
        assert strat.counts[i] == len(frame), s
        assert pd.Timestamp(strat.first[i], tz="UTC") == frame.index[0], s
        assert pd.Timestamp(strat.last[i], tz="UTC") == frame.index[-1], s
    assert pd.Timestamp(strat.last[symbols.index("RUT")], tz="UTC") == ts("2026-08-21 20:00")
