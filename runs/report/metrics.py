"""The metrics table of a run: its figures, how they are shown, and what they cannot say.

The figures of the curve (returns from one daily close to the next, annualised over 365 days;
the drawdown at every bar close; the n/a rules) are defined once in `canary.runs.report.figures`,
the same code `canary tune` scores its trials with. They follow QuantStats' definitions on
daily bars (a test checks they agree): Sharpe and Sortino with a zero risk-free rate; CAGR over
the number of returns per year. Turnover is one-sided: half of everything bought and sold, over
the average portfolio value, per year.

Below MIN_ANNUALISED_DAYS an annual rate is an extrapolation, not a measurement (one good
week compounds into a CAGR of thousands of percent): the annualised figures are then kept in
metrics.json but shown as not meaningful ("n/m"), as GIPS does not annualise under a year.
"""
import math

import numpy as np
import pandas as pd

from canary.indicators.regime import REGIME_NAMES

from .figures import DAYS_PER_YEAR, Returns, Segment, daily_closes  # noqa: F401 (DAYS_PER_YEAR: read from here)
from .figures import figures as curve_figures

MIN_ANNUALISED_DAYS = 365
ANNUALISED = ("cagr", "volatility", "sharpe", "sortino", "calmar", "turnover")

COLUMNS = ("final_value", "total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown",
           "calmar", "exposure", "turnover", "trades", "fees")


def per_day(equity):
    """(the curve at its daily closes, how many of its points make a year of 365 days)."""
    days, periods = daily_closes(equity.index)
    return equity.iloc[days], periods


def returns_of(equity):
    return equity.pct_change().iloc[1:]


def figures(values, index, exposure, traded, trades, fees):
    """The figures of the printed table for many runs at once.

    ``values``: runs x bars, each run's portfolio value at every bar close of ``index``;
    ``exposure``: each run's share of bars with positions; ``traded``: its buys and sells
    (notional), ``trades`` its fills, ``fees`` its fees. Returns {figure: array (one per run)}.
    """
    values = np.asarray(values, dtype=float)
    traded = np.asarray(traded, dtype=float)
    returns = Returns.of_values(values, index)
    out = {"final_value": values[:, -1], **curve_figures(Segment.of(returns))}
    years = len(returns) / returns.periods
    with np.errstate(divide="ignore", invalid="ignore"):
        out.update(exposure=np.asarray(exposure, dtype=float),
                   turnover=traded / 2 / values.mean(axis=1) / years if years else np.full(len(values), np.nan),
                   trades=np.asarray(trades).astype(np.int64), fees=np.asarray(fees, dtype=float))
    return out


def performance(result):
    """The figures of the printed table for one BacktestResult, as a dict of floats."""
    equity = result.equity
    invested = result.weights().abs().sum(axis=1) > 0.01
    traded = float(result.fills["value"].sum()) if len(result.fills) else 0.0
    out = figures(equity.to_numpy(dtype=float)[None, :], equity.index, [float(invested.mean())], [traded],
                  [len(result.fills)], [result.fees])
    return {key: int(v[0]) if key == "trades" else float(v[0]) for key, v in out.items()}


def period_days(equity):
    """Calendar days between the first and the last close of a curve."""
    return (equity.index[-1] - equity.index[0]) / pd.Timedelta(days=1) if len(equity) else 0.0


def day_earned(index):
    """The UTC day each close ends, tz-naive: a daily bar closing at 00:00 UTC belongs to the day before."""
    return (pd.DatetimeIndex(index).tz_convert("UTC") - pd.Timedelta(1, "ns")).tz_localize(None).normalize()


def daily_returns(equity):
    """The curve's returns from one daily close to the next, each dated by the UTC day it was earned."""
    r = returns_of(per_day(equity)[0])
    r.index = day_earned(r.index)
    return r


def yearly_returns(equity):
    """{year: compounded return} over the calendar years of the days the returns were earned in;
    the first and last years are partial when the curve starts or ends within them."""
    r = daily_returns(equity)
    return {int(y): float((1.0 + g).prod() - 1.0) for y, g in r.groupby(r.index.year)}


