"""A user's target-weight strategy declared by its plan runs on both engines, fill for fill; one
that changes behaviour without a plan is refused by the fast engine, never run as its parent;
and a plan that looks ahead is caught by the two engines disagreeing."""
import functools

import numpy as np
import pandas as pd
import pytest
from clirun import main as canary
from readme_plans import install, uninstall

from canary.errors import ConfigError
from canary.feeds import DataLibrary
from canary.feeds.market import Universe, load_market
from canary.strategies import TargetPlan, TargetWeightStrategy, run_backtest
from canary.strategies.screening import run_fast

START = "2023-06-01"
SMALL = ("--set", 'universe.alts=["BNB-USDT", "SOL-USDT"]', "--start", START)


@pytest.fixture(scope="module")
def my_plans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    yield install(folder, '''

from canary.strategies import SmallCapRotation


class BtcOnly(SmallCapRotation):
    """A rotation that holds BTC whatever the regime, written the Backtrader way (no plan)."""

    def target_weights(self):
        return {self.coins[0]: 1.0}
''')
    uninstall(folder)


@functools.cache
def market_of(suffix=""):
    universe = Universe(f"BTC-USDT{suffix}", f"ETH-USDT{suffix}", (f"BNB-USDT{suffix}", f"SOL-USDT{suffix}"),
                        "RUT", "SPX")
    return load_market(DataLibrary(), universe, START)


def same(a, b):
    """Two BacktestResults record the same portfolio, fills and orders."""
    pd.testing.assert_frame_equal(a.portfolio, b.portfolio, check_exact=False, rtol=1e-12, atol=1e-9, check_freq=False)
    pd.testing.assert_frame_equal(a.fills.reset_index(drop=True), b.fills.reset_index(drop=True),
                                  check_exact=False, rtol=1e-12, atol=1e-9)
    assert len(a.orders) == len(b.orders) and a.rejected == b.rejected


@pytest.mark.parametrize("bars, window", [
    ("", "20d"), ("", "50d"), ("", 7), ("-4h", 7),
    pytest.param("-4h", "20d", marks=pytest.mark.slow), pytest.param("-4h", "50d", marks=pytest.mark.slow),
], ids=["daily-20d", "daily-50d", "daily-7", "4-hour-7", "4-hour-20d", "4-hour-50d"])
def test_the_readme_plan_runs_alike_on_both_engines_and_both_modes(my_plans, bars, window):
    market, params = market_of(bars), {"window": window}
    reference = run_backtest(market, my_plans.TrendPair, params)
    assert len(reference.fills) > 3            # it trades: the comparison means something
    same(reference, run_fast(market, my_plans.TrendPair, params))
    same(reference, run_backtest(market, my_plans.TrendPair, params, runonce=False))


def test_a_subclass_without_a_plan_is_refused_by_the_fast_engine(my_plans):
    market = market_of()
    with pytest.raises(ConfigError, match="BtcOnly overrides target_weights of SmallCapRotation without a plan"):
        run_fast(market, my_plans.BtcOnly, regimes=np.zeros(len(market.clock)))

    class NoPlan(TargetWeightStrategy):
        def rebalance_due(self):
            return True

        def target_weights(self):
            return {self.coins[0]: 1.0}

    with pytest.raises(ConfigError, match="NoPlan declares no plan"):
        run_fast(market, NoPlan)
    # on Backtrader both run as written: BtcOnly holds BTC where the rotation would not
    btc_only = run_backtest(market, my_plans.BtcOnly)
    assert (btc_only.weights()["BTC-USDT"].iloc[5:] > 0.9).all()


def test_the_command_line_runs_and_tunes_the_plan_and_refuses_the_unplanned(my_plans, tmp_path):
    out = ("--out", tmp_path)
    run = canary("run", "--engine", "fast", "--set", "strategy.class=my_plans:TrendPair", "--set",
                 "strategy.window=30d", *SMALL, *out, "--name", "fast", "--no-report")
    assert run.returncode == 0, run.stderr
    tuned = canary("tune", "--set", "strategy.class=my_plans:TrendPair", "--grid", "strategy.window=10d,30d",
                   "--split", "2024-06-01", "--rerun", "2", *SMALL, *out, "--name", "tune")
    assert tuned.returncode == 0, tuned.stderr
    assert "rerun in Backtrader: trials" in tuned.stdout and "match the screening engine" in tuned.stdout
    trials = pd.read_csv(tmp_path / "tune" / "trials.csv")
    assert trials["strategy.window"].tolist() == ["10d", "30d"] and trials["sharpe"].nunique() == 2
    for args in (("run", "--engine", "fast"), ("tune", "--grid", "strategy.drift_band=0.02,0.05")):
        refused = canary(*args, "--set", "strategy.class=my_plans:BtcOnly", *SMALL, *out, "--name", "no")
        assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0, refused.stderr
        assert "BtcOnly overrides target_weights" in refused.stderr and "Traceback" not in refused.stderr


def test_canary_study_works_with_a_user_strategy(my_plans, tmp_path):
    result = canary("study", "--set", "strategy.class=my_plans:TrendPair", "--horizons", "7", "--reps", "100",
                    *SMALL, "--out", tmp_path, "--name", "study")
    assert result.returncode == 0, result.stderr
    assert "TrendPair has no min_history, so the rotation's default (30d)" in result.stdout
    assert (tmp_path / "study" / "summary.csv").exists()


class PeeksAhead(TargetWeightStrategy):
    """A planted mistake: holds BTC on the bars before BTC rises (tomorrow's close, today)."""

    roles = ("btc", "eth")

    @classmethod
    def plan(cls, bars, p):
        btc = bars.closes[:, 0]
        rises = np.append(btc[1:] > btc[:-1], False)
        return TargetPlan.by_phase(rises, [[0.0, 0.0], [1.0, 0.0]])


def test_a_plan_that_looks_ahead_is_caught_by_the_engines_disagreeing():
    market = market_of()
    fast = run_fast(market, PeeksAhead)
    backtrader = run_backtest(market, PeeksAhead)       # sees no later bar: never knows of a rise
    assert fast.equity.iloc[-1] > 2 * backtrader.equity.iloc[-1]
