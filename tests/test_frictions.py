"""Small frictions a new user hit: files and configuration mistakes named the same way
everywhere, one name for the yfinance source, paths in a configuration file read from its
folder, several --data folders, and a documented way to declare a file's clock."""
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from clirun import assert_user_error, main

from canary.errors import ConfigError, DataError
from canary.feeds import SHIPPED_DIR, DataLibrary

ROOT = Path(__file__).resolve().parent.parent
UNIVERSE = ("--set", 'universe.alts=["BNB-USDT"]', "--start", "2025-06-01", "--set", "data.recorded_at=2026-01-06")


def _tree(root):
    """A user's tree: crypto/ and equity/ files, and an old/ copy of BTC beside them."""
    for sub, names in (("crypto", ("BTC-USDT", "ETH-USDT", "BNB-USDT")), ("equity", ("RUT", "SPX"))):
        (root / sub).mkdir(parents=True)
        for name in names:
            shutil.copy(SHIPPED_DIR / sub / f"{name}.csv", root / sub)
    (root / "old").mkdir()
    shutil.copy(SHIPPED_DIR / "crypto" / "BTC-USDT.csv", root / "old")
    return root


def test_a_configuration_mistake_names_the_file_or_flag_it_came_from(tmp_path):
    cfg = tmp_path / "mine.toml"
    cfg.write_text("[filter.small_cap]\nconfrim = 3\n")
    assert_user_error(main("run", cfg, "--out", tmp_path / "o"), 2, f"{cfg}: filter.small_cap.confrim", "'confirm'")
    cfg.write_text("[filter]\nconfrim = 3\n")     # a key without its section: the full key is suggested
    assert_user_error(main("run", cfg, "--out", tmp_path / "o"), 2, f"{cfg}: filter.confrim",
                      "'filter.small_cap.confirm'")
    cfg.write_text("[costs]\nfee_bp = -1\n")
    assert_user_error(main("run", cfg, "--out", tmp_path / "o"), 2, f"{cfg}: costs.fee_bp")
    assert_user_error(main("run", "--set", "filter.small_cap.confirm=abc", "--out", tmp_path / "o"), 2,
                      "--set filter.small_cap.confirm=abc: filter.small_cap.confirm")
    assert_user_error(main("run", "--start", "01/02/2020", "--out", tmp_path / "o"), 2, "--start: data.start")


def test_data_problems_name_the_file_by_its_path(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    bad = folder / "BTC-USDT.csv"
    bad.write_text("date,open,high,low,close,volume\n2024-01-01,1,2,0.5,x,1\n")  # read_raw refuses it
    with pytest.raises(DataError, match=re.escape(f"{bad} line 2: close 'x'")):
        DataLibrary(folder).load("BTC-USDT")
    bad.write_text("date,open,high,low,close,volume\n2024-01-06,1,2,0.5,1,1\n2024-01-07,1,0.5,0.9,1,1\n")
    with pytest.raises(DataError, match=re.escape(f"{bad} line 3: ")):  # validation refuses it
        DataLibrary(folder).load("BTC-USDT")


def test_one_name_for_the_yfinance_source(tmp_path):
    from canary.feeds.fetch import feed_name, fetch_command
    from canary.feeds.sources import parse_source

    assert feed_name("yfinance") == feed_name("yahoo")  # an alias, the same cache
    assert parse_source("yahoo") == parse_source("yfinance")
    assert fetch_command("^RUT", feed_name("yfinance")) == "canary data fetch ^RUT --source yfinance"
    proc = main("run", "--set", 'sources.RUT="yahoo"', "--set", f'data.cache_dir="{tmp_path}"', "--out", tmp_path / "o")
    assert_user_error(proc, 1, "no cached yfinance 1d bars for RUT", "--source yfinance")
    assert "yahoo" not in proc.stderr.replace(str(tmp_path / "yahoo"), "")  # but in the cache folder's name


def test_paths_in_a_configuration_file_are_read_from_its_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    _tree(project / "data")
    shutil.rmtree(project / "data" / "old")
    (project / "my.toml").write_text('[data]\nfolder = "data"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    proc = main("run", "../project/my.toml", *UNIVERSE, "--out", "runs", "--name", "r", "--no-report")
    assert proc.returncode == 0, proc.stderr
    recorded = json.loads((elsewhere / "runs" / "r" / "manifest.json").read_text())
    assert Path(recorded["config"]["data"]["folder"]).resolve() == (project / "data").resolve()


def test_data_can_be_given_more_than_once(tmp_path):
    tree = _tree(tmp_path / "prices")
    with pytest.raises(DataError, match="two price files for symbol 'BTC-USDT'"):
        DataLibrary(tree)  # subfolders are searched: old/ holds BTC-USDT again
    proc = main("run", "--data", tree, *UNIVERSE, "--out", tmp_path / "o", "--no-report")
    assert_user_error(proc, 1, "two price files for symbol 'BTC-USDT'", str(tree / "old" / "BTC-USDT.csv"))
    proc = main("run", "--data", tree / "crypto", "--data", tree / "equity", *UNIVERSE,
                "--out", tmp_path / "o", "--name", "two", "--no-report")
    assert proc.returncode == 0, proc.stderr
    lib = DataLibrary([tree / "crypto", tree / "equity"])
    assert lib.path("RUT") == tree / "equity" / "RUT.csv" and lib.path("BTC-USDT") == tree / "crypto" / "BTC-USDT.csv"
    with pytest.raises(DataError, match="two price files"):
        DataLibrary([tree / "crypto", tree / "old"])


def test_a_folder_config_key_takes_a_list_of_folders():
    from canary.runs.config import validate_partial

    assert validate_partial({"data": {"folder": ["a", "b"]}}, "x.toml")["data"]["folder"] == ["a", "b"]
    with pytest.raises(ConfigError, match="x.toml: data.folder: expected str or list"):
        validate_partial({"data": {"folder": 3}}, "x.toml")
    with pytest.raises(ConfigError, match="x.toml: data.folder: .* must be a folder or a list of folders"):
        validate_partial({"data": {"folder": ["a", 3]}}, "x.toml")


def test_the_readme_says_how_to_declare_a_files_clock(tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**Declaring a file's clock.**")[1]
    example = json.loads(re.search(r"```json\n(.*?)```", section, flags=re.S).group(1))
    # the README's example declares a 24/7 market whose file has no weekend bar (it would be
    # inferred as exchange sessions) and an index
    folder = tmp_path / "declared"
    folder.mkdir()
    weekdays = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
    (folder / "BTC-USD.csv").write_text("date,open,high,low,close,volume\n" + "".join(
        f"{d},1,2,0.5,1.5,10\n" for d in weekdays))
    shutil.copy(SHIPPED_DIR / "equity" / "RUT.csv", folder)
    (folder / "manifest.json").write_text(json.dumps(example))
    lib = DataLibrary(folder, recorded_at="2030-01-01")
    btc, rut = lib.load("BTC-USD"), lib.load("RUT")
    assert (btc.clock, btc.interval) == ("interval", pd.Timedelta(days=1))
    assert rut.clock == "session" and not any("clock inferred" in line for line in btc.report.lines())
    # and the note of an inferred clock points there
    (folder / "manifest.json").unlink()
    s = DataLibrary(folder, recorded_at="2030-01-01").load("BTC-USD")
    assert s.clock == "session" and "declare clock 'interval' in the folder's manifest.json" in s.report.lines()[0]
