"""Tuning thresholds honestly: screen every trial once, then judge the pick out of sample.

1. The trials come from `[tune.space]` by grid, seeded random draws or a seeded TPE study
   (`runs.tune.search_space`).
2. Each is screened once over the whole history (`runs.tune.trial_returns`, in worker processes or
   on a Dask cluster, `runs.tune.workers`); its daily returns are one column of a days x trials
   matrix (float64, or float32 by `tune.dtype`: half the memory). Finished batches are saved
   in the run folder as they come in, so an interrupted run keeps them and `--resume`
   continues where it stopped.
3. Everything else is computed on the matrix: the walk-forward (or split) out-of-sample curve
   (`runs.tune.walkforward`), the probability of backtest overfitting (`runs.tune.cscv`), the deflated
   Sharpe ratio of the pick (`runs.tune.deflated_sharpe`), and Hansen's SPA test against BTC
   buy-and-hold (`runs.tune.spa`).
4. The pick (the best trial over the whole history) and the other leading trials are rerun in
   Backtrader when a faster engine screened them: a mismatch stops the tuning.

The optuna study is guided by the objective over the *search period* only: the training part
of a split, the first training window of a walk-forward (so the trials it tries know nothing of
the later test windows), the whole history for CSCV (which judges the whole selection).
"""
import json
import math
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from canary.errors import CanaryError, ConfigError
from canary.extras import require

from ..config import parse_override
from ..report.figures import Returns, Segment, figures, kept_dtype
from ..screening import Screen
from ..settings import RunConfig
from . import trial_returns
from .cscv import check_blocks, cscv
from .deflated_sharpe import deflate, effective_trials
from .objectives import Objective
from .search_space import OptunaSearch, grid_trials, random_trials
from .spa import spa_test
from .trial_values import TrialValues
from .walkforward import days_in, split_window, walk_forward, walk_forward_windows

PARITY_TOLERANCE = 1e-6  # relative, on the growth of each trial's value

threadpool_limits = require("threadpoolctl", "canary tune").threadpool_limits


class ParityError(CanaryError):
    """The screening engine and Backtrader disagree on a trial."""

    exit_status = 1


class Interrupted(CanaryError):
    """Ctrl-C during screening: the finished trials are kept."""

    exit_status = 130


def parse_grid(texts):
    """['filter.small_cap.confirm=3,5,10', ...] -> {'filter.small_cap.confirm': [3, 5, 10], ...} (values read as TOML)."""
    grid = {}
    for text in texts:
        key, _, values = text.partition("=")
        if "." not in key or not values.strip():
            raise ConfigError(f"--grid {text}: expected section.key=v1,v2,..., e.g. filter.small_cap.confirm=3,5,10")
        grid[key.strip()] = [parse_override(f"{key}={v.strip()}")[2] for v in values.split(",") if v.strip()]
    return grid


def objective_of(config):
    return Objective(config.tune.objective, config.tune.max_drawdown or None)


def windows_of(config, index):
    """The walk-forward or split windows over the days of `index` (None for CSCV)."""
    t = config.tune
    if t.scheme == "split":
        return split_window(index, pd.Timestamp(t.split, tz="UTC"))
    if t.scheme == "walk-forward":
        return walk_forward_windows(len(index), days_in(t.train), days_in(t.test),
                                    days_in(t.step) if t.step else None, t.window == "anchored")
    return None


def search_rows(config, index):
    """The rows whose objective guides the search and the progress bar's 'best so far'."""
    windows = windows_of(config, index)
    return slice(0, windows[0].train_end) if windows else slice(0, len(index))


