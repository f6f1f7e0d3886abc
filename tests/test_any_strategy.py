"""Any Backtrader strategy, from Python or from the command line, through the same engine.

The strategies here are written into a module outside the package (tmp_path, put on
sys.path / PYTHONPATH), as a user's would be.
"""
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.feeds import DataLibrary
from canary.feeds.market import Universe, load_market
from canary.params import ParameterError, param_defaults
from canary.runs.config import DEFAULT_CONFIG, load_config, strategy_params
from canary.strategies import (
    BtcEthMonthly,
    BuyAndHold,
    EqualWeightBasket,
    SmallCapRotation,
    run_backtest,
)
from canary.strategies.classpath import load_strategy
from canary.strategies.engine import ENGINE_PARAMS, roles_of

CANARY = str(Path(sys.executable).with_name("canary"))
START = "2024-01-01"

USER_MODULE = '''
import backtrader as bt

from canary.indicators import RISK_OFF, RiskRegime
from canary.strategies import TargetWeightStrategy


class SmaCross(bt.Strategy):
    """Plain Backtrader: BTC while its fast average is above the slow one (order_target_percent)."""

    params = (("fast", 5), ("slow", 20), ("target", 0.95))

    def __init__(self):
        self.cross = bt.indicators.CrossOver(bt.indicators.SMA(self.data, period=self.p.fast),
                                             bt.indicators.SMA(self.data, period=self.p.slow))
        self.calls = []

    def next(self):
        self.calls.append((self.data.datetime.datetime(0), len(self.data)))
        if self.cross[0] > 0:
            self.order_target_percent(self.data, target=self.p.target)
        elif self.cross[0] < 0:
            self.order_target_percent(self.data, target=0.0)


class EthEveryMonth(bt.Strategy):
    """Plain Backtrader with buy/sell: buys 1 ETH on the first bar of a month, sells it on the 15th."""

    roles = ("eth",)

    def next(self):
        day = self.data.datetime.date(0).day
        if day == 1:
            self.buy(size=1.0)
        elif day == 15 and self.position.size:
            self.sell(size=self.position.size)


class BtcWhenRiskOn(TargetWeightStrategy):
    """Target weights with the package's regime: all BTC unless risk-off."""

    roles = ("btc", "eth", "small_cap", "large_cap", "alts")
    params = (("weight", 1.0),)

    def __init__(self):
        super().__init__()
        self.regime = RiskRegime(*self.datas, filter={"small_cap": dict(mode="ma", period=100, confirm=5)})

    def rebalance_due(self):
        return True

    def target_weights(self):
        return {} if self.regime.regime[0] == RISK_OFF else {self.coins[0]: self.p.weight}


class FailsToStart(bt.Strategy):
    roles = ("btc",)

    def __init__(self):
        self.ratio = 1 / 0


class FailsOnABar(bt.Strategy):
    roles = ("btc",)

    def next(self):
        if len(self.data) > 3:
            raise ValueError("no luck today")


class LongWindow(bt.Strategy):
    roles = ("btc",)
    params = (("slow", 5000),)

    def __init__(self):
        self.sma = bt.indicators.SMA(self.data, period=self.p.slow)
'''


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user_strategies")
    (folder / "my_strategies.py").write_text(textwrap.dedent(USER_MODULE))
    (folder / "broken_strategies.py").write_text("import backtrader as bt\nclass Oops(bt.Strategy:\n")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in ("my_strategies", "broken_strategies"):
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def market():
    universe = Universe("BTC-USDT", "ETH-USDT", ("BNB-USDT", "SOL-USDT"), "RUT", "SPX")
    return load_market(DataLibrary(), universe, START)


def test_the_rotation_defaults_and_the_shipped_configuration_agree():
    shipped = tomllib.loads(DEFAULT_CONFIG.read_text())["strategy"]
    declared = param_defaults(SmallCapRotation, skip=ENGINE_PARAMS + ("filter",))
    assert load_strategy(shipped.pop("class")) is SmallCapRotation
    assert shipped == declared
    assert load_config().as_dict()["strategy"] == dict(declared, **{"class": "canary.strategies:SmallCapRotation"})


def test_every_strategy_declares_its_roles():
    assert SmallCapRotation.roles == ("btc", "eth", "small_cap", "large_cap", "alts")   # every role, alts last
    assert (BuyAndHold.roles, EqualWeightBasket.roles, BtcEthMonthly.roles) == (
        ("btc", "eth"), ("btc", "alts"), ("btc", "eth"))
    import backtrader as bt

    class NoRoles(bt.Strategy):
        pass

    class OnlyIndices(bt.Strategy):
        roles = ("small_cap", "large_cap")

    class Misspelt(bt.Strategy):
        roles = ("btc", "alt")

    assert roles_of(NoRoles) == ("btc", "eth", "alts")   # every coin, BTC first
    with pytest.raises(ConfigError, match="has no coin"):
        roles_of(OnlyIndices)
    with pytest.raises(ConfigError, match="unknown role 'alt' \\(did you mean 'alts'\\?\\)"):
        roles_of(Misspelt)


