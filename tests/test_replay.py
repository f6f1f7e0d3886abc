"""Replay reads what a manifest records (the benchmark set too) rather than guessing it."""
import json
import math
from pathlib import Path

import pytest
from clirun import main

from canary.errors import ConfigError
from canary.runs import replay
from canary.runs.backtest import BENCHMARK_SETS, benchmark_set
from canary.runs.config import load_config


def _manifest(tmp_path, metrics, **extra):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(dict({"config": load_config().as_dict(), "metrics": metrics, "data": {}}, **extra)))
    return path


FIGS = {"final_value": 1.0, "sharpe": math.nan}


def test_the_recorded_benchmark_set_is_used_not_the_number_of_runs(tmp_path):
    # Three runs in the figures, but the manifest says one benchmark: "btc", not a guess of "all".
    path = _manifest(tmp_path, {"Mine": FIGS, "btc_buy_hold": FIGS, "extra": FIGS}, benchmarks=["btc_buy_hold"])
    assert replay.read(path).benchmarks == "btc"
    path = _manifest(tmp_path, {"rotation": FIGS}, benchmarks=list(BENCHMARK_SETS["all"]))
    assert replay.read(path).benchmarks == "all"


def test_a_manifest_from_before_the_record_names_its_benchmarks_in_its_figures(tmp_path):
    path = _manifest(tmp_path, {label: FIGS for label in ("rotation", *BENCHMARK_SETS["all"])})
    assert replay.read(path).benchmarks == "all"
    assert benchmark_set(["eth_buy_hold"]) is None
    with pytest.raises(ConfigError, match="benchmarks eth_buy_hold are not a set"):
        replay.read(_manifest(tmp_path, {"rotation": FIGS}, benchmarks=["eth_buy_hold"]))


def test_not_a_manifest(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        replay.read(tmp_path / "none.json")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a run manifest"):
        replay.read(tmp_path / "x.json")


def test_verdict_names_each_differing_figure(tmp_path):
    recorded = replay.read(_manifest(tmp_path, {"rotation": FIGS, "btc_buy_hold": FIGS},
                                     benchmarks=["btc_buy_hold"]))
    lines, same = replay.verdict(recorded, {"rotation": FIGS, "btc_buy_hold": FIGS})
    assert same and lines == [f"replay: all 4 figures match {recorded.path}"]
    moved = dict(FIGS, final_value=1.0 + 1e-6)
    lines, same = replay.verdict(recorded, {"rotation": moved, "btc_buy_hold": FIGS})
    assert not same and lines[1:] == ["  rotation.final_value: 1.0 -> 1.000001"]


STORED = Path(__file__).parent / "fixtures" / "manifest-0.1.0.json"   # written by canary run (SMALL, --no-report)


def test_a_stored_manifest_replays_to_its_figures(tmp_path):
    proc = main("run", "--replay", STORED, "--out", tmp_path, "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert "replay: all " in proc.stdout and "figures match" in proc.stdout
    # written before tune.dtype, its one key added since (a tuning's, which no backtest reads)
    assert "replay: the manifest has no tune.dtype (added since it was written): today's defaults used" in proc.stdout


def test_keys_added_since_a_manifest_was_written_take_todays_defaults_and_are_named(tmp_path):
    old = json.loads(STORED.read_text())
    for key in ("alts_top", "rankings", "exclude", "missing"):      # [universe] before the point-in-time keys
        del old["config"]["universe"][key]
    del old["config"]["costs"]["fill"]
    del old["config"]["filter"]["breadth"]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(old))
    proc = main("run", "--replay", path, "--out", tmp_path, "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert ("replay: the manifest has no universe.alts_top, universe.rankings, universe.exclude, universe.missing, "
            "filter.breadth and 2 more (added since it was written): today's defaults used") in proc.stdout
    assert "figures match" in proc.stdout
