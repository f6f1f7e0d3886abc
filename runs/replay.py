"""Rerunning a recorded run from its manifest.json, and saying whether its figures came back."""
import json
import math
from dataclasses import dataclass
from pathlib import Path

from canary.errors import ConfigError
from canary.feeds.library import sha256

from .backtest import benchmark_set
from .config import validate, with_defaults
from .settings import RunConfig


@dataclass
class Recorded:
    """A run as its manifest records it: the configuration (validated), the set of benchmarks
    it ran (a name of `backtest.BENCHMARK_SETS`), its data files and its figures."""

    path: Path
    config: RunConfig
    benchmarks: str
    data: dict
    metrics: dict
    added: tuple = ()     # keys the manifest lacks (added since), set to today's defaults


def read(path):
    """The Recorded run of the manifest at `path`; a ConfigError naming it if it is not one."""
    path = Path(path)
    try:
        recorded = json.loads(path.read_text())
        config, metrics = recorded["config"], recorded["metrics"]
        labels = recorded.get("benchmarks")
        if labels is None:  # a manifest from before the benchmarks were recorded: its figures name them
            labels = [label for label in metrics if label != next(iter(metrics))]
    except FileNotFoundError:
        raise ConfigError(f"--replay {path}: file not found") from None
    except (ValueError, KeyError, TypeError, StopIteration):
        raise ConfigError(f"--replay {path}: not a run manifest (no config/metrics)") from None
    benchmarks = benchmark_set(labels)
    if benchmarks is None:
        raise ConfigError(f"--replay {path}: benchmarks {', '.join(labels)} are not a set this version runs")
    if not isinstance(config, dict):
        raise ConfigError(f"--replay {path}: not a run manifest (its config is not a table)")
    config, added = with_defaults(config)
    return Recorded(path, validate(config, str(path)), benchmarks, recorded.get("data", {}), metrics, tuple(added))


def changed_data(recorded):
    """Symbols whose recorded file is still there but no longer has the recorded checksum."""
    return [s for s, e in recorded.data.items() if Path(e["path"]).exists() and sha256(e["path"]) != e["sha256"]]


def differences(new, old, rel=1e-9):
    """The figures of `new` that differ from `old` (metric dicts per run label), as
    "label.figure: old -> new"; equal within `rel`, and NaN equals NaN."""
    diffs = []
    for label, figs in new.items():
        for key, value in figs.items():
            other = old.get(label, {}).get(key)
            if other is None or not (value == other or (isinstance(value, float) and math.isclose(
                    value, other, rel_tol=rel, abs_tol=1e-12)) or (value != value and other != other)):
                diffs.append(f"{label}.{key}: {other} -> {value}")
    return diffs


def verdict(recorded, metrics):
    """(lines to print, True if every recorded figure came back)."""
    lines = []
    if recorded.added:
        shown = ", ".join(recorded.added[:5]) + (f" and {len(recorded.added) - 5} more" if len(recorded.added) > 5 else "")
        lines.append(f"replay: the manifest has no {shown} (added since it was written): today's defaults used")
    changed = changed_data(recorded)
    if changed:
        lines.append(f"replay: data changed since the recorded run: {', '.join(changed)}")
    diffs = differences(metrics, recorded.metrics)
    if diffs:
        lines.append(f"replay: {len(diffs)} figure(s) differ from {recorded.path}:")
        lines += [f"  {d}" for d in diffs]
        return lines, False
    lines.append(f"replay: all {sum(len(v) for v in recorded.metrics.values())} figures match {recorded.path}")
    return lines, True
