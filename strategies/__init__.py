"""Backtrader strategies: the small-cap rotation and the benchmarks it is judged against."""
from .benchmarks import BtcEthMonthly, BuyAndHold, EqualWeightBasket
from .costs import Costs, SpotBroker, SpotCryptoCommission, configure_broker
from .engine import BacktestResult, run_backtest
from .plan import VARYING, PlanBars, TargetPlan
from .portfolio import TargetWeightStrategy
from .recorder import PortfolioRecorder
from .rotation import BASKET_WEIGHTINGS, SmallCapRotation
from .schedule import CryptoCloseSchedule

__all__ = [
    "BASKET_WEIGHTINGS", "BacktestResult", "BtcEthMonthly", "BuyAndHold", "Costs", "CryptoCloseSchedule",
    "EqualWeightBasket", "PlanBars", "PortfolioRecorder", "SmallCapRotation",
    "SpotBroker", "SpotCryptoCommission", "TargetPlan", "TargetWeightStrategy", "VARYING", "configure_broker",
    "run_backtest",
]
