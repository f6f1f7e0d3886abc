"""What the README says about fills and order sizes is what the engine does (an independent
reimplementation matched every fill only after reading the code: these are the facts it needed)."""
import pandas as pd
import pytest
from clirun import SMALL, main

from canary.feeds import DataLibrary
from canary.strategies.portfolio import DUST

README = (__import__("pathlib").Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.fixture(scope="module")
def default_trades(default_run):
    return pd.read_csv(default_run[1] / "trades.csv")


def test_on_back_to_back_daily_bars_a_fill_is_at_its_decision_instant(default_trades):
    assert (default_trades["date"] == default_trades["decided"]).all()
    assert "`date` equal to its `decided`" in README


def test_the_cash_buffer_is_a_share_of_the_cash_available_for_buying(default_trades):
    first = default_trades[default_trades["decided"] == default_trades["decided"].iloc[0]]
    assert (first["side"] == "buy").all()
    lib = DataLibrary()
    decided = pd.Timestamp(first["decided"].iloc[0])
    notional = sum(row.size * lib.load(row.symbol).frame.loc[decided, "close"] for row in first.itertuples())
    # all cash: targets are 99.5 % of the portfolio, then the buys are cut to 99.5 % of the cash
    # available less 15 bp of costs; a buffer of the portfolio alone would buy 99,500
    assert notional == pytest.approx(100_000 * 0.995 / 1.0015, rel=1e-9)
    assert "share of that cash, not of the portfolio" in README and "0.995 / 1.0015" in README


def test_the_readme_states_the_dust_size_the_engines_use():
    # what dust means on both engines is tested by tests/test_dust.py
    mantissa, exponent = f"{DUST:e}".split("e")
    assert f"at most {float(mantissa):g}e{int(exponent)} of the portfolio is never traded" in README


def test_a_regime_change_within_the_drift_band_trades_nothing(tmp_path):
    # eth and alts both hold BTC/ETH 50/50; no drift rebalancing, a band wide enough for the drift
    proc = main("run", *SMALL, "--set", "strategy.eth_weight=0.5", "--set", "strategy.alt_core=1.0",
                "--set", "strategy.rebalance_every=0", "--set", "strategy.drift_band=0.2",
                "--out", tmp_path, "--name", "band", "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    regimes = pd.read_csv(tmp_path / "band" / "regimes.csv")
    trades = pd.read_csv(tmp_path / "band" / "trades.csv")
    before = regimes["regime"].shift()
    swaps = regimes[((before == "eth") & (regimes["regime"] == "alts"))
                    | ((before == "alts") & (regimes["regime"] == "eth"))]
    assert len(swaps) >= 2
    decided = {d[:10] for d in trades["decided"]}
    assert not decided & set(swaps["date"])
    assert "**nothing is traded**, even on a regime change" in README
