"""A missing bar in a traded coin's history: orders wait for the next traded bar, and a held
position is worth its last traded close meanwhile (synthetic series, unit test)."""
import math

import numpy as np
import pandas as pd
import pytest

from canary.feeds.alignment import on_clock
from canary.feeds.market import Market, Universe
from canary.strategies import BuyAndHold, Costs, run_backtest

DAYS = pd.date_range("2024-01-02", periods=10, freq="D", tz="UTC", name="close_time")


def _bars(closes, index):
    c = np.asarray(closes, dtype=float)
    opens = np.r_[c[0], c[:-1]] * 1.001  # each open a little above the previous close
    return pd.DataFrame({"open": opens, "high": np.maximum(opens, c) * 1.01, "low": np.minimum(opens, c) * 0.99,
                         "close": c, "volume": 10.0}, index=index)


def _market(eth_missing):
    btc = _bars(np.linspace(40000, 41000, 10), DAYS)
    eth = _bars(np.linspace(2000, 2009, 10), DAYS).drop(DAYS[eth_missing])
    universe = Universe(btc="BTC", eth="ETH")
    crypto = {"BTC": on_clock(btc, DAYS), "ETH": on_clock(eth, DAYS)}
    return Market(universe, crypto, {}, DAYS, DAYS[0]), eth


def test_an_order_whose_fill_bar_is_missing_fills_at_the_next_traded_bar():
    market, eth = _market(eth_missing=[1])  # decided at DAYS[0]; the next bar is missing
    result = run_backtest(market, BuyAndHold, {"symbol": "ETH"}, Costs(fee_bp=10, slippage_bp=0))
    fill = result.fills.iloc[0]
    assert result.rejected == 0 and len(result.fills) == 1
    assert fill["price"] == pytest.approx(eth.loc[DAYS[2], "open"], rel=1e-12)  # the bar after the gap
    assert not result.equity.isna().any()


def test_a_position_is_worth_its_last_traded_close_through_a_gap():
    market, eth = _market(eth_missing=[5, 6])
    result = run_backtest(market, BuyAndHold, {"symbol": "ETH"}, Costs(fee_bp=10, slippage_bp=0))
    held = result.fills.iloc[0]["size"]
    assert not result.equity.isna().any()
    in_gap = result.portfolio.loc[DAYS[6]]
    assert in_gap["ETH"] == pytest.approx(held * eth.loc[DAYS[4], "close"], rel=1e-12)
    assert in_gap["value"] == pytest.approx(in_gap["cash"] + in_gap["ETH"], rel=1e-12)
    after = result.portfolio.loc[DAYS[7]]
    assert after["ETH"] == pytest.approx(held * eth.loc[DAYS[7], "close"], rel=1e-12)


def test_mark_is_carried_only_inside_the_listing():
    frame = _bars([1.0, 2.0, 3.0], DAYS[2:5]).drop(DAYS[3])
    marked = on_clock(frame, DAYS)["mark"]
    assert math.isnan(marked.iloc[1]) and math.isnan(marked.iloc[5])  # before listing, after the last bar
    assert marked.loc[DAYS[3]] == 1.0  # the gap carries the last traded close
    assert marked.loc[DAYS[4]] == 3.0
