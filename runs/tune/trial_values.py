"""A trial's values, checked once per distinct value against the declared rules, and set into a
validated configuration without re-validating the rest of it."""
from canary.strategies.classpath import load_strategy

from ..config import check_key, declared_rules, with_values


class TrialValues:
    """A trial's values checked once per distinct (key, value) against the configuration's rules
    (as `runs.config.with_values` checks them) and set into a configuration without
    re-validating the rest of it: a trial's configuration costs a few dict copies."""

    def __init__(self, config):
        self.config = config
        self.seen = {}   # (key, repr(value)) -> the value as the configuration holds it
        self.rules = {}  # key -> its declared rule (None: checked by `with_values` every time)

    def checked(self, setting):
        """{key: value} as the configuration reads it (2 -> 2.0 for a float key); a value its
        rule refuses raises the ConfigError that `with_values` raises."""
        return {key: self._value(key, value) for key, value in setting.items()}

    def _value(self, key, value):
        """A [strategy] or [filter] key's later values are checked by its own declared rule (no
        check of the configuration relates them to other keys); its first value, and every value
        of any other key, by `with_values`, the whole configuration's check."""
        memo = (key, repr(value))
        if memo in self.seen:
            return self.seen[memo]
        if self.rules.get(key) is not None:
            self.seen[memo] = check_key(key, self.rules[key], value)
            return self.seen[memo]
        *path, name = key.split(".")
        table = with_values(self.config, {key: value}, space=False)
        for part in path:
            table = table[part]
        self.seen[memo] = table[name]
        if key not in self.rules:
            self.rules[key] = declared_rules(load_strategy(self.config["strategy"]["class"])).get(key)
        return self.seen[memo]


def apply_trial(config, values):
    """A copy of a validated `config` with already checked `values` ({'section.key': value})
    set; only the tables on each key's path are copied."""
    out = dict(config)
    for key, value in values.items():
        *path, name = key.split(".")
        table = out
        for part in path:
            table[part] = dict(table[part])
            table = table[part]
        table[name] = value
    return out
