"""The files of `canary study`: events.csv, summary.csv, study.png, study.md (in plain words) and manifest.json."""
import datetime
import math
import warnings

import numpy as np

from canary.indicators.smallcap_breakout import MODES

from .. import backtest
from ..report.files import write_json
from ..report.pictures import subplots
from . import eventstats
from .events import ASSETS, BLOCK_PER_HORIZON, MIN_EVENTS

NAMES = {"eth_btc": "ETH/BTC", "alt_basket": "the altcoin basket", "btc": "BTC", "eth": "ETH"}
SHORT = {"eth_btc": "ETH/BTC", "alt_basket": "altcoin basket", "btc": "BTC", "eth": "ETH"}
FORM_WORDS = {"absolute": "fixed level", "channel": "new channel high", "ma": "above its moving average"}


def write_events_csv(path, events):
    events.to_csv(path, index=False, float_format="%.10g")


def write_summary_csv(path, summary):
    summary.to_csv(path, index=False, float_format="%.10g")


def main_horizon(horizons):
    """The horizon the plain words dwell on: 30 days if measured, else the middle one."""
    return 30 if 30 in horizons else sorted(horizons)[len(horizons) // 2]


def _pct(x, signed=True):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x * 100:+.1f}%" if signed else f"{x * 100:.0f}%"


def _points(x):
    return f"{x * 100:+.1f}"


def _row(summary, form, horizon, asset):
    rows = summary[(summary["form"] == form) & (summary["horizon"] == horizon) & (summary["asset"] == asset)]
    return rows.iloc[0] if len(rows) else None


def plain_words(study):
    """What the study found, sentence by sentence: events, whether each difference at the main
    horizon is distinguishable from zero at the stated confidence, and which episodes carry it."""

    s, summary, events = study.settings, study.summary, study.events
    h = main_horizon(s.horizons)
    conf = f"{s.confidence:.0%}"
    first, last = (t.date().isoformat() for t in study.period)
    lines = [f"Period {first} to {last}; events at least {s.cooloff} days apart; intervals at {conf} "
             f"from a stationary block bootstrap (mean block {BLOCK_PER_HORIZON} x the horizon)."]
    for form in summary["form"].unique():
        n = int((events["form"] == form).sum())
        if not n:
            lines.append(f"{form} ({FORM_WORDS.get(form, form)}): the background never turned on in the period: "
                         "no event, nothing to measure.")
            continue
        r0 = _row(summary, form, h, "alt_basket")
        text = [f"{form} ({FORM_WORDS.get(form, form)}): {n} event{'s' * (n != 1)}, "
                f"{int(r0['non_overlapping_events'])} of them "
                f"with non-overlapping {h}-day windows ({int(r0['events'])} with a complete {h}-day window)."]
        for asset in ("alt_basket", "eth_btc"):
            r = _row(summary, form, h, asset)
            if r is None or not r["events"]:
                continue
            if math.isnan(r["ci_low"]):
                verdict = f"; too few events for an interval (fewer than {MIN_EVENTS})"
            else:
                distinct = r["ci_low"] > 0 or r["ci_high"] < 0
                verdict = (f", has a {conf} interval of [{_points(r['ci_low'])}, {_points(r['ci_high'])}]: "
                           f"{'' if distinct else 'not '}distinguishable from zero at {conf}")
            text.append(
                f"{h} days after an event {NAMES[asset]} returned {_pct(r['event_mean'])} on average "
                f"(median {_pct(r['event_median'])}, up after {_pct(r['hit_rate'], False)} of events) against "
                f"{_pct(r['unconditional_mean'])} on all days and {_pct(r['on_mean'])} on days the background "
                f"was on; the difference, {_points(r['difference'])} percentage points{verdict}. Without its "
                f"best event ({r['best_event']}, {_pct(r['best_event_return'])}) the mean after events is "
                f"{_pct(r['event_mean_without_best'])}.")
        text.append(_dominant(events[events["form"] == form], f"alt_basket_{h}d", h))
        lines.append(" ".join(t for t in text if t))
    measured = summary[summary["ci_low"].notna()]
    clear = measured[(measured["ci_low"] > 0) | (measured["ci_high"] < 0)]
    if len(measured):
        lines.append(f"Across every form, horizon and asset, {len(clear)} of {len(measured)} differences have a "
                     f"{conf} interval that excludes zero ({_by_chance((1 - s.confidence) * len(measured))} would "
                     "by chance alone if events told nothing; the rows share events, so they are not independent).")
    return lines


def _by_chance(expected):
    """How many intervals would exclude zero by chance: 0.4 is "fewer than one", not "about 0"."""
    return "fewer than one" if expected < 1 else f"about {expected:.1f}"


def _dominant(events, column, h):
    """Which episodes carry the basket's mean after events at horizon h."""
    r = events[column].dropna()
    if len(r) < 6:
        return ""
    top = events.loc[r.sort_values(ascending=False).index[:3]]
    listed = ", ".join(f"{d} ({_pct(v)})" for d, v in zip(top["date"], top[column], strict=True))
    rest = r.drop(top.index).mean()
    return (f"The basket's three best {h}-day episodes: {listed}; without them the mean after the other "
            f"{len(r) - 3} events is {_pct(rest)}.")


