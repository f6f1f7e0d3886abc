"""Where screening batches run: in this process, in local worker processes (one per core by
default), or on a Dask distributed cluster (`--scheduler tcp://host:8786`).

Every batch is a pure function of its arguments, so results are the same wherever they ran;
`run` yields them as they finish, tagged with the batch's position, and the caller puts them
back in order.
"""
import os
import signal
import sys

from canary.errors import ConfigError
from canary.extras import require

from ..forking import pool_context


def _start_worker(threads):
    """A worker leaves Ctrl-C to the main process, which keeps what finished and stops the rest,
    and runs the screening kernel's parallel loop on `threads` threads: the pool's workers share
    the cores instead of each starting a thread per core (the runs of a batch are independent,
    so the returns are the same on any number of threads)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    numba = sys.modules.get("numba")
    if numba is None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)   # read when numba is imported
    else:
        numba.set_num_threads(threads)


def _numbered(job):
    """(position, fn(*task)) of a (position, fn, task) job, in a worker."""
    i, fn, task = job
    return i, fn(*task)


class Workers:
    """A pool of processes for `run(fn, tasks)`; use as a context manager."""

    def __init__(self, jobs=None, scheduler=None, wait_for_workers=120):
        if jobs is not None and jobs < 1:
            raise ConfigError(f"--jobs {jobs}: must be at least 1")
        self.jobs = jobs or os.cpu_count() or 1
        self.scheduler = scheduler
        self.wait_for_workers = wait_for_workers  # seconds a scheduler may have no worker
        self.pool = None
        self.client = None

    def __enter__(self):
        if self.scheduler:
            Client = require("distributed", "--scheduler").Client

            try:
                self.client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError(f"--scheduler {self.scheduler}: cannot reach a Dask scheduler there ({exc})") from None
            self._a_worker()
        return self

    def _local(self):
        """The local pool, started at the first `run`: forked then, its workers share what this
        process has loaded by that time (a tuning's market, loaded for its benchmark) instead of
        each loading its own."""
        if self.pool is None:
            threads = max(1, (os.cpu_count() or 1) // self.jobs)
            self.pool = pool_context().Pool(self.jobs, initializer=_start_worker, initargs=(threads,))
        return self.pool

    def start(self):
        """Fork the local pool now, if there is one and it is not running (`run` would at its first
        task): before this process starts a thread of its own, which a fork would not copy."""
        if self.client is None and self.jobs > 1:
            self._local()

    def rest(self):
        """End the local pool's workers, and the memory they hold (their markets and signals),
        while this process works alone; a later `run` forks new ones."""
        if self.pool is not None:
            self.pool.close()
            self.pool.join()
            self.pool = None

    def _a_worker(self):
        """Wait until the scheduler has a worker (saying so), or refuse after `wait_for_workers` s."""
        if self.client.nthreads():
            return
        print(f"... waiting for a Dask worker at {self.scheduler} (up to {self.wait_for_workers:g} s)",
              file=sys.stderr, flush=True)
        try:
            self.client.wait_for_workers(1, timeout=self.wait_for_workers)
        except TimeoutError:
            self.client.close()
            raise ConfigError(f"--scheduler {self.scheduler}: no worker joined in {self.wait_for_workers:g} s; "
                              f"start one (dask worker {self.scheduler}) or drop --scheduler") from None

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.pool is not None:
            if exc[0] is None:
                self.pool.close()
                self.pool.join()
            else:
                # Ctrl-C or an error: the workers stop now, their running batches are dropped
                # (finished ones were already handed over and saved); a second Ctrl-C waits
                before = signal.signal(signal.SIGINT, signal.SIG_IGN)
                try:
                    self.pool.terminate()
                    self.pool.join()
                finally:
                    signal.signal(signal.SIGINT, before)
        return False

    @property
    def size(self):
        if self.client is not None:
            return max(1, sum(self.client.nthreads().values()))
        return self.jobs

    def run(self, fn, tasks):
        """Yield (position, fn(*task)) for each task, in the order they finish."""
        if self.client is not None:
            as_completed = require("distributed", "--scheduler").as_completed

            futures = [self.client.submit(fn, *task, pure=False) for task in tasks]
            where = {f.key: i for i, f in enumerate(futures)}
            for future, result in as_completed(futures, with_results=True):
                yield where[future.key], result
        elif self.jobs > 1:
            yield from self._local().imap_unordered(_numbered, [(i, fn, task) for i, task in enumerate(tasks)])
        else:
            for i, task in enumerate(tasks):
                yield i, fn(*task)