class Checkpoint:
    """Screened trials saved in the run folder: `tune.json` (the configuration) and one NumPy
    archive per finished batch under `screened/` (its trial ids, returns and bar closes: about a
    quarter of a Parquet file's writing time, which the main process spends while the workers screen).
    A folder of an earlier version holds a Parquet file per batch; it resumes too."""

    def __init__(self, folder):
        self.folder = folder
        self.parts = folder / "screened"

    def start(self, config):
        self.parts.mkdir(parents=True, exist_ok=True)
        (self.folder / "tune.json").write_text(json.dumps({"config": config.as_dict()}, indent=2, default=str) + "\n")

    @staticmethod
    def config_of(folder):
        try:
            return json.loads((folder / "tune.json").read_text())["config"]
        except FileNotFoundError:
            raise ConfigError(f"--resume {folder}: no tune.json there (not a tuning run folder)") from None
        except (ValueError, KeyError):
            raise ConfigError(f"--resume {folder}: tune.json is not a tuning record") from None

    def load(self, dtype="float64"):
        """The returns of every saved batch (`trial_returns.ScreenedReturns`), in `dtype` (tune.dtype).
        Saved float64 returns are rounded to float32 as a float32 screening rounds them, so they
        resume as if screened so; saved float32 ones cannot be made float64 again, so they are
        refused."""
        done = trial_returns.ScreenedReturns()
        for path in sorted([*self.parts.glob("trials-*.npz"), *self.parts.glob("trials-*.parquet")]):
            ids, frame = _read_batch(path)
            if kept_dtype(frame) != np.dtype(dtype):
                if dtype == "float64":
                    raise ConfigError(f"--resume {self.folder}: {path.name} holds float32 returns but tune.dtype is "
                                      "float64 (tune.json): they cannot be made float64 again; set tune.dtype = "
                                      "\"float32\" there to resume, or start a new run")
                frame = frame.astype(dtype)
            done.add(ids, frame)
        return done

    def save(self, ids, frame):
        """Save the batch of trials `ids` (a bars x len(ids) DataFrame of their returns)."""
        path = self.parts / f"trials-{ids[0]:06d}-{ids[-1]:06d}.npz"
        tmp = path.with_suffix(".tmp")
        closes = frame.index
        with open(tmp, "wb") as f:   # a file, not a name: np.savez would add ".npz" to the temporary one
            # the closes as whole numbers of their unit since the epoch (a datetime64 array may carry
            # dtype metadata, which numpy 2.0 warns it cannot save)
            np.savez(f, trials=np.asarray(ids, dtype=np.int64), returns=frame.to_numpy(), closes=closes.asi8,
                     unit=np.array(closes.unit), zone=np.array(str(closes.tz)), name=np.array(closes.name or ""))
        tmp.replace(path)  # a batch is saved whole or not at all


