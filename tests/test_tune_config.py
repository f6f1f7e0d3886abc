"""The [tune] section, its flags and the search space: checked before any work."""
import math

import pytest
from clirun import assert_user_error, main

from canary.errors import ConfigError
from canary.runs.cli import _tune_config, parser
from canary.runs.config import load_config
from canary.runs.settings import plain
from canary.runs.tune.search_space import OptunaSearch, grid_trials, parse_space, random_trials


def _flags(*args):
    return _tune_config(parser().parse_args(["tune", *args]))


def test_the_shipped_configuration_tunes_something_useful():
    t = load_config().tune
    assert t.scheme == "walk-forward" and t.objective == "sharpe" and t.rerun == 5
    assert len(grid_trials(t.dimensions)) >= 4


def test_flags_set_the_tune_keys():
    t = _flags("--grid", "filter.small_cap.confirm=3,5", "--split", "2022-01-01", "--objective", "calmar",
               "--max-drawdown", "0.6", "--seed", "7").tune
    assert plain(t.space) == {"filter.small_cap.confirm": [3, 5]}  # --grid replaces the shipped space
    assert (t.scheme, t.split, t.objective, t.max_drawdown, t.seed) == ("split", "2022-01-01", "calmar", 0.6, 7)
    t = _flags("--space", 'filter.small_cap.hysteresis={low=0.0, high=0.05, distribution="uniform"}', "--method", "random",
               "--anchored", "--train", "1y", "--test", "13w").tune
    assert plain(t.space) == {"filter.small_cap.hysteresis": {"low": 0.0, "high": 0.05, "distribution": "uniform"}}
    assert (t.method, t.window, t.train, t.test) == ("random", "anchored", "1y", "13w")


@pytest.mark.parametrize("override, says", [
    ("tune.objectve=\"sharpe\"", "did you mean 'objective'"),
    ("tune.objective=\"luck\"", "tune.objective"),
    ("tune.blocks=5", "tune.blocks"),
    ("tune.train=\"2 years\"", "tune.train"),
    ("tune.space={ \"filter.small_cap.confrim\" = [2, 3] }", "did you mean 'confirm'"),
    ("tune.space={ \"costs.fee_bp\" = [0, 10] }", "only [filter] and [strategy]"),
    ("tune.space={ \"filter.small_cap.confirm\" = [0, 3] }", "tune.space.filter.small_cap.confirm: 0 is not allowed"),
    ("tune.space={ \"filter.small_cap.mode\" = [\"ma\", \"moving\"] }", "tune.space.filter.small_cap.mode"),
    ("tune.space={ \"filter.small_cap.period\" = {low = 50, high = 200, stp = 50} }", "did you mean 'step'"),
    ("tune.space={ \"filter.small_cap.period\" = {low = 50, high = 200} }",
     "tune.space.filter.small_cap.period: a range needs a step (every value from low to high by step) or a "
     "distribution (uniform, log-uniform, integer), e.g. {low = 50, high = 200, step = 1}"),
    ("tune.space={ \"filter.small_cap.period\" = {low = 5, high = 20, distribution = \"integr\"} }", "did you mean 'integer'"),
    ("tune.space={ \"filter.alt_volume.sideways_band\" = {low = 0.0, high = 0.1, distribution = \"log-uniform\"} }", "low > 0"),
    ("tune.space={ \"filter.small_cap.confirm\" = [] }", "empty"),
])
def test_tune_mistakes_name_the_key(override, says):
    with pytest.raises(ConfigError, match=None) as err:
        load_config(overrides=[override])
    assert says in str(err.value) and len(str(err.value).splitlines()) == 1


def test_a_message_that_names_where_the_value_was_given_is_not_led_by_it_twice():
    with pytest.raises(ConfigError) as err:
        load_config(settings=[("tune", "space", {"filter.small_cap.confirm": {"low": 1, "high": 9}})])
    assert str(err.value).startswith("tune.space.filter.small_cap.confirm: a range needs a step")
    with pytest.raises(ConfigError) as err:
        load_config(overrides=['tune.blocks=5'])
    assert str(err.value).startswith("--set tune.blocks=5: tune.blocks: ")


def test_a_split_needs_its_date():
    with pytest.raises(ConfigError, match="tune.split"):
        load_config(overrides=['tune.scheme="split"', 'tune.split=""'])


