"""One source of defaults: the classes' declarations ([filter]: the indicators and signals;
[strategy]: the class's params; [universe]: the roles; [costs]: `Costs`).

`runs/default.toml` documents every key for users and holds the shipped run's own settings
([data], [tune]); the loader starts from the declarations and reads default.toml over them, so
a configuration (default.toml included) may omit any key. What default.toml shows of a declared
key is checked against the declaration, so the documentation cannot drift from the code.
"""

import pytest

from canary.indicators import signals
from canary.params import Rule
from canary.runs import config as config_module
from canary.runs.config import DEFAULT_CONFIG, declared_defaults, filter_schema, load_config, read_toml, validate

SHIPPED = read_toml(DEFAULT_CONFIG)
DECLARED = ("universe", "filter", "strategy", "costs")


def _keys(table, where=()):
    for key, value in table.items():
        if isinstance(value, dict) and value and where + (key,) != ("tune", "space"):
            yield from _keys(value, where + (key,))
        else:
            yield where + (key,)


def test_what_default_toml_shows_of_a_declared_key_is_the_declaration():
    declared = declared_defaults()
    shown = [(path, SHIPPED, declared) for path in _keys({s: SHIPPED[s] for s in DECLARED})]
    assert len(shown) > 40
    for path, shipped, want in shown:
        for part in path:
            shipped, want = shipped[part], want[part]
        assert shipped == want, ".".join(path)


def test_default_toml_may_omit_every_declared_key(tmp_path, monkeypatch):
    """The declarations are the defaults: default.toml without [universe], [filter], [strategy]
    and [costs] loads to the same configuration."""
    full = load_config()
    bare = tmp_path / "default.toml"
    sections = DEFAULT_CONFIG.read_text().split("\n[")
    bare.write_text("\n[".join(s for s in sections if not s.startswith(("universe]", "filter.", "strategy]", "costs]"))))
    assert set(read_toml(bare)) == {"data", "sources", "tune"}
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", bare)
    assert load_config() == full


def test_a_configuration_may_omit_any_key():
    full = load_config()
    for path in _keys(full.as_dict()):
        partial = full.as_dict()
        table = partial
        for part in path[:-1]:
            table = table[part]
        del table[path[-1]]
        assert validate(partial) == full, ".".join(path)
    assert validate({}) == full


def test_the_shipped_defaults_must_be_complete(monkeypatch):
    """A key neither declared nor in default.toml is a bug, said as such (not filled in a loop)."""
    monkeypatch.setitem(config_module.SCHEMA["costs"], "margin", Rule(None, kind=float))
    with pytest.raises(config_module.ConfigError, match="default.toml: missing key costs.margin"):
        load_config()


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