def markdown(study, words):
    s = study.settings
    out = ["# Does the canary sing? Event study", "", *[f"{w}\n" for w in words],
           "## Forward returns after events, on all days, and with the background on", "",
           f"Means unless said; `diff` = after events minus all days, with its {s.confidence:.0%} block-bootstrap "
           "interval; `n` events with a complete window (`n/o`: of them non-overlapping); `hit`: share of "
           "events followed by a rise; `w/o best`: the mean after events without the single best. Forms "
           "without events are left out.", ""]
    header = ("| form | days | asset | n | n/o | after events | median | hit | all days | bg on | diff | interval "
              "| w/o best | best event |")
    out += [header, "|" + "---|" * (header.count("|") - 1)]
    with_events = study.summary.groupby("form")["events"].transform("max") > 0
    for _, r in study.summary[with_events].iterrows():
        interval = ("too few events" if math.isnan(r["ci_low"]) else
                    f"[{_points(r['ci_low'])}, {_points(r['ci_high'])}]")
        out.append(f"| {r['form']} | {r['horizon']} | {SHORT[r['asset']]} | {r['events']} | "
                   f"{r['non_overlapping_events']} | {_pct(r['event_mean'])} | {_pct(r['event_median'])} | "
                   f"{_pct(r['hit_rate'], False)} | {_pct(r['unconditional_mean'])} | {_pct(r['on_mean'])} | "
                   f"{_points(r['difference']) if r['events'] else 'n/a'} | {interval} | "
                   f"{_pct(r['event_mean_without_best'])} | {r['best_event'] if r['events'] else ''} |")
    out += ["", "Every event and its forward returns: `events.csv`; the picture: `study.png`.", ""]
    return "\n".join(out)


def plot_study(path, study):
    """Average cumulative path after events, with its band (from MIN_EVENTS events, as the
    intervals), against the path from all days; one row per form with events, one column per
    asset. Returns the figure."""

    forms = [f for f, p in study.paths.items() if p["event"].shape[0]]
    rows = max(len(forms), 1)
    fig, axes = subplots(rows, len(ASSETS), figsize=(3.2 * len(ASSETS), 2.6 * rows + 0.6), squeeze=False,
                             sharex=True)
    conf = study.settings.confidence
    for i, form in enumerate(forms):
        p = study.paths[form]
        days, events = p["days"], p["event"] * 100
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(events, axis=0)
        banded = events.shape[0] >= MIN_EVENTS
        if banded:
            low, high = eventstats.mean_band(events, 1000, conf, study.settings.seed)
        for j, asset in enumerate(ASSETS):
            ax = axes[i, j]
            if banded:
                ax.fill_between(days, low[:, j], high[:, j], color="#9fb8f0", alpha=0.5, lw=0,
                                label=f"{conf:.0%} band of the mean")
            ax.plot(days, mean[:, j], color="#1f4e9c", lw=1.5, label=f"after {events.shape[0]} events"
                    + ("" if banded else f" (no band under {MIN_EVENTS})"))
            ax.plot(days, p["all"][:, j] * 100, color="#666666", lw=1.2, ls="--", label="all days")
            ax.axhline(0, color="black", lw=0.5)
            ax.set_title(f"{form}: {NAMES[asset]}", fontsize=9)
            if j == 0:
                ax.set_ylabel("cumulative return %")
            if i == rows - 1:
                ax.set_xlabel("days after")
            ax.tick_params(labelsize=8)
    if not forms:
        axes[0, 0].text(0.5, 0.5, "no event in the period", ha="center", va="center", transform=axes[0, 0].transAxes)
    else:
        axes[0, 0].legend(fontsize=7, loc="upper left")
    first, last = (t.date().isoformat() for t in study.period)
    fig.suptitle(f"After the small-cap background turns on, {first} to {last} (band: events resampled)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


def write_study(folder, p, market, result, started):
    """events.csv, summary.csv, study.png, study.md and manifest.json into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    write_events_csv(folder / "events.csv", result.events)
    write_summary_csv(folder / "summary.csv", result.summary)
    plot_study(folder / "study.png", result)
    words = plain_words(result)
    (folder / "study.md").write_text(markdown(result, words))
    figures = {"events": {form: int((result.events["form"] == form).sum()) for form in MODES},
               "period": [t.isoformat() for t in result.period]}
    record = backtest.manifest(p, market, figures, started, datetime.datetime.now(datetime.UTC))
    record["study"] = {"horizons": list(result.settings.horizons), "cooloff_days": result.settings.cooloff,
                       "confidence": result.settings.confidence, "reps": result.settings.reps,
                       "seed": result.settings.seed, "block_per_horizon": BLOCK_PER_HORIZON}
    write_json(folder / "manifest.json", record)
    return words
