"""One declaration per parameter: the rule a configuration is checked by also checks a Python
call (indicators, strategies, `run_backtest` and `run_fast` at entry), in one line naming the
class, the parameter, the value and what is accepted; every declared default and every value
of a declared search range is one its rule accepts."""
import pytest

from canary.feeds import DataLibrary
from canary.feeds.market import Universe, load_market
from canary.indicators import SmallCapBreakout, signals
from canary.params import ParameterError, check_value, param_defaults, param_schema
from canary.runs.config import load_config
from canary.runs.tune.search_space import parse_space
from canary.strategies import (
    BtcEthMonthly,
    BuyAndHold,
    EqualWeightBasket,
    SmallCapRotation,
    TargetWeightStrategy,
    run_backtest,
)
from canary.strategies.screening import run_fast

STRATEGIES = (SmallCapRotation, BuyAndHold, EqualWeightBasket, BtcEthMonthly)


@pytest.fixture(scope="module")
def market():
    return load_market(DataLibrary(), Universe(alts=("BNB-USDT",)), start="2024-01-01")


REFUSED = [
    ({"weighting": "momentun"}, "SmallCapRotation.weighting: 'momentun' is not allowed: must be one of equal, "
                                "inverse_vol, momentum (did you mean 'momentum'?)"),
    ({"defensive": "BTC"}, "SmallCapRotation.defensive: 'BTC' is not allowed: must be one of cash, btc "
                           "(did you mean 'btc'?)"),
    ({"eth_weight": 1.7}, "SmallCapRotation.eth_weight: 1.7 is not allowed: must be in [0, 1]"),
    ({"top_k": 2.5}, "SmallCapRotation.top_k: expected int, got float 2.5: must be a whole number >= 1"),
    ({"vol_window": "30x"}, "SmallCapRotation.vol_window: '30x' is not allowed: must be at least 2 bar(s)"),
    ({"filter": {"small_cap": {"hysteresis": 5.0}}},
     "SmallCapRotation: filter.small_cap.hysteresis: 5.0 is not allowed: must be in [0, 1)"),
    ({"filter": {"small_cap": {"mode": "chanel"}}},
     "SmallCapRotation: filter.small_cap.mode: 'chanel' is not allowed: must be one of absolute, channel, ma "
     "(did you mean 'channel'?)"),
    ({"filter": {"failed_breakouts": {"max_rate": 1.5}}},
     "SmallCapRotation: filter.failed_breakouts.max_rate: 1.5 is not allowed: must be in [0, 1]"),
]


@pytest.mark.parametrize("run", [run_backtest, run_fast], ids=["backtrader", "fast"])
@pytest.mark.parametrize("params,said", REFUSED)
def test_a_python_call_is_refused_in_one_line_by_both_engines(market, run, params, said):
    with pytest.raises(ParameterError) as err:
        run(market, SmallCapRotation, params)
    assert str(err.value).startswith(said) and "\n" not in str(err.value)


@pytest.mark.parametrize("run", [run_backtest, run_fast], ids=["backtrader", "fast"])
def test_a_benchmark_is_checked_by_its_inherited_rule(market, run):
    with pytest.raises(ParameterError, match=r"^BtcEthMonthly.drift_band: 1.5 is not allowed: must be in \[0, 1\)$"):
        run(market, BtcEthMonthly, {"drift_band": 1.5})


def test_an_indicator_or_strategy_made_directly_is_checked_before_anything():
    with pytest.raises(ParameterError, match=r"^SmallCapBreakout.hysteresis: 5.0 is not allowed: must be in \[0, 1\)$"):
        SmallCapBreakout(hysteresis=5.0)
    with pytest.raises(ParameterError, match=r"^SmallCapBreakout.period: expected int, got str '100d'"):
        SmallCapBreakout(period="100d")
    with pytest.raises(ParameterError, match="did you mean 'momentum'"):
        SmallCapRotation(weighting="momentun")


def test_the_configuration_is_checked_by_the_same_rules():
    with pytest.raises(ParameterError, match=r"^strategy.weighting: 'momentun' is not allowed: must be one of equal, "
                                             r"inverse_vol, momentum \(did you mean 'momentum'\?\)$"):
        load_config(overrides=["strategy.weighting=momentun"])
    with pytest.raises(ParameterError, match=r": filter.small_cap.hysteresis: 5.0 is not allowed: must be in \[0, 1\)$"):
        load_config(overrides=["filter.small_cap.hysteresis=5.0"])


def test_a_users_windows_take_the_window_rule():
    class Trend(TargetWeightStrategy):
        params = (("window", "50d"),)
        WINDOWS = {"window": 2}

    rule = param_schema(Trend)["window"]
    assert check_value("w", rule, 7) == 7 and check_value("w", rule, "30d") == "30d"
    with pytest.raises(ParameterError, match=r"^Trend.window: 1 is not allowed: must be at least 2 bar"):
        Trend(window=1)
    # a subclass of the rotation keeps the rotation's rules (and search ranges)
    assert param_schema(type("Mine", (SmallCapRotation,), {}))["vol_window"] == param_schema(SmallCapRotation)["vol_window"]


def _declared():
    """(where, rule, default) of every parameter of the rotation, the benchmarks and the filter."""
    for cls in STRATEGIES:
        schema = param_schema(cls)
        for name, default in param_defaults(cls).items():
            yield f"{cls.__name__}.{name}", schema[name], default
    defaults = signals.defaults()
    for section, keys in signals.schema().items():
        for key, rule in keys.items():
            yield f"filter.{section}.{key}", rule, defaults[section][key]


@pytest.mark.parametrize("where,rule,default", list(_declared()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_default_and_every_value_of_its_search_range_is_accepted(where, rule, default):
    assert check_value(where, rule, default) == default
    if rule.space is not None:
        (dim,) = parse_space({"key": rule.space})
        for value in dim.values if dim.values is not None else (dim.low, dim.high):
            check_value(where, rule, value)


def test_what_a_type_alone_does_not_say_has_a_rule():
    """Every number, choice and window of the rotation and the filter has a rule beyond its type
    (the class's own ``filter``, the engine's ``trade_from`` and the booleans excepted)."""
    loose = [where for where, rule, default in _declared()
             if rule.test is None and not isinstance(default, bool) and where not in
             ("SmallCapRotation.trade_from", "BuyAndHold.trade_from", "EqualWeightBasket.trade_from",
              "BtcEthMonthly.trade_from", "BuyAndHold.symbol")]
    assert loose == ["filter.rotation.min_strength", "filter.eth_btc.min_trend", "filter.eth_btc.min_momentum"]