def _read_batch(path):
    """(trial ids, bars x trials DataFrame) of a saved batch."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [int(c) for c in frame.columns], frame
    with np.load(path, allow_pickle=False) as saved:
        instants = saved["closes"].astype(f"datetime64[{saved['unit']}]")
        closes = pd.DatetimeIndex(instants, name=str(saved["name"]) or None).tz_localize("UTC").tz_convert(str(saved["zone"]))
        ids = [int(i) for i in saved["trials"]]
        return ids, pd.DataFrame(saved["returns"], index=closes, columns=range(len(ids)), copy=False)


def _chunks(ids, size):
    return [ids[i:i + size] for i in range(0, len(ids), size)]


class Screening:
    """Runs the search: asks for trials, screens the ones not yet saved, tells the scores."""

    def __init__(self, config, checkpoint, workers, progress=None):
        self.config = config
        self.checkpoint = checkpoint
        self.workers = workers
        self.progress = progress
        self.trials = []           # distinct settings, by trial id
        self.checked = []          # the same, as the configuration holds them (checked once)
        self.values = TrialValues(config)
        self.ids = {}              # repr(setting) -> trial id
        self.returns = checkpoint.load(config.tune.dtype)   # trial_returns.ScreenedReturns
        self.objective = objective_of(config)
        self.rows = None
        self.best = -math.inf

    def _id(self, setting):
        key = repr(sorted(setting.items()))
        if key not in self.ids:
            checked = self.values.checked(setting)  # a value the configuration refuses stops here, in one line
            self.ids[key] = len(self.trials)
            self.trials.append(setting)
            self.checked.append(checked)
        return self.ids[key]

    def _score(self, trial_id):
        days = Returns.of_bars(self.returns.series(trial_id)).rows(self.rows)
        return float(self.objective.score(Segment.of(days))[0])

    def _screen(self, ids):
        missing = list(dict.fromkeys(i for i in ids if i not in self.returns))
        # a task's trials share a market, and mostly their [filter] values: a worker computes a regime once
        missing.sort(key=lambda i: (trial_returns.data_setting(self.checked[i]), _filter_setting(self.checked[i])))
        per_task = 1 if self.config.tune.engine == "backtrader" else max(
            1, min(256, math.ceil(len(missing) / (4 * self.workers.size))))
        tasks = _chunks(missing, per_task)
        self._tick(len(ids) - len(missing))
        for n, frame in self.workers.run(screen_batch, [(self.config, [self.checked[i] for i in t]) for t in tasks]):
            self.checkpoint.save(tasks[n], frame)
            self.returns.add(tasks[n], frame)
            self._tick(len(tasks[n]), frame)

    def _tick(self, count, batch=None):
        """Tell the progress bar (if any) of `count` more trials and the best objective so far,
        scored over the search period on the `batch` of returns just screened, at once."""
        if self.progress is None:
            return
        if batch is not None:
            days = Returns.of_bars(batch).rows(self.rows)
            self.best = max(self.best, float(np.max(self.objective.score(Segment.of(days)))))
        if count:
            self.progress(count, self.best)

    def run(self, index):
        """Every trial's returns; returns (list of settings, days x trials DataFrame)."""
        self.rows = search_rows(self.config, index)
        t = self.config.tune
        dims = t.dimensions
        if t.method == "optuna":
            study = OptunaSearch(dims, t.seed)
            for start in range(0, t.count, t.batch):
                asked = study.ask(min(t.batch, t.count - start))
                ids = [self._id(s) for s in asked]
                self._screen(ids)
                study.tell([self._score(i) for i in ids])
        else:
            settings = grid_trials(dims) if t.method == "grid" else random_trials(dims, t.count, t.seed)
            self._screen([self._id(s) for s in settings])
        # one block of memory (a concat of 10,000 Series would keep 10,000 blocks, each later read copying them all)
        return self.trials, self.returns.matrix(len(self.trials), self.config.tune.dtype)

    def in_float64(self, ids):
        """The returns at every bar of trials `ids` of a float32 matrix (bars x ids), screened again
        in float64: the parity check with Backtrader is at 1e-6 of the value, finer than float32
        keeps a curve over thousands of bars. Each must round exactly to the returns the matrix holds."""
        config = self.config.with_checked({"tune.dtype": "float64"})
        [(_, frame)] = self.workers.run(screen_batch, [(config, [self.checked[i] for i in ids])])
        frame.columns = ids
        for i in ids:
            if not np.array_equal(frame[i].to_numpy(dtype=np.float32), self.returns.column(i), equal_nan=True):
                raise ParityError(f"parity: trial {i}'s float32 returns are not its float64 returns rounded: "
                                  "tuning stopped; tune with --dtype float64 and report this trial")
        return frame


def total_trials(config):
    """How many trials the progress bar counts (optuna: asked, before repeats are skipped)."""
    if config.tune.method == "grid":
        return len(grid_trials(config.tune.dimensions))
    return config.tune.count


def screen_batch(config, trials):
    """A batch of trials' returns at every bar, on the configured engine (runs in a worker), in
    tune.dtype (computed in float64; float32 halves what is sent back and kept); `trials` hold
    values already checked (`TrialValues`)."""
    if config.tune.engine == "fast":
        return fast_screen(config, trials)
    return trial_returns.screen(config, trials).astype(config.tune.dtype)


