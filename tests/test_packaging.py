"""Packaging fit for a plugin: compatible ranges, the tested set in constraints.txt, CI installing
with it through the README's own command, and local folders kept out of git."""
import configparser
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _requirements(section, key):
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return [line.strip() for line in cfg[section][key].splitlines() if line.strip()]


def _name(requirement):
    return re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins(name):
    pinned = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version = line.split("==")
            pinned[package.strip().lower().replace("_", "-")] = version.strip()
    return pinned


def _all_requirements():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    out = _requirements("options", "install_requires")
    for extra in cfg["options.extras_require"]:
        out += [r for r in _requirements("options.extras_require", extra) if _name(r) != "smallcap-canary"]
    return out


def test_requirements_are_ranges_from_the_tested_floor_to_the_tested_set():
    from packaging.requirements import Requirement

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["options"]["python_requires"].strip() == ">=3.11"
    floor, newest = _pins("constraints-floor.txt"), _pins("constraints.txt")
    for requirement in _all_requirements():
        assert "==" not in requirement, requirement
        lower = re.search(r">=([\w.]+)", requirement)
        assert lower, f"{requirement}: no lower bound"
        name = _name(requirement)
        assert floor[name] == lower.group(1), f"{requirement}: the lower bound is not the tested floor"
        assert Requirement(requirement).specifier.contains(newest[name]), f"{requirement}: excludes the tested set"
    assert set(floor) == {_name(r) for r in _all_requirements()}   # the floor pins the direct dependencies only


def test_ci_tests_the_floor():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -c constraints-floor.txt -e '.[test]'" in ci and "pytest" in ci.split("constraints-floor")[-1]


def test_ci_installs_the_tested_set_with_the_readme_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"# 2\. .*\n(.+)\n", readme).group(1)
    assert command.startswith("pip install -c constraints.txt ") and command.endswith("&& pytest")
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert command in ci and ci[ci.index(command) + 1] == "pytest -m slow"   # then what the default skips


@pytest.mark.parametrize("path", [".venv/bin/python", "venv/lib/x.py", ".venv-ci/bin/python", "canary-runs/run-1/x",
                                  "feeds/__pycache__/x.cpython-311.pyc", ".pytest_cache/v", "dist/x.whl",
                                  "smallcap_canary.egg-info/PKG-INFO", ".idea/workspace.xml", ".vscode/settings.json",
                                  ".DS_Store", ".mypy_cache/x", ".ipynb_checkpoints/x"])
def test_local_folders_are_ignored_by_git(path):
    proc = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", path], capture_output=True)
    assert proc.returncode == 0, f"{path} is not ignored: {proc.stderr!r}"


def test_every_subpackage_is_installed():
    """setup.cfg lists every folder of the package (an editable install finds a forgotten one, a
    user's installed wheel would not)."""
    listed = set(_requirements("options", "packages"))
    folders = {"canary." + ".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("*/**/__init__.py")
               if not {"tests", "benchmarks"} & set(p.relative_to(ROOT).parts)
               and not any(part.startswith(".") or part == "build" for part in p.relative_to(ROOT).parts)}
    assert {"canary.runs.tune", "canary.feeds"} <= folders   # the walk found them
    assert listed == folders | {"canary"}
