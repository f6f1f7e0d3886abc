"""Strict parameters: a misspelt parameter name is refused with the closest right one."""
import backtrader as bt

from canary.feeds.errors import ConfigError, suggest


class ParameterError(ConfigError, TypeError):
    """An unknown parameter given to an indicator or strategy."""


def check_params(cls, kwargs):
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
