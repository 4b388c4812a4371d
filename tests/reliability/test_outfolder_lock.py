"""One audit at a time per --out: a second run is refused before it touches anything, and the lock of a
run that died is free for its relaunch (issue 12, section 4, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditkit import pipeline
from auditkit.dossier.auditlog import read_entries
from auditkit.cli import app
from auditkit.dossier.layout import lock_path, staging_dir
from auditkit.dossier.outlock import LockHolder, OutFolderBusy, OutFolderLock
from auditkit.pipeline import RunOptions, run_audit

REPO = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _never(*args, **kwargs):
    raise AssertionError("the refused run went on to prepare the audit")


def test_a_second_run_is_refused_in_one_line_without_touching_the_stage(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    stage = staging_dir(out)
    (stage / "checkpoints").mkdir(parents=True)
    (stage / "audit.log").write_text("the first run's entries\n")
    (stage / "checkpoints" / "sampling.json").write_text("{}")
    before = _snapshot(stage)
    monkeypatch.setattr(pipeline, "prepare", _never)
    with OutFolderLock(out, "first-run"):
        result = CliRunner().invoke(app, ["run", str(tiny_manifest), "--out", str(out), "--checks", "sampling", "--quick"])
        assert _snapshot(stage) == before
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{out}: --out: is in use by another audit (run id first-run, pid {os.getpid()} on ")
    assert " started at " in line
    assert not out.exists()


def test_a_run_holds_the_lock_from_before_the_stage_until_after_publishing(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    holders: list[LockHolder | None] = []

    def intrude() -> None:
        with pytest.raises(OutFolderBusy) as busy:
            OutFolderLock(out, "intruder").acquire()
        holders.append(busy.value.holder)

    real_prepare, real_publish = pipeline.prepare, pipeline.publish

    def preparing(*args, **kwargs):
        assert not staging_dir(out).exists()
        intrude()
        return real_prepare(*args, **kwargs)

    def publishing(stage: Path, target: Path) -> None:
        intrude()
        real_publish(stage, target)
        intrude()

    monkeypatch.setattr(pipeline, "prepare", preparing)
    monkeypatch.setattr(pipeline, "publish", publishing)
    run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling"], quick=True), render=False)
    assert len(holders) == 3 and len({h.run_id for h in holders if h}) == 1 and holders[0] is not None
    assert holders[0].pid == os.getpid()
    start = read_entries(out / "audit.log")[0]
    assert start["event"] == "start" and start["data"]["run_id"] == holders[0].run_id
    assert not lock_path(out).exists()
    with OutFolderLock(out, "next") as lock:
        assert lock.held


_HOLDER = """
import sys, time
from auditkit.dossier.outlock import OutFolderLock
OutFolderLock(sys.argv[1], "crashed-run").acquire()
print("locked", flush=True)
time.sleep(120)
"""


def test_the_lock_of_a_killed_run_is_free_for_its_relaunch(tmp_path: Path):
    out = tmp_path / "nested" / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(OutFolderBusy) as busy:
            OutFolderLock(out, "second").acquire()
        assert busy.value.holder is not None
        assert (busy.value.holder.run_id, busy.value.holder.pid) == ("crashed-run", holder.pid)
    finally:
        holder.kill()
        holder.wait()
    assert lock_path(out).exists()  # a killed process leaves its lock file, but not its lock
    with OutFolderLock(out, "relaunch") as lock:
        assert lock.held
        assert LockHolder.from_bytes(lock_path(out).read_bytes()).run_id == "relaunch"
    assert not lock_path(out).exists()


_FORKING_HOLDER = """
import os, sys, time
from auditkit.dossier.outlock import OutFolderLock
OutFolderLock(sys.argv[1], "crashed-run").acquire()
worker = os.fork()
if worker == 0:  # a worker process of the network, forked while the lock is held
    time.sleep(120)
    os._exit(0)
print(worker, flush=True)
time.sleep(120)
"""


def test_a_forked_worker_that_outlives_its_run_does_not_keep_the_lock(tmp_path: Path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _FORKING_HOLDER, str(out)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    worker = int(holder.stdout.readline())
    try:
        with pytest.raises(OutFolderBusy):
            OutFolderLock(out, "second").acquire()
        holder.kill()
        holder.wait()
        with OutFolderLock(out, "relaunch") as lock:
            assert lock.held
    finally:
        holder.kill()
        holder.wait()
        os.kill(worker, 9)


def test_folders_made_for_the_lock_go_again_when_the_run_stops_on_bad_input(tmp_path: Path):
    out = tmp_path / "a" / "b" / "out"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "missing.yaml"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "a").exists()
