"""Strict parameters: a misspelt parameter name is refused with the closest right one.

One mechanism for indicators and strategies alike: `check_params` compares the keyword
arguments with the class's Backtrader ``params``; `Indicator` and `Strategy` are the
Backtrader base classes with that check done when an instance is made.

A class's ``params`` are also the one declaration of its configuration: `param_schema` turns
them into the type (that of the default) and rule of each key, the rule given by the class
in ``param_rules`` ({name: Rule}) where a type alone says too little.
"""
from typing import Any, Callable, NamedTuple

import backtrader as bt

from canary.errors import ConfigError, suggest


class ParameterError(ConfigError, TypeError):
    """An unknown parameter given to an indicator or strategy."""


def check_params(cls, kwargs):
    """Raise ParameterError naming the first key of `kwargs` that `cls.params` does not declare."""
    known = cls.params._getkeys()
    for name in kwargs:
        if name not in known:
            raise ParameterError(f"{cls.__name__}: unknown parameter '{name}'{suggest(name, known)}")


class Rule(NamedTuple):
    """What a parameter's value must be: `test(value)` is true, as `says` puts it in words.
    ``kind``: the accepted type(s), if not that of the parameter's default."""

    test: Callable[[Any], bool]
    says: str
    kind: Any = None


def _kind(default):
    if isinstance(default, bool):
        return bool
    if isinstance(default, (int, float, str)):
        return type(default)
    if isinstance(default, (list, tuple)):
        return list
    return object  # None or an object a configuration cannot spell: any value


def param_defaults(cls, skip=()):
    """{name: default} of `cls`'s params (its bases' included), without the names in `skip`."""
    return {name: default for name, default in zip(cls.params._getkeys(), cls.params._getdefaults(), strict=True)
            if name not in skip}


def param_schema(cls, skip=()):
    """{name: (type, test or None, what the test says)} of `cls`'s params, without `skip`."""
    rules = {}
    for klass in reversed(cls.__mro__):
        rules.update(vars(klass).get("param_rules", {}))
    schema = {}
    for name, default in param_defaults(cls, skip).items():
        rule = rules.get(name)
        kind = rule.kind if rule is not None and rule.kind is not None else _kind(default)
        schema[name] = (kind, rule.test, rule.says) if rule is not None else (kind, None, "")
    return schema


class StrictIndicatorMeta(type(bt.Indicator)):
    def donew(cls, *args, **kwargs):
        check_params(cls, kwargs)
        return super().donew(*args, **kwargs)


class Indicator(bt.Indicator, metaclass=StrictIndicatorMeta):
    """A Backtrader indicator that refuses unknown parameters (with a suggestion)."""


class StrictStrategyMeta(type(bt.Strategy)):
    def donew(cls, *args, **kwargs):
        check_params(cls, kwargs)
        return super().donew(*args, **kwargs)


class Strategy(bt.Strategy, metaclass=StrictStrategyMeta):
    """A Backtrader strategy that refuses unknown parameters (with a suggestion)."""
