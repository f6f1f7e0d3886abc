"""The universe roles, declared once (`canary.feeds.roles`).

* A role added to the declaration (here ``small_fund``: IWM, the Russell 2000 fund of the
  shipped data, as a second equity background) reaches the Universe, the configuration's
  ``[universe]`` table, the loaded market, the arrays of the screening engine, the feeds of
  the rotation and a signal that reads it; both engines then still agree bar for bar.
* A misspelt role is one line with the closest name; a symbol in two roles is refused.
* The README's table of roles is the declaration's.
"""
import re
from pathlib import Path

import numpy as np
import pytest

from canary.errors import ConfigError
from canary.feeds import roles
from canary.feeds.market import Universe, load_market
from canary.feeds.roles import EQUITY, Role, feed_order, role, role_names
from canary.indicators import BACKGROUND, RISK_OFF, Signal, signals
from canary.indicators.array_indicator import ArrayIndicator
from canary.indicators.rolling import rolling_mean
from canary.runs.backtest import plan
from canary.runs.config import load_config, regime_params, rotation_params
from canary.runs.screening import Screen, signal_inputs
from canary.strategies import SmallCapRotation, run_backtest
from canary.strategies.engine import roles_of

README = Path(__file__).resolve().parents[1] / "README.md"
SMALL_FUND = Role("small_fund", EQUITY, ("IWM",), "the Russell 2000 fund (IWM), a second small-cap background")
RUN = ['universe.alts=["BNB-USDT", "SOL-USDT", "XRP-USDT"]', 'data.start="2023-01-01"',
       'data.end="2025-06-30"', "filter.fund_trend.period=20", "filter.fund_trend.min_trend=0.0"]


def fund_trend(close, period):
    """The fund against its moving average over `period` sessions (a test-only background)."""
    return (np.asarray(close, dtype=float) / rolling_mean(close, period) - 1.0,)


class FundTrend(ArrayIndicator):
    lines = ("trend",)
    params = (("period", 20),)
    function = staticmethod(fund_trend)
    inputs = ("close",)

    def lookback(self, p):
        return p["period"]


@pytest.fixture
def with_small_fund(monkeypatch):
    """The declaration with one more role, and a background signal that reads it."""
    monkeypatch.setattr(roles, "ROLES", roles.ROLES + (SMALL_FUND,))
    signal = Signal("fund_trend", "fund_trend", FundTrend, "trend", ("small_fund",), signals.EQUITY, BACKGROUND,
                    threshold="min_trend", level=0.0, direction=">")
    monkeypatch.setattr(signals, "SIGNALS", signals.SIGNALS + (signal,))


def test_the_declaration_gives_the_roles_and_their_order():
    assert role_names() == ("btc", "eth", "alts", "small_cap", "large_cap")
    assert role_names(roles.CRYPTO) == ("btc", "eth", "alts") and role_names(EQUITY) == ("small_cap", "large_cap")
    assert feed_order() == ("btc", "eth", "small_cap", "large_cap", "alts")   # the basket last: any number
    u = Universe()
    assert u.crypto == (u.btc, u.eth, *u.alts) and u.equity == (u.small_cap, u.large_cap)
    assert (u.btc, u.alts) == (role("btc").default[0], role("alts").default)


def test_a_misspelt_role_is_one_line_with_the_closest_name():
    with pytest.raises(ConfigError, match=r"unknown role 'small_caps' \(did you mean 'small_cap'\?\)"):
        role("small_caps")
    with pytest.raises(ConfigError, match=r"did you mean 'large_cap'"):
        Universe(larg_cap="SPX")
    with pytest.raises(ConfigError, match="takes a list of symbols"):
        Universe(alts="SOL-USDT")
    with pytest.raises(ConfigError, match=r"universe.small_cpa: .*did you mean 'small_cap'"):
        load_config(overrides=['universe.small_cpa="RUT"'])