_SCREENS = trial_returns.Kept()   # per process: the screening engine of each data setup kept, its signals too


def fast_screen(config, trials):
    """A batch of trials' returns at every bar on the screening engine (`canary.runs.screening`),
    in tune.dtype: the trials that share a market (`trial_returns.data_setting`) are screened together."""
    groups = {}
    for n, values in enumerate(trials):
        groups.setdefault(trial_returns.data_setting(values), []).append(n)
    out, index = None, None
    for ids in groups.values():
        configs = [config.with_checked(trials[n]) for n in ids]
        p, market = trial_returns.market_of(configs[0])
        screen = _SCREENS.get_or_make(trial_returns.data_key(configs[0]), lambda m=market, c=p.costs: Screen(m, c))
        returns, closes = screen.bar_returns(configs)
        if index is None:   # each trial's returns contiguous, as the matrix gathered from the batches holds them
            index, out = closes, np.empty((len(trials), len(closes)), dtype=config.tune.dtype).T
        elif not closes.equals(index):
            setting = ", ".join(f"{k}={v}" for k, v in trials[ids[0]].items() if k.startswith("universe."))
            raise ConfigError(f"tune.space: the market of {setting} has other bar closes than the other trials' "
                              "(a coin of its universe trades on another clock); tune it in a run of its own")
        out[:, ids] = returns
    return pd.DataFrame(out, index=index, columns=range(len(trials)), copy=False)


def _filter_setting(values):
    """The [filter] part of a trial's values, as a sortable string."""
    return repr(sorted((k, v) for k, v in values.items() if k.startswith("filter.")))


def recheck(config, trials, matrix, ids, workers):
    """Rerun trials `ids` in Backtrader; a ParityError names the first that differs."""
    tasks = [(config, [trials[i]]) for i in ids]
    for n, frame in workers.run(trial_returns.screen, tasks):
        i = ids[n]
        mine = (1 + matrix[i]).cumprod()
        theirs = (1 + frame.iloc[:, 0]).reindex(matrix.index).cumprod()
        gap = (mine / theirs - 1).abs()
        if not gap.le(PARITY_TOLERANCE).all():
            day = gap.index[np.argmax(~gap.le(PARITY_TOLERANCE).to_numpy())]
            setting = ", ".join(f"{k}={v}" for k, v in trials[i].items())
            raise ParityError(f"parity: trial {i} ({setting}) differs from its Backtrader run by {gap[day]:.2e} "
                              f"of its value on {day.date()}: tuning stopped; tune with --engine backtrader and "
                              "report this trial")


@dataclass
class Tuned:
    """Everything the report shows: the matrix, the pick, and the statistics."""

    config: RunConfig
    trials: list               # settings by trial id
    matrix: pd.DataFrame       # days x trials daily returns
    benchmark: pd.Series       # BTC buy-and-hold daily returns on the same days
    table: pd.DataFrame        # per trial: settings and whole-history figures
    pick: int                  # the best trial over the whole history
    leaders: list              # trial ids, best first by the objective over the whole history
    windows: list | None
    walk: object               # WalkForward, or None for CSCV
    overfitting: object        # runs.tune.cscv.Overfitting
    deflated: object           # runs.tune.deflated_sharpe.Deflated
    spa: object                # runs.tune.spa.SuperiorAbility
    rechecked: list            # trial ids rerun in Backtrader
    returns: Returns           # the matrix with its intraday paths, what every figure is computed from
    bench_returns: Returns     # the benchmark's, on the same days


class NoTrialQualifies(CanaryError):
    """Every trial broke the drawdown limit over the whole history: nothing to pick."""

    exit_status = 1


