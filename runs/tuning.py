"""Tuning thresholds with an out-of-sample check.

Every combination of a grid of configuration values is run twice: *in sample*, on the data
up to the split date (the data after it removed), and *out of sample*, trading from the split
date to the end (the earlier data only warm the indicators up), each from fresh cash. The
combination with the best in-sample figure is the one a tuner would pick; its out-of-sample
figure, the rank correlation of the two across the grid, and BTC buy-and-hold over the same
two periods say whether the pick was skill or noise.
"""
import datetime
import itertools
import math
import os
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from canary.errors import ConfigError
from canary.feeds.market import load_market
from canary.strategies import BuyAndHold, SmallCapRotation, run_backtest

from .config import parse_override, rotation_params, validate
from .metrics import performance

METRICS = ("sharpe", "sortino", "cagr", "calmar", "total_return")


TUNABLE = ("filter", "strategy")  # the thresholds; data, universe and costs stay as configured


def parse_grid(texts):
    """['filter.confirm=3,5,10', ...] -> {'filter.confirm': [3, 5, 10], ...}."""
    grid = {}
    for text in texts:
        key, _, values = text.partition("=")
        section = key.split(".", 1)[0].strip()
        if "." not in key or not values:
            raise ConfigError(f"--grid {text}: expected section.key=v1,v2,..., e.g. filter.confirm=3,5,10")
        if section not in TUNABLE:
            raise ConfigError(f"--grid {text}: only [filter] and [strategy] keys can be tuned "
                              "(set data, universe and costs with --set)")
        parsed = [parse_override(f"{key}={v.strip()}") for v in values.split(",") if v.strip()]
        grid[key.strip()] = [v for _, _, v in parsed]
    return grid


def combinations(config, grid):
    """Each grid point as (dict of the values set, validated configuration)."""
    keys = list(grid)
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        changed = dict(zip(keys, values))
        candidate = {section: dict(items) for section, items in config.items()}
        for key, value in changed.items():
            section, name = key.split(".", 1)
            if section not in candidate:
                raise ConfigError(f"--grid {key}: unknown section [{section}]")
            candidate[section][name] = value
        points.append((changed, validate(candidate, "--grid")))
    return points


_MARKETS = {}


def _init(markets, costs):
    _MARKETS.update(markets, costs=costs)


def _evaluate(task):
    period, cls, params = task
    result = run_backtest(_MARKETS[period], cls, params, _MARKETS["costs"])
    return performance(result)


def tune(plan, grid, split, metric="sharpe", jobs=None, progress=None):
    """Run the grid in and out of sample; returns (table of every point, summary dict)."""
    if metric not in METRICS:
        raise ConfigError(f"--metric {metric}: choose one of {', '.join(METRICS)}")
    data = plan.config["data"]
    try:
        split_ts = pd.Timestamp(datetime.date.fromisoformat(split), tz="UTC")
    except ValueError:
        raise ConfigError(f"--split {split}: not a date (YYYY-MM-DD)") from None
    start = pd.Timestamp(data["start"] or "1970-01-01", tz="UTC")
    end = pd.Timestamp(data["end"], tz="UTC") if data["end"] else None
    if split_ts <= start or (end is not None and split_ts >= end):
        raise ConfigError(f"--split {split}: must fall between data.start and data.end")
    points = combinations(plan.config, grid)
    markets = {"in": load_market(plan.library, plan.universe, data["start"] or None, split_ts),
               "out": load_market(plan.library, plan.universe, split_ts, data["end"] or None)}
    tasks = [(period, SmallCapRotation, rotation_params(cfg)) for _, cfg in points for period in ("in", "out")]
    cash_buffer = plan.config["strategy"]["cash_buffer"]
    tasks += [(period, BuyAndHold, {"symbol": plan.universe.btc, "cash_buffer": cash_buffer})
              for period in ("in", "out")]
    jobs = jobs or min(len(tasks), os.cpu_count() or 1)
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(markets, plan.costs)) as pool:
            figures = []
            for fig in pool.map(_evaluate, tasks):
                figures.append(fig)
                if progress:
                    progress()
    else:
        _init(markets, plan.costs)
        figures = []
        for task in tasks:
            figures.append(_evaluate(task))
            if progress:
                progress()
    rows = []
    for i, (changed, _) in enumerate(points):
        inside, outside = figures[2 * i], figures[2 * i + 1]
        rows.append(dict(changed, **{f"in_{k}": inside[k] for k in METRICS}, **{f"out_{k}": outside[k] for k in METRICS}))
    table = pd.DataFrame(rows).sort_values(f"in_{metric}", ascending=False, kind="stable").reset_index(drop=True)
    btc_in, btc_out = figures[-2], figures[-1]
    best = {k: table[k].iloc[0].item() if hasattr(table[k].iloc[0], "item") else table[k].iloc[0] for k in grid}
    ranks = table[[f"in_{metric}", f"out_{metric}"]].rank().corr().iloc[0, 1] if len(table) > 2 else math.nan
    summary = {
        "metric": metric, "split": split_ts.date().isoformat(), "grid": grid,
        "in_sample": f"{markets['in'].start.date()} to {markets['in'].end.date()}",
        "out_of_sample": f"{markets['out'].start.date()} to {markets['out'].end.date()}",
        "best": best, "best_in": float(table[f"in_{metric}"].iloc[0]),
        "best_out": float(table[f"out_{metric}"].iloc[0]), "btc_buy_hold_in": btc_in[metric],
        "btc_buy_hold_out": btc_out[metric], "rank_correlation_in_out": float(ranks),
    }
    return table, summary
