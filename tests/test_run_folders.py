"""Run folders are unique and never left half-written (two runs at once, Ctrl-C, an error)."""
import json
import subprocess

import pytest
from clirun import CANARY, SMALL, main

from canary.runs.folders import RunFolder


def _write(folder, text):
    (folder / "a.txt").write_text(text)
    (folder / "b.txt").write_text(text)


def test_two_runs_started_in_the_same_second_get_two_folders(tmp_path):
    first, second = RunFolder(tmp_path), RunFolder(tmp_path)
    if first.path != second.path:  # the clock ticked over between the two: ask again
        first, second = RunFolder(tmp_path), RunFolder(tmp_path)
    assert first.path == second.path  # the same UTC second: the same name asked for
    with first as a, second as b:
        _write(a, "first")
        _write(b, "second")
    base = first.path.name.removesuffix("-2")
    assert {first.path.name, second.path.name} == {base, base + "-2"}
    for run, text in ((first, "first"), (second, "second")):
        assert [(run.path / n).read_text() for n in ("a.txt", "b.txt")] == [text, text]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.path.name, second.path.name])


def test_a_run_that_fails_while_writing_leaves_no_folder(tmp_path):
    run = RunFolder(tmp_path, "named")
    with pytest.raises(KeyboardInterrupt):
        with run as folder:
            _write(folder, "half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_a_named_run_only_when_complete(tmp_path):
    with RunFolder(tmp_path, "same") as folder:
        _write(folder, "old")
    with pytest.raises(RuntimeError):
        with RunFolder(tmp_path, "same", overwrite=True) as folder:
            (folder / "a.txt").write_text("new")
            raise RuntimeError("killed")
    assert (tmp_path / "same" / "b.txt").read_text() == "old"
    with RunFolder(tmp_path, "same", overwrite=True) as folder:
        _write(folder, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["same"]
    assert (tmp_path / "same" / "b.txt").read_text() == "new"


def test_ctrl_c_while_the_outputs_are_written_leaves_no_run_folder(tmp_path, monkeypatch):
    from canary.runs.report import files as report

    def interrupted(path, payload):
        path.write_text("{")  # half a file, then the user presses Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "write_json", interrupted)
    proc = main("run", *SMALL, "--out", tmp_path, "--no-report")
    assert proc.returncode == 130 and "interrupted" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_two_runs_at_once_each_keep_their_results(tmp_path):
    args = [CANARY, "run", *SMALL, "--out", str(tmp_path), "--no-report", "-q"]
    procs = [subprocess.Popen(args + ["--set", f"costs.fee_bp={fee}"], stdout=subprocess.PIPE, text=True)
             for fee in (10, 20)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    folders = sorted(tmp_path.iterdir())
    assert len(folders) == 2
    fees = sorted(json.loads((f / "manifest.json").read_text())["config"]["costs"]["fee_bp"] for f in folders)
    assert fees == [10.0, 20.0]
    assert sorted(out.splitlines()[-1].removeprefix("outputs: ") for out in outs) == [str(f) for f in folders]
