"""`canary paper`: the forward test, kept bar by bar in a SQLite ledger (`canary.runs.live.ledger`).

Each invocation processes, in order, every crypto bar closed since the last one the ledger
recorded (up to ``--as-of``, default the latest bar of the data): the regime decided at that
close, the fills known by then (an order decided at a close fills at the next bar's open, so
it is recorded with that next bar), each position's value, the cash and the portfolio value,
for the configured strategy and for BTC buy-and-hold.

The forward record is the backtest: every invocation runs the configured strategy (the
screening engine, held to Backtrader by the parity test) on the market cut at the instant,
trading from the ledger's first bar, and appends what it has not recorded yet. The runs are
causal, so a ledger stepped bar by bar holds the fills and values of one `canary run`
started on the ledger's first day (tests/test_paper.py) -- but for a coin whose series stops
(a delisting): the run that sees the series end sells it at the open of its last bar, the
forward test, not knowing yet, cannot. Each invocation checks that the recomputed values and
fills agree with the ledger's and stops in one line, naming the bar, where they do not.

The ledger keeps the configuration it was started with and a hash of every input's row at
every bar it recorded (and of the warm-up before its first bar): a different configuration,
or data whose recorded past changed, is refused in one line naming what changed.
"""
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from canary.errors import ConfigError, DataError
from canary.feeds.loading import utc_instant
from canary.feeds.market import Universe, load_market
from canary.feeds.pointintime import roles_table
from canary.indicators.signals import REGIME_NAMES
from canary.strategies import BacktestResult
from canary.strategies.screening import run_fast

from ..backtest import plan, quote_currency, strategies
from ..report.files import plot_equity
from ..report.metrics import caveats, performance, period_days, regime_names, table
from ..report.tearsheet import write_tearsheet
from .ledger import Ledger
from .now import strategy_run

HASHED = ("open", "high", "low", "close", "volume")


def _iso(ts):
    return pd.Timestamp(ts).isoformat()


def _digest(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype=float).tobytes()).hexdigest()


def bar_inputs(market, instants):
    """{instant: {symbol: hash of its row at that close}} for `instants` of the clock: each
    coin's prices and listing, each index's last session closed by then."""
    out = {t: {} for t in instants}
    where = market.clock.get_indexer(instants)
    for symbol, frame in market.crypto.items():
        rows = frame[list(HASHED) + ["listed"]].to_numpy(dtype=float)[where]
        for t, row in zip(instants, rows, strict=True):
            out[t][symbol] = _digest(row)[:16]
    for symbol, frame in market.equity.items():
        rows = frame[list(HASHED)].to_numpy(dtype=float)
        at = frame.index.searchsorted(instants, side="right") - 1
        for t, i in zip(instants, at, strict=True):
            out[t][symbol] = _digest(rows[i])[:16] if i >= 0 else "none"
    return out


def warmup_hashes(market):
    """{symbol: SHA-256 of its rows closing before the first trading bar}."""
    out = {}
    for symbol, frame in list(market.crypto.items()) + list(market.equity.items()):
        rows = frame[frame.index < market.start]
        out[symbol] = _digest(rows[list(HASHED)].to_numpy(dtype=float))
    return out


def _chain(previous, inputs):
    return hashlib.sha256((previous + json.dumps(inputs, sort_keys=True)).encode()).hexdigest()


def _first_difference(recorded, given, where="configuration"):
    """The first key (dotted) whose value differs between two configurations."""
    for key in sorted(set(recorded) | set(given)):
        a, b = recorded.get(key), given.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{where}.{key}" if where != "configuration" else key)
            if found:
                return found
        elif a != b:
            name = f"{where}.{key}" if where != "configuration" else key
            return f"{name} was {json.dumps(a)}, now {json.dumps(b)}"
    return None


@dataclass
class Step:
    """One bar processed: its close, the strategy's regime and value, and its fills."""

    close_time: pd.Timestamp
    regime: str
    value: float
    fills: int

    def line(self):
        return f"{_iso(self.close_time)} {self.regime} value {self.value:,.2f}, {self.fills} fill(s)"


def _runs(market, config, p):
    """{label: BacktestResult}: the configured strategy (as `canary now` runs it), then BTC buy-and-hold."""
    (label, _, _), *benchmarks = strategies(p, "btc")
    out = {label: strategy_run(market, config, p.costs)}
    out.update({name: run_fast(market, cls, params, p.costs, name=name) for name, cls, params in benchmarks})
    return out


def _comparable(config):
    """The configuration as the ledger records it (JSON types: dates as text)."""
    return json.loads(json.dumps(config.as_dict(), sort_keys=True, default=str))


