"""Loading, validation, calendar alignment and Backtrader feeds of price data."""
from .alignment import asof, master_clock, on_clock
from .btfeeds import AsOfData, CloseInstantData, ListedData, bt_timeframe
from .errors import CanaryError, ConfigError, DataError
from .library import SHIPPED_DIR, DataLibrary
from .loading import PriceSeries, load_csv, normalise, utc_instant
from .market import Market, Universe, load_market
from .sources import SourcedLibrary

__all__ = [
    "AsOfData", "CanaryError", "CloseInstantData", "ConfigError", "DataError", "DataLibrary",
    "ListedData", "Market", "PriceSeries", "SHIPPED_DIR", "SourcedLibrary", "Universe", "asof",
    "bt_timeframe", "load_csv", "load_market", "master_clock", "normalise", "on_clock", "utc_instant",
]
