"""Performance figures of a run, annualised over 365 days (crypto trades every day).

Returns are the day-to-day changes of the portfolio value at each daily close (for bars
shorter than a day, the last bar close of each UTC day; for longer bars, each bar, annualised
by how many of them make 365 days). The definitions follow QuantStats' (a test checks they
agree): Sharpe and Sortino with a zero risk-free rate; CAGR over the number of returns per
year. Turnover is one-sided: half of everything bought and sold, over the average portfolio
value, per year.
"""
import math

import numpy as np
import pandas as pd

from canary.indicators.regime import REGIME_NAMES

DAYS_PER_YEAR = 365

COLUMNS = ("final_value", "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
           "calmar", "exposure", "turnover", "trades", "fees")


def per_day(equity):
    """(the curve at its daily closes, how many of its points make a year of 365 days)."""
    step = pd.Series(equity.index).diff().median() if len(equity) > 1 else pd.Timedelta(days=1)
    if step < pd.Timedelta(days=1):
        # a bar closing at 00:00 UTC ends the day before: ceil keeps it in that day
        return equity.groupby(equity.index.ceil("D")).last(), float(DAYS_PER_YEAR)
    return equity, DAYS_PER_YEAR / (step / pd.Timedelta(days=1))


def returns_of(equity):
    return equity.pct_change().iloc[1:]


def max_drawdown(equity):
    return float((equity / equity.cummax() - 1.0).min())


def performance(result):
    """The figures of the printed table for one BacktestResult, as a dict of floats."""
    equity, periods = per_day(result.equity)
    r = returns_of(equity)
    n = r.count()
    total = equity.iloc[-1] / equity.iloc[0]
    cagr = total ** (periods / n) - 1.0 if n else math.nan
    std = r.std(ddof=1)
    downside = math.sqrt((r[r < 0] ** 2).sum() / n) if n else math.nan
    mdd = max_drawdown(result.equity)
    invested = result.weights().abs().sum(axis=1) > 0.01
    traded = float(result.fills["value"].sum()) if len(result.fills) else 0.0
    years = n / periods
    return {
        "final_value": float(equity.iloc[-1]),
        "total_return": float(total - 1.0),
        "cagr": float(cagr),
        "volatility": float(std * math.sqrt(periods)),
        "sharpe": float(r.mean() / std * math.sqrt(periods)) if std else math.nan,
        "sortino": float(r.mean() / downside * math.sqrt(periods)) if downside else math.nan,
        "max_drawdown": mdd,
        "calmar": float(cagr / abs(mdd)) if mdd else math.nan,
        "exposure": float(invested.mean()),
        "turnover": float(traded / 2 / result.equity.mean() / years) if years else math.nan,
        "trades": int(len(result.fills)),
        "fees": float(result.fees),
    }


def regime_names(regimes):
    """The regime line (0-3) as names: risk-off, btc, eth, alts ('unknown' while not known)."""
    return regimes.map(lambda v: REGIME_NAMES.get(int(v), "unknown") if np.isfinite(v) else "unknown")


def time_in_regime(regimes):
    """Share of bars spent in each named regime."""
    counts = regime_names(regimes).value_counts()
    return {name: float(counts.get(name, 0) / len(regimes)) for name in REGIME_NAMES.values()}


def table(figures):
    """A plain-text table: one column per run, one row per figure."""
    frame = pd.DataFrame(figures)
    fmt = {"final_value": "{:,.0f}", "total_return": "{:.1%}", "cagr": "{:.1%}", "volatility": "{:.1%}",
           "sharpe": "{:.2f}", "sortino": "{:.2f}", "max_drawdown": "{:.1%}", "calmar": "{:.2f}",
           "exposure": "{:.1%}", "turnover": "{:.1f}x", "trades": "{:.0f}", "fees": "{:,.0f}"}
    rows = [[key] + [fmt[key].format(v) if isinstance(v, (int, float)) and np.isfinite(v) else "n/a"
                     for v in frame.loc[key]] for key in COLUMNS]
    header = ["metric"] + list(frame.columns)
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [header] + rows]
    return "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])
