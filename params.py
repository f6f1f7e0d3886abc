"""Strict parameters: a misspelt parameter name is refused with the closest right one.

One mechanism for indicators and strategies alike: `check_params` compares the keyword
arguments with the class's Backtrader ``params``; `Indicator` and `Strategy` are the
Backtrader base classes with that check done when an instance is made.
"""
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
