"""Loading, validation, calendar alignment and Backtrader feeds of price data.

The names below are imported on first use, so that `canary --help` or a configuration
mistake does not wait for pandas, Backtrader and the exchange calendars to load.
"""
import importlib

_EXPORTS = {
    "asof": "alignment", "master_clock": "alignment", "on_clock": "alignment",
    "AsOfData": "btfeeds", "CloseInstantData": "btfeeds", "ListedData": "btfeeds", "bt_timeframe": "btfeeds",
    "SHIPPED_DIR": "library", "DataLibrary": "library",
    "PriceSeries": "loading", "load_csv": "loading", "normalise": "loading", "utc_instant": "loading",
    "Market": "market", "Universe": "market", "load_market": "market",
    "SourcedLibrary": "sourced",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'canary.feeds' has no attribute '{name}'")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return __all__
