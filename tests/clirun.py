"""Running the `canary` command in this process (fast: no interpreter start, imports shared) or,
for exit statuses and tracebacks as a user sees them, in a subprocess."""
import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CANARY = str(Path(sys.executable).with_name("canary"))
# A three-coin universe on the shipped data: for tests about the command line, not the strategy.
SMALL = ("--set", 'universe.alts=["BNB-USDT", "SOL-USDT"]', "--start", "2024-01-01")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def main(*args):
    """`canary ARGS` run in process through canary.runs.cli.main; argparse's exits included."""
    from canary.runs.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli_main([str(a) for a in args])
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return Result(status, out.getvalue(), err.getvalue())


def subprocess_run(*args, cwd=None):
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([CANARY, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def assert_user_error(proc, status, *words):
    """A user's mistake: the given exit status and one line on stderr, no traceback."""
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def output_folder(workdir, result):
    """The run folder a command printed (`outputs: ...`), relative to the folder it ran in."""
    return Path(workdir) / result.stdout.split("outputs: ")[-1].strip()
