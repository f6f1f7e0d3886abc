"""Windows in time: a window given as a duration ("30d", "12h") or as a count of bars.

Crypto windows mean a span of time, so one configuration means the same on daily and on
4-hour bars: "30d" is 30 daily bars or 180 four-hour bars. A whole number stays a count of
bars of the series at hand (equity windows always count exchange sessions).
"""
import re

import backtrader as bt
import pandas as pd

from canary.errors import ConfigError
from canary.params import Rule

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.IGNORECASE)
UNITS = {"m": "min", "min": "min", "h": "h", "d": "D", "w": "W"}
SAYS = 'a whole number of bars or a duration such as "30d", "12h", "90min"'


def parse_window(value, name="window"):
    """A window as given: an int (bars) or a pandas Timedelta (a duration string)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = DURATION.match(value)
        if match:
            return pd.Timedelta(float(match.group(1)), UNITS[match.group(2).lower()])
    raise ConfigError(f"{name}: {value!r} is not {SAYS}")


def is_window(value, minimum=1):
    """True if `value` is a bar count of at least `minimum` or a duration (whose count of bars
    is known only with the bar interval)."""
    try:
        window = parse_window(value)
    except ConfigError:
        return False
    return not isinstance(window, int) or window >= minimum


def window_bars(value, interval, name="window", minimum=1):
    """`value` (bars or a duration) as a count of bars of `interval` (a Timedelta).

    A duration must be a whole number of bars: "36h" on daily bars is refused rather than
    rounded, since either rounding would change what the window means.
    """
    window = parse_window(value, name)
    if isinstance(window, pd.Timedelta):
        bars = window / pd.Timedelta(interval)
        if abs(bars - round(bars)) > 1e-9:
            raise ConfigError(f"{name}: {value!r} is not a whole number of {_label(interval)} bars")
        window = int(round(bars))
    if window < minimum:
        raise ConfigError(f"{name}: {value!r} is {window} bar(s) of {_label(interval)}: at least {minimum} needed")
    return window


def _label(interval):
    interval = pd.Timedelta(interval)
    hours = interval.total_seconds() / 3600
    return f"{hours / 24:g}-day" if hours % 24 == 0 else f"{hours:g}-hour" if hours >= 1 else \
        f"{interval.total_seconds() / 60:g}-minute"


def feed_interval(feed):
    """The bar interval a Backtrader feed declares (its timeframe and compression)."""
    units = {bt.TimeFrame.Minutes: "min", bt.TimeFrame.Days: "D", bt.TimeFrame.Weeks: "W",
             bt.TimeFrame.Seconds: "s"}
    unit = units.get(feed._timeframe)
    if unit is None:
        raise ConfigError(f"feed {feed._name or ''}: bar size {bt.TimeFrame.getname(feed._timeframe)} has no fixed "
                          "duration: give windows as bar counts")
    return pd.Timedelta(feed._compression, unit)


def session_count(value, name="window", minimum=1):
    """An equity window: a whole number of exchange sessions (a duration is refused: a
    session calendar has weekends and holidays, so a span of time is not a count)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name}: {value!r} counts equity sessions: give a whole number")
    if value < minimum:
        raise ConfigError(f"{name}: {value!r}: at least {minimum} session(s) needed")
    return value


def window_rule(minimum=1, more=""):
    """The configuration rule of a window parameter: bars or a duration (see `is_window`)."""
    return Rule(lambda v: is_window(v, minimum), f"at least {minimum} bar(s){more}, or a duration such as \"30d\"",
                kind=(int, str))


SESSIONS = Rule(lambda v: v >= 1, "a whole number of sessions >= 1")
