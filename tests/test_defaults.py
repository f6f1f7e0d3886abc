"""One source of defaults: the shipped configuration is the classes' own defaults (the
[strategy] section: tests/test_any_strategy.py).

`runs/default.toml` documents every key for users; the values themselves belong to the
indicator and strategy classes (and the declared signals' thresholds). These tests keep the
two equal, so `run_backtest(market, SmallCapRotation)` from Python is the default run.
"""
import dataclasses

from canary.feeds.market import Universe
from canary.indicators import signals
from canary.runs.config import DEFAULT_CONFIG, FILTER_RULES, filter_schema, read_toml
from canary.strategies import Costs

SHIPPED = read_toml(DEFAULT_CONFIG)


def test_filter_sections_are_the_indicators_and_declared_thresholds():
    assert SHIPPED["filter"] == signals.defaults()


def test_costs_and_universe_are_the_engines_defaults():
    assert SHIPPED["costs"] == dataclasses.asdict(Costs())
    u = Universe()
    assert SHIPPED["universe"] == {"btc": u.btc, "eth": u.eth, "alts": list(u.alts), "small_cap": u.small_cap,
                                   "large_cap": u.large_cap}


def test_every_configured_key_has_a_rule_and_no_rule_is_stale():
    schema = filter_schema()
    for section, rules in FILTER_RULES.items():
        assert set(rules) == set(schema[section]), section
