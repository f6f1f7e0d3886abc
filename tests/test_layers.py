"""Layer hygiene: what every layer shares sits at the package root, once."""
import ast
import importlib
from pathlib import Path

import backtrader as bt
import pytest

import canary
from canary import errors, params

ROOT = Path(canary.__file__).resolve().parent


# The layers in the order data flow through them; the package root (errors, params) is below all.
LAYERS = ("feeds", "indicators", "strategies", "runs")


def _modules():
    """(module name, path) of every module of the package root and the layers."""
    yield from ((f"canary.{p.stem}", p) for p in ROOT.glob("*.py") if p.stem != "__init__")
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(("canary", *parts[:-1], *([] if parts[-1] == "__init__" else parts[-1:]))), path


def _imported(name, path):
    """What `path` (module `name`) imports from canary, at its top or inside functions: each name
    in full (canary.runs.cli for `from ..runs import cli`, canary.errors.suggest for
    `from canary.errors import suggest`)."""
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "canary")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            elif (node.module or "").split(".")[0] == "canary":
                module = node.module
            else:
                continue
            yield from (f"{module}.{a.name}" for a in node.names)   # a module, or a name in `module`


def _layer(module):
    """0 for the package root, then 1 + the position of its layer in LAYERS."""
    parts = module.split(".")
    return 1 + LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else 0


def test_imports_point_downwards():
    """Data flow one way, feeds -> indicators -> strategies -> runs: no module imports from a
    layer above its own (the package root imports no layer), measured on the import graph."""
    modules = dict(_modules())
    assert {_layer(m) for m in modules} == {0, 1, 2, 3, 4}
    upward = sorted(f"{m} imports {target}" for m, path in modules.items() for target in _imported(m, path)
                    if _layer(target) > _layer(m))
    assert upward == []


def _import_graph(modules):
    """{module: the canary modules it imports}: each imported name trimmed to the nearest module
    (`from canary.runs.tune import report` is canary.runs.tune.report, `from .x import f` is .x)."""
    graph = {}
    for name, path in modules.items():
        graph[name] = set()
        for target in _imported(name, path):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def _cycle(graph):
    """One import loop of `graph` as [a, b, ..., a], or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (loop := visit(target)):
                return loop
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state and (loop := visit(module)):
            return loop
    return None


def test_no_import_loops():
    """No module imports itself through others, counting the imports inside functions (a loop
    hidden there still ties the modules together)."""
    modules = {name: path for name, path in _modules() if name != "canary.runs.__main__"}
    graph = _import_graph(modules)
    assert graph["canary.runs.cli"] >= {"canary.runs.tune.tuning", "canary.runs.study.report"}   # the walk sees them
    assert _cycle(graph) is None


def test_the_loop_finder_finds_a_loop_through_a_function_level_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_an_upward_import(tmp_path):
    path = tmp_path / "planted.py"
    path.write_text("def f():\n    from ..runs import cli\n    from canary.strategies import engine\n")
    assert list(_imported("canary.feeds.planted", path)) == ["canary.runs.cli", "canary.strategies.engine"]
    assert _layer("canary.runs") > _layer("canary.feeds.planted")


def test_the_error_contract_is_defined_once():
    """Every layer raises the package root's error classes (canary.errors, canary.params) or
    subclasses of them; none defines a class of its own by a root class's name."""
    import inspect

    root = {c.__name__ for c in (errors.CanaryError, errors.ConfigError, errors.DataError, params.ParameterError)}
    defined = []
    for name, _ in _modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        defined += [obj for _, obj in inspect.getmembers(module, inspect.isclass)
                    if issubclass(obj, BaseException) and obj.__module__ == name]
    copies = sorted(f"{c.__module__}.{c.__name__}" for c in defined
                    if c.__name__ in root and c.__module__ not in ("canary.errors", "canary.params"))
    assert copies == []
    assert {c.__name__ for c in defined} >= root | {"ParityError", "Interrupted"}   # the walk found them


def test_parameter_error_is_a_config_error_exiting_with_usage_status():
    assert issubclass(params.ParameterError, errors.ConfigError)
    assert params.ParameterError.exit_status == 2
    assert errors.DataError.exit_status == 1


class _Window(params.Indicator):
    lines = ("mean",)
    params = (("period", 3),)

    def __init__(self):
        self.lines.mean = bt.indicators.SMA(self.data, period=self.p.period)


class _Hold(params.Strategy):
    params = (("period", 3),)

    def __init__(self):
        _Window(self.data, peirod=self.p.period)


class _Plain(params.Strategy):
    params = (("size", 1.0),)


