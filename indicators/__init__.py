"""Backtrader indicators of the small-cap risk-on filter and its crypto confirmations.

Each signal's arithmetic is a plain numpy function in its indicator's module (whole-history
arrays in and out); `signals` declares how they make the regime.
"""
from .alt_volume import AltVolumeHold, alt_volume_hold
from .ethbtc import EthBtcStrength, eth_btc_strength
from .failed_breakouts import BreakoutOutcomes, FailedBreakoutRate, breakout_outcomes, failed_breakout_rate
from .regime import RiskRegime
from .relative_strength import SmallVsLargeCap, small_vs_large_cap
from .signals import (
                      ALTS,
                      BACKGROUND,
                      BREADTH,
                      BTC,
                      CRYPTO,
                      EQUITY,
                      ETH,
                      ETH_STRENGTH,
                      REGIME_NAMES,
                      RISK_OFF,
                      SIGNALS,
                      Signal,
                      classify,
                      defaults,
                      evaluate,
                      resolve,
)
from .smallcap_breakout import SmallCapBreakout, small_cap_breakout

__all__ = [
    "ALTS", "AltVolumeHold", "BACKGROUND", "BREADTH", "BTC", "BreakoutOutcomes", "CRYPTO", "EQUITY", "ETH",
    "ETH_STRENGTH", "EthBtcStrength", "FailedBreakoutRate", "REGIME_NAMES", "RISK_OFF",
    "RiskRegime", "SIGNALS", "Signal", "SmallCapBreakout", "SmallVsLargeCap", "alt_volume_hold",
    "breakout_outcomes", "classify", "defaults", "eth_btc_strength", "evaluate", "failed_breakout_rate",
    "resolve", "small_cap_breakout", "small_vs_large_cap",
]
