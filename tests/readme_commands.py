"""The `canary` commands shown in README.md, and the output it shows for them.

Fenced code blocks give commands on lines starting `canary`, `$ canary` or `... && canary`
(a trailing `# comment` dropped); after a `$ canary ...` line, the block's next lines up to the
next `$` line are the output the README shows. Inline code spans give the commands that
parse as they are (`canary tune` alone names the command, it does not run it). The synopsis
of the command line (`canary run [CONFIG] ...`) and `canary data fetch` (it needs the
network) are not run; `best.toml` is the one the README's `canary tune` wrote.
"""
import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_COMMAND = re.compile(r"^(?:\$ |.*&& )?(canary\s.*?|canary)\s*(?:#.*)?$")
_SYNOPSIS = re.compile(r"\[[A-Z-]|\|")


def readme_commands(text=None):
    """[(command, expected output lines)] in README order, each command once."""
    text = README.read_text() if text is None else text
    found = {}
    for indent, block in re.findall(r"^( *)```[a-z]*\n(.*?)^\1```", text, flags=re.S | re.M):
        lines = [line.removeprefix(indent) for line in block.splitlines()]
        for i, line in enumerate(lines):
            m = _COMMAND.match(line.strip())
            if not m or _SYNOPSIS.search(m.group(1)):
                continue
            expected = []
            if line.strip().startswith("$ "):
                for out in lines[i + 1:]:
                    if out.strip().startswith("$ "):
                        break
                    if out.strip():
                        expected.append(out.rstrip())
            if expected or m.group(1) not in found:
                found[m.group(1)] = expected
    for span in re.findall(r"`(canary [^`]+)`", text):
        span = " ".join(span.split())  # a span may wrap onto the next line
        if span not in found and _parses(span):
            found[span] = []
    return [(c, e) for c, e in found.items() if not c.startswith("canary data fetch")]


def _parses(command):
    import contextlib
    import io

    from canary.runs.cli import parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            parser().parse_args(shlex.split(command)[1:])
        return True
    except SystemExit:
        return False


# What the README's placeholders stand for when its commands are run.
MY_TOML = """# a user's configuration: their own universe and period (the README command is run as it is)
[data]
start = "2025-01-01"

[universe]
alts = ["BNB-USDT"]
"""
MY_PRICES = ("crypto/BTC-USDT.csv", "crypto/ETH-USDT.csv", "crypto/BNB-USDT.csv", "equity/RUT.csv", "equity/SPX.csv")


def run_all(workdir):
    """Run every README command in process from `workdir` (also $HOME, holding ~/prices and
    my.toml); returns {command: clirun.Result}."""
    import os
    import shutil

    from clirun import main

    from canary.feeds import SHIPPED_DIR

    workdir = Path(workdir)
    (workdir / "my.toml").write_text(MY_TOML)
    (workdir / "prices").mkdir()
    for rel in MY_PRICES:
        shutil.copy(SHIPPED_DIR / rel, workdir / "prices")
    results, old_cwd, old_home = {}, os.getcwd(), os.environ.get("HOME")
    os.chdir(workdir)
    os.environ["HOME"] = str(workdir)
    try:
        for command, _ in readme_commands():
            if "<run>" in command:  # the run folder `canary run` wrote
                command_run = command.replace("<run>", results["canary run"].stdout.split("outputs: ")[-1]
                                              .strip().removeprefix("canary-runs/"))
            else:
                command_run = command
            words = [os.path.expanduser(w) for w in shlex.split(command_run)[1:]]
            if "best.toml" in words:   # the pick `canary tune` wrote
                tuned = results["canary tune"].stdout.split("outputs: ")[-1].strip()
                words = [str(Path(tuned) / w) if w == "best.toml" else w for w in words]
            results[command] = main(*words)
    finally:
        os.chdir(old_cwd)
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home
    return results
