"""Running a strategy over a Market: one Cerebro, the same costs for every strategy."""
from dataclasses import dataclass, field

import backtrader as bt
import pandas as pd

from canary.feeds.btfeeds import CloseInstantData, ListedData, bt_timeframe

from .benchmarks import BtcEthMonthly, BuyAndHold, EqualWeightBasket
from .costs import SpotBroker, configure_broker
from .recorder import PortfolioRecorder
from .rotation import SmallCapRotation


@dataclass
class Costs:
    """Starting cash (in the quote currency, USDT for the shipped data), fee and slippage in
    basis points of traded notional, and the fill rule."""

    cash: float = 100_000.0
    fee_bp: float = 10.0
    slippage_bp: float = 5.0
    fill: str = "open"


@dataclass
class BacktestResult:
    """A run's records: ``portfolio`` (per crypto bar close: value, cash, each position's
    value, the regime), ``fills`` (every fill with its fee), ``orders`` (every order and its
    final status), and the count of orders the broker refused."""

    name: str
    portfolio: pd.DataFrame
    fills: pd.DataFrame
    rejected: int
    params: dict = field(default_factory=dict)
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def equity(self):
        return self.portfolio["value"]

    @property
    def fees(self):
        return float(self.fills["fee"].sum()) if len(self.fills) else 0.0

    @property
    def regimes(self):
        return self.portfolio["regime"] if "regime" in self.portfolio else None

    def weights(self):
        coins = [c for c in self.portfolio.columns if c not in ("value", "cash", "regime")]
        return self.portfolio[coins].div(self.portfolio["value"], axis=0)


# Which roles of the universe each strategy is fed, in order.
ROLES = {
    SmallCapRotation: ("btc", "eth", "small_cap", "large_cap", "alts"),
    BuyAndHold: ("btc", "eth"),
    EqualWeightBasket: ("btc", "alts"),
    BtcEthMonthly: ("btc", "eth"),
}


def _interval(market):
    return market.clock[1] - market.clock[0] if len(market.clock) > 1 else pd.Timedelta(days=1)


def _feeds(market, roles):
    u = market.universe
    tf, comp = bt_timeframe(_interval(market))
    for role in roles:
        symbols = u.alts if role == "alts" else (getattr(u, role),)
        for s in symbols:
            if role in ("small_cap", "large_cap"):
                yield CloseInstantData(dataname=market.equity[s], name=s, timeframe=bt.TimeFrame.Days)
            else:
                yield ListedData(dataname=market.crypto[s], name=s, timeframe=tf, compression=comp)


def roles_of(strategy):
    """The roles `strategy` is fed: those of the first class of its MRO listed in ROLES, so a
    subclass of the rotation or of a benchmark runs on the same feeds."""
    for cls in getattr(strategy, "__mro__", ()):
        if cls in ROLES:
            return ROLES[cls]
    raise TypeError(f"{getattr(strategy, '__name__', strategy)!r} is not a strategy of canary.strategies.ROLES "
                    f"or a subclass of one")


def run_backtest(market, strategy, params=None, costs=None, name=None, runonce=True):
    """Run `strategy` (a class of ROLES, or a subclass of one) on `market`; returns a BacktestResult."""
    costs = costs or Costs()
    params = dict(params or {})
    roles = roles_of(strategy)
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True, quicknotify=True)
    feeds = list(_feeds(market, roles))
    for feed in feeds:
        cerebro.adddata(feed)
    cerebro.broker = SpotBroker()
    configure_broker(cerebro.broker, costs.cash, costs.fee_bp, costs.slippage_bp, costs.fill,
                     [f for f in feeds if isinstance(f, ListedData)])
    trade_from = market.start.tz_convert("UTC").tz_localize(None).to_pydatetime()
    cerebro.addstrategy(strategy, trade_from=trade_from,
                        costs=(costs.fee_bp + costs.slippage_bp) / 1e4, **params)
    cerebro.addanalyzer(PortfolioRecorder, _name="recorder", fill_delay=_interval(market))
    strat = cerebro.run()[0]
    records = strat.analyzers.recorder.get_analysis()
    return BacktestResult(name or strategy.__name__, records["portfolio"], records["fills"], strat.rejected, params,
                          records["orders"])