def paper(config, ledger_path, as_of=None):
    """Bring the ledger up to `as_of` (default: the latest bar); returns the `Step`s processed."""
    instant = utc_instant(as_of, "--as-of") if as_of is not None else None
    if config.data.end:
        raise ConfigError(f"data.end {config.data.end}: a forward test has no end; "
                          "use --as-of to stop at an instant")
    with Ledger.open(ledger_path) as ledger:
        recorded = ledger.meta("config")
        if recorded is not None:
            config = config.with_checked({"data.start": recorded["data"]["start"]})
            changed = _first_difference(recorded, _comparable(config))
            if changed:
                raise ConfigError(f"{ledger.path}: started with another configuration ({changed}); "
                                  "a new ledger (--ledger) is the way to change it")
        p = plan(config)
        if recorded is None:
            first = load_market(p.library, p.universe, None, instant).end
            config = config.with_checked({"data.start": first.date().isoformat()})
            p = replace(p, config=config)
        start = utc_instant(config.data.start)
        if instant is not None and instant < start:
            raise ConfigError(f"--as-of {as_of}: before the ledger's first bar, {config.data.start}")
        # the first step holds one bar; load_market wants its end after its start
        end = max(instant, start + pd.Timedelta(microseconds=1)) if instant is not None else None
        market = load_market(p.library, p.universe, config.data.start, end)
        if recorded is None:
            ledger.start(_comparable(config), warmup_hashes(market))
        _check_history(ledger, market)
        results = _runs(market, config, p)
        _check_recomputed(ledger, results)
        return _append(ledger, market, results, p.costs.fill == "close")


def _check_history(ledger, market):
    """Refuse data whose past differs from what the ledger's decisions saw, naming it."""
    now = warmup_hashes(market)
    for symbol, digest in ledger.meta("warmup").items():
        if now.get(symbol) != digest:
            raise ConfigError(f"{ledger.path}: the bars of {symbol} before the ledger's first bar changed; "
                              "a new ledger is the way to use these data")
    label = _first_run(ledger)
    if label is None:
        return
    bars = ledger.bars(label)
    instants = pd.DatetimeIndex([pd.Timestamp(b["close_time"]) for b in bars])
    missing = instants.difference(market.clock)
    if len(missing):
        raise ConfigError(f"{ledger.path}: the bar closing {_iso(missing[0])} the ledger recorded is not in the data; "
                          "a new ledger is the way to use these data")
    now = bar_inputs(market, instants)
    for b, t in zip(bars, instants, strict=True):
        was = json.loads(b["inputs"])
        for symbol in sorted(set(was) | set(now[t])):
            if was.get(symbol) != now[t].get(symbol):
                raise ConfigError(f"{ledger.path}: the bar of {symbol} at {_iso(t)} differs from the one the ledger's "
                                  "decision saw; a new ledger is the way to use these data")


def _check_recomputed(ledger, results):
    """Refuse to go on when the runs recomputed on these data disagree with what the ledger
    recorded (its values and fills), naming the first bar or fill that differs."""
    why = ("(a coin whose series stops, a delisting, is sold at its last bar by a run that sees it end); "
           "a new ledger is the way to go on")
    for run, result in results.items():
        for b in ledger.bars(run):
            t = pd.Timestamp(b["close_time"])
            value = float(result.portfolio["value"].get(t, np.nan))
            if not np.isclose(value, b["value"], rtol=1e-9, atol=0):
                raise DataError(f"{ledger.path}: {run} recomputed on these data is worth {value:,.2f} at {_iso(t)}, "
                                f"the ledger recorded {b['value']:,.2f} {why}")
        for i, fill in enumerate(ledger.table("fills", run)):
            if i >= len(result.fills):
                raise DataError(f"{ledger.path}: {run} recomputed on these data has no fill {i + 1} {why}")
            again = result.fills.iloc[i]
            if (again["symbol"], _iso(again["decided"])) != (fill["symbol"], fill["decided"]) or \
                    not np.isclose(again["size"], fill["size"], rtol=1e-9, atol=0):
                raise DataError(f"{ledger.path}: {run} recomputed on these data fills {again['symbol']} "
                                f"decided {_iso(again['decided'])} where the ledger recorded {fill['symbol']} "
                                f"decided {fill['decided']} {why}")


def _first_run(ledger):
    row = ledger.db.execute("SELECT run FROM bars ORDER BY rowid LIMIT 1").fetchone()
    return row[0] if row else None


