"""Backtrader indicators of the small-cap risk-on filter and its crypto confirmations."""
from .alt_volume import AltVolumeHold, BasketRelativeVolume
from .ethbtc import EthBtcStrength
from .failed_breakouts import BreakoutOutcomes, FailedBreakoutRate
from .regime import ALTS, BTC, ETH, REGIME_NAMES, RISK_OFF, RiskRegime, classify
from .relative_strength import SmallVsLargeCap
from .smallcap_breakout import SmallCapBreakout

__all__ = [
    "ALTS", "AltVolumeHold", "BTC", "BasketRelativeVolume", "BreakoutOutcomes", "ETH", "EthBtcStrength",
    "FailedBreakoutRate", "REGIME_NAMES", "RISK_OFF", "RiskRegime", "SmallCapBreakout",
    "SmallVsLargeCap", "classify",
]
