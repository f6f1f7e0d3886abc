"""The `canary` command line: run and compare backtests, look after the data.

Exit status: 0 success, 1 a data problem, 2 a usage or configuration mistake. A user's
mistake is one line on stderr, never a traceback. Each command imports what it runs when it
runs: `canary --help`, or a mistake in the arguments, does not wait for pandas, Backtrader,
numba and the statistics packages to load.
"""
import argparse
import datetime
import json
import sys
from pathlib import Path

from canary import __version__
from canary.errors import CanaryError, ConfigError
from canary.feeds import sources

from .folders import RunFolder


class Progress:
    """Progress on stderr: a status line for each long step and a bar over the backtests;
    silent when stderr is not a terminal or with --quiet."""

    def __init__(self, quiet):
        self.live = sys.stderr.isatty() and not quiet
        self.bar = None

    def say(self, text):
        if self.live:
            print(f"... {text}", file=sys.stderr, flush=True)

    def start_runs(self, total, desc="backtests", unit="run"):
        if self.live:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)

    def advance(self, count, note):
        """`count` more done; `note` (say, the best figure so far) beside the bar."""
        if self.bar is not None:
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(count)

    def __call__(self, label, done):
        if self.bar is None:
            return
        if done:
            self.bar.update(1)
        else:
            self.bar.set_postfix_str(label)

    def end_runs(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _config(args):
    """The configuration: the file given (or the default), --set overrides, then the flags."""
    from .config import load_config

    flags = [("data", key, getattr(args, flag)) for flag, key in
             (("start", "start"), ("end", "end"), ("data", "folder")) if getattr(args, flag) is not None]
    return load_config(args.config, args.set or (), flags)


def _backtest(args, config, benchmarks):
    """Run the rotation and its benchmarks, write every output; returns (folder, metrics, notes)."""
    from . import backtest

    progress = Progress(args.quiet)
    started = datetime.datetime.now(datetime.UTC)
    p = backtest.plan(config)
    run = RunFolder(args.out, args.name, args.overwrite)
    progress.say("loading data")
    progress.start_runs(len(backtest.strategies(p, benchmarks)))
    market, results = backtest.execute(p, benchmarks, progress, engine=getattr(args, "engine", "backtrader"))
    progress.end_runs()
    progress.say("writing outputs" + ("" if args.no_report else " and the tear sheet"))
    with run as folder:
        metrics = backtest.write_outputs(folder, p, market, results, started, tearsheet=not args.no_report)
    head = backtest.period_lines(config, next(iter(results.values())).equity, p.currency)
    return run.path, metrics, backtest.data_notes(market), head


def _summary(folder, metrics, notes, head):
    """The period (and any bound the data moved), the metrics table and what it cannot say,
    refused orders, what the data loads repaired or noticed, the folder."""
    from .report.coverage import line as coverage_line
    from .report.metrics import caveats, table

    recorded = json.loads((folder / "metrics.json").read_text())
    for line in head:
        print(line)
    print(table(metrics, recorded["days"]))
    for line in caveats(metrics, recorded["days"]):
        print(f"note: {line}")
    if recorded.get("universe_coverage"):
        print(coverage_line(recorded["universe_coverage"]))
    refused = recorded["rejected_orders"]
    print("orders refused by the broker: " + ", ".join(f"{k} {v}" for k, v in refused.items()))
    for line in notes:
        print(f"data: {line}")
    print(f"\noutputs: {folder}")


def cmd_run(args):
    if args.replay:
        return cmd_replay(args)
    _summary(*_backtest(args, _config(args), "btc"))
    return 0


def cmd_compare(args):
    _summary(*_backtest(args, _config(args), "all"))
    return 0


TUNE_FLAGS = (("method", "method"), ("count", "count"), ("seed", "seed"), ("objective", "objective"),
              ("max_drawdown", "max_drawdown"), ("scheme", "scheme"), ("split", "split"), ("train", "train"),
              ("test", "test"), ("step", "step"), ("blocks", "blocks"), ("rerun", "rerun"), ("engine", "engine"),
              ("dtype", "dtype"))


def _tune_config(args):
    """The configuration of `canary tune`: as `_config`, then the [tune] flags."""
    from .config import load_config
    from .tune.tuning import parse_grid

    settings = [("data", key, getattr(args, flag)) for flag, key in
                (("start", "start"), ("end", "end"), ("data", "folder")) if getattr(args, flag) is not None]
    settings += [("tune", key, getattr(args, flag)) for flag, key in TUNE_FLAGS if getattr(args, flag) is not None]
    if args.split is not None and args.scheme is None:
        settings.append(("tune", "scheme", "split"))
    if args.anchored:
        settings.append(("tune", "window", "anchored"))
    space = parse_grid(args.grid or ())
    space.update(_space_flags(args.space or ()))
    if space:
        settings.append(("tune", "space", space))
    return load_config(args.config, args.set or (), settings)


def _space_flags(texts):
    """--space KEY=SPEC, the SPEC read as TOML: [3, 5, 10] or {low = 1, high = 9, step = 2}; or
    auto (the key's declared default search range)."""
    import tomllib

    from .tune.search_space import AUTO

    out = {}
    for text in texts:
        key, _, spec = text.partition("=")
        try:
            out[key.strip()] = AUTO if spec.strip() == AUTO else tomllib.loads(f"v = {spec.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            raise ConfigError(f"--space {text}: expected KEY=[v1, v2], KEY={{low = .., high = .., step = ..}} or KEY=auto "
                              "(or distribution = \"uniform\", \"log-uniform\", \"integer\")") from None
    return out


def cmd_tune(args):
    if args.top < 1:
        raise ConfigError(f"--top {args.top}: rows of the in-sample table, a whole number >= 1")
    if args.resume:
        given = [f for f, _ in TUNE_FLAGS + (("config", ""), ("start", ""), ("end", ""), ("data", ""), ("set", ""),
                                             ("grid", ""), ("space", ""), ("name", "")) if getattr(args, f)]
        if given or args.anchored:
            raise ConfigError(f"--resume continues the recorded tuning: drop "
                              f"{', '.join('--' + g.replace('_', '-') for g in given + ['anchored'] * args.anchored)}")
    from . import backtest
    from .config import validate
    from .tune import report as tune_report
    from .tune.tuning import Checkpoint, Interrupted, total_trials, tune
    from .tune.workers import Workers

    if args.resume:
        run = RunFolder.resume(args.resume, keep_on=(Interrupted,))
        config = validate(Checkpoint.config_of(Path(args.resume)), str(Path(args.resume) / "tune.json"))
    else:
        config = _tune_config(args)
        if args.count is not None and config.tune.method == "grid":
            raise ConfigError(f"--count {args.count}: a grid tries every combination of its values "
                              f"({total_trials(config)} trials); --count is for --method random or optuna")
        backtest.plan(config)  # every symbol has data, before any work
        run = RunFolder(args.out, args.name, args.overwrite, keep_on=(Interrupted,))
    progress = Progress(args.quiet)
    with run as folder:
        checkpoint = Checkpoint(folder)
        if not args.resume:
            checkpoint.start(config)
        progress.say("loading data")
        with Workers(args.jobs, args.scheduler) as workers:
            progress.start_runs(total_trials(config), "trials", "trial")
            tuned = tune(config, checkpoint, workers,
                         (lambda n, best: progress.advance(n, f"best {config.tune.objective} {best:.3f}"))
                         if progress.live else None)   # no bar: nothing scored for it
            progress.end_runs()
        progress.say("writing the report" + (" and the tear sheet" if tuned.walk is not None else ""))
        tune_report.write(tuned, folder)
    print(tune_report.text(tuned, run.path, args.top))
    return 0


def cmd_study(args):
    from . import backtest
    from .study import events
    from .study import report as study_report

    settings = events.settings_from(args.horizons, args.cooloff, args.confidence, args.reps, args.seed)
    config = _config(args)
    started = datetime.datetime.now(datetime.UTC)
    p = backtest.plan(config)
    run = RunFolder(args.out, args.name, args.overwrite)
    progress = Progress(args.quiet)
    progress.say("loading data")
    market = events.load(p)
    progress.say("finding events and bootstrapping the intervals")
    result = events.run_study(p, market, settings)
    with run as folder:
        words = study_report.write_study(folder, p, market, result, started)
    print("\n\n".join(words))
    for note in result.notes:
        print(note)
    print(f"\noutputs: {run.path}")
    return 0


def cmd_replay(args):
    from . import replay

    given = [flag for flag in ("config", "start", "end", "data", "set") if getattr(args, flag)]
    if given:
        raise ConfigError(f"--replay reruns the recorded configuration: drop {', '.join('--' + g for g in given)}")
    recorded = replay.read(args.replay)
    folder, metrics, notes, head = _backtest(args, recorded.config, recorded.benchmarks)
    _summary(folder, metrics, notes, head)
    lines, same = replay.verdict(recorded, metrics)
    for line in lines:
        print(line)
    return 0 if same else 1


def cmd_now(args):
    from .live.now import CHANGED_EXIT, as_json, canary_now, lines, refresh

    config = _config(args)
    if args.refresh:
        offline = refresh(config)
        if offline:
            print(f"canary: --refresh: {offline}", file=sys.stderr)
    now = canary_now(config, args.as_of)
    print(as_json(now) if args.json else "\n".join(lines(now)))
    return CHANGED_EXIT if now.changed else 0


def cmd_paper(args):
    from .live.paper import paper, status

    if args.config == "status":
        print("\n".join(status(args.ledger, args.report)))
        return 0
    for step in paper(_config(args), args.ledger, args.as_of):
        print(step.line(), flush=True)
    return 0


def _data_library(args):
    """The DataLibrary of --data: folders of price files (a file or a missing path is refused)."""
    from canary.feeds.library import DataLibrary

    for folder in args.data or ():
        if Path(folder).is_file():
            raise ConfigError(f"--data {folder}: a file, not a folder; --data takes the folder holding the price "
                              "files (a configuration's is its data.folder)")
        if not Path(folder).is_dir():
            raise ConfigError(f"--data {folder}: no such folder")
    return DataLibrary(args.data)


def cmd_data_list(args):
    from canary.errors import DataError

    lib = _data_library(args)
    rows = [("symbol", "source", "first bar close", "last bar close", "rows", "gaps")]
    where = "shipped" if lib.shipped else "folder"
    for symbol in lib.symbols():
        try:
            s = lib.load(symbol)
        except DataError as exc:
            rows.append((symbol, where, f"UNUSABLE: {exc}", "", "", ""))
            continue
        rows.append((symbol, f"{where}:{lib.entries[symbol].get('source', 'file')}", s.first.isoformat(),
                     s.last.isoformat(), str(len(s.frame)), str(s.report.missing_bars)))
    rows += _cache_rows(args)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _cache_rows(args):
    """Rows for the local cache of fetched data (see `canary data fetch`)."""
    from canary.feeds.fetch import list_cache

    rows = []
    for e in list_cache(args.cache_dir):
        if e.problem:
            rows.append((e.path.name, "cache", f"UNUSABLE: {e.problem}", "", "", ""))
        else:
            rows.append((e.symbol, f"cache:{sources.shown_feed(e.feed)}:{e.interval}", e.first.isoformat(), e.last.isoformat(),
                         str(e.bars), ""))
    return rows


def cmd_data_fetch(args):
    from canary.feeds.fetch import fetch
    from canary.feeds.loading import utc_instant

    if args.since is not None:
        try:
            utc_instant(args.since, "--since")
        except CanaryError as exc:
            raise ConfigError(str(exc)) from None
    source = args.source
    results = fetch(args.symbols, source, exchange=args.exchange, interval=args.interval, since=args.since,
                    cache_dir=args.cache_dir, progress=not args.quiet)
    for r in results:
        if r.ok:
            print(r.line())
        else:
            print(f"canary: error: {r.line()}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def cmd_data_verify(args):
    lib = _data_library(args)
    symbols = lib.symbols()
    failed = 0
    for symbol in symbols:
        problem, how = lib.check(symbol)
        print(f"{symbol:12s} {'FAILED: ' + problem if problem else 'ok: ' + how}")
        failed += bool(problem)
    print(f"{len(symbols) - failed} of {len(symbols)} files verified in {lib.where}"
          + (f"; {failed} failed" if failed else ""))
    return 1 if failed or not symbols else 0


def parser():
    top = argparse.ArgumentParser(
        prog="canary", description="Backtest the small-cap risk-on rotation between BTC, ETH and altcoins.",
        epilog="Exit status: 0 success, 1 a data problem, 2 a usage or configuration mistake.")
    top.add_argument("--version", action="version", version=f"smallcap-canary {__version__}")
    top.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    # The subcommands take --quiet too; SUPPRESS keeps `canary -q run` quiet.
    quiet = dict(action="store_true", default=argparse.SUPPRESS, help="no progress output")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def engine_option(p):
        p.add_argument("--engine", choices=("backtrader", "fast"), default="backtrader",
                       help="backtrader (default): the event-driven reference; fast: the screening engine, held "
                            "to the same regimes, fills and values by a parity test (the shipped rotation and "
                            "benchmarks only)")

    def backtest_options(p, report=True):
        p.add_argument("config", nargs="?", help="TOML configuration (default: the shipped runs/default.toml)")
        p.add_argument("--start", help="first trading date, YYYY-MM-DD (data.start)")
        p.add_argument("--end", help="last date used, YYYY-MM-DD (data.end)")
        p.add_argument("--data", metavar="DIR", action="append",
                       help="folder of <SYMBOL>.csv price files (searched with its subfolders) instead of the "
                            "shipped set; repeat to use several folders (data.folder)")
        p.add_argument("--out", metavar="DIR", default="canary-runs",
                       help="parent folder of run folders (default: ./canary-runs)")
        p.add_argument("--name", help="run folder name (default: run-<UTC time>)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing run folder of that --name")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a configuration key, e.g. --set filter.small_cap.confirm=5 (repeatable); keys are "
                            "documented in runs/default.toml, values read as TOML")
        if report:
            p.add_argument("--no-report", action="store_true", help="skip the tear sheet (tearsheet.html)")
        p.add_argument("--quiet", "-q", **quiet)

    run = sub.add_parser("run", help="one backtest: the rotation against BTC buy-and-hold",
                         description="Run the rotation strategy and BTC buy-and-hold; print their metrics; "
                                     "write equity.csv, trades.csv, orders.csv, weights.csv, regimes.csv, "
                                     "metrics.json, equity.png, tearsheet.html and manifest.json into a new "
                                     "run folder.")
    backtest_options(run)
    engine_option(run)
    run.add_argument("--replay", metavar="MANIFEST",
                     help="rerun the backtest recorded in a run's manifest.json and check the figures match")
    run.set_defaults(func=cmd_run)

    compare = sub.add_parser("compare", help="the rotation against every benchmark, in one table and picture",
                             description="Run the rotation, BTC and ETH buy-and-hold, the equal-weight altcoin "
                                         "basket and BTC/ETH 50/50 monthly; print and save one table and one "
                                         "equity picture (plus the files of `canary run`).")
    backtest_options(compare)
    engine_option(compare)
    compare.set_defaults(func=cmd_compare, replay=None)

    tune = sub.add_parser("tune", help="tune thresholds: walk-forward out of sample, overfitting statistics",
                          description="Screen every trial of the [tune] search space once over the whole history, "
                                      "then judge the pick: the walk-forward (or split) out-of-sample curve against "
                                      "BTC buy-and-hold, the probability of backtest overfitting, the deflated Sharpe "
                                      "ratio and Hansen's SPA test. Flags override the [tune] keys of the "
                                      "configuration (runs/default.toml documents them); writes trials.csv, "
                                      "returns.parquet, walkforward.csv, best.toml, tuning.json, a tear sheet and "
                                      "pictures.")
    backtest_options(tune, report=False)
    tune.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                      help="values to try, e.g. --grid filter.small_cap.confirm=3,5,10 (repeatable; replaces [tune.space])")
    tune.add_argument("--space", action="append", metavar="KEY=SPEC",
                      help="a key and its values or range as TOML, e.g. --space 'filter.small_cap.period={low=50, high=200, "
                           "step=50}', 'filter.small_cap.hysteresis={low=0.0, high=0.05, distribution=\"uniform\"}' "
                           "or strategy.weighting=auto (its declared default range) (repeatable; replaces [tune.space])")
    tune.add_argument("--method", help="grid, random or optuna (tune.method)")
    tune.add_argument("--count", type=int, help="random / optuna: how many trials (tune.count)")
    tune.add_argument("--seed", type=int, help="random / optuna / SPA seed (tune.seed)")
    tune.add_argument("--objective", "--metric", dest="objective",
                      help="sharpe, sortino, calmar or cagr (tune.objective)")
    tune.add_argument("--max-drawdown", type=float, metavar="FRACTION",
                      help="never pick a trial whose drawdown went deeper, e.g. 0.6 (tune.max_drawdown)")
    tune.add_argument("--scheme", help="split, walk-forward or cscv (tune.scheme)")
    tune.add_argument("--split", metavar="DATE", help="first date out of sample; implies --scheme split (tune.split)")
    tune.add_argument("--train", help="walk-forward training window: 730d, 104w, 2y (tune.train)")
    tune.add_argument("--test", help="walk-forward test window (tune.test)")
    tune.add_argument("--step", help="walk-forward step (tune.step; default the test window)")
    tune.add_argument("--anchored", action="store_true", help="walk-forward training windows from the first day")
    tune.add_argument("--blocks", type=int, help="CSCV blocks, even (tune.blocks)")
    tune.add_argument("--rerun", type=int, metavar="K", help="best trials rerun in Backtrader (tune.rerun)")
    tune.add_argument("--engine", help="screening engine: fast or backtrader (tune.engine)")
    tune.add_argument("--dtype", help="the return matrix's floats: float64, or float32 for half the memory (tune.dtype)")
    tune.add_argument("--jobs", type=int, default=None, help="worker processes (default: one per core)")
    tune.add_argument("--scheduler", metavar="ADDRESS",
                      help="screen on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786")
    tune.add_argument("--resume", metavar="RUNDIR", help="continue an interrupted tuning run")
    tune.add_argument("--top", type=int, default=10, help="rows of the printed in-sample table (default 10)")
    tune.set_defaults(func=cmd_tune)

    study = sub.add_parser("study", help="the research note's claim as an event study",
                           description="Find the days the small-cap background turns on (each form: absolute, "
                                       "channel, ma), and compare the forward returns of ETH/BTC, the altcoin "
                                       "basket, BTC and ETH after them with all days, with block-bootstrap "
                                       "intervals; writes events.csv, summary.csv, study.png, study.md and "
                                       "manifest.json into a new run folder.")
    backtest_options(study, report=False)
    study.add_argument("--horizons", default="7,14,30,60", metavar="DAYS",
                       help="forward horizons in days, comma-separated (default 7,14,30,60)")
    study.add_argument("--cooloff", default="30", metavar="DAYS",
                       help="an event within this many days of the last one kept is merged into it (default 30)")
    study.add_argument("--confidence", default="0.9", help="of the intervals (default 0.9)")
    study.add_argument("--reps", default="2000", help="bootstrap resamples (default 2000)")
    study.add_argument("--seed", default="0", help="bootstrap seed (default 0)")
    study.set_defaults(func=cmd_study)

    now = sub.add_parser("now", help="the regime at the latest closed crypto bar: each signal, what would flip it",
                         description="The regime at the latest closed crypto bar (or at --as-of), every signal with "
                                     "its value, threshold and the close that would flip it, the strategy's weights, "
                                     "the age of every input and the last regime changes. Exit status 3 when the "
                                     "regime changed at that bar, else 0 (1 and 2 as for every command).")
    now.add_argument("config", nargs="?", help="TOML configuration (default: the shipped runs/default.toml)")
    now.add_argument("--as-of", metavar="INSTANT", help="the last crypto close at or before this UTC date or time")
    now.add_argument("--refresh", action="store_true", help="first fetch the configured [sources] into the cache")
    now.add_argument("--json", action="store_true", help="one JSON object instead of text")
    now.add_argument("--data", metavar="DIR", action="append", help="folder(s) of price files (data.folder)")
    now.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a configuration key")
    now.set_defaults(func=cmd_now, start=None, end=None)

    paper = sub.add_parser("paper", help="the forward test: every bar closed since the last run, in a SQLite ledger",
                           description="Process every crypto bar closed since the ledger's last one: the decision, "
                                       "the fills, positions, cash and value of the configured strategy and of BTC "
                                       "buy-and-hold, one transaction per bar, one line each (nothing when nothing "
                                       "closed). `canary paper status` prints the forward record.")
    paper.add_argument("config", nargs="?", help="TOML configuration (default: the shipped runs/default.toml), "
                                                 "or `status`")
    paper.add_argument("--ledger", metavar="PATH", default="canary-paper.sqlite",
                       help="the ledger file (default: ./canary-paper.sqlite)")
    paper.add_argument("--as-of", metavar="INSTANT", help="process the bars closed up to this UTC date or time")
    paper.add_argument("--report", metavar="DIR", help="status: also write equity.png and tearsheet.html into DIR")
    paper.add_argument("--data", metavar="DIR", action="append", help="folder(s) of price files (data.folder)")
    paper.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a configuration key")
    paper.set_defaults(func=cmd_paper, start=None, end=None)

    data = sub.add_parser("data", help="list, verify or fetch price data",
                          description="The shipped price data, a folder of your own, and the cache of fetched data.")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    listing = dsub.add_parser("list", help="symbols, sources, first and last bars, rows, gaps",
                              description="Every symbol of the data folder and of the cache: source, first and "
                                          "last bar close, rows and missing bars.")
    listing.add_argument("--data", metavar="DIR", action="append",
                         help="a folder of price files, with its subfolders; repeatable (default: the shipped data)")
    listing.add_argument("--cache-dir", metavar="DIR",
                         help="the cache of fetched data (default: $CANARY_CACHE_DIR or ~/.cache/smallcap-canary)")
    listing.set_defaults(func=cmd_data_list)
    verify = dsub.add_parser("verify", help="check every file: its recorded checksum, or else load and validate it",
                             description="Check every file of the data folder: against the SHA-256 its "
                                         "manifest.json records, or, for a file with none (a folder of your "
                                         "own), by loading and validating it; one line per file, each problem "
                                         "in one line; exit 1 if a file fails.")
    verify.add_argument("--data", metavar="DIR", action="append",
                        help="a folder of price files, with its subfolders; repeatable (default: the shipped data)")
    verify.set_defaults(func=cmd_data_verify)
    fetch = dsub.add_parser("fetch", help="download daily or intraday bars into the local cache",
                            description="Fetch bars from Yahoo Finance (yfinance) or an exchange (ccxt) into the "
                                        "local Parquet cache, only what is newer than the cache. Needs a network.")
    fetch.add_argument("symbols", nargs="+", metavar="SYMBOL",
                       help="Yahoo symbols (^RUT, IWM, BTC-USD) or exchange pairs (BTC/USDT)")
    fetch.add_argument("--source", required=True, choices=sources.live_source_names(),
                       help=" or ".join(f"{s.name} ({s.what}{'; alias: ' + ', '.join(s.aliases) if s.aliases else ''})"
                                        for s in sources.LIVE_SOURCES))
    fetch.add_argument("--exchange", help="ccxt exchange id (default: binance)")
    fetch.add_argument("--interval", default="1d", help="bar interval, e.g. 1d, 4h, 1h (default: 1d)")
    fetch.add_argument("--since", help="first date wanted when nothing is cached yet, YYYY-MM-DD")
    fetch.add_argument("--cache-dir", metavar="DIR",
                       help="cache folder (default: $CANARY_CACHE_DIR or ~/.cache/smallcap-canary)")
    fetch.add_argument("--quiet", "-q", **quiet)
    fetch.set_defaults(func=cmd_data_fetch)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CanaryError as exc:
        print(f"canary: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("canary: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `canary data list | head`: the reader has gone, nothing to say
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
