"""The Parquet cache: layout, round trip, closed bars only, atomic writes, unusable files kept."""
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canary.errors import DataError
from canary.feeds import cache
from canary.feeds.rawbars import RawBars

UTC = "UTC"


def rut_bars(recorded_at="2024-07-10"):
    """Four NYSE sessions of the Russell 2000 around the 2024-07-03 early close (shipped RUT.csv)."""
    raw = pd.DataFrame({
        "label": pd.to_datetime(["2024-07-02", "2024-07-03", "2024-07-05", "2024-07-08"]),
        "open": [2031.07, 2038.41, 2031.88, 2038.38], "high": [2037.21, 2049.4, 2032.51, 2050.16],
        "low": [2027.78, 2035.56, 2019.06, 2036.55], "close": [2033.87, 2036.62, 2026.73, 2038.67],
        "volume": [3329950000.0, 2179470000.0, 3253080000.0, 3185670000.0],
    })
    return RawBars("yahoo", "^RUT", "1d", "session", None, "XNYS", pd.Timestamp(recorded_at, tz=UTC), raw)


def btc_bars(days, recorded_at, first="2024-01-01", close=100.0):
    labels = pd.date_range(first, periods=days, freq="D")
    raw = pd.DataFrame({"label": labels, "open": close, "high": close + 1, "low": close - 1, "close": close,
                        "volume": 5.0})
    return RawBars("ccxt/binance", "BTC/USDT", "1d", "interval", pd.Timedelta("1D"), None,
                         pd.Timestamp(recorded_at, tz=UTC), raw)


def test_default_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CANARY_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.default_dir() == tmp_path / "home" / ".cache" / "smallcap-canary"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_dir() == tmp_path / "xdg" / "smallcap-canary"
    monkeypatch.setenv("CANARY_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.default_dir() == tmp_path / "mine"
    assert cache.path_for(None, "yahoo", "^RUT", "1d") == tmp_path / "mine" / "yahoo" / "1d" / "^RUT.parquet"


def test_one_file_per_feed_symbol_and_interval(tmp_path):
    assert cache.path_for(tmp_path, "ccxt/binance", "BTC/USDT", "4h") == tmp_path / "ccxt/binance/4h/BTC%2FUSDT.parquet"
    assert cache.path_for(tmp_path, "ccxt/binance", "BTC/USDT:USDT", "1d").name == "BTC%2FUSDT%3AUSDT.parquet"
    assert cache.path_for(tmp_path, "yahoo", "../../etc", "1d").parent == tmp_path / "yahoo" / "1d"


def test_session_bars_round_trip_with_their_close_instants(tmp_path):
    path = cache.path_for(tmp_path, "yahoo", "^RUT", "1d")
    _, written = cache.store(path, rut_bars())
    bars, series = cache.read(path)
    assert (bars.clock, bars.calendar, bars.symbol) == ("session", "XNYS", "^RUT")
    assert series.frame.index[1] == pd.Timestamp("2024-07-03 17:00", tz=UTC)  # early close
    pd.testing.assert_frame_equal(series.frame, written.frame)
    assert series.path == path


def test_bars_still_open_are_not_stored(tmp_path):
    path = tmp_path / "btc.parquet"
    stored, series = cache.store(path, btc_bars(5, recorded_at="2024-01-05 12:00"))
    assert list(stored.labels.strftime("%m-%d")) == ["01-01", "01-02", "01-03", "01-04"]
    assert len(pq.read_table(path)) == 4
    assert series.last == pd.Timestamp("2024-01-05", tz=UTC)


def test_merge_replaces_the_overlapping_bar():
    old = btc_bars(3, "2024-01-04", close=100.0)
    new = btc_bars(3, "2024-01-06", first="2024-01-03", close=110.0)
    merged = cache.merge(old, new)
    assert list(merged.raw["close"]) == [100.0, 100.0, 110.0, 110.0, 110.0]
    assert merged.labels.is_unique
    assert merged.recorded_at == new.recorded_at


def test_merge_refuses_bars_read_on_another_clock():
    with pytest.raises(DataError, match="the cached bars have clock session but the source now gives interval"):
        cache.merge(rut_bars(), btc_bars(3, "2024-01-04"))


def test_invalid_bars_are_not_written(tmp_path):
    path = tmp_path / "btc.parquet"
    cache.store(path, btc_bars(3, "2024-01-04"))
    before = path.read_bytes()
    bad = btc_bars(4, "2024-01-05")
    bad.raw.loc[2, "high"] = 50.0  # below the close
    with pytest.raises(DataError, match="high 50 is below"):
        cache.store(path, bad)
    assert path.read_bytes() == before


@pytest.mark.parametrize("failure, seen_as", [(KeyboardInterrupt, KeyboardInterrupt), (OSError, DataError)])
def test_a_write_killed_half_way_leaves_the_old_file_byte_for_byte(tmp_path, monkeypatch, failure, seen_as):
    path = tmp_path / "btc.parquet"
    cache.store(path, btc_bars(3, "2024-01-04"))
    before = path.read_bytes()

    def half_write(table, where, **kwargs):
        where.write(b"PAR1 half a file")
        raise failure(28, "No space left on device")

    monkeypatch.setattr(cache.pq, "write_table", half_write)
    with pytest.raises(seen_as):
        cache.store(path, btc_bars(6, "2024-01-07"))
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_file_that_cannot_be_read_is_reported_and_kept(tmp_path):
    path = cache.path_for(tmp_path, "yahoo", "^RUT", "1d")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError) as err:
        cache.read(path)
    message = str(err.value)
    assert message.startswith(f"{path}: unusable cache file (")
    assert "left in place" in message and "\n" not in message
    assert path.read_bytes() == b"not parquet at all"


