"""Strict parameters: one declaration per parameter, checked wherever a value is given.

A class's Backtrader ``params`` give each parameter's default; its ``param_rules`` ({name:
`Rule`}) what a value must be where the default's type says too little (choices, bounds, a
window's spellings) and, where it makes sense, the parameter's default search range (for
``--space KEY=auto``). `param_schema` reads the two as one `Rule` per parameter, with its type.

The same rules check a configuration file (`canary.runs.config`) and a Python call:
`Indicator` and `Strategy` are the Backtrader base classes whose instances check their keyword
arguments (`check_call`: a misspelt name or a value its rule refuses is a `ParameterError` in
one line, with the closest right name or choice), as `run_backtest` and `run_fast` do at entry.
"""
import dataclasses
import math
import numbers
from typing import Any, Callable, NamedTuple

import backtrader as bt

from canary.errors import ConfigError, suggest


class ParameterError(ConfigError, TypeError):
    """A parameter an indicator or strategy does not declare, or a value its rule refuses."""


class Rule(NamedTuple):
    """What a parameter's value must be: `test(value)` is true (None: any value of its type),
    as `says` puts it in words. ``kind``: the accepted type(s), if not that of the parameter's
    default; ``choices``: the values a misspelt one is matched with (`one_of`); ``space``: the
    default search range of ``--space KEY=auto``, as [tune.space] spells one ([values] or
    {low, high, step}); None: none declared."""

    test: Callable[[Any], bool] | None
    says: str = ""
    kind: Any = None
    choices: tuple = ()
    space: Any = None

    @classmethod
    def one_of(cls, choices, space=None):
        """The rule of a parameter whose value is one of `choices`."""
        choices = tuple(choices)
        return cls(lambda v: v in choices, f"one of {', '.join(map(str, choices))}", choices=choices, space=space)

    def searched(self, space):
        """This rule with `space` as the parameter's default search range."""
        return self._replace(space=space)


def searched(space):
    """The rule of a parameter its type alone checks, with a default search range."""
    return Rule(None, space=space)


def names(value):
    """True if `value` (a list) holds only non-empty strings: symbols, files or folders."""
    return all(isinstance(v, str) and v for v in value)


def name_or_names(value):
    """True if `value` is one string (empty: none), or a list `names` accepts."""
    return isinstance(value, str) or names(value)


def setting(kind, test=None, says="", choices=(), **field):
    """A dataclass field of a configuration section whose value is of `kind` and passes `test`
    (as `says` puts it), or is one of `choices` (a misspelt one gets the closest): its `Rule`,
    read by `field_rules`; `field` as `dataclasses.field` takes it (a ``default``, or none where
    the section's values come from a file)."""
    rule = Rule.one_of(choices)._replace(kind=kind) if choices else Rule(test, says, kind)
    return dataclasses.field(metadata={"rule": rule}, **field)


def field_rules(section):
    """{name: Rule} of the fields of the dataclass `section`, declared with `setting`."""
    return {f.name: f.metadata["rule"] for f in dataclasses.fields(section)}


def check_params(cls, kwargs):
    """Raise ParameterError naming the first key of `kwargs` that `cls.params` does not declare."""
    known = cls.params._getkeys()
    for name in kwargs:
        if name not in known:
            raise ParameterError(f"{cls.__name__}: unknown parameter '{name}'{suggest(name, known)}")


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


def implied_rules(cls, rules):
    """`rules` ({name: Rule}) for the parameters of `cls` that have no rule of their own in it or
    its bases, set as its ``param_rules`` (for a base class's ``__init_subclass__``: the windows
    a subclass declares, say, take the rule of a window)."""
    given = {name for klass in cls.__mro__ for name in vars(klass).get("param_rules", {})}
    implied = {name: rule for name, rule in rules.items() if name not in given}
    if implied:
        cls.param_rules = dict(implied, **vars(cls).get("param_rules", {}))


def param_schema(cls, skip=()):
    """{name: Rule, its ``kind`` the accepted type(s)} of `cls`'s params, without `skip`: the
    rules of ``param_rules`` (a subclass's over its bases'), the type that of the default."""
    rules = {}
    for klass in reversed(cls.__mro__):
        rules.update(vars(klass).get("param_rules", {}))
    schema = {}
    for name, default in param_defaults(cls, skip).items():
        rule = rules.get(name, Rule(None))
        schema[name] = rule if rule.kind is not None else rule._replace(kind=_kind(default))
    return schema


def _is(value, kind):
    """True if `value` is of `kind` as a parameter reads it (a whole number is a float too)."""
    if isinstance(value, bool) or kind is bool:
        return kind in (bool, object) and isinstance(value, bool)
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real)
    if kind is list:
        return isinstance(value, (list, tuple))
    return isinstance(value, kind)


def check_value(where, rule, value):
    """`value` as the parameter holds it (a whole number given for a float: that float), or a
    ParameterError naming `where`, the value and what `rule` accepts (for a misspelt choice,
    the closest one)."""
    kinds = rule.kind if isinstance(rule.kind, tuple) else (rule.kind or object,)
    must = f": must be {rule.says}" if rule.says else ""
    if not any(_is(value, k) for k in kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ParameterError(f"{where}: expected {names}, got {type(value).__name__} {value!r}{must}")
    if float in kinds and int not in kinds:
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"{where}: must be a finite number, got {value!r}")
    try:
        ok = rule.test is None or rule.test(value)
    except ParameterError as exc:   # a table of settings (`filter`): said from the parameter's name on
        raise ParameterError(f"{where.rpartition('.')[0]}: {exc}") from None
    if not ok:
        hint = suggest(value, rule.choices) if isinstance(value, str) and rule.choices else ""
        raise ParameterError(f"{where}: {value!r} is not allowed{must}{hint}")
    return value


def check_call(cls, kwargs):
    """The keyword arguments of a call of `cls`, checked: every name declared, every value one
    its rule accepts (a ParameterError naming the class, the parameter, the value and the rule)."""
    check_params(cls, kwargs)
    schema = param_schema(cls)
    for name, value in kwargs.items():
        check_value(f"{cls.__name__}.{name}", schema[name], value)


class StrictIndicatorMeta(type(bt.Indicator)):
    def donew(cls, *args, **kwargs):
        check_call(cls, kwargs)
        return super().donew(*args, **kwargs)


class Indicator(bt.Indicator, metaclass=StrictIndicatorMeta):
    """A Backtrader indicator that refuses unknown parameters and values its rules refuse."""


class StrictStrategyMeta(type(bt.Strategy)):
    def donew(cls, *args, **kwargs):
        check_call(cls, kwargs)
        return super().donew(*args, **kwargs)


class Strategy(bt.Strategy, metaclass=StrictStrategyMeta):
    """A Backtrader strategy that refuses unknown parameters and values its rules refuse."""
