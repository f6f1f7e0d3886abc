"""The point-in-time altcoin universe: membership as of each bar, the missing-price rule,
coverage, a user's extra close-only files, and the benchmark on the same universe."""
import numpy as np
import pandas as pd
import pytest

from canary.feeds.alignment import on_clock
from canary.feeds.market import load_market
from canary.feeds.pointintime import PointInTime, mark_members
from canary.runs.backtest import plan
from canary.runs.config import load_config
from canary.runs.screening import Screen
from canary.strategies import EqualWeightBasket, run_backtest
from canary.strategies.screening import run_fast

CLOCK = pd.date_range("2024-01-02", periods=10, freq="D", tz="UTC", name="close_time")


def frame(first=0, last=None):
    """A coin with bars closing at CLOCK[first:last]."""
    idx = CLOCK[first:last]
    bars = pd.DataFrame({c: 1.0 for c in ("open", "high", "low", "close", "volume")}, index=idx)
    return on_clock(bars, CLOCK)


def top(rows):
    """A top-N table of (snapshot date, coin, market cap) rows, places in order."""
    table = pd.DataFrame(rows, columns=["snapshot", "coin", "market_cap"])
    table["snapshot"] = pd.to_datetime(table["snapshot"])
    table["known_at"] = (table["snapshot"] + pd.Timedelta(days=1)).dt.tz_localize("UTC")
    table["place"] = table.groupby("snapshot").cumcount() + 1
    return table


def test_a_snapshot_counts_from_the_close_of_its_day():
    crypto = {"A": frame(), "B": frame()}
    table = top([("2024-01-04", "A", 2.0), ("2024-01-04", "B", 1.0), ("2024-01-07", "B", 3.0), ("2024-01-07", "C", 1.0)])
    cover = mark_members(PointInTime(2, missing="renormalise"), table, crypto, ("A", "B"), CLOCK)
    a, b = crypto["A"]["member"], crypto["B"]["member"]
    # snapshot 2024-01-04 is known at 2024-01-05 00:00, the close of the bar of the 4th
    assert (a[CLOCK < "2024-01-05"] == 0).all() and (b[CLOCK < "2024-01-05"] == 0).all()
    assert a["2024-01-05"] == 1.0 and b["2024-01-05"] == 1.0
    assert a["2024-01-08"] == 0.0 and b["2024-01-08"] == 1.0      # A left the top 2
    assert list(cover["snapshot"]) == ["2024-01-04", "2024-01-07"]
    assert cover["missing_coins"].iloc[1] == "C" and cover["priced_cap_share"].iloc[1] == pytest.approx(0.75)


def test_an_unpriced_top_coin_keeps_its_share_in_cash():
    crypto = {"A": frame(), "B": frame(0, 6)}            # B's prices stop (a delisting)
    table = top([("2024-01-02", "A", 2.0), ("2024-01-02", "B", 1.0), ("2024-01-02", "C", 1.0)])
    mark_members(PointInTime(3, missing="cash"), table, crypto, ("A", "B"), CLOCK)
    share = crypto["A"]["member"].to_numpy()
    assert share[1] == pytest.approx(2 / 3)              # C never priced: 1/3 in cash
    assert share[-1] == pytest.approx(1 / 3)             # B gone too
    crypto = {"A": frame(), "B": frame(0, 6)}
    mark_members(PointInTime(3, missing="renormalise"), table, crypto, ("A", "B"), CLOCK)
    assert (crypto["A"]["member"].to_numpy()[1:] == 1.0).all()


def pit_market(*sets, folder=None):
    overrides = ["universe.alts_top=10", 'data.start="2018-01-01"', 'data.end="2018-12-31"', *sets]
    if folder is not None:
        overrides.append(f'data.folder="{folder}"')
    config = load_config(None, overrides)
    p = plan(config)
    return config, p, load_market(p.library, p.universe, config.data.start, config.data.end)


@pytest.fixture(scope="module")
def shipped_2018():
    return pit_market()


def test_2018_holds_the_faded_coins_it_can_price_and_counts_the_others(shipped_2018):
    config, p, market = shipped_2018
    cover = market.coverage
    june = cover[cover["snapshot"] == "2018-06-03"].iloc[0]
    assert "EOS" in june["priced_coins"].split()          # the 5th coin then; -97 % later
    assert {"IOTA", "NEO"} <= set(june["missing_coins"].split())   # no 2018 price anywhere
    assert 0 < june["priced_cap_share"] < 1
    result = Screen(market, p.costs).run(config)
    held = result.portfolio.drop(columns=["value", "cash", "regime"]).gt(0)
    assert held["EOS"].any()
    # no coin is held before a snapshot that ranks it is known (its member mark, a bar earlier)
    for coin in held.columns[2:]:
        first = held.index[held[coin].to_numpy()]
        if len(first):
            member = market.crypto[coin]["member"]
            assert (member[member.index < first[0]] > 0).any(), coin


def test_the_alt_basket_benchmark_uses_the_same_universe_on_both_engines(shipped_2018):
    config, p, market = shipped_2018
    costs = config.costs
    reference = run_backtest(market, EqualWeightBasket, {}, costs)
    fast = run_fast(market, EqualWeightBasket, {}, costs)
    pd.testing.assert_frame_equal(reference.portfolio, fast.portfolio, rtol=1e-9, check_freq=False)
    months = reference.fills["date"].astype(str).str[:7].nunique()
    assert months >= 10                                  # reconstituted monthly
    assert "EOS" in set(reference.fills["symbol"])


def test_extra_close_only_files_raise_the_coverage(shipped_2018, tmp_path):
    """A Coin Metrics-style `time,PriceUSD` file for NEO (no 2018 price is shipped) puts it in."""
    days = pd.date_range("2017-06-01", "2018-12-31", freq="D")
    pd.DataFrame({"time": days.date, "PriceUSD": np.linspace(80, 5, len(days))}).to_csv(
        tmp_path / "NEO-USD.csv", index=False)
    _, _, market = pit_market("data.recorded_at=\"2019-01-01\"", folder=tmp_path)
    before = shipped_2018[2].coverage.set_index("snapshot")
    after = market.coverage.set_index("snapshot")
    june = after.loc["2018-06-03"]
    assert "NEO" in june["priced_coins"].split()
    assert june["priced_cap_share"] > before.loc["2018-06-03", "priced_cap_share"]
