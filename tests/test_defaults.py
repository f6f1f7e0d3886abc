"""One source of defaults: the shipped configuration is the classes' own defaults (the
[strategy] section: tests/test_any_strategy.py).

`runs/default.toml` documents every key for users; the values themselves belong to the
indicator and strategy classes (and the declared signals' thresholds). These tests keep the
two equal, so `run_backtest(market, SmallCapRotation)` from Python is the default run.
"""
import dataclasses

from canary.feeds.market import Universe
from canary.feeds.pointintime import PointInTime, roles_table
from canary.indicators import signals
from canary.runs.config import DEFAULT_CONFIG, filter_schema, read_toml
from canary.strategies import Costs

SHIPPED = read_toml(DEFAULT_CONFIG)


def test_filter_sections_are_the_indicators_and_declared_thresholds():
    assert SHIPPED["filter"] == signals.defaults()


def test_costs_and_universe_are_the_engines_defaults():
    assert SHIPPED["costs"] == dataclasses.asdict(Costs())
    u = Universe()
    assert roles_table(SHIPPED["universe"]) == {"btc": u.btc, "eth": u.eth, "alts": list(u.alts),
                                                "small_cap": u.small_cap, "large_cap": u.large_cap}
    pit = PointInTime()   # the point-in-time keys default.toml gives (exclude is documented, not listed)
    assert {k: v for k, v in SHIPPED["universe"].items() if k not in u.__dict__} == \
        {"alts_top": pit.top, "rankings": "", "missing": pit.missing}


def test_the_filter_schema_is_the_declarations():
    schema = filter_schema()
    assert {s: set(keys) for s, keys in schema.items()} == {s: set(k) for s, k in signals.defaults().items()}
    # crypto windows take durations or bars; equity windows sessions; thresholds their rule
    rule = schema["eth_btc"]["period"]
    assert rule.kind == (int, str) and rule.test("30d") and rule.test(30) and not rule.test(0) \
        and not rule.test("30x")
    rule = schema["small_cap"]["period"]
    assert rule.kind is int and not rule.test(0) and "sessions" in rule.says
    rule = schema["failed_breakouts"]["max_rate"]
    assert rule.kind is float and rule.test(0.5) and not rule.test(1.5)
    assert not schema["breadth"]["needed"].test(3) and schema["breadth"]["needed"].test(2)
