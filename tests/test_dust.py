"""Dust: a held position whose difference to its target is at most `DUST` of the portfolio is
neither bought nor sold, on both engines; one just above it is traded."""
import numpy as np
import pytest

from canary.feeds import DataLibrary
from canary.feeds.market import Market, Universe, load_market
from canary.strategies import TargetPlan, TargetWeightStrategy, run_backtest
from canary.strategies.costs import Costs
from canary.strategies.portfolio import DUST
from canary.strategies.screening import run_fast

NO_COSTS = Costs(fee_bp=0.0, slippage_bp=0.0)   # holdings land exactly on their targets


class Nudged(TargetWeightStrategy):
    """Half BTC, half ETH; from 21 January 2024 the targets move by `nudge` of the portfolio,
    from 10 February by ten times that."""

    roles = ("btc", "eth")
    params = (("nudge", 0.0),)

    @classmethod
    def plan(cls, bars, p):
        phase = (bars.times >= np.datetime64("2024-01-21")).astype(np.int64)
        phase[bars.times >= np.datetime64("2024-02-10")] = 2
        rows = [[0.5 + k * p.nudge, 0.5 - k * p.nudge] for k in (0, 1, 10)]
        return TargetPlan.by_phase(phase, rows)


@pytest.fixture(scope="module")
def flat_market():
    """Two months of BTC and ETH at a constant 100 (a synthetic price: the portfolio's value never
    moves, so only the targets can make a difference)."""
    real = load_market(DataLibrary(), Universe(alts=()), "2024-01-01", "2024-03-01")
    crypto = {}
    for symbol, frame in real.crypto.items():
        frame = frame.copy()
        frame[["open", "high", "low", "close"]] = 100.0
        crypto[symbol] = frame
    return Market(real.universe, crypto, real.equity, real.clock, real.start)


def trade_days(result):
    """The days of the orders after the first buys."""
    days = result.orders["decided"].dt.strftime("%Y-%m-%d")
    return sorted(set(days[days != days.min()]))


@pytest.mark.parametrize("engine", [run_backtest, run_fast], ids=["backtrader", "fast"])
def test_a_difference_within_dust_is_not_traded_and_one_above_it_is(flat_market, engine):
    # the targets are scaled by the cash buffer (0.995): a move of `nudge` is 0.995 nudge of the value
    within = engine(flat_market, Nudged, {"nudge": 0.9 * DUST, "drift_band": 0.0}, NO_COSTS)
    assert trade_days(within) == ["2024-02-10"]        # 0.9 DUST not traded; ten times that is
    above = engine(flat_market, Nudged, {"nudge": 1.1 * DUST / 0.995, "drift_band": 0.0}, NO_COSTS)
    assert trade_days(above) == ["2024-01-21", "2024-02-10"]
    first = above.orders[above.orders["decided"] == "2024-01-21"]
    assert sorted(zip(first["symbol"], first["side"], strict=True)) == [("BTC-USDT", "buy"), ("ETH-USDT", "sell")]
