"""Screening trials: the returns of each tuned configuration over the whole history.

A trial is a dict of tuned values (`{'filter.small_cap.confirm': 5, ...}`) applied to the run's
configuration. Each is run once from `data.start` to the end, from the starting cash, and its
returns at every bar from its first daily close (on daily bars, its daily returns) become one
column of the bars x trials matrix every tuning scheme is computed from (by days, with the
intraday path: `canary.runs.figures.Returns`). `screen` runs in worker
processes, local or on a Dask cluster: each process loads the market once and keeps it for
every later batch of the same data.
"""
import json

import pandas as pd

from canary.feeds.market import load_market
from canary.strategies import run_backtest

from .config import strategy_params, with_values
from .figures import bar_returns

_LOADED = {}  # per process: (plan, market) of the last data setup


def market_of(config):
    """(plan, market) of the configuration's data, universe and sources, loaded once per process."""
    from .backtest import plan

    key = json.dumps({s: config[s] for s in ("data", "sources", "universe", "costs")}, sort_keys=True, default=str)
    if key not in _LOADED:
        _LOADED.clear()  # one market per process at a time: memory stays bounded
        p = plan(config)
        data = config["data"]
        _LOADED[key] = (p, load_market(p.library, p.universe, data["start"] or None, data["end"] or None))
    return _LOADED[key]


def returns_at_bars(equity):
    """The returns of an equity curve at every bar from its first daily close
    (`canary.runs.figures.bar_returns`)."""
    r, index = bar_returns(equity.to_numpy(dtype=float)[None, :], equity.index)
    return pd.Series(r[:, 0], index=index)


def screen(config, trials, engine="backtrader"):
    """A bars x trials DataFrame of returns at every bar, one column per trial in the order given."""
    p, market = market_of(config)
    if engine == "fast":
        raise NotImplementedError("the fast screening engine is wired in by runs.tuning")
    columns = []
    for values in trials:
        cls, params = strategy_params(with_values(config, values))
        columns.append(returns_at_bars(run_backtest(market, cls, params, p.costs).equity))
    return pd.concat(columns, axis=1, keys=range(len(trials)))


def benchmark(config):
    """Returns at every bar of BTC buy-and-hold over the same history (with the strategy's cash buffer,
    as `canary run` runs it)."""
    from .backtest import strategies

    p, market = market_of(config)
    [(_, cls, params)] = [run for run in strategies(p) if run[0] == "btc_buy_hold"]
    return returns_at_bars(run_backtest(market, cls, params, p.costs).equity).rename("btc_buy_hold")
