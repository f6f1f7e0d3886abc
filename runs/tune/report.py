"""The report of `canary tune`, out of sample first: printed, and written into the run folder.

Files: `trials.parquet` / `trials.csv` (every trial's settings and whole-history figures),
`returns.parquet` (the days x trials matrix, trial ids as column names, and BTC buy-and-hold),
`walkforward.csv` (each window's dates, pick and figures), `best.toml` (the pick, a
configuration `canary run` reruns), `tuning.json` (every figure printed), `tearsheet.html`
(the project's tear sheet of the out-of-sample curve against BTC buy-and-hold), and the pictures
`walkforward.png`, `logits.png`, `is_vs_oos.png` and `heatmap.png`.
"""
import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..config import with_values
from ..report import files as report
from ..report.figures import FIGURES, Returns, figures_of
from ..report.metrics import COLUMNS, MIN_ANNUALISED_DAYS, meaningful
from ..report.metrics import table as metrics_table
from ..report.pictures import subplots
from ..report.tearsheet import write_tearsheet
from . import trial_returns
from .walkforward import days_in

SUPPORT = {"pbo": 0.5, "dsr": 0.95, "spa": 0.05}  # the bars a piece of evidence must clear


def _equity(returns, cash):
    """An equity curve from daily returns, starting at `cash` the day before the first."""
    start = returns.index[0] - (returns.index[1] - returns.index[0] if len(returns) > 1 else pd.Timedelta(days=1))
    values = cash * np.concatenate([[1.0], np.cumprod(1.0 + returns.to_numpy())])
    return pd.Series(values, index=returns.index.insert(0, start))


def _figures(returns):
    """The figures of one column of `Returns`, as floats."""
    figs = figures_of(returns)
    return {k: float(figs[k][0]) for k in FIGURES}


def _test_days(tuned):
    """Returns of BTC buy-and-hold over the test windows, joined as the out-of-sample curve is."""
    return Returns.concat(tuned.bench_returns.rows(slice(w.train_end, w.test_end)) for w in tuned.windows)


def shortest_shown(config):
    """The fewest days of a test window whose annualised objective is shown: a year, as in the
    metrics table, or the configured test length when shorter (only a window cut short by the
    end of the data falls below it)."""
    t = config.tune
    test = days_in(t.test) if t.scheme == "walk-forward" else None
    return min(MIN_ANNUALISED_DAYS, test) if test else MIN_ANNUALISED_DAYS


def out_of_sample(tuned):
    """(stitched returns, BTC buy-and-hold returns on the same days), or (None, None) for CSCV."""
    if tuned.walk is None:
        return None, None
    oos = tuned.walk.returns
    return oos, tuned.benchmark.reindex(oos.index).rename("btc_buy_hold")


def _setting(tuned, i):
    return ", ".join(f"{k}={v}" for k, v in tuned.trials[i].items())


def _scheme(config):
    t = config.tune
    if t.scheme == "split":
        return f"split at {t.split}"
    if t.scheme == "walk-forward":
        step = f", step {t.step}" if t.step else ""
        return f"{t.window} walk-forward, train {t.train}, test {t.test}{step}"
    return "CSCV"


