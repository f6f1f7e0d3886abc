"""Running a strategy over a Market: one Cerebro, the same costs for every strategy."""
from dataclasses import dataclass, field

import backtrader as bt
import pandas as pd

from canary.errors import ConfigError
from canary.feeds.btfeeds import CloseInstantData, ListedData, bt_timeframe
from canary.feeds.roles import CRYPTO, EQUITY, role, role_names
from canary.params import check_call

from .costs import Costs, SpotBroker, configure_broker
from .failures import explain
from .recorder import PortfolioRecorder
from .schedule import on_schedule

# Parameters the engine sets itself: the first bar to trade at, and the costs to size within.
ENGINE_PARAMS = ("trade_from", "costs")


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


def _feeds(market, roles):
    u = market.universe
    tf, comp = bt_timeframe(market.interval)
    for name in roles:
        for s in u.of(name):
            if role(name).kind == EQUITY:
                yield CloseInstantData(dataname=market.equity[s], name=s, timeframe=bt.TimeFrame.Days)
            else:
                yield ListedData(dataname=market.crypto[s], name=s, timeframe=tf, compression=comp)


def roles_of(strategy):
    """The roles `strategy` (a Backtrader strategy class) is fed, in order: its ``roles``
    attribute (names of `canary.feeds.roles.ROLES`), or else every coin role, BTC first (so
    ``self.data`` is BTC). Checked: declared names, and at least one coin."""
    if not (isinstance(strategy, type) and issubclass(strategy, bt.Strategy)):
        raise TypeError(f"{getattr(strategy, '__name__', strategy)!r} is not a Backtrader strategy class "
                        f"(a subclass of backtrader.Strategy)")
    roles = tuple(getattr(strategy, "roles", role_names(CRYPTO)))
    for name in roles:
        try:
            role(name)
        except ConfigError as exc:
            raise ConfigError(f"{strategy.__name__}.roles: {exc}") from None
    coins = role_names(CRYPTO)
    if not set(roles) & set(coins):
        raise ConfigError(f"{strategy.__name__}.roles: {roles} has no coin: add "
                          + " or ".join(f"'{c}'" for c in coins))
    return roles


def check_given(strategy, params):
    """`params` of a run of `strategy` checked at entry: declared names, values their rules
    accept (`canary.params.check_call`), and none of the parameters the engine sets."""
    check_call(strategy, params)
    for key in ENGINE_PARAMS:
        if key in params:
            raise ConfigError(f"{strategy.__name__}: parameter '{key}' is set by the engine, not by a configuration")


def run_backtest(market, strategy, params=None, costs=None, name=None, runonce=True):
    """Run `strategy`, any Backtrader strategy class, on `market`; returns a BacktestResult.

    It is fed the feeds of its ``roles`` (`roles_of`), decides at each crypto bar close from
    the market's start (`schedule.CryptoCloseSchedule`), and trades through the broker and
    `costs` every strategy here shares. `params` are checked against its ``params`` (`check_given`).
    """
    costs = costs or Costs()
    params = dict(params or {})
    roles = roles_of(strategy)
    check_given(strategy, params)
    runner = on_schedule(strategy)
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True, quicknotify=True)
    feeds = list(_feeds(market, roles))
    for feed in feeds:
        cerebro.adddata(feed)
    cerebro.broker = SpotBroker()
    configure_broker(cerebro.broker, costs,
                     [f for f in feeds if isinstance(f, ListedData)])
    trade_from = market.start.tz_convert("UTC").tz_localize(None).to_pydatetime()
    if "costs" in runner.params._getkeys():
        params["costs"] = costs.sizing
    cerebro.addstrategy(runner, trade_from=trade_from, **params)
    cerebro.addanalyzer(PortfolioRecorder, _name="recorder", fill_delay=market.interval)
    try:
        strat = cerebro.run()[0]
    except Exception as exc:
        said = explain(strategy, exc)
        if said is None:
            raise
        raise said from None
    records = strat.analyzers.recorder.get_analysis()
    params.pop("costs", None)
    return BacktestResult(name or strategy.__name__, records["portfolio"], records["fills"], strat.rejected, params,
                          records["orders"])
