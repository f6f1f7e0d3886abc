"""`canary paper`: the forward record, stepped bar by bar, is the backtest; the ledger survives
interruptions, refuses a second writer, a changed configuration and a changed data history."""
import shutil

import numpy as np
import pandas as pd
import pytest
from clirun import main

from canary.feeds import SHIPPED_DIR
from canary.feeds.market import load_market
from canary.runs.backtest import plan
from canary.runs.config import load_config, strategy_params
from canary.runs.live.ledger import Ledger
from canary.runs.live.paper import paper, recorded_result
from canary.strategies import run_backtest

DAILY = ('universe.alts=["BNB-USDT", "SOL-USDT"]',)
FOUR_HOUR = ('universe.btc="BTC-USDT-4h"', 'universe.eth="ETH-USDT-4h"',
             'universe.alts=["BNB-USDT-4h", "SOL-USDT-4h"]')
FILL_COLUMNS = ["size", "price", "value", "fee"]


def dump(path):
    """Every row of every table but meta's creation time: what two ledgers must share."""
    with Ledger.open(path, write=False) as ledger:
        tables = {t: ledger.db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                  for t in ("bars", "positions", "fills", "orders")}
        tables["meta"] = ledger.db.execute("SELECT * FROM meta WHERE key != 'created' ORDER BY key").fetchall()
    return tables


@pytest.mark.parametrize("overrides, first, closes, step, label", [
    (DAILY, "2025-06-01", 20, pd.Timedelta(days=1), "rotation"),
    pytest.param(FOUR_HOUR, "2025-06-09", 20, pd.Timedelta(hours=4), "rotation", marks=pytest.mark.slow),
    pytest.param(DAILY, "2025-06-01", 90, pd.Timedelta(days=1), "rotation", marks=pytest.mark.slow),
    pytest.param(FOUR_HOUR, "2025-06-01", 90, pd.Timedelta(hours=4), "rotation", marks=pytest.mark.slow),
    pytest.param(DAILY + ('strategy.class="canary.strategies:BtcEthMonthly"',), "2025-06-20", 15,
                 pd.Timedelta(days=1), "BtcEthMonthly", marks=pytest.mark.slow),
], ids=["20 daily closes", "20 4-hour closes", "90 daily closes", "90 4-hour closes",
        "another strategy class, through Backtrader"])
def test_paper_stepped_close_by_close_is_the_backtest_started_on_its_first_day(overrides, first, closes, step,
                                                                             label, tmp_path):
    config = load_config(None, overrides)
    path = tmp_path / "ledger.sqlite"
    instants = pd.Timestamp(first, tz="UTC") + step * np.arange(closes)
    processed = [s for t in instants for s in paper(config, path, t.isoformat())]
    assert len(processed) == closes   # one bar per step, none twice

    p = plan(config)
    market = load_market(p.library, p.universe, first, instants[-1] + pd.Timedelta(microseconds=1))
    cls, params = strategy_params(config)
    reference = run_backtest(market, cls, params, p.costs)   # what `canary run --start FIRST` records
    with Ledger.open(path, write=False) as ledger:
        forward = recorded_result(ledger, label)
    assert list(forward.equity.index) == list(reference.equity.index)
    np.testing.assert_allclose(forward.equity.to_numpy(), reference.equity.to_numpy(), rtol=1e-9, atol=0)
    np.testing.assert_allclose(forward.portfolio["cash"].to_numpy(), reference.portfolio["cash"].to_numpy(),
                               rtol=1e-9, atol=1e-9)
    assert len(reference.fills) >= 2, "a window with trades"
    assert len(forward.fills) == len(reference.fills)
    for column in ("date", "decided", "symbol", "side"):
        assert list(forward.fills[column]) == list(reference.fills[column])
    np.testing.assert_allclose(forward.fills[FILL_COLUMNS].to_numpy(float), reference.fills[FILL_COLUMNS].to_numpy(float),
                               rtol=1e-9, atol=1e-9)


def test_a_second_run_does_nothing_and_an_interrupted_one_continues_where_it_stopped(tmp_path, monkeypatch):
    config = load_config(None, DAILY)
    whole, broken = tmp_path / "whole.sqlite", tmp_path / "broken.sqlite"
    for path in (whole, broken):
        paper(config, path, "2025-06-01")
    assert len(paper(config, whole, "2025-07-15")) == 44
    before = dump(whole)
    assert paper(config, whole, "2025-07-15") == []
    assert dump(whole) == before

    real, calls = Ledger.add_bar, []

    def killed(self, *args, **kwargs):   # Ctrl-C in the middle of the 20th bar's transaction
        calls.append(args)
        if len(calls) == 39:              # the strategy's and BTC's rows of each bar
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "add_bar", killed)
    with pytest.raises(KeyboardInterrupt):
        paper(config, broken, "2025-07-15")
    monkeypatch.setattr(Ledger, "add_bar", real)
    with Ledger.open(broken, write=False) as ledger:
        assert ledger.count("bars", "rotation") == ledger.count("bars", "btc_buy_hold") == 20
    assert len(paper(config, broken, "2025-07-15")) == 25
    assert dump(broken) == dump(whole)


