"""When a strategy fails during its run: one line naming the strategy, the method and the error.

A user's strategy class (`[strategy] class`) is user code: an exception raised in it (in
``__init__``, ``next``, ``notify_order``, ...) is the user's to fix, and is said in one line with
the file and line it was raised at. So is an indicator asked for a window longer than the bars it
has, which Backtrader reports as an ``IndexError`` deep in its own code. Any other exception is a
bug of this package or of Backtrader and keeps its traceback.
"""
import inspect
import sysconfig
import traceback
from pathlib import Path

import backtrader as bt

from canary.errors import ConfigError

# Python's own modules and installed packages: not the user's code, even when the user's code called them.
_LIBRARIES = tuple({str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("stdlib", "purelib", "platlib")})


def _ours(module):
    return module.split(".")[0] in ("canary", "backtrader")


def _users(frame, modules):
    module = frame.f_globals.get("__name__", "")
    if module in modules:
        return True
    return not _ours(module) and not str(Path(frame.f_code.co_filename).resolve()).startswith(_LIBRARIES)


def explain(strategy, exc):
    """A ConfigError saying in one line where `strategy` (a class) failed with `exc`, or None
    when the failure is not the user's (a bug: the caller re-raises it)."""
    frames = [frame for frame, _ in traceback.walk_tb(exc.__traceback__)]
    lines = [line for _, line in traceback.walk_tb(exc.__traceback__)]
    modules = {c.__module__ for c in inspect.getmro(strategy) if not _ours(c.__module__)}
    user = [i for i, f in enumerate(frames) if _users(f, modules)]
    error = f"{type(exc).__name__}: {exc}"
    if user:
        method = frames[user[0]].f_code.co_name   # the method Backtrader or the engine called
        where = f"{Path(frames[user[-1]].f_code.co_filename).name}:{lines[user[-1]]}"
        return ConfigError(f"strategy {strategy.__name__}: {method} raised {error} ({where})")
    if isinstance(exc, IndexError):
        for f in frames:   # the outermost indicator short of bars: the one the strategy asked for
            indicator = f.f_locals.get("self")
            if isinstance(indicator, bt.Indicator) and indicator._minperiod > indicator.data.buflen():
                return ConfigError(f"strategy {strategy.__name__}: its indicator {type(indicator).__name__} needs "
                                   f"{indicator._minperiod:,} bars and the data have {indicator.data.buflen():,}; "
                                   "shorten its window or start the data earlier")
    return None
