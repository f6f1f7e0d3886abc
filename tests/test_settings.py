"""The typed run configuration (`canary.runs.settings.RunConfig`): frozen, checked once, and the
same configuration as the TOML tree it is made from."""
import dataclasses
import pickle

import pytest

from canary.errors import ConfigError
from canary.feeds.pointintime import BasketKeys, PointInTime
from canary.params import Rule
from canary.runs.config import SCHEMA, load_config, universe_schema, validate, with_values
from canary.runs.settings import DataSettings, RunConfig, Table, TuneSettings, frozen, plain
from canary.runs.tune.trial_values import TrialValues
from canary.strategies import SmallCapRotation
from canary.strategies.costs import Costs


@pytest.fixture(scope="module")
def config():
    return load_config()


def test_sections_are_typed(config):
    assert isinstance(config.data, DataSettings) and isinstance(config.tune, TuneSettings)
    assert isinstance(config.costs, Costs) and config.costs == Costs()
    assert config.strategy.cls is SmallCapRotation and config.strategy.params["weighting"] == "equal"
    assert config.filter["small_cap"]["confirm"] == 5 and config.universe["btc"] == "BTC-USDT"
    assert config.universe["alts"][:2] == ("BNB-USDT", "LTC-USDT")   # a list, frozen as a tuple
    assert config.data.folders == [] and DataSettings(("a", ""), *[""] * 5).folders == ["a"]


def test_no_part_of_a_configuration_can_be_changed(config):
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.data = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.tune.count = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.costs.fee_bp = 0.0
    with pytest.raises(TypeError):
        config.filter["small_cap"]["confirm"] = 9
    with pytest.raises(AttributeError):
        config.universe["alts"].append("DOGE-USDT")


def test_the_dict_of_a_configuration_checks_back_to_it(config):
    tree = config.as_dict()
    assert list(tree) == ["data", "sources", "universe", "strategy", "filter", "costs", "tune"]
    assert tree["strategy"]["class"] == "canary.strategies:SmallCapRotation"
    assert isinstance(tree["universe"]["alts"], list) and isinstance(tree["filter"]["small_cap"], dict)
    assert validate(tree) == config and validate(tree) is not config
    assert plain(frozen(tree)) == tree


def test_a_configuration_travels_to_a_worker_whole(config):
    again = pickle.loads(pickle.dumps(config))
    assert again == config and hash(again) == hash(config)
    assert isinstance(again.filter["small_cap"], Table)


def test_a_trials_values_set_into_a_copy_are_the_checked_configuration(config):
    values = TrialValues(config)
    setting = {"filter.small_cap.confirm": 3, "strategy.drift_band": 0, "universe.alts_top": 10,
               "tune.dtype": "float32"}
    trial = config.with_checked(values.checked(setting))
    assert trial == with_values(config, setting)
    assert trial.value("strategy.drift_band") == 0.0 and isinstance(trial.value("strategy.drift_band"), float)
    assert trial.value("filter.small_cap.confirm") == 3 and trial.value("tune.dtype") == "float32"
    assert config.value("filter.small_cap.confirm") == 5 and config.tune.dtype == "float64"   # untouched
    # what no value changed is shared, not copied
    assert trial.data is config.data and trial.costs is config.costs
    assert trial.filter["eth_btc"] is config.filter["eth_btc"]
    assert trial.strategy.path == config.strategy.path


def test_a_point_in_time_basket_takes_its_declared_defaults():
    assert PointInTime.of_table({}) == PointInTime() == PointInTime.of_table(load_config().universe)
    assert PointInTime().missing == "cash" and PointInTime().top == 0 and "USDT" in PointInTime().exclude
    assert set(universe_schema()) >= {f.name for f in dataclasses.fields(BasketKeys)}
    with pytest.raises(ConfigError, match="universe.missing: 'renormalize' is not allowed: must be one of cash, "
                                          "renormalise \\(did you mean 'renormalise'\\?\\)"):
        load_config(overrides=['universe.missing="renormalize"'])


def test_the_fixed_sections_keys_are_their_fields():
    assert set(SCHEMA["tune"]) == {f.name for f in dataclasses.fields(TuneSettings)}
    assert set(SCHEMA["data"]) == {f.name for f in dataclasses.fields(DataSettings)}
    assert set(SCHEMA["costs"]) == {f.name for f in dataclasses.fields(Costs)}
    assert all(isinstance(rule, Rule) for rule in SCHEMA["tune"].values())


@pytest.mark.parametrize("override, says", [
    ('tune.method="gird"', "tune.method: 'gird' is not allowed: must be one of grid, random, optuna (did you mean 'grid'?)"),
    ('tune.window="rolled"', "(did you mean 'rolling'?)"),
    ('costs.fill="opne"', "costs.fill: 'opne' is not allowed: must be one of open, close (did you mean 'open'?)"),
    ("costs.cash=0", "costs.cash: 0.0 is not allowed: must be positive"),
    ("tune.blocks=5", "tune.blocks: 5 is not allowed: must be an even number >= 2"),
])
def test_a_fields_rule_checks_its_key(override, says):
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[override])
    assert says in str(info.value) and len(str(info.value).splitlines()) == 1


def test_a_table_compares_and_hashes_by_value():
    a, b = Table({"x": 1, "y": Table({"z": (1, 2)})}), Table({"y": Table({"z": (1, 2)}), "x": 1})
    assert a == b and hash(a) == hash(b) and a == {"x": 1, "y": {"z": (1, 2)}}
    assert a != Table({"x": 2, "y": Table({"z": (1, 2)})})
    assert RunConfig.__dataclass_params__.frozen