class _Beside(threading.Thread):
    """fn(*args) in a thread of its own, daemonic: an error raised meanwhile is not held up until
    it ends. `result()` waits for its value (or raises its error)."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args, self.value, self.error = fn, args, None, None
        self.start()

    def run(self):
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:   # handed to the caller of result()
            self.error = exc

    def result(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def evaluate(config, trials, bars, bench_bars):
    """The statistics of a screened bars x trials matrix of returns (no further backtests)."""
    t = config.tune
    objective = objective_of(config)
    returns = Returns.of_bars(bars)
    bench_returns = Returns.of_bars(bench_bars)   # the same bars, so the same days
    matrix, bench = returns.daily, bench_returns.daily.iloc[:, 0].reindex(returns.daily.index)
    # The DSR's eigenvalues (LAPACK, without the GIL) on one core from the start, beside the
    # figures, SPA, the walk-forward and CSCV one after the other, each of which keeps the other
    # core busy with two threads of its own. BLAS on one thread: threads of its own would only
    # contend with these, and a threaded eigenvalue solver sums in an order that depends on the
    # number of cores (the last bits of the effective number of trials), which one thread does not.
    with threadpool_limits(1, user_api="blas"):
        effective = _Beside(effective_trials, matrix)
        whole = Segment.of(returns)
        figs = figures(whole)
        scores = objective.score(whole)
        if not np.isfinite(scores).any() and objective.max_drawdown is not None:
            shallowest = int(np.argmax(figs["max_drawdown"]))
            raise NoTrialQualifies(
                f"tune.max_drawdown: no trial qualifies: all {len(trials)} fell deeper than "
                f"{objective.max_drawdown:.0%} over the whole history (the shallowest, trial {shallowest}, "
                f"{figs['max_drawdown'][shallowest]:.1%}); nothing is picked: raise --max-drawdown or widen the search")
        leaders = [int(i) for i in np.argsort(-scores, kind="stable")]
        pick = leaders[0]
        table = pd.DataFrame(trials)
        for name in ("sharpe", "sortino", "calmar", "cagr", "total_return", "volatility", "max_drawdown"):
            table[name] = figs[name]
        table.insert(0, "trial", range(len(trials)))
        windows = windows_of(config, matrix.index)
        spa = spa_test(matrix, bench, t.reps, t.seed)
        walk = walk_forward(returns, windows, objective) if windows else None
        over = cscv(returns, objective, t.blocks) if len(trials) > 1 else None
        deflated = deflate(matrix, pick, effective.result())
    return Tuned(config, trials, matrix, bench, table, pick, leaders, windows, walk, over, deflated, spa, [],
                 returns, bench_returns)


def tune(config, checkpoint, workers, progress=None):
    """Screen (or finish screening) every trial and compute the statistics; returns Tuned."""
    days = trial_returns.trading_days(config)   # the market loaded: the workers forked next share it
    check_blocks(config.tune.blocks, len(days))  # before any screening
    screening = Screening(config, checkpoint, workers, progress)
    workers.start()
    bench = _Beside(trial_returns.benchmark, config)   # BTC's Backtrader run beside the screening
    try:
        trials, matrix = screening.run(days)
        workers.rest()   # their memory free for the statistics
        bench = bench.result()
        if not Returns.of_bars(bench).daily.index.equals(days):
            raise RuntimeError("tune: BTC buy-and-hold's days are not the trading days of its market")
        tuned = evaluate(config, trials, matrix, bench)
        t = config.tune
        if t.engine != "backtrader" and t.rerun:
            picked = [p for p in (tuned.walk.picks if tuned.walk else []) if p >= 0]
            ids = list(dict.fromkeys(tuned.leaders[:t.rerun] + picked))
            recheck(config, trials, matrix if t.dtype == "float64" else screening.in_float64(ids),
                    ids, workers)
            tuned.rechecked = ids
    except KeyboardInterrupt:  # while screening, or computing the statistics: every saved trial is kept
        raise Interrupted(f"interrupted: {len(screening.returns)} screened trial(s) kept in {checkpoint.folder}; "
                          f"continue with: canary tune --resume {checkpoint.folder}") from None
    return tuned
