"""Loading, validation, calendar alignment and Backtrader feeds of price data."""
from .alignment import asof, master_clock, on_clock
from .btfeeds import AsOfData, CloseInstantData, ListedData, bt_timeframe
from .errors import CanaryError, ConfigError, DataError
from .library import SHIPPED_DIR, DataLibrary
from .loading import PriceSeries, load_csv, normalise, utc_instant

__all__ = [
    "AsOfData", "CanaryError", "CloseInstantData", "ConfigError", "DataError", "DataLibrary",
    "ListedData", "PriceSeries", "SHIPPED_DIR", "asof", "bt_timeframe", "load_csv",
    "master_clock", "normalise", "on_clock", "utc_instant",
]
