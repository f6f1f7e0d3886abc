"""Segments and figures restricted to what an objective reads give the same numbers, bit for bit,
as the full summary (CSCV joins thousands of splits x trials: it carries only those fields)."""
import itertools

import numpy as np
import pandas as pd
import pytest

from canary.runs.report.figures import FIGURES, Returns, Segment, daily_closes, fields_for, figures
from canary.runs.tune.objectives import Objective


def _daily():
    rng = np.random.default_rng(7)
    r = rng.normal(0.001, 0.03, (400, 12))
    r[:, 3] = 0.0            # a flat trial: n/a figures
    r[:, 5] = r[:, 6]        # two equal trials
    return Returns.of(r)


def _intraday():
    rng = np.random.default_rng(8)
    index = pd.date_range("2020-01-01 04:00", periods=6 * 80, freq="4h", tz="UTC")
    return Returns.of_bars(pd.DataFrame(rng.normal(0.0, 0.01, (len(index), 9)), index=index))


@pytest.mark.parametrize("returns", [_daily(), _intraday()], ids=["daily", "4-hour"])
@pytest.mark.parametrize("names", [("sharpe",), ("sortino",), ("cagr",), ("calmar",), ("sharpe", "max_drawdown"),
                                   ("total_return", "volatility"), FIGURES])
def test_restricted_join_equals_the_full_one(returns, names):
    parts = Segment.blocks(returns, 8)
    sets = list(itertools.combinations(range(8), 4))
    full = figures(Segment.stack([Segment.joined(parts[b] for b in s) for s in sets]))
    fields = fields_for(names)
    some = figures(Segment.stack([Segment.joined((parts[b] for b in s), fields) for s in sets], fields), names)
    assert list(some) == list(names)
    for name in names:
        np.testing.assert_array_equal(some[name], full[name])   # NaN where NaN, every bit elsewhere


def test_fields_for_an_objective():
    assert fields_for(Objective("sharpe").reads) == ("total", "squares")
    assert set(fields_for(Objective("sharpe", 0.5).reads)) == {"total", "squares", "log_end", "log_low", "log_high",
                                                              "log_drawdown"}
    assert fields_for(Objective("cagr").reads) == ("log_end",)


@pytest.mark.parametrize("index", [
    pd.date_range("2018-01-01", periods=50, freq="D", tz="UTC"),
    pd.date_range("2018-01-01", periods=50, freq="D", tz="UTC").as_unit("us"),
    pd.date_range("2018-01-01", periods=50, freq="4h", tz="UTC"),
    pd.date_range("2018-01-01", periods=20, freq="W", tz="UTC"),
    pd.DatetimeIndex(["2020-01-01", "2020-01-02", "2020-01-04", "2020-01-05"], tz="UTC"),
    pd.DatetimeIndex(["2020-01-01"], tz="UTC"),
])
def test_daily_closes_step_is_pandas_median(index):
    positions, periods = daily_closes(index)
    step = pd.Series(index).diff().median() if len(index) > 1 else pd.Timedelta(days=1)
    if step < pd.Timedelta(days=1):
        assert periods == 365.0
    else:
        np.testing.assert_array_equal(positions, np.arange(len(index)))
        assert periods == 365 / (step / pd.Timedelta(days=1))
