"""Indicators whose lines are one array function of their inputs' whole history.

The arithmetic of a signal lives in a plain function of numpy arrays in its indicator's
file (whole-history arrays in, whole-history arrays out; see `canary.indicators.rolling`).
`ArrayIndicator` runs that function in both Backtrader modes: vectorised (``once``) over
the preloaded arrays, and bar by bar (``next``) over the last ``lookback`` bars, taking the
last row. The functions are causal, with a memory of ``lookback`` bars, and add up their
windows in time order, so the two modes give the same values bit for bit.
"""
from array import array

import numpy as np

from canary.errors import ConfigError
from canary.feeds.windows import feed_interval, window_bars, window_rule
from canary.params import implied_rules

from .once_per_bar import OncePerBarIndicator


def in_bars(cls, params, interval):
    """`params` of the indicator class `cls` with its ``windows`` turned into bar counts of
    `interval` (durations) or left as given (bar counts)."""
    params = dict(params)
    for name in getattr(cls, "windows", ()):
        params[name] = window_bars(params[name], interval, f"{cls.__name__}.{name}")
    return params


class ArrayIndicator(OncePerBarIndicator):
    """Base class. A subclass declares:

    * ``function``: the array function (``staticmethod``), called with one array per entry
      of ``inputs`` and the indicator's parameters as keywords; returns one array per line;
    * ``inputs``: the field read from each feed, in order (``"close"``, ``"volume"``);
      with ``basket = True`` the last field is read from every remaining feed, as the
      columns of a 2-D array (bars x coins);
    * ``windows``: the parameters that are windows in time: a count of bars or a duration
      ("30d"), turned into bars of the first feed's interval (see `canary.feeds.windows`);
    * ``lookback(p)``: how many bars the last value depends on (the minimum period).
    """

    function = None
    inputs = ("close",)
    basket = False
    windows = ()

    def __init_subclass__(cls, **kwargs):
        """A window of ``windows`` without a rule of its own is checked as one: bars or a duration."""
        super().__init_subclass__(**kwargs)
        implied_rules(cls, {name: window_rule() for name in cls.windows})

    def lookback(self, p):
        raise NotImplementedError

    def __init__(self):
        needed = len(self.inputs) - (1 if self.basket else 0)
        if len(self.datas) < needed:
            raise ConfigError(f"{type(self).__name__}: needs {needed} feed(s) ({', '.join(self.inputs)}), "
                              f"got {len(self.datas)}")
        self._params = self.function_params()
        self._lookback = int(self.lookback(self._params))
        self.addminperiod(self._lookback)

    def function_params(self):
        """The keyword arguments of `function`: the indicator's parameters, windows in bars."""
        params = dict(self.p._getkwargs())
        return in_bars(type(self), params, feed_interval(self.datas[0])) if self.windows else params

    def _read(self, feed, field, size):
        line = getattr(feed.lines, field)
        return np.asarray(line.array if size is None else line.get(size=size), dtype=float)

    def arrays(self, size=None):
        """The inputs of `function`: the whole history (`size` None) or the last `size` bars."""
        out = []
        for k, field in enumerate(self.inputs):
            if self.basket and k == len(self.inputs) - 1:
                columns = [self._read(d, field, size) for d in self.datas[k:]]
                rows = size if size is not None else len(self.datas[0].lines[0].array)
                out.append(np.column_stack(columns) if columns else np.empty((rows, 0)))
            else:
                out.append(self._read(self.datas[k], field, size))
        return out

    def _refuse_other_clocks(self, times):
        first = times[0]
        for feed, other in zip(self.datas[1:], times[1:], strict=True):
            if len(other) != len(first) or not np.array_equal(other, first):
                raise ConfigError(f"{type(self).__name__}: feeds on one crypto clock, bar for bar: "
                                  f"'{feed._name or 'a feed'}' has other bars than '{self.datas[0]._name or 'the first'}'"
                                  "; use ListedData.on_clock")

    def next_bar(self):
        self._refuse_other_clocks([np.array([len(d), d.datetime[0]]) for d in self.datas])
        values = self.function(*self.arrays(min(len(self), self._lookback)), **self._params)
        for line, column in zip(self.lines, values, strict=True):
            line[0] = column[-1]

    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        pass

    def once(self, start, end):
        self._refuse_other_clocks([np.asarray(d.datetime.array) for d in self.datas])
        values = self.function(*self.arrays(), **self._params)
        for line, column in zip(self.lines, values, strict=True):
            line.array[:end] = array("d", np.ascontiguousarray(column[:end], dtype=float).tobytes())
