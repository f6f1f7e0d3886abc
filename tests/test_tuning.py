"""Tuning with an out-of-sample check: each figure is what a separate run of that period gives."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from canary.errors import ConfigError
from canary.feeds.market import load_market
from canary.runs.backtest import plan
from canary.runs.config import load_config, rotation_params
from canary.runs.metrics import performance
from canary.runs.tuning import parse_grid, tune
from canary.strategies import SmallCapRotation, run_backtest

SMALL = ['universe.alts=["BNB-USDT", "SOL-USDT"]', "data.start=2023-01-01"]
SPLIT = "2024-07-01"


@pytest.fixture(scope="module")
def tuned():
    p = plan(load_config(overrides=SMALL))
    grid = parse_grid(["filter.confirm=2,8", "strategy.defensive=cash,btc"])
    table, summary = tune(p, grid, SPLIT, "sharpe", jobs=1)
    return p, grid, table, summary


def test_every_grid_point_is_run_in_and_out_of_sample(tuned):
    _, grid, table, summary = tuned
    assert len(table) == 4
    assert set(map(tuple, table[list(grid)].to_numpy().tolist())) == {(2, "cash"), (2, "btc"), (8, "cash"), (8, "btc")}
    assert table["in_sharpe"].is_monotonic_decreasing
    assert summary["best"] == {k: table[k].iloc[0] for k in grid}
    assert summary["out_of_sample"].startswith(SPLIT)


def test_each_figure_matches_a_separate_run_of_its_period(tuned):
    p, grid, table, _ = tuned
    row = table.iloc[-1]
    config = load_config(overrides=SMALL + [f"filter.confirm={row['filter.confirm']}",
                                             f'strategy.defensive="{row["strategy.defensive"]}"'])
    params = rotation_params(config)
    inside = run_backtest(load_market(p.library, p.universe, "2023-01-01", SPLIT), SmallCapRotation, params, p.costs)
    outside = run_backtest(load_market(p.library, p.universe, SPLIT), SmallCapRotation, params, p.costs)
    assert row["in_sharpe"] == pytest.approx(performance(inside)["sharpe"], rel=1e-12)
    assert row["out_sharpe"] == pytest.approx(performance(outside)["sharpe"], rel=1e-12)
    assert outside.equity.index[0] == pd.Timestamp(SPLIT, tz="UTC")
    assert outside.equity.iloc[0] == p.costs.cash  # out of sample starts from fresh cash
    assert inside.equity.index[-1] <= pd.Timestamp(SPLIT, tz="UTC")


def test_parallel_workers_give_the_same_table(tuned):
    p, grid, table, _ = tuned
    parallel, _ = tune(p, grid, SPLIT, "sharpe", jobs=2)
    pd.testing.assert_frame_equal(parallel, table)


def test_tuning_mistakes_are_configuration_errors(tuned):
    p = tuned[0]
    with pytest.raises(ConfigError, match="filter.confrim"):
        tune(p, parse_grid(["filter.confrim=2,3"]), SPLIT)
    with pytest.raises(ConfigError, match="filter.confirm"):
        tune(p, parse_grid(["filter.confirm=0,3"]), SPLIT)
    with pytest.raises(ConfigError, match="--split"):
        tune(p, parse_grid(["filter.confirm=2,3"]), "2019-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        tune(p, parse_grid(["filter.confirm=2,3"]), "notadate")
    with pytest.raises(ConfigError, match="only \\[filter\\] and \\[strategy\\]"):
        parse_grid(["costs.fee_bp=0,100"])
    with pytest.raises(ConfigError, match="expected section.key"):
        parse_grid(["confirm=3,5"])
    with pytest.raises(ConfigError, match="--metric"):
        tune(p, parse_grid(["filter.confirm=2,3"]), SPLIT, metric="luck")


def test_the_tune_command(tmp_path):
    canary = str(Path(sys.executable).with_name("canary"))
    args = [canary, "tune", "--grid", "filter.confirm=2,8", "--split", SPLIT, "--out", str(tmp_path), "--name", "t",
            *(a for s in SMALL for a in ("--set", s))]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "rank correlation" in proc.stdout and "BTC buy-and-hold" in proc.stdout
    table = pd.read_csv(tmp_path / "t" / "tuning.csv")
    assert sorted(table["filter.confirm"]) == [2, 8]
    summary = json.loads((tmp_path / "t" / "tuning.json").read_text())
    assert summary["split"] == SPLIT and summary["config"]["data"]["start"] == "2023-01-01"
    bad = subprocess.run([canary, "tune", "--grid", "filter.confirm=2", "--split", "1999-01-01"],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--split" in bad.stderr
