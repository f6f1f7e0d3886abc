"""The tear sheet: the rotation against BTC buy-and-hold over exactly the table's period.

One self-contained HTML page: QuantStats' full report (`canary.runs.report.quantstats_sheet`) opened
by the project's own sections, which also replace the parts QuantStats gets wrong. Every figure
of those sections comes from this project's own computation (`canary.runs.report.metrics`) on the two
equity curves as they are, over the same days as the printed table: the key figures are the
table's, the yearly and monthly returns compound the daily returns by the UTC day they were
earned in, and the drawdown table lists each fall from a high with its recovery, or says it has
not recovered. What cannot be computed (an annual rate over a short period, a ratio of a
strategy that never traded, QuantStats' report itself) is said in words, and the page is then
the project's sections alone: it is written whatever the curves hold.
"""
import html
import io
import math

import matplotlib
import numpy as np
import pandas as pd

from .metrics import COLUMNS, caveats, daily_returns, drawdowns, monthly_returns, period_days, shown, yearly_returns  # noqa: E501
from .pictures import subplots
from .quantstats_sheet import QuantStatsUnavailable, quantstats_page

LABELS = {"rotation": "Small-cap rotation", "btc_buy_hold": "BTC buy-and-hold"}
COLOURS = {"rotation": "#1f77b4", "btc_buy_hold": "#ff7f0e"}

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1000px;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #8a4b00; } .small { color: #666; font-size: 0.85em; }
td.heat { min-width: 3.2em; }
"""


def _pct(v, digits=1):
    return f"{v:.{digits}%}" if v is not None and np.isfinite(v) else "n/a"


def _svg(fig):
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # labels stay text: smaller, searchable
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(name, svg):
    return f'<figure id="{name}-chart">{svg}</figure>'


def _growth_chart(curves):
    fig, ax = subplots(figsize=(10, 4))
    for label, equity in curves.items():
        ax.plot(equity.index, (equity / equity.iloc[0]).to_numpy(), lw=1.2, label=LABELS.get(label, label),
                color=COLOURS.get(label))
    if all((e > 0).all() for e in curves.values()):
        ax.set_yscale("log")
    ax.set_ylabel("growth of 1 (log scale)")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return _svg(fig)


def _drawdown_chart(curves):
    fig, ax = subplots(figsize=(10, 2.8))
    for label, equity in curves.items():
        ax.plot(equity.index, ((equity / equity.cummax() - 1.0) * 100).to_numpy(), lw=0.9,
                label=LABELS.get(label, label), color=COLOURS.get(label))
    ax.set_ylabel("drawdown %")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return _svg(fig)


def _yearly_chart(yearly):
    years = sorted({y for per in yearly.values() for y in per})
    fig, ax = subplots(figsize=(10, 3.2))
    width = 0.8 / max(len(yearly), 1)
    x = np.arange(len(years))
    for i, (label, per) in enumerate(yearly.items()):
        ax.bar(x + (i - (len(yearly) - 1) / 2) * width, [per.get(y, np.nan) * 100 for y in years], width,
               label=LABELS.get(label, label), color=COLOURS.get(label))
    ax.set_xticks(x, [str(y) for y in years])  # one label under each year's bars
    ax.axhline(0, color="#444", lw=0.8)
    ax.set_ylabel("return %")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    return _svg(fig)


def _table(header, rows, attrs=None):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        extra = attrs[i] if attrs else [""] * len(row)
        body.append("<tr>" + "".join(f"<td{a}>{html.escape(str(c))}</td>" for c, a in zip(row, extra, strict=True)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _heat(v):
    """A cell colour for a monthly return: green up, red down, white around zero."""
    if v is None or not np.isfinite(v):
        return ""
    strength = min(abs(v) / 0.5, 1.0)
    r, g, b = (255, int(255 - 120 * strength), int(255 - 120 * strength)) if v < 0 else \
        (int(255 - 120 * strength), 255, int(255 - 120 * strength))
    return f' class="heat" style="background:#{r:02x}{g:02x}{b:02x}"'


def _date(t):
    return t.date().isoformat()


def sections(curves, figures, title, currency, days, notes=(), first_day=None):
    """The tear sheet's parts, as HTML fragments by name (``intro``, ``key_figures``, ``growth``,
    ``yearly``, ``drawdowns``, ``monthly``), for `curves` ({label: equity}, the rotation first)
    and their table `figures` ({label: {figure: value}}); `notes` are added to the caveats.
    The period runs from the curves' first close, or from `first_day` where the printed table
    names the first day of returns instead (a tuning's out-of-sample period)."""
    labels = list(curves)
    first = curves[labels[0]]
    notes = caveats({k: figures[k] for k in labels}, days) + list(notes)
    out = {}
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p>Period {_date(first_day or first.index[0])} to {_date(first.index[-1])} ({days:,.0f} days), "
             "the same for "
             f"both series and for the printed table; values in {html.escape(currency)}, after fees and "
             "slippage; annualised over 365 days, risk-free rate 0.</p>"]
    if notes:
        parts.append("<ul>" + "".join(f'<li class="note">{html.escape(n)}</li>' for n in notes) + "</ul>")
    out["intro"], parts = parts, ["<h2>Key figures</h2>"]
    rows, attrs = [], []
    for key in COLUMNS:
        rows.append([key] + [shown(key, figures[k][key], days) for k in labels])
        attrs.append([""] + [f' data-figure="{k}.{key}"' for k in labels])
    parts.append(_table(["figure"] + [LABELS.get(k, k) for k in labels], rows, attrs))
    returns = {k: daily_returns(curves[k]) for k in labels}
    extra = []
    for name, fn in (("best day", lambda r: r.max()), ("worst day", lambda r: r.min()),
                     ("days up (of days with a change)", lambda r: (r > 0).sum() / (r != 0).sum())):
        extra.append([name] + [_pct(fn(r) if (r != 0).any() else math.nan, 2) for r in returns.values()])
    parts.append(_table(["daily returns"] + [LABELS.get(k, k) for k in labels], extra))

    out["key_figures"] = parts
    out["growth"] = ["<h2>Growth and drawdowns</h2>" + _figure("growth", _growth_chart(curves))
                     + _figure("drawdowns", _drawdown_chart(curves))]

    yearly = {k: yearly_returns(curves[k]) for k in labels}
    years = sorted({y for per in yearly.values() for y in per})
    start_day, end_day = returns[labels[0]].index[[0, -1]] if len(returns[labels[0]]) else (None, None)
    parts = ["<h2>Returns by calendar year</h2>"]
    if years:
        parts.append('<p class="small">Compounded daily returns, each dated by the UTC day it was earned in; '
                     "a first or last year the period covers only in part is marked.</p>")
        parts.append(_figure("yearly", _yearly_chart(yearly)))

        def year_label(y):
            if y == start_day.year and (start_day.month, start_day.day) != (1, 1):
                return f"{y} (from {start_day.strftime('%m-%d')})"
            if y == end_day.year and (end_day.month, end_day.day) != (12, 31):
                return f"{y} (to {end_day.strftime('%m-%d')})"
            return str(y)

        rows = [[year_label(y)] + [_pct(yearly[k].get(y)) for k in labels] for y in years]
        attrs = [[""] + [f' data-year="{k}.{y}"' for k in labels] for y in years]
        parts.append(_table(["year"] + [LABELS.get(k, k) for k in labels], rows, attrs))
    else:
        parts.append('<p class="note">No daily return in the period: nothing to show by year.</p>')

    out["yearly"] = parts
    parts = ["<h2>Worst drawdowns</h2>"]
    parts.append('<p class="small">Dates are those of the close instants (UTC). A drawdown runs from '
                 "the close of a high to the first close back at that high.</p>")
    for k in labels:
        rows, attrs = [], []
        for d in drawdowns(curves[k]):
            rows.append([_date(d["peak"]), _date(d["trough"]),
                         _date(d["recovered"]) if d["recovered"] is not None else
                         f"not recovered (at the end {curves[k].iloc[-1] / curves[k].loc[d['peak']] - 1:.1%}"
                         " from the peak)", _pct(d["depth"]), f"{d['days']:.0f}"])
            attrs.append([f' data-drawdown="{k}.peak"', f' data-drawdown="{k}.trough"',
                          f' data-drawdown="{k}.recovered"', f' data-drawdown="{k}.depth"', ""])
        parts.append(f"<h3>{html.escape(LABELS.get(k, k))}</h3>")
        parts.append(_table(["peak", "trough", "recovered", "depth", "days"], rows, attrs) if rows else
                     '<p class="small">The value never fell below an earlier high.</p>')

    out["drawdowns"] = parts
    parts = ["<h2>Monthly returns</h2>"]
    for k in labels:
        monthly = monthly_returns(curves[k])
        parts.append(f"<h3>{html.escape(LABELS.get(k, k))}</h3>")
        if not monthly:
            parts.append('<p class="note">No daily return in the period.</p>')
            continue
        months = range(1, 13)
        rows, attrs = [], []
        for y in sorted({y for y, _ in monthly}):
            rows.append([str(y)] + [_pct(monthly.get((y, m))) if (y, m) in monthly else "" for m in months])
            attrs.append([""] + [_heat(monthly.get((y, m))) for m in months])
        names = [pd.Timestamp(2000, m, 1).strftime("%b") for m in months]
        parts.append(_table(["year"] + names, rows, attrs))
    out["monthly"] = parts
    return {name: "\n".join(fragments) for name, fragments in out.items()}


def own_page(parts, title):
    """The project's own page: every section, nothing from QuantStats."""
    body = "\n".join(parts.values())
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def render(curves, figures, title, currency, first_day=None, notes=()):
    """The tear sheet's HTML: QuantStats' full report with the project's own sections in place of
    what it gets wrong (see `canary.runs.report.quantstats_sheet`); the project's own page, saying why,
    when QuantStats cannot report on the run. `notes` join the caveats (the coverage line of a
    point-in-time universe)."""
    days = period_days(next(iter(curves.values())))
    try:
        return quantstats_page(curves, sections(curves, figures, title, currency, days, notes, first_day),
                               title, days)
    except QuantStatsUnavailable as why:
        return own_page(sections(curves, figures, title, currency, days,
                                 [*notes, f"The QuantStats report is left out: {why}"], first_day), title)


def write_tearsheet(path, curves, figures, title, currency, first_day=None, notes=()):
    path.write_text(render(curves, figures, title, currency, first_day, notes), encoding="utf-8")
