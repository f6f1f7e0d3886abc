"""`universe.alts_top` tuned: each trial runs on the point-in-time market of its own basket size,
on both engines, and a process keeps a bounded number of markets."""
import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.runs.config import load_config
from canary.runs.tune import trial_returns
from canary.runs.tune.tuning import fast_screen

PERIOD = ["data.start=2021-06-01", "data.end=2022-03-31"]


@pytest.mark.parametrize("space, says", [
    ('{ "universe.rankings" = ["a", "b"] }', "only [filter] and [strategy] keys and universe.alts_top can be tuned"),
    ('{ "universe.alts_tpo" = [0, 5] }', "did you mean 'universe.alts_top'"),
    ('{ "universe.alts_top" = [-1, 5] }', "tune.space.universe.alts_top: "),
])
def test_only_the_basket_size_of_the_universe_is_tunable(space, says):
    with pytest.raises(ConfigError) as err:
        load_config(overrides=[f"tune.space={space}"])
    assert says in str(err.value) and len(str(err.value).splitlines()) == 1


def test_trials_of_several_basket_sizes_screen_as_their_backtrader_runs():
    config = load_config(None, PERIOD)
    trials = [{"universe.alts_top": 5, "strategy.weighting": "equal"},
              {"universe.alts_top": 0, "strategy.weighting": "equal"},
              {"universe.alts_top": 5, "strategy.weighting": "momentum"}]
    trial_returns._LOADED.clear()
    fast = fast_screen(config, trials)
    assert len(trial_returns._LOADED) == 2          # one market per basket size, loaded once
    reference = trial_returns.screen(config, trials)
    assert list(fast.columns) == list(range(len(trials)))
    pd.testing.assert_frame_equal(fast, reference, check_freq=False, check_names=False, rtol=1e-9)
    growth = (1 + fast).prod()
    assert abs(growth[0] - growth[1]) > 1e-3        # the top-5 basket is not the fixed list


def test_a_process_keeps_only_its_last_data_setups():
    kept = trial_returns.Kept(size=2)
    made = []
    for key in ("a", "b", "a", "c", "a", "b"):
        kept.get_or_make(key, lambda k=key: made.append(k) or k.upper())
    assert made == ["a", "b", "c", "b"]             # "a" stayed as the most recently used; "b" was dropped
    assert list(kept) == ["a", "b"] and kept["a"] == "A"