def test_a_symbol_in_two_roles_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"universe: ETH-USDT appears twice \(eth and alts\)") as err:
        load_config(overrides=['universe.alts=["ETH-USDT", "SOL-USDT"]'])
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"RUT appears twice \(small_cap and large_cap\)"):
        load_config(overrides=['universe.large_cap="RUT"'])


def test_an_added_role_reaches_the_universe_the_configuration_and_the_market(with_small_fund):
    assert Universe().small_fund == "IWM" and Universe().equity == ("RUT", "SPX", "IWM")
    assert Universe(small_fund="QQQ").of("small_fund") == ("QQQ",)
    config = load_config(overrides=RUN)
    assert config.universe["small_fund"] == "IWM"          # its default, with no edit of default.toml
    assert load_config(overrides=RUN + ['universe.small_fund="QQQ"']).universe["small_fund"] == "QQQ"
    with pytest.raises(ConfigError, match="IWM appears twice"):
        load_config(overrides=RUN + ['universe.small_cap="IWM"'])
    p = plan(config)
    market = load_market(p.library, p.universe, config.data.start, config.data.end)
    iwm = p.library.load("IWM").frame
    sessions = iwm.index[iwm.index <= market.clock[-1]]
    assert market.equity["IWM"].index.equals(sessions)
    # the aligned arrays of the screening engine: the fund on its own sessions
    arrays = signal_inputs(market)["small_fund"]
    np.testing.assert_array_equal(arrays["close"], iwm["close"].loc[sessions].to_numpy(dtype=float))
    assert len(arrays["datetime"]) == len(sessions) and np.all(np.diff(arrays["datetime"]) > 0)
    # the rotation is fed every declared role, the new one among the indices, the basket last
    assert roles_of(SmallCapRotation) == ("btc", "eth", "small_cap", "large_cap", "small_fund", "alts")


def test_a_signal_on_the_added_role_moves_the_regime_alike_on_both_engines(with_small_fund):
    config = load_config(overrides=RUN)
    p = plan(config)
    market = load_market(p.library, p.universe, config.data.start, config.data.end)
    fast = Screen(market, p.costs).run(config)
    reference = run_backtest(market, SmallCapRotation, rotation_params(config), p.costs)
    # the engines agree: regimes, fills and values at every bar
    np.testing.assert_array_equal(fast.regimes.to_numpy(), reference.regimes.to_numpy())
    assert list(zip(fast.fills["date"], fast.fills["symbol"], fast.fills["side"], strict=True)) == \
        list(zip(reference.fills["date"], reference.fills["symbol"], reference.fills["side"], strict=True))
    np.testing.assert_allclose(fast.equity.to_numpy(), reference.equity.to_numpy(), rtol=1e-9)
    assert len(reference.fills) > 10
    # the new background counts: where the fund is below its average, risk-off; and at some
    # bars it is what holds the rotation out of the market
    inputs = signal_inputs(market)
    values = signals.evaluate(inputs, regime_params(config), market.interval)
    trading = market.clock >= market.start
    below = trading & (values["fund_trend"] <= 0.0)
    held_out = below & (values["small_cap"] >= 0.5)
    assert np.all(values["regime"][below] == RISK_OFF)
    np.testing.assert_array_equal(reference.regimes.to_numpy(), values["regime"][trading])
    assert held_out.any() and (trading & (values["fund_trend"] > 0.0)).any()
    lenient = dict(regime_params(config), fund_trend={"period": 20, "min_trend": -1.0})   # the fund always holds
    assert np.any(signals.evaluate(inputs, lenient, market.interval)["regime"][held_out] != RISK_OFF)


def test_the_readme_table_of_roles_is_the_declaration():
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \|", README.read_text(), flags=re.M)
    assert [(name, kind) for name, kind, _ in rows] == [(r.name, r.kind) for r in roles.ROLES]
    for (name, _, symbols), r in zip(rows, roles.ROLES, strict=True):
        shown = re.findall(r"`([^`]+)`", symbols)
        assert shown == list(r.default[:len(shown)]) and shown, name
