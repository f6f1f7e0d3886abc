"""A worker process started by a run ends with the run: killed, its parent leaves nothing behind."""
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

# A run that hands a slow task (writing a file after 1 s, as the tear sheet is written) to a
# forked worker, then prints the worker's process id and waits.
RUN = textwrap.dedent("""
    import multiprocessing, sys, time
    from canary.runs import backtest

    backtest._spare_core = lambda: True   # a worker even on one core

    def late(path):
        time.sleep(1)
        open(path, "w").write("written after its parent died")

    backtest.beside(late, sys.argv[1])
    print(*[p.pid for p in multiprocessing.active_children()], flush=True)
    time.sleep(60)
""")


def _alive(pid):
    status = Path(f"/proc/{pid}/stat")
    if status.exists():
        return status.read_text().rsplit(")", 1)[1].split()[0] != "Z"   # a zombie has ended
    try:
        import os
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_worker_ends_when_its_parent_is_killed(how, tmp_path):
    late = tmp_path / "late.txt"
    parent = subprocess.Popen([sys.executable, "-c", RUN, str(late)], stdout=subprocess.PIPE, text=True)
    (worker,) = map(int, parent.stdout.readline().split())
    assert _alive(worker)
    parent.send_signal(how)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)
    time.sleep(1.5)
    assert not late.exists()


def test_a_worker_whose_parent_died_before_it_started_ends_at_once():
    """The parent's id is taken before the fork: a worker whose initializer runs only after its
    parent was killed (a busy machine) sees another parent and ends; reading the parent's id in
    the worker would have seen the adopter and waited for ever."""
    code = "from canary.runs.worker_lifetime import end_with_parent; import os, time; " \
           "end_with_parent(os.getppid() + 1000003); time.sleep(30)"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], timeout=20)
    assert done.returncode == 1 and time.monotonic() - started < 10
