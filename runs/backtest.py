"""A configured backtest, from a validated configuration to a folder of outputs."""
import datetime
import importlib.metadata
import multiprocessing
import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from canary import __version__
from canary.errors import ConfigError, suggest
from canary.feeds.library import DataLibrary, sha256
from canary.feeds.market import Universe, load_market, universe_of
from canary.feeds.pointintime import PointInTime
from canary.feeds.roles import role_names
from canary.feeds.sourced import SourcedLibrary
from canary.feeds.validation import AFTER_RECORDED
from canary.params import param_defaults
from canary.strategies import (
    BtcEthMonthly,
    BuyAndHold,
    Costs,
    EqualWeightBasket,
    SmallCapRotation,
    TargetWeightStrategy,
    run_backtest,
)

from .config import strategy_params
from .forking import fork_is_safe
from .report import coverage
from .report import files as report
from .report.metrics import MIN_ANNUALISED_DAYS, performance, period_days, time_in_regime
from .report.tearsheet import write_tearsheet
from .settings import RunConfig
from .worker_lifetime import end_with_parent

PACKAGES = ("backtrader", "pandas", "numpy", "matplotlib", "exchange-calendars", "yfinance", "ccxt")


@dataclass
class Plan:
    """One configured comparison: which strategies run on which market with which costs."""

    config: RunConfig
    library: DataLibrary
    universe: Universe
    costs: Costs
    currency: str


def plan(config):
    """Check the configuration against the data (symbols exist) before any work."""
    data = config.data
    for folder in data.folders:
        if not Path(folder).is_dir():
            raise ConfigError(f"data.folder: {folder} is not a folder")
    library = SourcedLibrary(DataLibrary(data.folders or None, recorded_at=data.recorded_at or None),
                             config.sources, data.cache_dir or None)
    library, universe = universe_of(library, config.universe)
    for name in role_names():
        for symbol in universe.of(name):
            if symbol not in library.entries:
                raise ConfigError(f"universe.{name}: no data for symbol '{symbol}' in {library.where}"
                                  f"{suggest(symbol, library.entries)}")
    return Plan(config, library, universe, config.costs, quote_currency(data.currency, universe, library.entries))


def quote_currency(stated, universe, entries=None):
    """The currency the crypto prices, and so every value of the run, are in: `stated` (data.currency),
    or else the quote a data manifest records for the crypto symbols (`entries`), or else the
    quote in their names (BTC-USDT: USDT, BTC-USD: USD, BTC/EUR: EUR). `data.currency` names
    the quote, it converts nothing: one that contradicts the symbols' quote is refused (the US
    dollar and its stablecoins count as one money)."""
    quotes = {}
    for symbol in universe.crypto:
        recorded = (entries or {}).get(symbol, {}).get("quote")
        base, sep, quote = symbol.replace("/", "-").rpartition("-")
        quotes.setdefault(recorded or (quote.upper() if sep and base else None), symbol)
    if stated:
        for quote, symbol in quotes.items():
            if quote is not None and not _same_money(stated, quote):
                raise ConfigError(f"data.currency {stated}: the crypto prices are quoted in {quote} ({symbol}) "
                                  "and nothing is converted; drop data.currency, or give prices quoted in "
                                  f"{stated}")
        return stated
    if len(quotes) > 1:
        named = ", ".join(f"{q or 'no quote'} ({s})" for q, s in quotes.items())
        raise ConfigError(f"universe: the crypto symbols are quoted in different currencies: {named}; "
                          "use one quote currency, or set data.currency if they are the same money")
    quote = next(iter(quotes))
    return quote or UNKNOWN_CURRENCY


# The US dollar and the stablecoins pegged to it, for `data.currency`: USD on USDT prices is a name, not a conversion.
DOLLARS = frozenset({"USD", "USDT", "USDC", "BUSD", "DAI", "TUSD", "FDUSD", "USDP"})


def _same_money(a, b):
    a, b = a.upper(), b.upper()
    return a == b or {a, b} <= DOLLARS


UNKNOWN_CURRENCY = "the quote currency"


def period_lines(config, equity, currency):
    """The period a run covers, and each requested bound the data moved, one line each."""
    first, last = equity.index[0].date(), equity.index[-1].date()
    n = (last - first).days
    lines = [f"period: {first} to {last} ({n:,} day{'' if n == 1 else 's'}), values in {currency}"]
    data = config.data
    if data.start and datetime.date.fromisoformat(data.start) != first:
        why = "the first bar" if datetime.date.fromisoformat(data.start) < first else "the first bar close after it"
        lines.append(f"data.start {data.start} moved to {first}, {why}")
    if data.end and datetime.date.fromisoformat(data.end) != last:
        lines.append(f"data.end {data.end} moved to {last}, the last bar close before it")
    if currency == UNKNOWN_CURRENCY:
        lines.append("the symbols do not name their quote currency: set data.currency to name it")
    return lines


