"""Screening trials: the returns of each tuned configuration over the whole history.

A trial is a dict of tuned values (`{'filter.small_cap.confirm': 5, ...}`) applied to the run's
configuration. Each is run once from `data.start` to the end, from the starting cash, and its
returns at every bar from its first daily close (on daily bars, its daily returns) become one
column of the bars x trials matrix every tuning scheme is computed from (by days, with the
intraday path: `canary.runs.report.figures.Returns`). `screen` runs in worker
processes, local or on a Dask cluster: each process loads a market once and keeps it for
every later batch of the same data (the last `KEPT` data setups: a tuned `universe.alts_top`
makes one market per value).
"""
from collections import OrderedDict

import pandas as pd

from canary.feeds.market import load_market
from canary.strategies import run_backtest

from ..backtest import plan, strategies
from ..config import strategy_params, with_values
from ..report.figures import bar_returns

DATA_SECTIONS = ("data", "sources", "universe", "costs")   # what a market is loaded from
KEPT = 4   # data setups a process keeps loaded (a tuned universe.alts_top has one per value)


class Kept(OrderedDict):
    """A process's objects of its last `size` data setups, by key; the least recently used is
    dropped first, so memory stays bounded however many setups a tuning visits."""

    def __init__(self, size=KEPT):
        super().__init__()
        self.size = size

    def get_or_make(self, key, make):
        if key in self:
            self.move_to_end(key)
            return self[key]
        while len(self) >= self.size:
            self.popitem(last=False)
        self[key] = value = make()
        return value


_LOADED = Kept()   # per process: (plan, market) by data setup


def data_key(config):
    """The configuration's data setup (its data, sources, universe and costs), compared by value."""
    return tuple(getattr(config, s) for s in DATA_SECTIONS)


def data_setting(values):
    """The part of a trial's values (`{'section.key': value}`) that changes the market it runs
    on (a tuned universe.alts_top), as a sortable string: trials sharing it share a market."""
    return repr(sorted((k, v) for k, v in values.items() if k.split(".", 1)[0] in DATA_SECTIONS))


def market_of(config):
    """(plan, market) of the configuration's data, universe and sources, loaded once per process."""
    def load():
        p = plan(config)
        return p, load_market(p.library, p.universe, config.data.start or None, config.data.end or None)

    return _LOADED.get_or_make(data_key(config), load)


def returns_at_bars(equity):
    """The returns of an equity curve at every bar from its first daily close
    (`canary.runs.report.figures.bar_returns`)."""
    r, index = bar_returns(equity.to_numpy(dtype=float)[None, :], equity.index)
    return pd.Series(r[:, 0], index=index)


def screen(config, trials, engine="backtrader"):
    """A bars x trials DataFrame of returns at every bar, one column per trial in the order given."""
    if engine == "fast":
        raise NotImplementedError("the fast screening engine is wired in by runs.tune.tuning")
    columns = []
    for values in trials:
        trial = with_values(config, values)
        p, market = market_of(trial)
        cls, params = strategy_params(trial)
        columns.append(returns_at_bars(run_backtest(market, cls, params, p.costs).equity))
    return pd.concat(columns, axis=1, keys=range(len(trials)))


def benchmark(config):
    """Returns at every bar of BTC buy-and-hold over the same history (with the strategy's cash buffer,
    as `canary run` runs it)."""
    p, market = market_of(config)
    [(_, cls, params)] = [run for run in strategies(p) if run[0] == "btc_buy_hold"]
    return returns_at_bars(run_backtest(market, cls, params, p.costs).equity).rename("btc_buy_hold")
