"""A trial's values, checked once per distinct value against the declared rules, so that a
trial's configuration is the searched configuration with them set (`RunConfig.with_checked`),
without checking the rest of it again."""
from ..config import check_key, declared_rules, with_values


class TrialValues:
    """A trial's values checked once per distinct (key, value) against the configuration's rules
    (as `runs.config.with_values` checks them), to be set into the configuration without
    checking the rest of it again (`RunConfig.with_checked`: a few small copies)."""

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
        self.seen[memo] = with_values(self.config, {key: value}, space=False).value(key)
        if key not in self.rules:
            self.rules[key] = declared_rules(self.config.strategy.cls).get(key)
        return self.seen[memo]

