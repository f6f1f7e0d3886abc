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

import numpy as np
import pandas as pd

from canary.feeds.market import load_market
from canary.strategies import run_backtest

from ..backtest import plan, strategies
from ..config import strategy_params, with_values
from ..report.figures import Returns, bar_returns

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


class ScreenedReturns:
    """The screened trials' returns at every bar, by trial id, kept in the blocks their batches
    came in (bars x trials arrays) rather than as a Series each: 10,000 Series take about a
    second to make, and as long to gather into the matrix."""

    def __init__(self):
        self._where = {}   # trial id -> (its batch's block, its column there, the bar closes)

    def add(self, ids, frame):
        """The batch of trials `ids`: a bars x len(ids) DataFrame, its columns in that order (a
        trial already kept is replaced)."""
        block = frame.to_numpy()
        for k, i in enumerate(ids):
            self._where[i] = (block, k, frame.index)

    def __contains__(self, i):
        return i in self._where

    def __len__(self):
        return len(self._where)

    def column(self, i):
        """Trial `i`'s returns, an array (a view of its block)."""
        block, k, _ = self._where[i]
        return block[:, k]

    def series(self, i):
        return pd.Series(self.column(i), index=self._where[i][2], copy=False)

    def matrix(self, trials, dtype):
        """Bars x trials 0 .. `trials` - 1, in `dtype`, over trial 0's bar closes, as one block of
        memory with each trial's returns contiguous (as a concat of its Series held them); the
        trials kept become views of it, and the batches' own blocks are freed."""
        values = np.empty((trials, len(self.column(0))), dtype=dtype)
        batches = {}
        for i in range(trials):
            block, k, _ = self._where[i]
            ids, columns = batches.setdefault(id(block), (block, [], []))[1:]
            ids.append(i)
            columns.append(k)
        for block, ids, columns in batches.values():
            values[ids] = block.T if columns == list(range(block.shape[1])) else block[:, columns].T
        frame = pd.DataFrame(values.T, index=self._where[0][2], columns=range(trials))
        self._where = {}
        self.add(range(trials), frame)
        return frame


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


def trading_days(config):
    """The days of every trial's returns on the configuration's market, the benchmark's too (its
    returns are at the same bars: those from the first trading bar), without a backtest."""
    _, market = market_of(config)
    flat = pd.Series(1.0, index=market.clock[market.first_trading_bar:])
    return Returns.of_bars(returns_at_bars(flat)).daily.index


def benchmark(config):
    """Returns at every bar of BTC buy-and-hold over the same history (with the strategy's cash buffer,
    as `canary run` runs it)."""
    p, market = market_of(config)
    [(_, cls, params)] = [run for run in strategies(p) if run[0] == "btc_buy_hold"]
    return returns_at_bars(run_backtest(market, cls, params, p.costs).equity).rename("btc_buy_hold")
