"""The optional parts of the plugin and the packages each needs (setup.cfg's extras).

The core (`pip install smallcap-canary`) is the feeds, indicators and strategies on Backtrader,
`canary run` and `canary compare` with the tear sheet, and `canary study`. The rest comes with an extra:
``[live]`` fetches prices (`canary data fetch`, `[sources]`), ``[tune]`` is the screening engine
and its statistics (`--engine fast`, `canary tune`, `canary now`, `canary paper`),
``[cluster]`` runs a tune on a Dask cluster (`--scheduler`); ``[all]`` is every one.
"""
import importlib

from canary.errors import ConfigError

# extra -> the packages the code imports for it (their distributions' names in setup.cfg)
EXTRAS = {
    "live": ("yfinance", "ccxt"),
    "tune": ("numba", "optuna", "scipy", "threadpoolctl"),
    "cluster": ("distributed",),
}


class MissingExtra(ConfigError):
    """An optional package is not installed; the message names the extra that brings it."""


def extra_of(package):
    """The extra that brings `package` (an import name), or None."""
    return next((extra for extra, packages in EXTRAS.items() if package in packages), None)


def installed(package, needed_for):
    """Raise MissingExtra unless `package` can be imported (without importing it: a command
    checks before its work what it will need at the end)."""
    import importlib.util
    import sys

    blocked = package in sys.modules and sys.modules[package] is None   # Python's "not importable"
    if blocked or importlib.util.find_spec(package) is None:
        _missing(package, needed_for)


def _missing(package, needed_for):
    raise MissingExtra(f"{needed_for} needs {package}, which is not installed: "
                       f"pip install 'smallcap-canary[{extra_of(package)}]'")


def require(package, needed_for):
    """Import and return `package`, or raise MissingExtra saying which extra to install."""
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name != package.split(".")[0]:
            raise   # the package is there but something it needs is broken: not ours to hide
        _missing(package.split(".")[0], needed_for)