def _run(strategy, **kwargs):
    import pandas as pd

    frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 0.0},
                         index=pd.date_range("2024-01-01", periods=5, freq="D"))
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(strategy, **kwargs)
    return cerebro.run()


def test_one_strict_mechanism_for_indicators_and_strategies():
    with pytest.raises(params.ParameterError, match=r"_Window: unknown parameter 'peirod' \(did you mean 'period'\?\)"):
        _run(_Hold)
    with pytest.raises(params.ParameterError, match=r"_Plain: unknown parameter 'sise' \(did you mean 'size'\?\)"):
        _run(_Plain, sise=2.0)
    assert _run(_Plain, size=2.0)[0].p.size == 2.0


GLOBAL_STATE = r'''
import json, logging, os, pkgutil, sys, warnings, importlib
import numpy as np
import matplotlib

def state():
    return {"environ": dict(os.environ), "path": list(sys.path), "warnings": len(warnings.filters),
            "backend": matplotlib.rcParams._get_backend_or_none(), "pyplot": "matplotlib.pyplot" in sys.modules,
            "logging": [(n, logging.getLogger(n).level, len(logging.getLogger(n).handlers))
                        for n in ("", "yfinance", "matplotlib", "numba", "ccxt")],
            "numpy": np.geterr(), "recursion": sys.getrecursionlimit()}

import ast, canary
names = [m.name for m in pkgutil.walk_packages(canary.__path__, "canary.")
         if ".tests" not in m.name and not m.name.endswith("__main__")]
# What the libraries do on import is theirs: import them first, then every canary module.
libraries = set()
for name in names:
    spec = importlib.util.find_spec(name)
    for node in ast.parse(open(spec.origin).read()).body:
        if isinstance(node, ast.Import):
            libraries |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            libraries |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", None) == "require":
            libraries.add(node.value.args[0].value)   # numba = require("numba", ...) at a module's top
for lib in sorted(libraries):
    if not lib.startswith("canary"):
        try:
            importlib.import_module(lib)
        except ImportError:
            pass  # a name in a module, not a module
before = state()
for name in names:
    importlib.import_module(name)
after = state()
print(json.dumps({"modules": len(names), "changed": {k: [before[k], after[k]] for k in before
                                                     if before[k] != after[k]}}, default=str))
'''


def test_importing_any_module_changes_no_global_state():
    import json
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, "-c", GLOBAL_STATE], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["modules"] > 30
    assert report["changed"] == {}


def test_run_pictures_choose_no_backend(tmp_path):
    import subprocess
    import sys

    script = f'''
import sys, matplotlib, pandas as pd
from canary.runs.report import files as report
curve = pd.Series([1.0, 1.2, 1.1], index=pd.date_range("2024-01-01", periods=3, tz="UTC"))
report.plot_equity(r"{tmp_path / 'equity.png'}", {{"a": curve}}, None, "t")
print(matplotlib.rcParams._get_backend_or_none(), "matplotlib.pyplot" in sys.modules)
'''
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["None", "False"]
    assert (tmp_path / "equity.png").read_bytes()[:4] == b"\x89PNG"


def test_data_sources_are_registered_once(monkeypatch):
    from canary.feeds import fetch, sources
    from canary.runs.cli import parser

    extra = sources.LiveSource("stooq", ("stq",), "Stooq", feed="stooq-bars", takes_exchange=False)
    monkeypatch.setattr(sources, "LIVE_SOURCES", sources.LIVE_SOURCES + (extra,))
    assert sources.parse_source("stq") == ("stooq", None)   # the configuration's [sources]
    assert fetch.feed_name("stq") == "stooq-bars"            # the cache folder ...
    assert sources.shown_feed("stooq-bars") == "stooq"       # ... and how messages name it
    assert fetch.fetch_command("X", "stooq-bars") == "canary data fetch X --source stooq"
    with pytest.raises(errors.ConfigError, match="only ccxt takes an exchange"):
        sources.parse_source("stooq:x")
    args = parser().parse_args(["data", "fetch", "X", "--source", "stq"])  # the command line
    assert args.source == "stq"
    with pytest.raises(errors.ConfigError, match="did you mean 'stooq'"):
        sources.parse_source("stoq")


def test_the_command_line_holds_no_library_logic():
    """runs/cli.py parses arguments, calls the runs modules and prints: it computes no figure
    and writes no output file itself (comparison, tuning outputs and replay live in runs/)."""
    import ast

    tree = ast.parse((ROOT / "runs" / "cli.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert not imported & {"pandas", "numpy", "backtrader", "matplotlib", "quantstats", "scipy"}
    writes = {"to_csv", "to_parquet", "write_text", "write_bytes", "mkdir", "dump", "dumps", "savefig"}
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert not called & writes