def summary(tuned):
    """Every figure of the report, as a dict (tuning.json)."""
    t = tuned.config.tune
    oos, btc = out_of_sample(tuned)
    out = {
        "trials": len(tuned.trials), "method": t.method, "seed": t.seed, "objective": t.objective,
        "max_drawdown_limit": t.max_drawdown or None, "scheme": _scheme(tuned.config),
        "engine": t.engine, "days": len(tuned.matrix),
        "history": f"{tuned.matrix.index[0].date()} to {tuned.matrix.index[-1].date()}",
        "pick": {"trial": tuned.pick, "settings": tuned.trials[tuned.pick],
                 "whole_history": _figures(tuned.returns.column(tuned.pick))},
        "btc_buy_hold_whole_history": _figures(tuned.bench_returns),
        "deflated_sharpe": vars(tuned.deflated),
        "spa_pvalue": vars(tuned.spa),
        "rechecked_in_backtrader": tuned.rechecked,
    }
    if tuned.overfitting is not None:
        o = tuned.overfitting
        out["pbo"] = {"pbo": o.pbo, "below_median": o.below, "tied_at_median": o.ties, "blocks": o.blocks,
                      "splits": o.splits, "median_logit": float(np.median(o.logits)),
                      "out_of_sample_below_zero": float(np.mean(o.out_of_sample < 0))}
    if oos is not None:
        out["out_of_sample"] = {"period": f"{oos.index[0].date()} to {oos.index[-1].date()}", "days": len(oos),
                                "windows": len(tuned.windows), "walk_forward": _figures(tuned.walk.stitched),
                                "btc_buy_hold": _figures(_test_days(tuned))}
    return out


def _f(value, spec):
    """A number formatted by `spec`, or 'n/a' if undefined."""
    return format(value, spec) if np.isfinite(value) else "n/a"


def verdict(s):
    """One plain paragraph: what was tried, what each statistic says, and the conclusion."""
    name = s["objective"]
    parts = [f"{s['trials']} trials ({s['method']}) were each run once over {s['days']:,} days "
             f"({s['history']}), and judged by their {name}."]
    reasons = []
    if "out_of_sample" in s:
        o = s["out_of_sample"]
        mine, btc = o["walk_forward"], o["btc_buy_hold"]
        better = mine[name] > btc[name]
        parts.append(f"Re-picking the best trial on each training window ({s['scheme']}) and trading it over the "
                     f"next test window earned a {name} of {_f(mine[name], '.2f')} out of sample ({o['period']}; "
                     f"CAGR {mine['cagr']:.1%}, worst drawdown {mine['max_drawdown']:.1%}) against "
                     f"{_f(btc[name], '.2f')} for BTC buy-and-hold over the same days (CAGR {btc['cagr']:.1%}).")
        reasons.append(better)
    if "pbo" in s:
        over = s["pbo"]
        pbo = over["pbo"]
        parts.append(f"The probability of backtest overfitting is {pbo:.2f}: in {over['below_median']:.1%} of "
                     f"{over['splits']:,} ways of halving the history, the best trial of one half was worse than the "
                     f"median trial of the other half, and in {over['tied_at_median']:.1%} level with it (counted as "
                     f"half overfit; {'below' if pbo < SUPPORT['pbo'] else 'at or above'} the {SUPPORT['pbo']} of "
                     "pure luck).")
        reasons.append(pbo < SUPPORT["pbo"])
    d = s["deflated_sharpe"]
    dsr = d["dsr"]
    parts.append(f"The pick's deflated Sharpe ratio is {dsr:.2f}: the probability that its true Sharpe ratio is "
                 f"above zero once its {s['trials']} trials and fat tails are allowed for "
                 f"({'above' if dsr > SUPPORT['dsr'] else 'below'} the usual {SUPPORT['dsr']}); counting only the "
                 f"{d['effective_trials']} independent trials their correlated returns amount to, it is "
                 f"{d['effective_dsr']:.2f}.")
    reasons.append(dsr > SUPPORT["dsr"])
    p = s["spa_pvalue"]["consistent"]
    parts.append(f"Hansen's SPA test gives p = {p:.2f} for the hypothesis that no trial beats BTC buy-and-hold "
                 + ("(at least one setting did, beyond the luck of so many trials)." if p < SUPPORT["spa"]
                    else "(no setting can be said to beat it)."))
    reasons.append(p < SUPPORT["spa"])
    if all(reasons):
        parts.append("The evidence supports the rotation over BTC buy-and-hold on this data.")
    elif any(reasons):
        parts.append("The evidence is mixed: it does not support the rotation over BTC buy-and-hold.")
    else:
        parts.append("The evidence does not support the rotation over BTC buy-and-hold.")
    return " ".join(parts)