def test_a_file_that_fails_validation_is_reported_and_kept(tmp_path):
    path = tmp_path / "btc.parquet"
    cache.store(path, btc_bars(3, "2024-01-04"))
    table = pq.read_table(path)
    close = table.column("close").to_pylist()
    close[1] = -1.0
    tampered = table.set_column(table.schema.get_field_index("close"), "close", pa.array(close))
    pq.write_table(tampered, path)
    before = path.read_bytes()
    with pytest.raises(DataError, match=r"unusable cache file \(line 2: non-positive price in close\)"):
        cache.read(path)
    assert path.read_bytes() == before


def test_a_parquet_file_from_elsewhere_is_refused(tmp_path):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(DataError, match="no smallcap-canary metadata"):
        cache.read(path)


def test_the_metadata_says_how_to_read_the_labels(tmp_path):
    path = tmp_path / "btc.parquet"
    cache.store(path, btc_bars(3, "2024-01-04"))
    meta = json.loads(pq.read_schema(path).metadata[cache.META_KEY])
    assert meta == {"format": 1, "feed": "ccxt/binance", "symbol": "BTC/USDT", "interval": "1d",
                    "clock": "interval", "bar": "P1DT0H0M0S", "calendar": None,
                    "recorded_at": "2024-01-04T00:00:00+00:00"}


def test_files_lists_cache_files_but_not_temporary_ones(tmp_path):
    path = cache.path_for(tmp_path, "yahoo", "^RUT", "1d")
    cache.store(path, rut_bars())
    (path.parent / f".{path.name}.abc.tmp").write_bytes(b"half")
    assert cache.files(tmp_path) == [path]
    assert cache.files(tmp_path / "missing") == []


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "yahoo"
    blocker.write_text("a file where the cache wants a folder")
    with pytest.raises(DataError, match=r"cannot write the cache file .*any previous file is unchanged"):
        cache.store(cache.path_for(tmp_path, "yahoo", "^RUT", "1d"), rut_bars())