def monthly_returns(equity):
    """{(year, month): compounded return}, by the day each return was earned."""
    r = daily_returns(equity)
    return {(int(y), int(m)): float((1.0 + g).prod() - 1.0) for (y, m), g in r.groupby([r.index.year, r.index.month])}


def drawdowns(equity, top=5):
    """The `top` deepest drawdowns of a curve, deepest first: dicts of `peak` (the instant of the
    high it fell from), `trough`, `recovered` (the first instant back at that high, or None if
    the curve ended below it), `depth` (a negative fraction) and `days` (peak to recovery, or to
    the end of the curve while not recovered)."""
    under = equity / equity.cummax() - 1.0
    out, i, values, n = [], 0, under.to_numpy(), len(equity)
    while i < n:
        if values[i] >= 0:
            i += 1
            continue
        start = i - 1  # the last bar at the high
        j = i
        while j < n and values[j] < 0:
            j += 1
        trough = start + 1 + int(np.argmin(values[start + 1:j]))
        recovered = equity.index[j] if j < n else None
        out.append({"peak": equity.index[start], "trough": equity.index[trough], "recovered": recovered,
                    "depth": float(values[trough]),
                    "days": float(((recovered if recovered is not None else equity.index[-1])
                                   - equity.index[start]) / pd.Timedelta(days=1))})
        i = j
    return sorted(out, key=lambda d: d["depth"])[:top]


def caveats(figures, days):
    """What the figures cannot say, one sentence each: too short a period, undefined ratios."""
    lines = []
    if days < MIN_ANNUALISED_DAYS:
        lines.append(f"annualised figures ({', '.join(ANNUALISED)}) are not meaningful (n/m) over "
                     f"{days:.0f} day{'' if days == 1 else 's'}: at least {MIN_ANNUALISED_DAYS} are needed")
    for label, f in figures.items():
        if f.get("trades") == 0 and f.get("volatility") == 0:
            lines.append(f"{label} never held a position: its returns are all zero, so its sharpe, sortino "
                         "and calmar are undefined (n/a)")
    return lines


def regime_names(regimes):
    """The regime line (0-3) as names: risk-off, btc, eth, alts ('unknown' while not known)."""
    return regimes.map(lambda v: REGIME_NAMES.get(int(v), "unknown") if np.isfinite(v) else "unknown")


def time_in_regime(regimes):
    """Share of bars spent in each named regime."""
    counts = regime_names(regimes).value_counts()
    return {name: float(counts.get(name, 0) / len(regimes)) for name in REGIME_NAMES.values()}


FORMATS = {"final_value": "{:,.0f}", "total_return": "{:.1%}", "cagr": "{:.1%}", "volatility": "{:.1%}",
           "sharpe": "{:.2f}", "sortino": "{:.2f}", "max_drawdown": "{:.1%}", "calmar": "{:.2f}",
           "exposure": "{:.1%}", "turnover": "{:.1f}x", "trades": "{:.0f}", "fees": "{:,.0f}"}


def meaningful(key, days, minimum=MIN_ANNUALISED_DAYS):
    """Whether figure `key` over `days` days means something: an annual rate needs `minimum`."""
    return key not in ANNUALISED or days >= minimum


def shown(key, value, days=math.inf):
    """A figure as the table shows it: formatted, 'n/a' if undefined, 'n/m' if an annual rate
    over too short a period."""
    if not meaningful(key, days):
        return "n/m"
    if isinstance(value, (int, float)) and np.isfinite(value):
        return FORMATS[key].format(value)
    return "n/a"


def table(figures, days=math.inf):
    """A plain-text table: one column per run, one row per figure (annual rates 'n/m' under
    MIN_ANNUALISED_DAYS days)."""
    frame = pd.DataFrame(figures)
    rows = [[key] + [shown(key, v, days) for v in frame.loc[key]] for key in COLUMNS if key in frame.index]
    header = ["metric"] + list(frame.columns)
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in [header] + rows]
    return "\n".join([lines[0], "-" * len(lines[0])] + lines[1:])