def _table_of(columns, days):
    return metrics_table({name: figs for name, figs in columns.items()}, days)


def text(tuned, folder, top=10):
    """The printed report."""
    s = summary(tuned)
    t = tuned.config.tune
    keys = list(tuned.trials[0])
    lines = [f"tuning: {s['trials']} trials ({t.method} over {', '.join(keys)}), objective "
             f"{t.objective}{' with drawdown at most ' + format(t.max_drawdown, '.0%') if t.max_drawdown else ''}"
             f", {s['scheme']}", ""]
    if "out_of_sample" in s:
        o = s["out_of_sample"]
        lines += [f"OUT OF SAMPLE {o['period']} ({o['days']:,} days, {o['windows']} test window(s), the best trial "
                  "of each training window traded over the next test window):",
                  _table_of({"walk_forward": o["walk_forward"], "btc_buy_hold": o["btc_buy_hold"]}, o["days"]), ""]
        wf = tuned.walk
        picks = [p for p in wf.picks if p >= 0]
        lines.append(f"picks: {len(set(picks))} distinct trial(s) over {len(wf.picks)} window(s)"
                     + (f"; {wf.picks.count(-1)} window(s) in cash (no trial kept the drawdown limit)"
                        if -1 in wf.picks else "") + " (walkforward.csv)")
    if "pbo" in s:
        p = s["pbo"]
        lines.append(f"probability of backtest overfitting: {p['pbo']:.2f} (CSCV, {p['blocks']} blocks, "
                     f"{p['splits']:,} splits: the in-sample best was below the out-of-sample median in "
                     f"{p['below_median']:.1%}, at it in {p['tied_at_median']:.1%}, counted as half; pure luck "
                     f"gives {SUPPORT['pbo']:.2f}; median logit {p['median_logit']:.2f})")
    d = tuned.deflated
    a_year = math.sqrt(365)
    lines.append(f"deflated Sharpe ratio of the pick: {d.dsr:.2f} among all {d.trials} trials, {d.effective_dsr:.2f} "
                 f"among the {d.effective_trials} independent trials their correlations amount to (Li and Ji's "
                 f"effective number; its Sharpe {d.sharpe * a_year:.2f} a year against {d.expected_max * a_year:.2f} "
                 f"expected of the best of {d.trials} without skill, {d.effective_expected_max * a_year:.2f} of the "
                 f"best of {d.effective_trials})")
    lines.append(f"SPA test, any trial better than BTC buy-and-hold: p = {tuned.spa.consistent:.3f} "
                 f"({tuned.spa.reps:,} bootstrap draws)")
    if tuned.rechecked:
        lines.append(f"rerun in Backtrader: trials {', '.join(map(str, tuned.rechecked))} match the screening engine")
    lines += ["", verdict(s), ""]
    order = tuned.table.loc[tuned.leaders].head(top)
    lines.append(f"IN SAMPLE, whole history {s['history']} (best first; trials.csv has all):")
    shown = order[["trial"] + keys + ["sharpe", "cagr", "max_drawdown", "calmar"]]
    lines.append(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="n/a"))
    btc = s["btc_buy_hold_whole_history"]
    lines.append(f"BTC buy-and-hold: sharpe {_f(btc['sharpe'], '.3f')}, cagr {btc['cagr']:.3f}, "
                 f"max_drawdown {btc['max_drawdown']:.3f}")
    lines += ["", f"pick: trial {tuned.pick} ({_setting(tuned, tuned.pick)}), in sample over the whole history; "
              f"`canary run {folder / 'best.toml'}` reruns it", f"outputs: {folder}"]
    return "\n".join(lines)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _toml_key(k):
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def toml_text(config, header=""):
    """A configuration (dict of sections, possibly nested) as TOML."""
    lines = [header] if header else []

    def section(name, table):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append(f"\n[{name}]")
        lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in table.items():
            if isinstance(v, dict):
                section(f"{name}.{_toml_key(k)}", v)

    for name, table in config.items():
        section(name, table)
    return "\n".join(lines).lstrip("\n") + "\n"


