"""QuantStats' full tear sheet, with what it states wrongly here replaced or taken out.

QuantStats' HTML report (``quantstats.reports.html``) is the tear sheet quant researchers know.
It runs here over exactly the printed table's period for both series (``match_dates=False``:
by default it cuts both to the days after the strategy's first non-zero return) with 365
periods a year, on daily returns dated by the UTC day they were earned in. Its HTML is then
edited, because some of its parts are wrong on these runs:

* its end-of-year chart draws every year's bars under too few year labels (nine years of bars
  under the labels 2018-2022): replaced by the project's yearly chart and table;
* its drawdown table gives the last date as the recovery of a drawdown that has not
  recovered, and so does "Max DD Period End": replaced by the project's drawdown tables
  (both series, "not recovered" said), the row taken out, and with it its style sheet's rule
  that appends a "%" to each cell of the table's third column (here: the recovery date);
* trailing figures over a window longer than the run ("10Y (ann.)" for an eight-year run) are
  computed on whatever there is: taken out;
* "Prob. Sharpe Ratio" takes 3 off a kurtosis that is already excess kurtosis, "Treynor Ratio"
  is printed as a percentage of a beta-scaled total return (4,502 %), and "Profit Ratio" counts
  days without a position as losing days: taken out.

Its header is replaced by the project's (title, period, currency, caveats) and key-figure
table, so the page opens with the same figures as the printed table. QuantStats annualises
everything and divides by the volatility: below MIN_ANNUALISED_DAYS, or for a series that never
moved, `QuantStatsUnavailable` says so and the caller writes the project's own page instead.
"""
import logging
import re
import tempfile
import warnings
from pathlib import Path

from .metrics import DAYS_PER_YEAR, MIN_ANNUALISED_DAYS, daily_returns

TITLES = {"rotation": "Small-cap rotation", "btc_buy_hold": "BTC buy-and-hold"}

WRONG_ROWS = ("Prob. Sharpe Ratio", "Treynor Ratio", "Profit Ratio", "Max DD Period End")
TRAILING_DAYS = {"3M": 91, "6M": 182, "1Y": 365, "3Y (ann.)": 3 * 365, "5Y (ann.)": 5 * 365,
                 "10Y (ann.)": 10 * 365}


class QuantStatsUnavailable(Exception):
    """QuantStats cannot report on this run; the message says why, in words."""


def _returns(curves):
    out = []
    for equity in curves.values():
        r = daily_returns(equity)
        r.index = r.index.tz_localize(None) if r.index.tz is not None else r.index
        out.append(r)
    return out


def _quantstats_html(strategy, benchmark, title, labels):
    import matplotlib

    matplotlib.use("Agg")  # headless: QuantStats draws with pyplot
    import quantstats as qs

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="quantstats")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="quantstats")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="quantstats")
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
        warnings.filterwarnings("ignore", message="vert: bool", module="seaborn")
        # the end-of-year chart's mislabelling, which is replaced below
        warnings.filterwarnings("ignore", message="set_ticklabels", category=UserWarning, module="quantstats")
        out = Path(tmp) / "qs.html"
        try:
            qs.reports.html(strategy, benchmark=benchmark, periods_per_year=DAYS_PER_YEAR, match_dates=False,
                            output=str(out), title=title, strategy_title=TITLES.get(labels[0], labels[0]),
                            benchmark_title=TITLES.get(labels[1], labels[1]))
        except Exception as error:  # a third party's report on degenerate input: say what it raised, in words
            raise QuantStatsUnavailable(f"QuantStats could not compute it ({type(error).__name__}: {error})") \
                from error
        return out.read_text(encoding="utf-8")


def _replace_div(page, div_id, content):
    """Replace the element <div id=div_id>...</div> (no nested div inside) with `content`."""
    pattern = re.compile(rf'<div id="{div_id}">.*?</div>', re.S)
    if not pattern.search(page):
        raise QuantStatsUnavailable(f"its page has no '{div_id}' part to correct (a QuantStats version "
                                    "this project was not tested with)")
    return pattern.sub(lambda _: f'<div id="{div_id}">{content}</div>', page, count=1)


def _drop_rows(page, names):
    for name in names:
        page = re.sub(rf"<tr><td>{re.escape(name)}</td>.*?</tr>\n?", "", page)
    return page


def quantstats_page(curves, parts, title, days):
    """QuantStats' report of `curves` ({label: equity}, the strategy first, then its benchmark)
    with the project's sections `parts` (see `canary.runs.report.tearsheet.sections`) in place of its
    wrong ones. Raises QuantStatsUnavailable when it cannot be written."""
    if days < MIN_ANNUALISED_DAYS:
        raise QuantStatsUnavailable(f"it annualises every figure, and {days:.0f} days are under the "
                                    f"{MIN_ANNUALISED_DAYS} needed")
    labels = list(curves)
    strategy, benchmark = _returns(curves)
    still = [TITLES.get(k, k) for k, r in zip(labels, (strategy, benchmark), strict=True) if not (r != 0).any()]
    if still:
        raise QuantStatsUnavailable(f"{' and '.join(still)} never moved, and its ratios divide by its volatility")
    page = _quantstats_html(strategy, benchmark, title, labels)
    page = re.sub(r"<h1>.*?</h1>", lambda _: parts["intro"] + parts["key_figures"]
                  + "<h2>QuantStats</h2>", page, count=1, flags=re.S)
    page = _drop_rows(page, WRONG_ROWS + tuple(k for k, need in TRAILING_DAYS.items() if need > days))
    page = _replace_div(page, "eoy_returns", parts["yearly"])
    page = _replace_div(page, "eoy", "")
    page = _replace_div(page, "ddinfo", parts["drawdowns"])
    return re.sub(r'#ddinfo table td:nth-of-type\(3\):after\{content:"%"\}', "", page)