def test_space_forms():
    dims = parse_space({"filter": {"small_cap": {"period": {"low": 50, "high": 200, "step": 50}}},
                        "filter.small_cap.hysteresis": {"low": 0.0, "high": 0.05, "step": 0.01},
                        "strategy.defensive": ["cash", "btc"]})
    assert [d.key for d in dims] == ["filter.small_cap.period", "filter.small_cap.hysteresis", "strategy.defensive"]
    assert dims[0].values == (50, 100, 150, 200)
    assert dims[1].values == (0.0, 0.01, 0.02, 0.03, 0.04, 0.05)
    trials = grid_trials(dims)
    assert len(trials) == 4 * 6 * 2
    assert trials[:2] == [{"filter.small_cap.period": 50, "filter.small_cap.hysteresis": 0.0, "strategy.defensive": "cash"},
                          {"filter.small_cap.period": 50, "filter.small_cap.hysteresis": 0.0, "strategy.defensive": "btc"}]


def test_random_draws_are_seeded_distinct_and_within_bounds():
    dims = parse_space({"filter.small_cap.hysteresis": {"low": 0.001, "high": 0.1, "distribution": "log-uniform"},
                        "filter.small_cap.confirm": {"low": 1, "high": 10, "distribution": "integer"},
                        "strategy.defensive": ["cash", "btc"]})
    a = random_trials(dims, 50, seed=3)
    assert a == random_trials(dims, 50, seed=3) != random_trials(dims, 50, seed=4)
    assert len({repr(t) for t in a}) == 50
    assert all(0.001 <= t["filter.small_cap.hysteresis"] <= 0.1 and t["filter.small_cap.confirm"] in range(1, 11) for t in a)
    # log-uniform: about as many draws below the geometric middle (0.01) as above
    assert 15 <= sum(t["filter.small_cap.hysteresis"] < 0.01 for t in a) <= 35
    small = parse_space({"filter.small_cap.confirm": [2, 3, 4]})
    assert sorted(t["filter.small_cap.confirm"] for t in random_trials(small, 10, seed=1)) == [2, 3, 4]  # all there are


def test_optuna_with_the_same_seed_asks_the_same_trials():
    dims = parse_space({"filter.small_cap.hysteresis": {"low": 0.0, "high": 0.1, "distribution": "uniform"},
                        "filter.small_cap.confirm": {"low": 1, "high": 20, "distribution": "integer"}})

    def study(seed):
        search, asked = OptunaSearch(dims, seed), []
        for _ in range(4):
            batch = search.ask(8)
            asked += batch
            # a score that peaks at hysteresis 0.03, confirm 12
            search.tell([-(t["filter.small_cap.hysteresis"] - 0.03) ** 2 * 100 - abs(t["filter.small_cap.confirm"] - 12) for t in batch])
        return asked

    first = study(5)
    assert first == study(5) and first != study(6)
    # after three rounds TPE draws nearer the peak than its random start did
    distance = [abs(t["filter.small_cap.confirm"] - 12) for t in first]
    assert sum(distance[24:]) < sum(distance[:8])
    assert not any(math.isnan(t["filter.small_cap.hysteresis"]) for t in first)


@pytest.mark.parametrize("args, says", [
    (("--top", "-1"), "--top -1"),
    (("--top", "0"), "--top 0"),
    (("--grid", "filter.small_cap.confirm=3,5", "--count", "5"), "--count 5: a grid tries every combination"),
])
def test_flags_that_would_be_ignored_are_refused(args, says, tmp_path):
    proc = main("tune", *args, "--out", str(tmp_path / "out"))
    assert_user_error(proc, 2, says)
    assert not (tmp_path / "out").exists()


def test_auto_takes_the_declared_search_range():
    space = _flags("--space", "strategy.weighting=auto", "--space", "filter.small_cap.confirm=auto",
                   "--space", "strategy.eth_weight=auto").tune.space
    space = plain(space)
    assert space == {"strategy.weighting": ["equal", "inverse_vol", "momentum"],
                     "filter.small_cap.confirm": [2, 3, 5, 10],
                     "strategy.eth_weight": {"low": 0.0, "high": 1.0, "step": 0.25}}
    assert len(grid_trials(parse_space(space))) == 3 * 4 * 5
    # in a file, nested or dotted, beside keys given their values
    nested = load_config(settings=[("tune", "space", {"filter": {"small_cap": {"period": "auto", "distance": [0.0]}}})])
    assert plain(nested.tune.space) == {"filter": {"small_cap": {"period": {"low": 50, "high": 200, "step": 50},
                                                                "distance": [0.0]}}}


@pytest.mark.parametrize("key, says", [
    ("filter.small_cap.level", 'tune.space.filter.small_cap.level: "auto" needs a declared search range and '
                               "filter.small_cap.level declares none; give its values"),
    ("filter.small_cap.confrim", "is not a [filter] or [strategy] parameter (did you mean 'filter.small_cap.confirm'?)"),
])
def test_auto_without_a_declared_range_is_refused_before_any_work(key, says, tmp_path):
    proc = main("tune", "--space", f"{key}=auto", "--out", str(tmp_path / "out"))
    assert_user_error(proc, 2, says)
    assert not (tmp_path / "out").exists()
