"""The tear sheet: exactly the table's period for both series, figures that agree with the
project's own computation, and words for what cannot be computed; it never raises."""
import json
import re

import numpy as np
import pandas as pd
import pytest
from clirun import main

SMALL_ALTS = ("--set", 'universe.alts=["BNB-USDT", "SOL-USDT"]')


def _cells(html, attribute):
    """{key: text} of the cells marked data-<attribute>="key"."""
    return {k: v for k, v in re.findall(rf'<td data-{attribute}="([^"]+)">([^<]*)</td>', html)}


def _rows(html, attribute):
    """[(key, text)] in page order."""
    return re.findall(rf'<td data-{attribute}="([^"]+)">([^<]*)</td>', html)


@pytest.fixture(scope="module")
def from_2022(tmp_path_factory):
    """The issue's case: from 2022-01-01 the rotation first trades in August, BTC from the first day."""
    out = tmp_path_factory.mktemp("ts")
    proc = main("run", *SMALL_ALTS, "--start", "2022-01-01", "--out", out, "--name", "r", "-q")
    assert proc.returncode == 0, proc.stderr
    folder = out / "r"
    return proc, folder, (folder / "tearsheet.html").read_text()


def test_both_series_cover_exactly_the_tables_period(from_2022):
    from canary.runs.metrics import shown

    proc, folder, html = from_2022
    metrics = json.loads((folder / "metrics.json").read_text())
    trades = pd.read_csv(folder / "trades.csv")
    assert trades["date"].min()[:10] > "2022-02-01"  # the rotation starts later than the period
    first, last = metrics["period"].split(" to ")
    assert f"Period {first} to {last}" in html and first == "2022-01-01"
    cells = _cells(html, "figure")
    for label in ("rotation", "btc_buy_hold"):
        for key, value in metrics[label].items():
            assert cells[f"{label}.{key}"] == shown(key, value, metrics["days"]), (label, key)
    assert proc.stdout.count(cells["btc_buy_hold.total_return"]) == 1  # the printed table says the same


def test_yearly_returns_agree_with_the_equity_curve(from_2022):
    _, folder, html = from_2022
    equity = pd.read_csv(folder / "equity.csv", index_col="date")
    yearly = _rows(html, "year")
    for column, label in (("strategy", "rotation"), ("benchmark", "btc_buy_hold")):
        shown = {k.split(".")[1]: v for k, v in yearly if k.startswith(label + ".")}
        assert list(shown) == ["2022", "2023", "2024", "2025", "2026"]
        v = equity[column]
        for year in shown:
            # a year's return: from its first close instant (00:00 UTC on 1 January, the end of the
            # day before) to the next year's, or to the last close
            start = v.loc[f"{year}-01-01"]
            end = v.get(f"{int(year) + 1}-01-01", v.iloc[-1])
            assert shown[year] == f"{end / start - 1:.1%}", (label, year)
    years = re.findall(r"<text[^>]*>(\d{4})</text>", html.split('id="yearly-chart"')[1].split("</figure>")[0])
    assert years == ["2022", "2023", "2024", "2025", "2026"]  # one label under each year's bars
    assert "2026 (to 01-05)" in html  # the last year only in part


def test_drawdown_table_agrees_with_the_equity_curve(from_2022):
    _, folder, html = from_2022
    equity = pd.read_csv(folder / "equity.csv", index_col="date")
    metrics = json.loads((folder / "metrics.json").read_text())
    rows = _rows(html, "drawdown")
    for column, label in (("strategy", "rotation"), ("benchmark", "btc_buy_hold")):
        worst = {}
        for k, text in rows:  # the first row is the worst
            if k.startswith(label + "."):
                worst.setdefault(k.split(".")[1], text)
        v = equity[column]
        trough = (v / v.cummax() - 1).idxmin()
        peak = v.loc[:trough].idxmax()
        assert worst["depth"] == f"{metrics[label]['max_drawdown']:.1%}"
        assert (worst["peak"], worst["trough"]) == (peak, trough)
        back = v.loc[trough:][v.loc[trough:] >= v.loc[peak]]
        if len(back):
            assert worst["recovered"] == back.index[0]
        else:
            assert worst["recovered"].startswith("not recovered") and v.iloc[-1] < v.loc[peak]
            assert f"{v.iloc[-1] / v.loc[peak] - 1:.1%}" in worst["recovered"]
    assert any(v.startswith("not recovered") for _, v in rows)  # this run ends below its high


def test_no_figure_the_run_cannot_support(from_2022):
    _, _, html = from_2022
    for wrong in ("10Y", "Treynor", "5Y (ann.)", "matched"):
        assert wrong not in html


def test_a_strategy_that_never_trades_gets_its_table_and_every_output(tmp_path):
    for command in ("run", "compare"):
        proc = main(command, *SMALL_ALTS, "--start", "2024-01-01", "--set", "filter.mode=absolute",
                    "--out", tmp_path, "--name", command)
        assert proc.returncode == 0, proc.stderr
        assert "final_value" in proc.stdout and "never held a position" in proc.stdout
        html = (tmp_path / command / "tearsheet.html").read_text()
        assert "rotation never held a position" in html
        assert _cells(html, "figure")["rotation.sharpe"] == "n/a"
        assert (tmp_path / command / "manifest.json").exists()


def test_a_two_day_period_says_what_it_cannot_annualise(tmp_path):
    proc = main("run", *SMALL_ALTS, "--start", "2024-03-01", "--end", "2024-03-02", "--out", tmp_path, "--name", "two")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "period: 2024-03-01 to 2024-03-02 (1 day), values in USDT"
    table = dict(line.split(None, 1) for line in lines[3:15])
    for key in ("cagr", "volatility", "sharpe", "sortino", "calmar", "turnover"):
        assert table[key].split() == ["n/m", "n/m"], key
    assert "not meaningful (n/m) over 1 day: at least 365 are needed" in proc.stdout
    html = (tmp_path / "two" / "tearsheet.html").read_text()
    assert _cells(html, "figure")["rotation.cagr"] == "n/m" and "at least 365 are needed" in html
    metrics = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert metrics["annualised_figures_shown"] is False and np.isfinite(metrics["rotation"]["cagr"])


def test_a_year_is_enough_to_annualise():
    from canary.runs.metrics import MIN_ANNUALISED_DAYS, caveats, table

    figures = {"a": dict.fromkeys(("final_value", "total_return", "cagr", "volatility", "sharpe", "sortino",
                                   "max_drawdown", "calmar", "exposure", "turnover", "trades", "fees"), 0.5)}
    assert "n/m" not in table(figures, MIN_ANNUALISED_DAYS) and not caveats(figures, MIN_ANNUALISED_DAYS)
    assert table(figures, MIN_ANNUALISED_DAYS - 1).count("n/m") == 6


@pytest.mark.parametrize("args, line", [
    (("--start", "2017-01-01", "--end", "2018-03-01"), "data.start 2017-01-01 moved to 2017-08-18, the first bar"),
    (("--start", "2025-06-01", "--end", "2030-01-01"), "data.end 2030-01-01 moved to 2026-01-06, the last bar close before it"),
])
def test_the_period_is_printed_above_the_table_and_a_moved_bound_said(args, line, tmp_path):
    proc = main("run", *SMALL_ALTS, *args, "--out", tmp_path, "--no-report")
    assert proc.returncode == 0, proc.stderr
    head = proc.stdout.split("metric")[0].splitlines()
    assert head[0].startswith("period: ") and line in head
