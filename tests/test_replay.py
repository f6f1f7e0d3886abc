"""Replay reads what a manifest records (the benchmark set too) rather than guessing it."""
import json
import math

import pytest

from canary.errors import ConfigError
from canary.runs import replay
from canary.runs.backtest import BENCHMARK_SETS, benchmark_set
from canary.runs.config import load_config


def _manifest(tmp_path, metrics, **extra):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(dict({"config": load_config(), "metrics": metrics, "data": {}}, **extra)))
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
