"""Ranking snapshots (CMC layouts) and the point-in-time symbol rules."""
import json

import pandas as pd
import pytest

from canary.errors import DataError
from canary.feeds.pointintime import PointInTime, coin_of, files_of
from canary.feeds.rankings import load_rankings


def test_weekly_text_numbers_sorted_by_market_cap(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text('snapshot_date,rank,name,symbol,market_cap,price\n'
                    '2021-01-04,2,AAAa,AAA,"$1,000.50",$1\n'
                    '2021-01-04,1,BBBb,BBB,"$2,000,000.00",$1\n')
    table = load_rankings(path)
    assert list(table["symbol"]) == ["BBB", "AAA"]
    assert table["market_cap"].tolist() == [2_000_000.0, 1000.5]
    assert table["known_at"].iloc[0] == pd.Timestamp("2021-01-05", tz="UTC")   # the end of the snapshot's day


def test_a_folder_of_dated_files_and_json(tmp_path):
    folder = tmp_path / "monthly"
    folder.mkdir()
    (folder / "20180107.csv").write_text("coin,mkt_cap\nXRP,10\nBCC,20\nMáximos histórico (ATH),5\n")
    table = load_rankings(folder)
    assert list(table["symbol"]) == ["BCC", "XRP", "ATH"]
    js = tmp_path / "top10.json"
    js.write_text(json.dumps([{"year": 2020, "month": 3, "day": 15, "rank": 9, "symbol": "STO", "marketCap": 9},
                              {"year": 2020, "month": 3, "day": 15, "rank": 1, "symbol": "BTC", "marketCap": 90}]))
    assert list(load_rankings(js)["symbol"]) == ["BTC"]      # the bogus Storeum entry is dropped


def test_a_bad_market_cap_names_file_line_and_field(tmp_path):
    path = tmp_path / "weekly.csv"
    path.write_text('snapshot_date,rank,name,symbol,market_cap\n2021-01-04,1,BBBb,BBB,"$2,0x0"\n')
    with pytest.raises(DataError, match=r"weekly.csv line 2: market_cap '\$2,0x0' is not a number"):
        load_rankings(path)


def test_reused_symbols_mean_the_coin_of_their_date():
    assert coin_of("LUNA", pd.Timestamp("2022-05-01")) == "LUNC"        # Terra Classic
    assert coin_of("LUNA", pd.Timestamp("2022-10-02")) == "LUNA2"       # Terra 2.0
    assert coin_of("BCC", pd.Timestamp("2017-10-15")) == "BITCONNECT"
    assert files_of("BITCONNECT") == ()                                 # never Binance's BCCUSDT (Bitcoin Cash)
    assert files_of("BCH")[0][0] == "BCC"


def test_the_top_n_leaves_out_stablecoins_roles_and_a_second_polygon(tmp_path):
    folder = tmp_path / "monthly"
    folder.mkdir()
    (folder / "20241006.csv").write_text("coin,mkt_cap\nBTC,100\nUSDT,90\nMATIC,50\nPOL,40\nSOL,30\nWBTC,20\nXRP,10\n")
    top = PointInTime(3, (str(folder),)).top_table()
    assert list(top["coin"]) == ["MATIC", "SOL", "XRP"]
    assert list(top["place"]) == [1, 2, 3]


def test_every_shipped_universe_file_matches_its_checksum_and_loads():
    from canary.feeds.pointintime import shipped_libraries

    libraries = shipped_libraries()
    assert sum(len(lib.entries) for lib in libraries) == 107
    for lib in libraries:
        for symbol in lib.symbols():
            assert lib.verify(symbol) is None, symbol
            series = lib.load(symbol)
            assert series.frame.index.is_monotonic_increasing and not series.frame.isna().any(axis=None), symbol


def test_coingecko_dates_are_the_previous_days_close():
    """SOURCES.md: NK's LUNC row dated 2022-05-13 ($0.00122) is the close of 2022-05-12."""
    from canary.feeds.library import DataLibrary
    from canary.feeds.pointintime import UNIVERSE_DIR

    frame = DataLibrary(UNIVERSE_DIR / "prices/coingecko").load("LUNC-USD").frame
    assert frame.loc["2022-05-13 00:00:00+00:00", "close"] == pytest.approx(0.00122, rel=0.01)
