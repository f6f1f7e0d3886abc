"""Whether this process may fork its worker processes.

The screening kernel's parallel loop runs on numba's threading layer, here GNU OpenMP (numba's
'omp' layer) when no TBB is installed. Once that runtime has run in a process, a child forked
from it is terminated at its first parallel call ("fork() called from a process already using
GNU OpenMP"), and a process pool waiting for the task it held waits for ever. That happens in a
long-lived process (a notebook, a script, a test session) that ran the fast engine before a
tune or a run with workers; such a process starts fresh workers instead (`spawn`).
"""
import multiprocessing
import sys


def fork_is_safe():
    """True when a forked child of this process can run the parallel kernel."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    numba = sys.modules.get("numba")
    if numba is None:
        return True
    try:
        return numba.threading_layer() != "omp"
    except ValueError:   # no parallel kernel has run in this process yet
        return True


def pool_context():
    """The multiprocessing context for a pool of workers that run the screening kernel."""
    return multiprocessing.get_context("fork" if fork_is_safe() else "spawn")