def test_plain_backtrader_strategy_runs_from_python(user_module, market):
    from my_strategies import EthEveryMonth, SmaCross

    result = run_backtest(market, SmaCross, {"fast": 5})
    assert result.equity.index[0] == pd.Timestamp(START, tz="UTC")  # recorded from the start, not the warm-up
    assert result.regimes is None
    assert len(result.fills) > 4 and (result.fills["decided"] >= pd.Timestamp(START, tz="UTC")).all()
    assert set(result.fills["symbol"]) == {"BTC-USDT"}
    assert (result.fills["fee"] > 0).all()
    assert result.equity.iloc[-1] != result.equity.iloc[0]
    assert list(result.portfolio.columns[2:]) == ["BTC-USDT", "ETH-USDT", "BNB-USDT", "SOL-USDT"]  # default roles

    monthly = run_backtest(market, EthEveryMonth)
    assert list(monthly.portfolio.columns[2:]) == ["ETH-USDT"]
    buys = monthly.fills[monthly.fills["side"] == "buy"]
    assert len(buys) >= 20 and (buys["size"] == 1.0).all()
    assert (buys["decided"].dt.day == 1).all()


def test_plain_strategy_decides_once_per_crypto_bar_from_the_start(user_module):
    from my_strategies import SmaCross

    # With the equity indices among its feeds, Backtrader also steps at each equity close.
    class WithIndices(SmaCross):
        roles = ("btc", "small_cap", "large_cap")

    universe = Universe("BTC-USDT", "ETH-USDT", (), "RUT", "SPX")
    m = load_market(DataLibrary(), universe, START, "2024-03-01")
    calls = []

    class Spy(WithIndices):
        def next(self):
            super().next()
            calls.append(self.calls[-1])

    result = run_backtest(m, Spy)
    times = [t for t, _ in calls]
    assert times == sorted(set(times))  # one decision per bar
    assert pd.Timestamp(times[0], tz="UTC") == pd.Timestamp(START, tz="UTC")
    assert len(times) == len(result.equity)  # a decision at every recorded crypto bar close


def test_target_weight_subclass_gets_weights_and_regimes(user_module, market):
    from my_strategies import BtcWhenRiskOn

    result = run_backtest(market, BtcWhenRiskOn, {"weight": 0.5})
    regimes = result.regimes
    assert regimes is not None and regimes.index.equals(result.equity.index)
    weights = result.weights()["BTC-USDT"]
    on = regimes > 0
    assert on.any() and (~on).any()
    # Decided at a close, filled at the next open: risk-on bars after the first hold about half in BTC.
    held = weights[on & on.shift(1, fill_value=False)]
    assert ((held > 0.40) & (held < 0.60)).mean() > 0.9


def test_load_market_takes_a_configurations_universe_table(market):
    table = {"btc": "BTC-USDT", "eth": "ETH-USDT", "alts": ["BNB-USDT", "SOL-USDT"]}
    from_table = load_market(DataLibrary(), table, START)
    assert from_table.universe == market.universe and from_table.clock.equals(market.clock)
    assert load_market(DataLibrary(), load_config().universe, START).universe == Universe()
    with pytest.raises(ConfigError, match="universe.btcc: not a role \\(did you mean 'btc'\\?\\)"):
        load_market(DataLibrary(), {"btcc": "BTC-USDT"})
    with pytest.raises(ConfigError, match="universe is a list; give a canary.feeds.market.Universe"):
        load_market(DataLibrary(), ["BTC-USDT"])


def test_unknown_parameter_of_a_user_strategy_is_refused(user_module, market):
    from my_strategies import SmaCross

    with pytest.raises(ParameterError, match="SmaCross: unknown parameter 'fsat' \\(did you mean 'fast'\\?\\)"):
        run_backtest(market, SmaCross, {"fsat": 5})
    with pytest.raises(ConfigError, match="set by the engine"):
        run_backtest(market, SmallCapRotation, {"trade_from": None})


@pytest.mark.parametrize("name, words", [
    ("FailsToStart", ["strategy FailsToStart: __init__ raised ZeroDivisionError: division by zero",
                      "my_strategies.py:"]),
    ("FailsOnABar", ["strategy FailsOnABar: next raised ValueError: no luck today", "my_strategies.py:"]),
    ("LongWindow", ["strategy LongWindow: its indicator SMA needs 5,000 bars", "shorten its window"]),
])
def test_a_failing_user_strategy_is_one_line_naming_the_method(user_module, name, words, tmp_path):
    from clirun import assert_user_error, main

    proc = main("run", "--set", f"strategy.class=my_strategies:{name}", "--set", 'universe.alts=["BNB-USDT"]',
                "--start", START, "--out", str(tmp_path), "--no-report")
    assert_user_error(proc, 2, *words)


