"""Tests of the `canary` command: its plumbing in process (`main([...])`, output captured), a few
runs in a subprocess for exit statuses, stderr and the absence of tracebacks as a user sees them.
The default run is the README's `canary run` (the `default_run` fixture; tests/test_readme_commands.py
runs every README command, in CI's slow step)."""
import json
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from clirun import CANARY, SMALL, assert_user_error, main
from clirun import output_folder as _folder
from clirun import subprocess_run as canary

from canary.feeds import SHIPPED_DIR, DataLibrary
from canary.feeds.market import Universe, load_market
from canary.runs.report.metrics import regime_names
from canary.strategies import SmallCapRotation, run_backtest


def test_run_writes_every_output(default_run):
    proc, folder = default_run
    for name in ("equity.csv", "trades.csv", "regimes.csv", "weights.csv", "orders.csv", "metrics.json",
                 "equity.png", "tearsheet.html", "manifest.json"):
        assert (folder / name).stat().st_size > 0, name
    assert "rotation" in proc.stdout and "btc_buy_hold" in proc.stdout and "sharpe" in proc.stdout
    equity = pd.read_csv(folder / "equity.csv")
    assert list(equity.columns) == ["date", "strategy", "benchmark"]
    assert equity["date"].iloc[0] == "2018-01-01"
    trades = pd.read_csv(folder / "trades.csv")
    assert {"date", "symbol", "side", "size", "price", "fee"} <= set(trades.columns)
    assert (trades["fee"] > 0).all()
    regimes = pd.read_csv(folder / "regimes.csv")
    assert set(regimes["regime"]) <= {"risk-off", "btc", "eth", "alts"}
    assert len(regimes) == len(equity)
    weights = pd.read_csv(folder / "weights.csv")
    assert len(weights) == len(equity) and weights.columns[:2].tolist() == ["date", "cash"]
    assert weights.drop(columns="date").sum(axis=1).to_numpy() == pytest.approx(1.0, abs=1e-8)
    orders = pd.read_csv(folder / "orders.csv")
    assert (orders["status"] == "Completed").sum() == len(trades)
    assert "orders refused by the broker: rotation 0, btc_buy_hold 0" in proc.stdout
    assert (folder / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_backtest_from_python_with_no_parameters_is_the_default_run(default_run):
    # one source of defaults: the classes' own defaults are the shipped configuration
    _, folder = default_run
    result = run_backtest(load_market(DataLibrary(), Universe(), start="2018-01-01"), SmallCapRotation)
    regimes = pd.read_csv(folder / "regimes.csv")
    assert regime_names(result.regimes).tolist() == regimes["regime"].tolist()
    assert set(regimes["regime"]) == {"risk-off", "btc", "eth", "alts"}
    final = pd.read_csv(folder / "equity.csv")["strategy"].iloc[-1]
    assert result.equity.iloc[-1] == pytest.approx(final, rel=1e-9)


def test_tearsheet_renders_with_pictures(default_run):
    _, folder = default_run
    html = (folder / "tearsheet.html").read_text()
    assert "Small-cap rotation vs BTC buy-and-hold" in html
    assert html.count("<svg") >= 3  # the charts are inline
    assert "BTC buy-and-hold" in html


def test_manifest_records_enough_to_rerun(default_run):
    _, folder = default_run
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["config"]["filter"]["small_cap"]["mode"] == "ma"
    assert manifest["benchmarks"] == ["btc_buy_hold"]
    assert manifest["data"]["BTC-USDT"]["sha256"] == json.loads(
        (SHIPPED_DIR / "manifest.json").read_text())["files"]["BTC-USDT"]["sha256"]
    assert manifest["packages"]["backtrader"] == "1.9.78.123"
    assert manifest["started"] <= manifest["finished"]
    assert manifest["metrics"] == {k: v for k, v in json.loads((folder / "metrics.json").read_text()).items()
                                   if k in ("rotation", "btc_buy_hold")}


def test_printed_metrics_agree_with_quantstats(default_run):
    import quantstats as qs

    _, folder = default_run
    metrics = json.loads((folder / "metrics.json").read_text())
    equity = pd.read_csv(folder / "equity.csv", index_col="date", parse_dates=True)
    for column, label in (("strategy", "rotation"), ("benchmark", "btc_buy_hold")):
        r = equity[column].pct_change().iloc[1:]
        m = metrics[label]
        assert m["sharpe"] == pytest.approx(qs.stats.sharpe(r, periods=365), rel=1e-9)
        assert m["sortino"] == pytest.approx(qs.stats.sortino(r, periods=365), rel=1e-9)
        assert m["cagr"] == pytest.approx(qs.stats.cagr(r, periods=365), rel=1e-6)
        assert m["volatility"] == pytest.approx(qs.stats.volatility(r, periods=365), rel=1e-9)
        assert m["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(equity[column]), rel=1e-9)


def test_cagr_and_drawdown_agree_with_an_independent_computation(default_run):
    _, folder = default_run
    metrics = json.loads((folder / "metrics.json").read_text())
    equity = pd.read_csv(folder / "equity.csv", parse_dates=["date"])
    for column, label in (("strategy", "rotation"), ("benchmark", "btc_buy_hold")):
        v = equity[column].to_numpy()
        days = (equity["date"].iloc[-1] - equity["date"].iloc[0]).days
        cagr = (v[-1] / v[0]) ** (365.0 / days) - 1
        peak = np.maximum.accumulate(v)
        assert metrics[label]["cagr"] == pytest.approx(cagr, rel=1e-6)
        assert metrics[label]["max_drawdown"] == pytest.approx((v / peak - 1).min(), rel=1e-9)
        assert metrics[label]["final_value"] == pytest.approx(v[-1], rel=1e-9)


@pytest.mark.slow
def test_replay_reproduces_the_figures(readme_runs):
    _, results = readme_runs
    proc = results["canary run --replay canary-runs/<run>/manifest.json"]
    assert proc.returncode == 0, proc.stderr
    assert "figures match" in proc.stdout


def test_replay_reports_a_difference(tmp_path):
    assert main("run", *SMALL, "--out", tmp_path, "--name", "r", "--no-report", "-q").returncode == 0
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    manifest["metrics"]["rotation"]["final_value"] *= 1.01
    doctored = tmp_path / "manifest.json"
    doctored.write_text(json.dumps(manifest))
    proc = main("run", "--replay", doctored, "--out", tmp_path, "--no-report")
    assert proc.returncode == 1
    assert "rotation.final_value" in proc.stdout


def test_override_reaches_the_run(tmp_path):
    proc = main("run", *SMALL, "--set", "filter.small_cap.confirm=9", "--set", "strategy.defensive=btc",
                "--out", tmp_path, "--name", "o", "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["config"]["filter"]["small_cap"]["confirm"] == 9
    assert manifest["config"]["data"]["start"] == "2024-01-01"
    assert not (tmp_path / "o" / "tearsheet.html").exists()
    regimes = pd.read_csv(tmp_path / "o" / "regimes.csv")
    assert regimes["date"].iloc[0] == "2024-01-01"
    assert (regimes["regime"] == "risk-off").any()  # so the defensive holding is tested
    # defensive = btc: after its first fill the strategy is never all in cash, not even risk-off
    trades = pd.read_csv(tmp_path / "o" / "trades.csv")
    weights = pd.read_csv(tmp_path / "o" / "weights.csv")
    after = weights[weights["date"] > trades["date"].min()[:10]]
    assert len(after) and (after["cash"] < 0.5).all()


def test_runs_never_overwrite(tmp_path):
    named = ("run", *SMALL, "--out", tmp_path, "--name", "same", "--no-report", "-q")
    assert main(*named).returncode == 0
    assert_user_error(main(*named), 2, "--overwrite")
    first = (tmp_path / "same" / "manifest.json").read_text()
    assert main(*named, "--overwrite").returncode == 0
    assert (tmp_path / "same" / "manifest.json").read_text() != first  # a new run, in the same place
    assert [p.name for p in tmp_path.iterdir()] == ["same"]


def test_compare_writes_one_table_and_picture(tmp_path):
    proc = main("compare", *SMALL, "--out", tmp_path, "--name", "c")
    assert proc.returncode == 0, proc.stderr
    folder = _folder(tmp_path, proc)
    labels = ("rotation", "btc_buy_hold", "eth_buy_hold", "alt_basket_buy_hold", "btc_eth_50_50_monthly")
    for label in labels:
        assert label in proc.stdout
    metrics = json.loads((folder / "metrics.json").read_text())
    for label in labels:
        assert {"cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "exposure", "turnover",
                "trades", "fees"} <= set(metrics[label])
    curves = pd.read_csv(folder / "comparison.csv")
    assert list(curves.columns) == ["date", *labels]
    assert json.loads((folder / "manifest.json").read_text())["benchmarks"] == list(labels[1:])
    assert (folder / "equity.png").stat().st_size > 10_000


def test_data_list_and_verify():
    listing = main("data", "list")
    for symbol in ("BTC-USDT", "SHIB-USDT", "RUT", "IWM"):
        assert symbol in listing.stdout
    verified = re.search(r"(\d+) of (\d+) files verified", main("data", "verify").stdout)
    assert verified and verified[1] == verified[2] and int(verified[1]) >= 32


@pytest.mark.parametrize("action", ["list", "verify"])
def test_data_commands_take_folders_not_files(action, tmp_path):
    config = tmp_path / "user.toml"
    config.write_text("[data]\nstart = 2024-01-01\n")
    assert_user_error(main("data", action, "--data", str(config)), 2, "user.toml: a file, not a folder")
    assert_user_error(main("data", action, "--data", str(tmp_path / "nowhere")), 2, "nowhere: no such folder")


def test_data_verify_catches_a_changed_file(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(SHIPPED_DIR, folder)
    with open(folder / "crypto" / "ETH-USDT.csv", "a") as fh:
        fh.write("2026-01-07,1,1,1,1,1\n")
    proc = main("data", "verify", "--data", folder)
    assert proc.returncode == 1
    assert "ETH-USDT" in proc.stdout and "checksum mismatch" in proc.stdout


@pytest.fixture()
def user_data(tmp_path):
    """A user's folder of price files (no manifest), with a small universe; its name has a
    backslash and a quote, which must reach the program as they are."""
    folder = tmp_path / 'my "prices\\new'  # the folder name holds a backslash
    folder.mkdir()
    for rel in ("crypto/BTC-USDT.csv", "crypto/ETH-USDT.csv", "crypto/BNB-USDT.csv", "equity/RUT.csv",
                "equity/SPX.csv"):
        shutil.copy(SHIPPED_DIR / rel, folder)
    return folder


SMALL_UNIVERSE = ("--set", 'universe.alts=["BNB-USDT"]')


def test_run_on_a_user_data_folder(user_data, tmp_path):
    proc = main("run", "--data", str(user_data), *SMALL_UNIVERSE, "--set", "data.recorded_at=2026-01-06",
                  "--start", "2021-01-01", "--out", str(tmp_path), "--name", "u", "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    equity = pd.read_csv(tmp_path / "u" / "equity.csv")
    assert equity["date"].iloc[-1] == "2026-01-06"  # the open bar of 2026-01-06 (closing 01-07) dropped


def test_a_gap_in_a_user_file_is_reported_and_the_run_stays_priced(user_data, tmp_path):
    path = user_data / "BTC-USDT.csv"
    lines = path.read_text().splitlines()
    del lines[1500:1510]  # ten days of BTC missing
    path.write_text("\n".join(lines) + "\n")
    proc = main("run", "--data", str(user_data), *SMALL_UNIVERSE, "--set", "data.recorded_at=2026-01-06",
                  "--start", "2021-01-01", "--out", str(tmp_path), "--name", "g", "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    assert f"data: {path}: gap of 10 bar(s)" in proc.stdout  # the file named by its path
    equity = pd.read_csv(tmp_path / "g" / "equity.csv")
    assert not equity[["strategy", "benchmark"]].isna().any().any()


def test_data_verify_loads_and_validates_a_folder_without_a_manifest(user_data):
    proc = main("data", "verify", "--data", user_data)
    assert proc.returncode == 0, proc.stdout
    assert "5 of 5 files verified" in proc.stdout and proc.stdout.count(": loads, ") == 5
    (user_data / "BAD.csv").write_text("date,open,high,low,close,volume\n2024-01-01,1,2,0.5,x,1\n")
    proc = main("data", "verify", "--data", user_data)
    assert proc.returncode == 1
    bad = [line for line in proc.stdout.splitlines() if line.startswith("BAD")]
    assert len(bad) == 1 and "FAILED" in bad[0] and "line 2" in bad[0] and "close" in bad[0]
    assert "5 of 6 files verified" in proc.stdout


def test_data_list_shows_an_unusable_file_and_goes_on(user_data):
    (user_data / "BAD.csv").write_text("when,price\n2024-01-01,1\n")
    proc = main("data", "list", "--data", str(user_data), "--cache-dir", str(user_data / "nocache"))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "UNUSABLE" in rows["BAD"] and "BTC-USDT" in rows


def test_an_unwritable_out_folder_stops_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_user_error(canary("run", "--out", str(blocker / "runs"), "--no-report"), 2, "--out")


def test_replay_refuses_other_settings(default_run):
    _, folder = default_run
    proc = main("run", "--replay", str(folder / "manifest.json"), "--set", "filter.small_cap.confirm=3")
    assert_user_error(proc, 2, "--replay", "--set")


def test_malformed_csv_is_one_line_data_error(user_data, tmp_path):
    path = user_data / "BTC-USDT.csv"
    lines = path.read_text().splitlines()
    lines[4] = "2017-08-21,4016.0,4016.0,3900.0,not-a-price,1.0"
    path.write_text("\n".join(lines) + "\n")
    proc = canary("run", "--data", str(user_data), *SMALL_UNIVERSE, "--out", str(tmp_path), "--no-report")
    assert_user_error(proc, 1, "BTC-USDT.csv", "line 5", "close")


@pytest.mark.parametrize("args, words", [
    (("--set", "filter.small_cap.confrim=3"), ("filter.small_cap.confrim", "confirm")),
    (("--set", "filter.small_cap.confirm=abc"), ("filter.small_cap.confirm",)),
    (("--set", "filter.confirm=3"), ("filter.confirm", "filter.small_cap.confirm")),
    (("--set", "filter.eth_bct.period=3"), ("filter.eth_bct", "eth_btc")),
    (("--set", "filter.eth_btc.period=30x"), ("filter.eth_btc.period", "30d")),
    (("--set", "filter.small_cap.period=100d"), ("filter.small_cap.period", "sessions")),
    (("--set", "costs.fee_bp=-5"), ("costs.fee_bp",)),
    (("--set", "filter.failed_breakouts.window=0"), ("filter.failed_breakouts.window",)),
    (("--start", "2025-01-01", "--end", "2024-01-01"), ("data.start",)),
    (("--set", "universe.eth=ETH-USD"), ("universe.eth", "ETH-USDT")),
    (("--set", "strategy.weighting=best"), ("strategy.weighting",)),
    (("--data", "/no/such/folder"), ("data.folder",)),
    (("--set", "nonsense"), ("section.key=value",)),
    (("--start", "01/02/2020"), ("data.start", "YYYY-MM-DD")),
    (("--set", 'universe.alts=["BTC-USDT"]'), ("universe", "BTC-USDT", "twice")),
    (("--name", "../x"), ("--name ../x", "plain folder name")),
    (("--name", ".hidden"), ("--name .hidden", "'.'")),
])
def test_configuration_mistakes_stop_before_any_work(args, words, tmp_path):
    proc = main("run", *args, "--out", str(tmp_path / "out"))
    assert_user_error(proc, 2, *words)
    assert not (tmp_path / "out").exists()


def test_bad_configuration_files(tmp_path):
    assert_user_error(main("run", str(tmp_path / "missing.toml")), 2, "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[filter\nconfirm = 3\n")
    assert_user_error(main("run", str(bad)), 2, "bad.toml", "TOML")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[filtre]\nconfirm = 3\n")
    assert_user_error(main("run", str(unknown)), 2, "filtre", "filter")
    assert_user_error(main("run", str(tmp_path)), 2, str(tmp_path), "folder")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('# café\n[costs]\nfee_bp = 5\n'.encode("latin-1"))
    assert_user_error(main("run", str(latin1)), 2, "latin1.toml", "UTF-8")


def test_a_partial_configuration_file_changes_only_its_keys(tmp_path):
    cfg = tmp_path / "mine.toml"
    cfg.write_text('[data]\nstart = 2024-06-01\n\n[universe]\nalts = ["BNB-USDT"]\n\n[costs]\nfee_bp = 20\n')
    proc = main("run", str(cfg), "--out", str(tmp_path), "--name", "p", "--no-report", "-q")
    assert proc.returncode == 0, proc.stderr
    config = json.loads((tmp_path / "p" / "manifest.json").read_text())["config"]
    assert config["costs"]["fee_bp"] == 20.0 and config["costs"]["slippage_bp"] == 5.0
    trades = pd.read_csv(tmp_path / "p" / "trades.csv")
    assert trades["fee"].to_numpy() == pytest.approx(trades["value"].to_numpy() * 20e-4, rel=1e-9)


def test_help_explains_every_option():
    for command, options in ((("run",), ("--start", "--end", "--data", "--out", "--set", "--no-report", "--replay")),
                             (("compare",), ("--start", "--end", "--data", "--out", "--set", "--no-report")),
                             (("data", "list"), ("--data",)), (("data", "verify"), ("--data",))):
        proc = main(*command, "--help")
        assert proc.returncode == 0
        for option in options:
            assert option in proc.stdout, (command, option)
    version = main("--version")
    assert version.returncode == 0 and "smallcap-canary" in version.stdout


def test_quiet_when_not_a_terminal(tmp_path):
    proc = canary("run", *SMALL, "--out", str(tmp_path), "--no-report")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert not math.isnan(json.loads(next(tmp_path.iterdir()).joinpath("metrics.json").read_text())
                          ["rotation"]["sharpe"])


@pytest.fixture()
def cached_rut(tmp_path):
    """A cache holding ^RUT daily bars, as `canary data fetch ^RUT --source yfinance` would leave it
    (its bars are the shipped Russell 2000 file's)."""
    from canary.feeds import cache
    from canary.feeds.layouts import read_raw
    from canary.feeds.rawbars import RawBars

    raw = read_raw(SHIPPED_DIR / "equity" / "RUT.csv").drop(columns="line")
    bars = RawBars("yahoo", "^RUT", "1d", "session", None, "XNYS",
                         pd.Timestamp("2026-08-21T21:24Z"), raw)
    cache.store(cache.path_for(tmp_path / "cache", "yahoo", "^RUT", "1d"), bars)
    return tmp_path / "cache"


def test_data_list_shows_cached_and_shipped_side_by_side(cached_rut):
    proc = main("data", "list", "--cache-dir", str(cached_rut))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "shipped" in rows["RUT"] and "cache:yfinance" in rows["^RUT"]
    assert rows["^RUT"].split()[4] == rows["RUT"].split()[4]  # the same number of bars


def test_a_configuration_can_take_a_symbol_from_the_cache(cached_rut, tmp_path):
    common = ("--out", str(tmp_path), "--no-report", "-q", *SMALL)
    from_cache = main("run", "--set", 'universe.small_cap="^RUT"', "--set", 'sources."^RUT"="yfinance"',
                        "--set", f'data.cache_dir="{cached_rut}"', "--name", "cached", *common)
    assert from_cache.returncode == 0, from_cache.stderr
    shipped = main("run", "--name", "shipped", *common)
    assert shipped.returncode == 0
    a = pd.read_csv(tmp_path / "cached" / "equity.csv")
    b = pd.read_csv(tmp_path / "shipped" / "equity.csv")
    pd.testing.assert_frame_equal(a, b)  # same bars, whatever their source
    manifest = json.loads((tmp_path / "cached" / "manifest.json").read_text())
    assert manifest["data"]["^RUT"]["path"].endswith(".parquet")


def test_offline_with_no_cache_says_how_to_get_the_symbol(tmp_path):
    proc = main("run", "--set", 'sources.RUT="yfinance"', "--set", f'data.cache_dir="{tmp_path}"',
                  "--out", str(tmp_path / "out"), "-q")
    assert_user_error(proc, 1, "RUT", "canary data fetch")


def _on_a_terminal(*args):
    """Run canary with its stderr on a pseudo-terminal; returns (exit status, what stderr showed)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([CANARY, *args], stdout=subprocess.PIPE, stderr=slave, text=True,
                            env=dict(os.environ, MPLBACKEND="Agg"))
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    proc.communicate(timeout=600)
    os.close(master)
    return proc.returncode, shown.decode(errors="replace")


@pytest.mark.slow
def test_progress_shows_on_a_terminal_unless_quiet(tmp_path):
    status, shown = _on_a_terminal("compare", *SMALL, "--out", str(tmp_path), "--no-report")
    assert status == 0
    assert "loading data" in shown and "backtests" in shown and "5/5" in shown
    status, shown = _on_a_terminal("run", *SMALL, "--out", str(tmp_path), "--no-report")
    assert status == 0 and "2/2" in shown and "writing outputs and the tear sheet" not in shown
    status, shown = _on_a_terminal("run", *SMALL, "--out", str(tmp_path), "--no-report", "--quiet")
    assert status == 0 and shown == ""
    status, shown = _on_a_terminal("-q", "run", *SMALL, "--out", str(tmp_path), "--no-report")
    assert status == 0 and shown == ""


@pytest.mark.parametrize("args, words", [
    (("--start", "2030-01-01"), ("data.start", "after the last crypto bar")),
    (("--start", "2016-01-01", "--end", "2016-06-01"), ("data.end", "before the first bar")),
])
def test_a_period_outside_the_data_is_a_usage_mistake(args, words, tmp_path):
    assert_user_error(main("run", *args, "--out", str(tmp_path), "--no-report"), 2, *words)


def test_bars_after_the_recording_are_not_called_still_open(tmp_path):
    # 11:00 in New York on Tuesday 3 June 2025: each coin's daily bar and each index's session had begun
    proc = main("run", *SMALL, "--set", "data.recorded_at=2025-06-03T15:00:00", "--out", str(tmp_path), "--no-report")
    assert proc.returncode == 0, proc.stderr
    data = [line for line in proc.stdout.splitlines() if line.startswith("data: ")]
    assert data[0] == "data: 6 bar(s) still open when recorded were dropped (BNB-USDT, BTC-USDT, ETH-USDT, ...)"
    assert data[1].startswith("data: ") and "bar(s) opening after data.recorded_at were dropped" in data[1]
    assert not any("still open" in line for line in data[1:])