def data_notes(market):
    """What loading the market's files repaired or noticed, one line each (gaps in full; the
    bars still open when recorded, and those opening after data.recorded_at, counted in one
    line each)."""
    notes, still_open, later = [], [], {}
    for symbol, series in market.series.items():
        report = series.report
        still_open += [symbol for d in report.dropped if "still open" in d]
        for d in report.dropped:
            if AFTER_RECORDED in d:
                later[symbol] = int(d.split(" ", 1)[0])
        notes += [line for line in report.lines() if "still open" not in line and AFTER_RECORDED not in line]
    if later:
        notes.insert(0, f"{sum(later.values()):,} bar(s) opening after data.recorded_at were dropped "
                        f"({_some(later)})")
    if still_open:
        notes.insert(0, f"{len(still_open)} bar(s) still open when recorded were dropped ({_some(still_open)})")
    return notes


def _some(symbols):
    """The first three of `symbols`, sorted, and '...' if there are more."""
    names = sorted(set(symbols))
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def strategy_label(cls):
    """The name of the configured strategy's run: "rotation" for the shipped one, else its class name."""
    return "rotation" if cls is SmallCapRotation else cls.__name__


# The sets of benchmarks a run compares its strategy with: `canary run` ("btc"), `canary compare` ("all").
BENCHMARK_SETS = {
    "btc": ("btc_buy_hold",),
    "all": ("btc_buy_hold", "eth_buy_hold", "alt_basket_buy_hold", "btc_eth_50_50_monthly"),
}


def benchmark_set(labels):
    """The name of the set of BENCHMARK_SETS whose runs are `labels`, or None."""
    return next((name for name, runs in BENCHMARK_SETS.items() if list(runs) == list(labels)), None)


def strategies(p, benchmarks="btc"):
    """(label, class, params) of the configured strategy, then its benchmarks (a name of
    BENCHMARK_SETS).

    The benchmarks keep the strategy's ``cash_buffer`` (that of the target-weight strategies
    if it has none), so that neither side holds more cash than the other.
    """
    cls, params = strategy_params(p.config)
    cash = {"cash_buffer": params.get("cash_buffer", param_defaults(TargetWeightStrategy)["cash_buffer"])}
    every = {"btc_buy_hold": (BuyAndHold, dict(cash, symbol=p.universe.btc)),
             "eth_buy_hold": (BuyAndHold, dict(cash, symbol=p.universe.eth)),
             "alt_basket_buy_hold": (EqualWeightBasket, cash),
             "btc_eth_50_50_monthly": (BtcEthMonthly, cash)}
    return [(strategy_label(cls), cls, params)] + [(label, *every[label]) for label in BENCHMARK_SETS[benchmarks]]


def execute(p, benchmarks="btc", progress=None, engine="backtrader"):
    """Load the market and run every strategy; returns (market, {label: BacktestResult}).

    `progress(label, done)` is told when each run starts (done False) and ends (done True).
    ``engine``: "backtrader" (the reference: the configured strategy here and the benchmarks at
    the same time in a worker process when there is a spare core) or "fast" (the screening
    engine, for strategies that declare their plan).
    """
    data = p.config.data
    market = load_market(p.library, p.universe, data.start or None, data.end or None)
    runs = strategies(p, benchmarks)
    if engine != "fast":
        return market, run_all(market, runs, p.costs, progress)
    from canary.strategies.screening import run_fast  # the screening engine needs numba (the tune extra)

    from .screening import Screen

    screen = Screen(market, p.costs)
    results = {}
    for label, cls, params in runs:
        _told(progress, label, False)
        results[label] = screen.run(p.config, label) if label == runs[0][0] else \
            run_fast(market, cls, params, p.costs, name=label, arrays=screen.arrays)
        _told(progress, label, True)
    return market, results


def _told(progress, label, done):
    if progress:
        progress(label, done)


_SHARED = {}


def _run_shared(task):
    label, cls, params = task
    return run_backtest(_SHARED["market"], cls, params, _SHARED["costs"], name=label)


def _spare_core():
    """A second core, and a fork that shares the loaded market safely (see runs/forking.py)."""
    return (os.cpu_count() or 1) > 1 and fork_is_safe()


def beside(func, *args):
    """Start ``func(*args)`` in a forked worker process (here when there is no spare core or no
    safe fork); returns a function that waits for it and gives its result (or raises its error)."""
    if not _spare_core():
        result = func(*args)
        return lambda: result
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"), initializer=end_with_parent,
                               initargs=(os.getpid(),))
    future = pool.submit(func, *args)

    def wait():
        try:
            return future.result()
        finally:
            pool.shutdown()
    return wait