def _append(ledger, market, results, close_fills):
    label = next(iter(results))
    done = {run: ledger.count("bars", run) for run in results}
    portfolio = results[label].portfolio
    new = portfolio.index[done[label]:]
    if not len(new):
        return []
    inputs = bar_inputs(market, new)
    previous = ledger.bars(label)
    chain = previous[-1]["chain_sha256"] if previous else json.dumps(ledger.meta("warmup"), sort_keys=True)
    fills = {run: ledger.count("fills", run) for run in results}
    orders = {run: ledger.count("orders", run) for run in results}
    steps = []
    for t in new:
        chain = _chain(chain, inputs[t])
        with ledger.transaction():
            counts = {}
            for run, r in results.items():
                row = r.portfolio.loc[t]
                coins = [c for c in r.portfolio.columns if c not in ("value", "cash", "regime")]
                regime = regime_names(pd.Series([row["regime"]])).iloc[0] if "regime" in row else None
                ledger.add_bar(run, _iso(t), done[run], regime, float(row["value"]), float(row["cash"]),
                               inputs[t], chain, {c: float(row[c]) for c in coins if row[c] != 0.0})
                done[run] += 1
                counts[run] = 0
                for kind, frame, seqs, add in (("fills", r.fills, fills, ledger.add_fill),
                                               ("orders", r.orders, orders, ledger.add_order)):
                    while seqs[run] < len(frame):
                        item = frame.iloc[seqs[run]]
                        decided = pd.Timestamp(item["decided"])
                        if decided > t or (decided == t and not close_fills):
                            break
                        add(run, seqs[run], _iso(t), {k: (_iso(v) if k in ("date", "decided") else v)
                                                      for k, v in item.items()})
                        seqs[run] += 1
                        counts[run] += kind == "fills"
        row = portfolio.loc[t]
        steps.append(Step(t, regime_names(pd.Series([row["regime"]])).iloc[0] if "regime" in row else "-",
                          float(row["value"]), counts[label]))
    return steps


def recorded_result(ledger, run):
    """A run's forward record as a BacktestResult, from the ledger alone."""
    bars = ledger.bars(run)
    index = pd.DatetimeIndex([pd.Timestamp(b["close_time"]) for b in bars], name="close_time")
    positions = pd.DataFrame(ledger.table("positions", run), columns=["run", "close_time", "symbol", "value"])
    wide = positions.pivot(index="close_time", columns="symbol", values="value") if len(positions) else \
        pd.DataFrame(index=[b["close_time"] for b in bars])
    wide.index = pd.DatetimeIndex([pd.Timestamp(t) for t in wide.index])
    frame = pd.DataFrame({"value": [b["value"] for b in bars], "cash": [b["cash"] for b in bars]}, index=index)
    frame = frame.join(wide.reindex(index).fillna(0.0))
    fills = pd.DataFrame(ledger.table("fills", run))
    if len(fills):
        for column in ("date", "decided"):
            fills[column] = pd.to_datetime(fills[column])
        fills = fills[["date", "symbol", "side", "size", "price", "value", "fee", "decided"]]
    else:
        fills = pd.DataFrame(columns=["date", "symbol", "side", "size", "price", "value", "fee", "decided"])
    return BacktestResult(run, frame, fills, 0)


def status(ledger_path, report=None):
    """`canary paper status`: the forward record against BTC buy-and-hold, and the open
    positions; with `report` (a folder), its equity picture and tear sheet written there."""
    with Ledger.open(ledger_path, write=False) as ledger:
        runs = [r[0] for r in ledger.db.execute("SELECT DISTINCT run FROM bars ORDER BY rowid")]
        if not runs:
            return [f"{ledger.path}: no bar recorded yet"]
        results = {run: recorded_result(ledger, run) for run in runs}
        codes = {name: code for code, name in REGIME_NAMES.items()}
        regimes = pd.Series([codes.get(b["regime"], np.nan) for b in ledger.bars(runs[0])],
                            index=results[runs[0]].equity.index, dtype=float)
        recorded = ledger.meta("config")
        currency = quote_currency(recorded["data"]["currency"], Universe(**roles_table(recorded["universe"])))
    first = results[runs[0]]
    days = period_days(first.equity)
    out = [f"forward record {_iso(first.equity.index[0])} to {_iso(first.equity.index[-1])} "
           f"({len(first.equity)} bars, {days:.0f} days)"]
    figures = {run: performance(r) for run, r in results.items()}
    out.append(table(figures, days))
    out += [f"note: {line}" for line in caveats(figures, days)]
    last = first.portfolio.iloc[-1]
    held = {c: v / last["value"] for c, v in last.items() if c not in ("value", "cash") and v != 0.0}
    out.append("open positions: " + (", ".join(f"{c} {w:.1%}" for c, w in held.items()) or "none")
               + f", cash {last['cash'] / last['value']:.1%}")
    if report is not None:
        folder = Path(report)
        folder.mkdir(parents=True, exist_ok=True)
        curves = {run: r.equity for run, r in results.items()}
        title = f"Forward record: {runs[0]} vs BTC buy-and-hold, {first.equity.index[0].date()} to " \
                f"{first.equity.index[-1].date()}"
        plot_equity(folder / "equity.png", curves, regimes if regimes.notna().any() else None,
                             f"{title} ({currency})")
        write_tearsheet(folder / "tearsheet.html", curves, figures, title, currency)
        out.append(f"outputs: {folder / 'equity.png'}, {folder / 'tearsheet.html'}")
    return out