def test_a_failure_outside_the_users_code_keeps_its_traceback(user_module, market, monkeypatch):
    import functools
    import operator

    from my_strategies import SmaCross

    from canary.strategies.recorder import PortfolioRecorder

    monkeypatch.setattr(PortfolioRecorder, "next", functools.partial(operator.truediv, 1, 0))
    with pytest.raises(ZeroDivisionError):
        run_backtest(market, SmaCross)


def test_configuration_section_follows_the_class(user_module):
    config = load_config(overrides=["strategy.class=my_strategies:SmaCross", "strategy.fast=3"])
    assert config.strategy.path == "my_strategies:SmaCross"
    assert config.strategy.params == {"fast": 3, "slow": 20, "target": 0.95}
    cls, params = strategy_params(config)
    assert cls.__name__ == "SmaCross" and params == {"fast": 3, "slow": 20, "target": 0.95}
    # The order of --set does not matter, and the rotation's shipped keys do not leak into another class.
    later = load_config(overrides=["strategy.fast=3", "strategy.class=my_strategies:SmaCross"])
    assert later.strategy == config.strategy
    rotation = strategy_params(load_config())[1]
    assert "filter" in rotation and rotation["defensive"] == "cash"


@pytest.mark.parametrize("overrides, words", [
    (["strategy.class=my_strategies:SmaCross", "strategy.fsat=3"], ["strategy.fsat", "did you mean 'fast'"]),
    (["strategy.class=my_strategies:SmaCross", "strategy.fast=3.5"], ["strategy.fast", "expected int"]),
    (["strategy.class=my_strategies:SmaCross", "strategy.defensive=btc"], ["strategy.defensive", "SmaCross"]),
    (["strategy.class=my_stratgies:SmaCross"], ["strategy.class", "no module 'my_stratgies'", "PYTHONPATH"]),
    (["strategy.class=my_strategies:SmaCros"], ["strategy.class", "did you mean 'SmaCross'"]),
    (["strategy.class=my_strategies.SmaCross"], ["strategy.class", "package.module:ClassName"]),
    (["strategy.class=broken_strategies:Oops"], ["strategy.class", "SyntaxError"]),
    (["strategy.class=canary.strategies:Costs"], ["strategy.class", "not a Backtrader strategy"]),
    (["strategy.weighting=best"], ["strategy.weighting", "equal"]),
])
def test_strategy_configuration_mistakes_are_one_line(user_module, overrides, words):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=overrides)
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message


def test_user_strategy_from_the_command_line(user_module, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(user_module))
    args = [CANARY, "run", "--set", "strategy.class=my_strategies:SmaCross", "--set", "strategy.fast=4",
            "--set", 'universe.alts=["BNB-USDT"]', "--start", START, "--out", str(tmp_path), "--name", "mine"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "mine"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics["rejected_orders"]) == {"SmaCross", "btc_buy_hold"}
    assert metrics["SmaCross"]["trades"] > 4
    equity = pd.read_csv(folder / "equity.csv")
    assert equity["date"].iloc[0] == START and equity["strategy"].iloc[-1] != equity["strategy"].iloc[0]
    assert len(pd.read_csv(folder / "trades.csv")) == metrics["SmaCross"]["trades"]
    assert "SmaCross vs BTC buy-and-hold" in (folder / "tearsheet.html").read_text()
    assert not (folder / "regimes.csv").exists()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["strategy"] == {"class": "my_strategies:SmaCross", "fast": 4, "slow": 20,
                                              "target": 0.95}

    misspelt = subprocess.run(args[:-4] + ["--set", "strategy.slwo=9", "--out", str(tmp_path / "x")],
                              capture_output=True, text=True, env=env, timeout=600)
    assert misspelt.returncode == 2 and misspelt.stderr.strip().splitlines() == [
        "canary: error: strategy.slwo: unknown parameter of SmaCross (did you mean 'slow'?)"]
    missing = subprocess.run(args, capture_output=True, text=True, env=dict(env, PYTHONPATH=""), timeout=600)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "no module 'my_strategies'" in missing.stderr and "Traceback" not in missing.stderr


def test_readme_example_of_a_user_strategy_runs(tmp_path):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### Your own strategy", 1)[1]
    module = section.split("```python\n", 1)[1].split("```", 1)[0]
    command = section.split("```bash\n", 1)[1].split("```", 1)[0].strip()
    (tmp_path / "my_strategies.py").write_text(module)
    assert command.startswith("PYTHONPATH=. canary run ")
    args = command.split()[2:] + ["--set", 'universe.alts=["BNB-USDT"]', "--start", START,
                                  "--out", str(tmp_path / "runs"), "--name", "readme", "--no-report"]
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=".")
    proc = subprocess.run([CANARY, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "runs" / "readme" / "metrics.json").read_text())
    assert metrics["SmaCross"]["trades"] > 0
    manifest = json.loads((tmp_path / "runs" / "readme" / "manifest.json").read_text())
    assert manifest["config"]["strategy"]["fast"] == 20