def run_all(market, runs, costs, progress=None):
    """Every (label, class, params) of `runs` through Backtrader: the first here, the others in
    worker processes forked with the market already loaded (none when there is one core, or
    no safe fork); {label: BacktestResult} in the order of `runs`."""
    workers = min(len(runs) - 1, (os.cpu_count() or 1) - 1)
    if workers < 1 or not _spare_core():
        results = {}
        for label, cls, params in runs:
            _told(progress, label, False)
            results[label] = run_backtest(market, cls, params, costs, name=label)
            _told(progress, label, True)
        return results
    _SHARED.update(market=market, costs=costs)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
            futures = [(label, pool.submit(_run_shared, (label, cls, params))) for label, cls, params in runs[1:]]
            label, cls, params = runs[0]
            _told(progress, label, False)
            results = {label: run_backtest(market, cls, params, costs, name=label)}
            _told(progress, label, True)
            for label, future in futures:
                results[label] = future.result()
                _told(progress, label, True)
    finally:
        _SHARED.clear()
    return results


def figures(results):
    return {label: performance(r) for label, r in results.items()}


def git_revision():
    here = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return (out.stdout.strip() + ("+dirty" if dirty else "")) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(p, market, metrics, started, finished, benchmarks=()):
    """What `canary run --replay` needs to rerun a run and check it: the configuration, the
    benchmark runs (`benchmarks`, their labels), the data files with their checksums, the
    package versions and the figures."""
    files = {}
    for symbol in p.universe.symbols:
        s = market.series[symbol]
        files[symbol] = {"path": str(s.path), "sha256": sha256(s.path), "first": s.first.isoformat(),
                         "last": s.last.isoformat(), "rows": len(s.frame), "dropped": s.report.dropped,
                         "gaps": s.report.gaps}
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"smallcap_canary": __version__, "git_revision": git_revision(), "config": p.config.as_dict(),
            "benchmarks": list(benchmarks), "data": files, "packages": versions, "started": started.isoformat(),
            "finished": finished.isoformat(), "metrics": metrics}


def universe_coverage(folder, p, market):
    """With a point-in-time universe: coverage.csv (the snapshots in force during the run) into
    `folder`, and its summary (`canary.runs.report.coverage`); else None."""
    if market.coverage is None:
        return None
    rows = coverage.in_run(market.coverage, market.start, market.end)
    rows.drop(columns="days").to_csv(folder / "coverage.csv", index=False)
    return coverage.summary(rows, PointInTime.of_table(p.config.universe))


def write_outputs(folder, p, market, results, started, tearsheet=True):
    """Every file of a run into `folder` (the configured strategy is the first of `results`,
    its benchmarks the others; regimes.csv only for a strategy with a regime, comparison.csv
    with more than one benchmark); returns the metrics written."""
    folder.mkdir(parents=True, exist_ok=True)
    label = next(iter(results))
    strategy, bench = results[label], results["btc_buy_hold"]
    name = "Small-cap rotation" if label == "rotation" else label
    metrics = figures(results)
    regimes = strategy.regimes
    period = f"{strategy.equity.index[0].date()} to {strategy.equity.index[-1].date()}"
    days = period_days(strategy.equity)
    covered = universe_coverage(folder, p, market)
    if tearsheet:   # drawn in a worker process while this one writes the other files
        sheet = beside(write_tearsheet, folder / "tearsheet.html",
                       {label: strategy.equity, "btc_buy_hold": bench.equity}, metrics,
                       f"{name} vs BTC buy-and-hold, {period}", p.currency, None,
                       [coverage.line(covered)] if covered else [])
    report.write_equity_csv(folder / "equity.csv", strategy.equity, bench.equity)
    report.write_trades_csv(folder / "trades.csv", strategy.fills)
    if regimes is not None:
        report.write_regimes_csv(folder / "regimes.csv", regimes)
    report.write_weights_csv(folder / "weights.csv", strategy)
    report.write_orders_csv(folder / "orders.csv", strategy.orders)
    extra = {"period": period, "days": days, "annualisation_days": 365, "quote_currency": p.currency,
             "annualised_figures_shown": days >= MIN_ANNUALISED_DAYS}
    if regimes is not None:
        extra["time_in_regime"] = time_in_regime(regimes)
    extra["rejected_orders"] = {k: r.rejected for k, r in results.items()}
    if covered:
        extra["universe_coverage"] = covered
    report.write_json(folder / "metrics.json", dict(metrics, **extra))
    curves = {label: r.equity for label, r in results.items()}
    report.plot_equity(folder / "equity.png", curves, regimes, f"{name} vs benchmarks, {period} ({p.currency})")
    if tearsheet:
        sheet()
    if len(results) > 2:
        report.write_comparison_csv(folder / "comparison.csv", curves)
    finished = datetime.datetime.now(datetime.UTC)
    report.write_json(folder / "manifest.json", manifest(p, market, metrics, started, finished, list(results)[1:]))
    return metrics