def write(tuned, folder):
    """Every file of the report into `folder`: `returns.parquet` in a thread (Arrow writes it
    without the GIL, half a second for 10,000 trials) beside the others."""
    with ThreadPoolExecutor(1) as pool:
        returns = pool.submit(write_returns, tuned, folder)
        _write_the_others(tuned, folder)
        returns.result()


def write_returns(tuned, folder):
    """`returns.parquet`: the days x trials matrix (trial ids as column names) and BTC buy-and-hold."""
    returns = dict(zip(map(str, tuned.matrix.columns), tuned.matrix.to_numpy().T, strict=True))
    returns["btc_buy_hold"] = tuned.benchmark.to_numpy()
    report.write_parquet(folder / "returns.parquet", returns, tuned.matrix.index.rename("date"))


def _write_the_others(tuned, folder):
    s = summary(tuned)
    table = tuned.table.copy()
    table.to_parquet(folder / "trials.parquet", index=False)
    table.to_csv(folder / "trials.csv", index=False, float_format="%.10g")
    best = with_values(tuned.config, tuned.trials[tuned.pick]).as_dict()
    best.pop("tune")
    (folder / "best.toml").write_text(toml_text(best, f"# canary tune pick: trial {tuned.pick} "
                                                      f"({_setting(tuned, tuned.pick)})"))
    report.write_json(folder / "tuning.json", dict(s, verdict=verdict(s), config=tuned.config.as_dict()))
    cash = tuned.config.costs.cash
    oos, btc = out_of_sample(tuned)
    if oos is not None:
        wf = tuned.walk.table(tuned.matrix.index, list(tuned.matrix.columns))
        wf["btc_test_objective"] = [float(figures_of(tuned.bench_returns.rows(slice(w.train_end, w.test_end)))
                                          [s["objective"]][0]) for w in tuned.windows]
        wf.insert(wf.columns.get_loc("test_objective"), "test_days", [w.test_end - w.train_end for w in tuned.windows])
        shortest = shortest_shown(tuned.config)
        for col in ("test_objective", "btc_test_objective"):   # n/m: an annual rate of too short a window
            wf[col] = [("n/a" if np.isnan(v) else f"{v:.10g}") if meaningful(s["objective"], days, shortest)
                       else "n/m" for v, days in zip(wf[col], wf["test_days"], strict=True)]
        for col in ("train_start", "train_end", "test_start", "test_end"):
            wf[col] = [d.date().isoformat() for d in wf[col]]
        settings = pd.DataFrame([tuned.trials[p] if p >= 0 else {} for p in tuned.walk.picks])
        pd.concat([wf, settings], axis=1).to_csv(folder / "walkforward.csv", index=False, float_format="%.10g")
        curves = {"walk_forward": _equity(oos, cash), "btc_buy_hold": _equity(btc, cash)}
        starts = [tuned.matrix.index[w.train_end] for w in tuned.windows]
        plot_stitched(folder / "walkforward.png", curves, starts, f"Out of sample: {s['scheme']}")
        currency = trial_returns.market_of(tuned.config)[0].currency
        sheet = {k: dict(dict.fromkeys(COLUMNS, math.nan), final_value=float(v.iloc[-1]),
                         **s["out_of_sample"][k]) for k, v in curves.items()}
        write_tearsheet(folder / "tearsheet.html", curves, sheet,
                        f"Walk-forward out of sample against BTC buy-and-hold, {s['out_of_sample']['period']}",
                        currency, first_day=oos.index[0])
    if tuned.overfitting is not None:
        plot_logits(folder / "logits.png", tuned.overfitting)
        plot_is_vs_oos(folder / "is_vs_oos.png", tuned, s["objective"])
    plot_heatmap(folder / "heatmap.png", tuned.table, list(tuned.trials[0]), s["objective"])


