"""The research note's claim as an event study: after the Russell 2000 breaks out and holds, do
ETH/BTC and the altcoins do better than on any other day?

An *event* is a crypto bar close at which the small-cap background turns on, for each form of
the breakout level (``absolute``, ``channel``, ``ma``) with the configuration's confirmation and
fake-out band. The background is the ``risk_on`` of `SmallCapBreakout`, from the indicator's
own array function (`small_cap_breakout`) over the equity sessions, read at each crypto bar
close as of the last equity close known then (`canary.feeds.alignment.known_at`, as
`RiskRegime` reads it): an event is seen at the first crypto bar close after the equity close
that fired it. A turn-on within ``cooloff`` days of the
last event kept is merged into it.

Forward returns are close to close over each horizon (days, counted in bars of the crypto
clock), no costs: ETH/BTC (the ratio of the two closes), BTC, ETH, and the altcoin basket as
the rotation builds it at that bar (the coins `strategies.basket.eligible` admits then, equal
weights, held to the horizon; a coin whose data stop meanwhile is worth its last close). They
are compared with the same returns from every bar close of the period (*all days*) and from the
bar closes at which the background was on (*background on*).
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canary.errors import ConfigError
from canary.feeds.alignment import known_at
from canary.feeds.market import load_market
from canary.feeds.windows import window_bars
from canary.indicators.smallcap_breakout import MODES, small_cap_breakout
from canary.strategies.basket import eligible
from canary.strategies.plan import member_columns
from canary.strategies.rotation import SmallCapRotation

from ..config import regime_params, strategy_params
from . import eventstats

ASSETS = ("eth_btc", "alt_basket", "btc", "eth")
BLOCK_PER_HORIZON = 2   # mean block of the stationary bootstrap, in horizons
MIN_EVENTS = 5          # fewer events give no interval: a resample would repeat one or two values


@dataclass(frozen=True)
class Settings:
    """What the study measures: horizons and cooling-off in days, the intervals' confidence,
    bootstrap resamples and their seed."""

    horizons: tuple = (7, 14, 30, 60)
    cooloff: int = 30
    confidence: float = 0.9
    reps: int = 2000
    seed: int = 0


@dataclass
class Study:
    """What `run_study` found: every event, one summary row per (form, horizon, asset), and
    the average paths after events and on all days (for the picture)."""

    settings: Settings
    events: pd.DataFrame
    summary: pd.DataFrame
    paths: dict            # form -> {"days", "event" (events x steps x assets), "all" (steps x assets)}
    period: tuple          # (first, last) bar close of the study
    bars_per_day: int
    notes: tuple = ()      # what the study had to decide for the configured strategy, one line each


def bars_per_day(clock):
    step = pd.Series(clock).diff().median() if len(clock) > 1 else pd.Timedelta(days=1)
    return max(1, int(round(pd.Timedelta(days=1) / step)))


def _ns(index):
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def basket_eligibility(market, min_history):
    """bars x altcoins: True where the rotation's basket would admit the coin at that bar
    (`canary.strategies.basket.eligible`; with a point-in-time universe, the top N in force
    then, equally weighted among those priced: the study's basket renormalises)."""
    frames = [market.crypto[s] for s in market.universe.alts]
    if not frames:
        return np.zeros((len(market.clock), 0), dtype=bool)
    close, listed, delisting = (np.column_stack([f[c].to_numpy(dtype=float) for f in frames])
                                for c in ("close", "listed", "delisting"))
    return eligible((listed == 1.0) & (delisting == 0.0) & np.isfinite(close), close, min_history,
                    member_columns(frames, len(market.clock)))


def basket_history(config):
    """(the bars of history a coin needs to enter the study's altcoin basket, a note or None):
    the configured strategy's ``min_history``, or the rotation's default when it has none."""
    cls, params = strategy_params(config)
    if "min_history" in cls.params._getkeys():
        return params.get("min_history", dict(cls.params._getpairs())["min_history"]), None
    default = dict(SmallCapRotation.params._getpairs())["min_history"]
    return default, (f"altcoin basket: {cls.__name__} has no min_history, so the rotation's default ({default}) "
                     "decides when a coin enters it")


class Growth:
    """Returns from each bar close to the close `k` bars later, per asset (bars x ASSETS).

    Bought at a bar's close, an asset is worth its last traded close `k` bars later (through a
    gap, or after a coin's data stop: the exit). NaN when there was no price to buy at, or
    when `k` bars later is past the data.
    """

    def __init__(self, market, min_history):
        u = market.universe

        def closes(symbols):
            return pd.DataFrame({s: market.crypto[s]["close"] for s in symbols}, index=market.clock,
                                columns=list(symbols), dtype=float)

        pair, alts = closes((u.eth, u.btc)), closes(u.alts)
        pair_mark = pair.ffill()
        self.entry = np.column_stack([pair.iloc[:, 0] / pair.iloc[:, 1], pair.iloc[:, 1], pair.iloc[:, 0]])
        self.mark = np.column_stack([pair_mark.iloc[:, 0] / pair_mark.iloc[:, 1], pair_mark.iloc[:, 1],
                                     pair_mark.iloc[:, 0]])
        self.alt_entry, self.alt_mark = alts.to_numpy(), alts.ffill().to_numpy()
        self.basket = basket_eligibility(market, min_history)
        self.count = self.basket.sum(axis=1)

    @staticmethod
    def _ahead(values, k):
        out = np.full_like(values, np.nan)
        if k < len(values):
            out[:len(values) - k] = values[k:]
        return out

    def __call__(self, k):
        pair = self._ahead(self.mark, k) / self.entry - 1.0
        coins = np.where(self.basket, self._ahead(self.alt_mark, k) / self.alt_entry - 1.0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            basket = np.where(self.count > 0, coins.sum(axis=1) / self.count, np.nan)
        basket[np.isnan(coins).any(axis=1)] = np.nan   # k bars later is past the data
        return np.column_stack([pair[:, 0], basket, pair[:, 1], pair[:, 2]])


def background(market, params):
    """The small-cap background of one form at each crypto bar close: (on (0/1), the position
    of the equity session known then (-1 before the first), the session's level and close)."""
    frame = market.equity[market.universe.small_cap]
    level, _, on, _ = small_cap_breakout(frame["close"].to_numpy(dtype=float), **params)
    on = np.nan_to_num(on)                      # not known yet (warm-up): not on
    known = known_at(_ns(frame.index), _ns(market.clock))
    return np.where(known >= 0, on[np.maximum(known, 0)], 0.0), known, level, frame


def find_events(on, cooloff_bars):
    """[(bar position, turn-ons merged into it)]: the bars at which `on` turns from 0 to 1, a
    turn-on within `cooloff_bars` of the last event kept being merged into that event."""
    kept = []
    for t in np.flatnonzero((on[1:] >= 0.5) & (on[:-1] < 0.5)) + 1:
        if kept and t - kept[-1][0] < cooloff_bars:
            kept[-1][1] += 1
        else:
            kept.append([int(t), 0])
    return [tuple(e) for e in kept]


def settings_from(horizons="7,14,30,60", cooloff="30", confidence="0.9", reps="2000", seed="0"):
    """Settings from the command line's texts; a ConfigError naming the flag otherwise."""

    def number(flag, text, kind, ok, says):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if value is None or not ok(value):
            raise ConfigError(f"--{flag} {text}: must be {says}")
        return value

    try:
        days = tuple(sorted({int(part) for part in str(horizons).split(",")}))
    except ValueError:
        days = ()
    if not days or days[0] < 1:
        raise ConfigError(f"--horizons {horizons}: expected whole days >= 1 separated by commas, e.g. 7,14,30,60")
    return Settings(days, number("cooloff", cooloff, int, lambda v: v >= 0, "a whole number of days >= 0"),
                    number("confidence", confidence, float, lambda v: 0 < v < 1, "between 0 and 1, e.g. 0.9"),
                    number("reps", reps, int, lambda v: v >= 100, "a whole number >= 100"),
                    number("seed", seed, int, lambda v: v >= 0, "a whole number >= 0"))


def _summary_row(values, is_event, is_on, positions, dates, k, s):
    """One (form, horizon, asset) row from the forward returns of the study's bars."""
    ok = np.isfinite(values)
    v, ev, on, pos, when = values[ok], is_event[ok], is_on[ok], positions[ok], dates[ok]
    e = v[ev]

    def stats(x):
        if not len(x):
            return np.nan, np.nan, np.nan
        return float(np.mean(x)), float(np.median(x)), eventstats.hit_rate(x)

    row = {}
    for prefix, x in (("event", e), ("all", v), ("on", v[on])):
        row[f"{prefix}_mean"], row[f"{prefix}_median"], row[f"{prefix}_hit_rate"] = stats(x)
    row["unconditional_mean"] = row.pop("all_mean")
    row["difference"] = row["event_mean"] - row["unconditional_mean"]
    low = high = np.nan
    if MIN_EVENTS <= len(e) < len(v):
        low, high, _ = eventstats.difference_interval(v, ev, BLOCK_PER_HORIZON * k, s.reps, s.confidence, s.seed)
    row["ci_low"], row["ci_high"] = low, high
    row["hit_rate"] = row.pop("event_hit_rate")
    row["events"] = int(len(e))
    row["non_overlapping_events"] = eventstats.non_overlapping(pos[ev], k)
    row["days"] = int(len(v))
    row["on_days"] = int(on.sum())
    best = int(np.argmax(e)) if len(e) else None
    row["best_event"] = when[ev][best] if best is not None else ""
    row["best_event_return"] = float(e[best]) if best is not None else np.nan
    row["event_mean_without_best"] = float(np.delete(e, best).mean()) if len(e) > 1 else np.nan
    return row


SUMMARY_COLUMNS = ("form", "horizon", "asset", "event_mean", "unconditional_mean", "difference", "ci_low",
                   "ci_high", "hit_rate", "events", "non_overlapping_events", "event_median", "all_median",
                   "all_hit_rate", "on_mean", "on_median", "on_hit_rate", "days", "on_days",
                   "event_mean_without_best", "best_event", "best_event_return")


def small_cap_params(config):
    """The configuration's `SmallCapBreakout` settings (the form is the study's to vary)."""
    rp = regime_params(config)["small_cap"]
    return {key: rp[key] for key in ("level", "period", "distance", "confirm", "hysteresis")}


def load(p):

    data = p.config.data
    return load_market(p.library, p.universe, data.start or None, data.end or None)


def run_study(p, market, settings):
    """The event study of a plan's configuration on `market` (see the module docstring)."""
    base = small_cap_params(p.config)
    clock = market.clock
    bpd = bars_per_day(clock)
    first = int(np.searchsorted(_ns(clock), _ns([market.start])[0]))
    dates = np.array([t.date().isoformat() if bpd == 1 else t.isoformat() for t in clock], dtype=object)
    history, note = basket_history(p.config)
    growth = Growth(market, window_bars(history, market.interval, "strategy.min_history"))
    ks = {h: h * bpd for h in settings.horizons}
    forward = {h: growth(k) for h, k in ks.items()}
    days = np.arange(max(settings.horizons) + 1)
    along = np.stack([growth(d * bpd) for d in days])          # days x bars x assets
    study = slice(first, len(clock))
    positions = np.arange(len(clock))[study]
    event_rows, rows, paths = [], [], {}
    for form in MODES:
        on, known, level, frame = background(market, dict(base, mode=form))
        events = [(t, m) for t, m in find_events(on, settings.cooloff * bpd) if t >= first]
        is_event = np.zeros(len(clock), dtype=bool)
        is_event[[t for t, _ in events]] = True
        for t, merged in events:
            e = known[t]
            row = {"form": form, "date": dates[t], "read_at": clock[t].isoformat(),
                   "session": frame.index[e].tz_convert("America/New_York").date().isoformat(),
                   "index_close": float(frame["close"].iloc[e]), "level": float(level[e]), "merged": merged}
            for h in settings.horizons:
                for j, asset in enumerate(ASSETS):
                    row[f"{asset}_{h}d"] = forward[h][t, j]
            event_rows.append(row)
        for h, k in ks.items():
            for j, asset in enumerate(ASSETS):
                row = _summary_row(forward[h][study, j], is_event[study], on[study] >= 0.5, positions,
                                   dates[study], k, settings)
                rows.append(dict(row, form=form, horizon=h, asset=asset))
        complete = study.start + np.flatnonzero(np.isfinite(along[-1, study, 0]))
        paths[form] = {"days": days, "event": along[:, [t for t, _ in events], :].transpose(1, 0, 2),
                       "all": np.nanmean(along[:, complete, :], axis=1) if len(complete) else
                       np.full((len(days), len(ASSETS)), np.nan)}
    events_frame = pd.DataFrame(event_rows, columns=["form", "date", "read_at", "session", "index_close", "level",
                                                     "merged"] + [f"{a}_{h}d" for h in settings.horizons
                                                                  for a in ASSETS])
    summary = pd.DataFrame(rows)[list(SUMMARY_COLUMNS)]
    return Study(settings, events_frame, summary, paths, (clock[first], clock[-1]), bpd, (note,) if note else ())
