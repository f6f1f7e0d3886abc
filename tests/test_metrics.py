"""The figures of the metrics table on hand-made curves (unit tests)."""
import numpy as np
import pandas as pd
import pytest

from canary.runs.report.metrics import per_day, performance
from canary.strategies.engine import BacktestResult


def _result(index, values, fills=()):
    portfolio = pd.DataFrame({"value": values, "cash": values * 0.0, "BTC": values}, index=index)
    fills = pd.DataFrame(list(fills), columns=["date", "symbol", "side", "size", "price", "value", "fee", "decided"])
    return BacktestResult("test", portfolio, fills, 0)


def test_four_hour_bars_are_annualised_by_day_not_by_bar():
    index = pd.date_range("2023-01-01 04:00", "2024-01-01 00:00", freq="4h", tz="UTC")
    values = np.geomspace(100.0, 110.0, len(index))
    figures = performance(_result(index, values))
    daily, periods = per_day(pd.Series(values, index=index))
    assert periods == 365 and len(daily) == 365  # one close a day, 00:00 UTC ending the day before
    assert daily.index[-1] == pd.Timestamp("2024-01-01", tz="UTC") and daily.iloc[-1] == pytest.approx(110.0)
    # 365 daily returns from the first daily close (2023-01-02 00:00) to the last: a year less a day's growth
    assert figures["cagr"] == pytest.approx((110.0 / daily.iloc[0]) ** (365 / 364) - 1, rel=1e-9)
    assert figures["cagr"] == pytest.approx(0.10, abs=0.002)


def test_weekly_bars_annualise_over_52_and_a_seventh():
    index = pd.date_range("2023-01-08", periods=53, freq="7D", tz="UTC")
    values = np.geomspace(100.0, 120.0, len(index))
    _, periods = per_day(pd.Series(values, index=index))
    assert periods == pytest.approx(365 / 7)
    assert performance(_result(index, values))["cagr"] == pytest.approx(1.2 ** (365 / 7 / 52) - 1, rel=1e-9)


def test_turnover_is_one_sided():
    index = pd.date_range("2023-01-02", periods=366, freq="D", tz="UTC")
    values = np.full(len(index), 1000.0)
    t = index[10]
    round_trip = [(t, "BTC", "buy", 1, 1000.0, 1000.0, 1.0, t), (t, "BTC", "sell", 1, 1000.0, 1000.0, 1.0, t)]
    figures = performance(_result(index, values, round_trip))
    assert figures["turnover"] == pytest.approx(1.0)  # the capital turned over once in the year
    assert figures["trades"] == 2 and figures["fees"] == 2.0