def plot_stitched(path, curves, starts, title):
    fig, ax = subplots(figsize=(11, 5))
    for name, equity in curves.items():
        ax.plot(equity.index, equity.to_numpy(), lw=1.2, label=name)
    for day in starts:
        ax.axvline(day, color="grey", lw=0.5, ls=":")
    ax.set_yscale("log")
    ax.set_ylabel("value (log), test windows joined")
    ax.set_title(title + " (dotted: each test window's start)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_logits(path, over):
    fig, ax = subplots(figsize=(7, 4))
    finite = over.logits[np.isfinite(over.logits)]
    ax.hist(finite, bins=min(50, max(10, len(finite) // 20)), color="#6a8fc7")
    ax.axvline(0.0, color="black", lw=1)
    ax.set_xlabel("logit of the in-sample best trial's out-of-sample rank (left of 0: overfit, at 0: half)")
    ax.set_ylabel("splits")
    ax.set_title(f"CSCV, {over.blocks} blocks, {over.splits:,} splits: PBO {over.pbo:.2f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_is_vs_oos(path, tuned, name):
    over = tuned.overfitting
    fig, ax = subplots(figsize=(6.5, 5.5))
    ax.scatter(over.in_sample, over.out_of_sample, s=4, alpha=0.3, color="grey",
               label="CSCV: best of one half, in it and in the other half")
    if tuned.walk is not None:
        ax.scatter(tuned.walk.train_scores, tuned.walk.test_scores, s=30, color="C3",
                   label="walk-forward: each window's pick, train and test")
    finite = np.concatenate([over.in_sample, over.out_of_sample])
    finite = finite[np.isfinite(finite)]
    if len(finite):
        lo, hi = finite.min(), finite.max()
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.6, label="out of sample = in sample")
    ax.axhline(0.0, color="black", lw=0.4)
    ax.set_xlabel(f"in-sample {name}")
    ax.set_ylabel(f"out-of-sample {name}")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _binned(column, bins=6):
    """The column as it is, or in up to `bins` quantile bins when it takes many numeric values."""
    if not pd.api.types.is_numeric_dtype(column):
        return column.astype(str)
    if column.nunique() <= bins:
        return column
    return pd.qcut(column, bins, duplicates="drop").map(lambda iv: f"{iv.left:.3g}-{iv.right:.3g}")


def influence(table, keys, name):
    """Each key's share of the variance of the objective across trials (between its values)."""
    y = table[name].replace([np.inf, -np.inf], np.nan)
    total = y.var(ddof=0)
    out = {}
    for k in keys:
        groups = y.groupby(_binned(table[k]), observed=True)
        between = (groups.count() * (groups.mean() - y.mean()) ** 2).sum() / y.count()
        out[k] = float(between / total) if total > 0 else 0.0
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def plot_heatmap(path, table, keys, name):
    """Mean whole-history objective over the two most influential keys."""
    ranked = list(influence(table, keys, name))
    rows_key = ranked[0]
    cols_key = ranked[1] if len(ranked) > 1 else None
    frame = table.assign(_r=_binned(table[rows_key]),
                         _c=_binned(table[cols_key]) if cols_key else "all")
    grid = frame.pivot_table(index="_r", columns="_c", values=name, aggfunc="mean", observed=True)
    fig, ax = subplots(figsize=(1.6 + 1.1 * grid.shape[1], 1.4 + 0.6 * grid.shape[0]))
    image = ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", aspect="auto")
    for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_yticks(range(grid.shape[0]), [str(v) for v in grid.index])
    ax.set_xticks(range(grid.shape[1]), [str(v) for v in grid.columns], rotation=45, ha="right")
    ax.set_ylabel(rows_key)
    ax.set_xlabel(cols_key or "")
    ax.set_title(f"mean whole-history {name}")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
