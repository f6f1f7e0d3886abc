"""The plugin's extras: the core runs without them, a command that needs one says in one line
which to install, and every package the code imports is declared."""
import ast
import configparser
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import SMALL

from canary.extras import EXTRAS

ROOT = Path(__file__).resolve().parent.parent
# QuantStats, the core's tear sheet, needs scipy and yfinance itself
OPTIONAL = sorted({p for packages in EXTRAS.values() for p in packages} - {"scipy", "yfinance"})


def _setup():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


def _names(lines):
    return {re.split(r"[<>=!~ ;\[]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
            for line in lines.splitlines() if line.strip()}


def _distribution(package):
    return importlib.metadata.packages_distributions()[package][0].lower().replace("_", "-")


def test_each_extra_of_setup_cfg_is_the_declared_one():
    extras = _setup()["options.extras_require"]
    for extra, packages in EXTRAS.items():
        assert _names(extras[extra]) == {_distribution(p) for p in packages}, extra
    assert _names(extras["all"]) == {"smallcap-canary"} and "[" + ",".join(EXTRAS) + "]" in extras["all"]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("require", "installed"):
            yield node.args[0].value.split(".")[0]   # canary.extras.require("numba", ...)


def test_every_imported_package_is_declared():
    cfg = _setup()
    declared = _names(cfg["options"]["install_requires"])
    for extra in EXTRAS:
        declared |= _names(cfg["options.extras_require"][extra])
    paths = [*ROOT.glob("*.py"), *(p for layer in ("feeds", "indicators", "strategies", "runs")
                                   for p in (ROOT / layer).rglob("*.py"))]
    third_party = {name for path in paths for name in _imports(path)
                   if name != "canary" and name not in sys.stdlib_module_names}
    assert {"numba", "scipy", "backtrader"} <= third_party
    assert sorted(p for p in third_party if _distribution(p) not in declared) == []


BLOCKED_RUN = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None          # as if not installed
from canary.runs.cli import main
sys.exit(main({argv!r}))
"""


def _without(blocked, *argv, cwd):
    script = BLOCKED_RUN.format(blocked=list(blocked), argv=[str(a) for a in argv])
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("command, files", [("run", ("metrics.json", "tearsheet.html")),
                                           ("study", ("summary.csv", "study.md"))])
def test_the_core_runs_without_any_extra(command, files, tmp_path):
    proc = _without(OPTIONAL + ["arch"], command, *SMALL, "--out", tmp_path, "--name", "core", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all((tmp_path / "core" / f).exists() for f in files)


@pytest.mark.parametrize("argv, blocked, extra", [
    (("run", "--engine", "fast", *SMALL), ("numba",), "tune"),
    (("tune", "--grid", "filter.small_cap.confirm=2,3", *SMALL), ("numba",), "tune"),
    (("now",), ("numba",), "tune"),
    (("tune", "--engine", "backtrader", "--method", "optuna", "--space", "filter.small_cap.confirm={low = 2, high = 8, step = 1}",
      "--count", "2", *SMALL), ("optuna",), "tune"),
    (("tune", "--grid", "filter.small_cap.confirm=2,3", "--scheduler", "tcp://127.0.0.1:1", *SMALL), ("distributed",),
     "cluster"),
    (("data", "fetch", "BTC-USDT", "--source", "ccxt"), ("ccxt",), "live"),
    (("data", "fetch", "RUT", "--source", "yahoo"), ("yfinance",), "live"),
], ids=["fast engine", "tune", "now", "optuna", "scheduler", "ccxt", "yahoo"])
def test_a_command_that_needs_an_extra_says_which_in_one_line(argv, blocked, extra, tmp_path):
    out = ("--out", tmp_path) if argv[0] in ("run", "tune", "study") else ()
    proc = _without(blocked, *argv, *out, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"pip install 'smallcap-canary[{extra}]'" in proc.stderr and blocked[0] in proc.stderr
