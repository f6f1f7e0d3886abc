"""`canary tune` end to end, as a user runs it, beside the screening engine alone: prints figures,
asserts nothing.

    python benchmarks/tune_end_to_end.py                 # 2,000 and 10,000 trials, twice each
    python benchmarks/tune_end_to_end.py --counts 2000 --repeat 1 --jobs 1
    python benchmarks/tune_end_to_end.py --counts 10000 --repeat 1 --dtype float32   # half the matrix

Each run is a new process, `python -m canary.runs -q tune --method random --count N --rerun 0
--scheme cscv` over four [filter] and [strategy] keys (SPACE below: two integer filter keys, the
basket weighting and a uniform drift band, so nearly every trial is distinct), default workers
(one per core), on the shipped data, writing its run folder to a temporary directory. For each:

* wall seconds and trials per second, user + system CPU seconds of the whole process tree, and
  the largest single process's peak (the kernel's ru_maxrss, what `/usr/bin/time -v` prints);
* the process tree's peak memory, from one more run watched by a sampler every 50 ms from /proc:
  resident set sizes summed (what a naive monitor shows: shared copy-on-write pages counted once
  per worker) and proportional set sizes summed (shared pages split between the processes sharing
  them: the tree's real footprint). Reading every process's smaps_rollup walks its page tables
  under its memory lock, which slows the command it watches (10,000 trials: about 29 s watched
  against 25 s not), so the timed runs are not watched;
* the load average before and after (the machine is shared: other work slows every figure).

The engine-only figure is the screening engine (`runs.screening.Screen.bar_returns`, what a
tune's workers call) over the same trials' configurations in this process, compiled code warm,
signals not yet computed (as a tune's worker starts), without configuration checks, the
statistics or any file: the ceiling that the end-to-end figure is measured against. It is
measured again just before each end-to-end run, and each run is compared with the figure taken
beside it: the machine's speed drifts by a fifth within minutes, which would otherwise decide
the ratio. Targets (issue 17 item 4, a 2-core machine): 10,000 trials < 60 s, peak < 1.5 GiB,
end-to-end trials/s >= a third of the engine-only figure.

Not collected by pytest (timings depend on the machine and its load).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

from printing import load, say

SPACE = {
    "filter.small_cap.confirm": '{low=1, high=10, distribution="integer"}',
    "filter.small_cap.period": "{low=20, high=200, step=10}",
    "strategy.weighting": '["equal", "inverse_vol", "momentum"]',
    "strategy.drift_band": '{low=0.005, high=0.1, distribution="uniform"}',
}
SEED = 42
GIB = 2 ** 30
TARGET_SECONDS, TARGET_BYTES, TARGET_SHARE = 60.0, 1.5 * GIB, 1 / 3


def _tree(root):
    """Process ids of `root` and its descendants, from /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _memory(pid):
    """(RSS, PSS) bytes of one process, from smaps_rollup (0, 0 once it has gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """The peak of the summed RSS and PSS of a process tree, sampled every `every` seconds."""

    def __init__(self, pid, every=0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_rss = self.peak_pss = self.most_processes = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            pids = _tree(self.pid)
            sizes = [_memory(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(r for r, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(p for _, p in sizes))
            self.most_processes = max(self.most_processes, len(pids))
            self.done.wait(self.every)


def tune_command(count, out, jobs=None, scheme="cscv", entry=None, dtype=None):
    cmd = [sys.executable, *([entry] if entry else ["-m", "canary.runs"]), "-q", "tune", "--out", out, "--name", f"t{count}", "--overwrite",
           "--method", "random", "--count", str(count), "--seed", str(SEED), "--rerun", "0", "--scheme", scheme]
    for key, spec in SPACE.items():
        cmd += ["--space", f"{key}={spec}"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    if dtype:
        cmd += ["--dtype", dtype]
    return cmd


def end_to_end(count, jobs=None, scheme="cscv", entry=None, dtype=None, watched=False):
    """One `canary tune` in a new process: a dict of its figures (`watched`: with the tree's
    memory sampled, which slows it)."""
    with tempfile.TemporaryDirectory() as out:
        before = load()
        t = time.perf_counter()
        proc = subprocess.Popen(tune_command(count, out, jobs, scheme, entry, dtype), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        sampler = TreeSampler(proc.pid)
        if watched:
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)   # its own rusage: the process and the workers it reaped
        wall = time.perf_counter() - t
        if watched:
            sampler.done.set()
            sampler.join()
        err = proc.stderr.read()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            sys.exit(f"canary tune failed ({proc.returncode}): {err.strip()[-2000:]}")
    return {"wall": wall, "rate": count / wall, "cpu": usage.ru_utime + usage.ru_stime,
            "max_rss": usage.ru_maxrss * 1024, "tree_rss": sampler.peak_rss, "tree_pss": sampler.peak_pss,
            "processes": sampler.most_processes, "load": f"{before} -> {load()}"}


class EngineOnly:
    """The screening engine alone over the same `count` trials, in this process: the market and
    the trials' configurations made once, compiled code loaded; each `run` times a new `Screen`
    (no signal computed yet, as in a tune's worker)."""

    def __init__(self, count):
        from canary.feeds.market import load_market
        from canary.runs.backtest import plan
        from canary.runs.config import load_config
        from canary.runs.screening import Screen
        from canary.runs.tune.search_space import parse_space, random_trials

        space = {key: tomllib.loads(f"v = {spec}")["v"] for key, spec in SPACE.items()}
        config = load_config()
        p = plan(config)
        self.market, self.costs, self.Screen = load_market(p.library, p.universe, config.data.start), p.costs, Screen
        Screen(self.market, self.costs).bar_returns([config])   # compiled code loaded
        self.configs = [config.with_checked(t) for t in random_trials(parse_space(space), count, SEED)]

    def run(self):
        before = load()
        screen = self.Screen(self.market, self.costs)
        t, c = time.perf_counter(), time.process_time()
        screen.bar_returns(self.configs)   # what a tune's workers compute: the returns, not the figures
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        return {"wall": wall, "cpu": cpu, "rate": len(self.configs) / wall, "load": f"{before} -> {load()}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each figure (default 2)")
    parser.add_argument("--jobs", type=int, default=None, help="canary tune --jobs (default: one per core)")
    parser.add_argument("--scheme", default="cscv", help="canary tune --scheme (default cscv)")
    parser.add_argument("--entry", default=None,
                        help="a script run instead of `-m canary.runs` (the same arguments), to time a change")
    parser.add_argument("--dtype", default=None, help="canary tune --dtype (default: tune.dtype, float64)")
    parser.add_argument("--no-engine", action="store_true", help="skip the engine-only figure")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}; canary tune --method random --seed {SEED} "
          f"--rerun 0 --scheme {args.scheme}{' --dtype ' + args.dtype if args.dtype else ''}, workers: {args.jobs or cores}; space: "
          + ", ".join(f"{k}={v}" for k, v in SPACE.items()), flush=True)
    for n in args.counts:
        engine = None if args.no_engine else EngineOnly(n)
        shares, walls = [], []
        for run in range(args.repeat):
            if engine is not None:   # just before each end-to-end run: the machine's speed drifts
                e = engine.run()
                say(f"engine only, {n:,} trials, run {run + 1}: trials/s (s wall / CPU; load)",
                    f"{e['rate']:,.0f}", f"({e['wall']:.2f} / {e['cpu']:.2f} s; load {e['load']})")
            r = end_to_end(n, args.jobs, args.scheme, args.entry, args.dtype)
            say(f"end to end, {n:,} trials, run {run + 1}: s wall (trials/s)", f"{r['wall']:.1f}",
                f"({r['rate']:,.1f} trials/s; CPU {r['cpu']:.1f} s; largest process "
                f"{r['max_rss'] / 2 ** 20:,.0f} MiB; load {r['load']})")
            walls.append(r["wall"])
            shares.append(r["rate"] / e["rate"] if engine is not None else float("nan"))
            say("  end-to-end / engine-only trials/s", f"{shares[-1]:.3f}", f"(target >= {TARGET_SHARE:.3f})")
        m = end_to_end(n, args.jobs, args.scheme, args.entry, args.dtype, watched=True)
        say(f"watched run, {n:,} trials: peak MiB, largest process / tree RSS summed / tree PSS summed",
            f"{m['max_rss'] / 2 ** 20:,.0f} / {m['tree_rss'] / 2 ** 20:,.0f} / {m['tree_pss'] / 2 ** 20:,.0f}",
            f"({m['processes']} processes; {m['wall']:.1f} s watched; load {m['load']})")
        if n == 10000:
            met = [max(walls) < TARGET_SECONDS, m["tree_pss"] < TARGET_BYTES, m["tree_rss"] < TARGET_BYTES,
                   min(shares) >= TARGET_SHARE]
            print("  targets: < 60 s {}, tree PSS < 1.5 GiB {} (RSS summed {}), >= 1/3 of the engine in every "
                  "run {}".format(*("met" if x else "MISSED" for x in met)), flush=True)


if __name__ == "__main__":
    main()