def test_a_second_writer_is_refused_in_one_line(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path):
        result = main("paper", "--ledger", path, "--set", DAILY[0], "--as-of", "2025-06-01")
    assert result.returncode == 2
    assert result.stderr == f"canary: error: {path}: another `canary paper` is writing this ledger; " \
                            "wait for it to finish\n"
    assert main("paper", "--ledger", path, "--set", DAILY[0], "--as-of", "2025-06-01").returncode == 0


def test_a_changed_configuration_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "ledger.sqlite"
    assert main("paper", "--ledger", path, "--set", DAILY[0], "--as-of", "2025-06-01").returncode == 0
    result = main("paper", "--ledger", path, "--set", DAILY[0], "--set", "strategy.drift_band=0.05")
    assert result.returncode == 2
    assert "(strategy.drift_band was 0.02, now 0.05); a new ledger (--ledger) is the way to change it" in result.stderr
    assert result.stderr.count("\n") == 1
    result = main("paper", "--ledger", path, "--set", DAILY[0], "--set", 'data.end="2025-07-01"')
    assert result.returncode == 2 and "data.end 2025-07-01: a forward test has no end" in result.stderr


def test_a_changed_data_history_is_refused_naming_the_symbol_and_bar(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    for rel in ("crypto/BTC-USDT.csv", "crypto/ETH-USDT.csv", "crypto/BNB-USDT.csv", "crypto/SOL-USDT.csv",
                "equity/RUT.csv", "equity/SPX.csv"):
        shutil.copy(SHIPPED_DIR / rel, folder)
    args = ("--ledger", tmp_path / "ledger.sqlite", "--data", folder, "--set", DAILY[0])
    assert main("paper", *args, "--as-of", "2025-06-01").returncode == 0
    assert main("paper", *args, "--as-of", "2025-06-10").returncode == 0
    bnb = folder / "BNB-USDT.csv"
    shipped = bnb.read_text()

    def revise(day):   # a revised volume (a CSV row is dated by its open: it closes the next midnight)
        lines = shipped.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith(day))
        fields = lines[at].split(",")
        fields[5] = f"{float(fields[5]) * 1.01:.2f}"
        lines[at] = ",".join(fields)
        bnb.write_text("\n".join(lines) + "\n")

    for day, says in (("2025-06-05", "the bar of BNB-USDT at 2025-06-06T00:00:00+00:00 differs from the one the "
                                     "ledger's decision saw"),
                      ("2025-05-20", "the bars of BNB-USDT before the ledger's first bar changed")):
        revise(day)
        result = main("paper", *args)
        assert result.returncode == 2
        assert says in result.stderr and result.stderr.count("\n") == 1
    bnb.write_text(shipped)
    assert main("paper", *args, "--as-of", "2025-06-12").stdout.count("\n") == 2


def test_a_delisting_the_ledger_could_not_know_is_refused_rather_than_recorded_wrong(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    for rel in ("crypto/BTC-USDT.csv", "crypto/ETH-USDT.csv", "crypto/BNB-USDT.csv", "crypto/SOL-USDT.csv",
                "equity/RUT.csv", "equity/SPX.csv"):
        shutil.copy(SHIPPED_DIR / rel, folder)
    bnb = folder / "BNB-USDT.csv"
    lines = bnb.read_text().splitlines()
    last = next(i for i, line in enumerate(lines) if line.startswith("2025-07-31"))   # closes 2025-08-01
    bnb.write_text("\n".join(lines[:last + 1]) + "\n")   # BNB's series stops: held in the alts regime then
    args = ("--ledger", tmp_path / "ledger.sqlite", "--data", folder, "--set", DAILY[0])
    assert main("paper", *args, "--as-of", "2025-07-25").returncode == 0
    assert main("paper", *args, "--as-of", "2025-08-01").returncode == 0
    result = main("paper", *args, "--as-of", "2025-08-03")
    assert result.returncode == 1
    assert "rotation recomputed on these data is worth" in result.stderr and "a delisting" in result.stderr
    assert result.stderr.count("\n") == 1


def test_status_prints_the_forward_record_against_btc_and_the_open_positions(tmp_path):
    path = tmp_path / "ledger.sqlite"
    assert main("paper", "--ledger", path, "--set", DAILY[0], "--as-of", "2025-06-01").returncode == 0
    assert main("paper", "--ledger", path, "--set", DAILY[0], "--as-of", "2025-07-01").stdout.count("\n") == 30
    out = main("paper", "status", "--ledger", path, "--report", tmp_path / "report").stdout
    assert out.startswith("forward record 2025-06-01T00:00:00+00:00 to 2025-07-01T00:00:00+00:00 (31 bars, 30 days)")
    assert "rotation" in out and "btc_buy_hold" in out and "final_value" in out
    assert "open positions: " in out
    for name in ("equity.png", "tearsheet.html"):
        assert (tmp_path / "report" / name).stat().st_size > 10_000
