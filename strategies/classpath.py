"""A strategy named by its class path, "package.module:ClassName", as a configuration gives it."""
import importlib
import inspect

import backtrader as bt

from canary.errors import ConfigError, suggest

DEFAULT_STRATEGY = "canary.strategies:SmallCapRotation"


def class_path(cls):
    """The "package.module:ClassName" that `load_strategy` turns back into `cls`."""
    return f"{cls.__module__}:{cls.__qualname__}"


def load_strategy(path, key="strategy.class"):
    """The Backtrader strategy class at `path`; a ConfigError naming `key` and what to fix if
    the path is malformed, the module does not import, or it has no such strategy class."""
    module_name, sep, name = str(path).partition(":")
    if not sep or not module_name.strip() or not name.strip():
        raise ConfigError(f"{key}: '{path}' is not a class path: write \"package.module:ClassName\"")
    try:
        module = importlib.import_module(module_name.strip())
    except ModuleNotFoundError as exc:
        if exc.name and module_name.strip().startswith(exc.name):
            raise ConfigError(f"{key}: no module '{exc.name}' (from '{path}'): install it, or put the folder "
                              f"holding it on PYTHONPATH") from None
        raise ConfigError(f"{key}: module '{module_name}' imports '{exc.name}', which is not installed") from None
    except Exception as exc:  # the user's module fails while importing: say where, in one line
        raise ConfigError(f"{key}: importing '{module_name}' failed: {type(exc).__name__}: {exc}") from None
    cls = module
    for part in name.strip().split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            found = [n for n, v in vars(module).items() if inspect.isclass(v) and issubclass(v, bt.Strategy)]
            raise ConfigError(f"{key}: module '{module_name}' has no '{name}'{suggest(name, found)}")
    if not (inspect.isclass(cls) and issubclass(cls, bt.Strategy)):
        raise ConfigError(f"{key}: '{path}' is not a Backtrader strategy (a subclass of backtrader.Strategy)")
    return cls
