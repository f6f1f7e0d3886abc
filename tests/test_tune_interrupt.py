"""Ctrl-C in `canary tune` as a user presses it: the command stops at once, its workers with it,
the screened trials stay in the partial run folder, and `canary tune --resume` finishes the run.
And a `--blocks` the history or the memory cannot hold is refused before any screening."""
import os
import signal
import subprocess
import time

import pandas as pd
from clirun import CANARY, SMALL, main

# enough trials that some are still running when the first is saved, however loaded the machine
CONFIRMS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
GRID = ("--grid", "filter.small_cap.confirm=" + ",".join(map(str, CONFIRMS)))
SLOW = (*SMALL, "--set", "tune.engine=backtrader", "--rerun", "0", "--scheme", "cscv", "--blocks", "4",
        "--set", "tune.reps=100", "--jobs", "2", "--quiet")


def _as_at_a_terminal():
    """Ctrl-C as a terminal delivers it, even when this suite runs in the background (where the
    shell starts it, and so every child, with SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_at_once_keeps_the_trials_and_resume_finishes(tmp_path):
    child = subprocess.Popen([CANARY, "tune", *GRID, *SLOW, "--out", tmp_path, "--name", "t"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                             env=dict(os.environ, MPLBACKEND="Agg"), preexec_fn=_as_at_a_terminal)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".t.*.partial/screened/trials-*.npz")):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = child.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert child.returncode == 130, err
    assert err.count("\n") == 1 and "--resume" in err and "Traceback" not in err, err
    assert waited < 5, f"{waited:.1f} s after Ctrl-C"
    try:
        os.killpg(child.pid, 0)   # a worker of the command still alive in its process group
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    [partial] = tmp_path.glob(".t.*.partial")
    kept = len(list((partial / "screened").glob("trials-*.npz")))
    assert 1 <= kept < len(CONFIRMS)
    resumed = subprocess.run([CANARY, "tune", "--resume", partial, "--quiet"], capture_output=True, text=True,
                             env=dict(os.environ, MPLBACKEND="Agg"), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    trials = pd.read_csv(tmp_path / "t" / "trials.csv")
    assert sorted(trials["filter.small_cap.confirm"]) == CONFIRMS
    assert not partial.exists()


def test_blocks_beyond_the_history_or_the_memory_are_refused_in_one_line(tmp_path):
    for blocks, says in (("4000", "4000 blocks need at least 8000 days"), ("26", "10,400,600 splits")):
        result = main("tune", *GRID, *SMALL, "--blocks", blocks, "--out", tmp_path, "--quiet")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and says in result.stderr and "give --blocks" in result.stderr
    assert not list(tmp_path.glob("*/screened/*.npz")) and not list(tmp_path.glob(".*/screened/*.npz"))
