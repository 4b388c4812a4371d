"""The staging folder: kept only to resume the same run; what only the run needed is cleared before sealing."""

from __future__ import annotations

from pathlib import Path

from auditkit.dossier import layout
from auditkit.dossier.staging import clear_run_state, open_stage


def test_resume_keeps_the_stage_of_the_same_run_only(tmp_path: Path) -> None:
    out = tmp_path / "dossier"
    stage = open_stage(out, "fp-1", resume=False, started_at="t0", run_id="r1")
    (stage / "kept.txt").write_text("x")
    assert open_stage(out, "fp-1", resume=True, started_at="t1", run_id="r2") == stage
    assert (stage / "kept.txt").exists()
    open_stage(out, "fp-2", resume=True, started_at="t2", run_id="r3")
    assert not (stage / "kept.txt").exists()


def test_clear_run_state_removes_run_files_and_half_written_debris(tmp_path: Path) -> None:
    stage = open_stage(tmp_path / "dossier", "fp", resume=False, started_at="t0", run_id="r1")
    (stage / layout.CHECKPOINTS).mkdir()
    (stage / layout.CHECKPOINTS / "noise.json").write_text("{}")
    (stage / layout.ARRAYS).mkdir()
    (stage / layout.ARRAYS / "noise.npz").write_bytes(b"npz")
    (stage / layout.ARRAYS / ".noise.npz.0123456789ab.tmp").write_bytes(b"np")
    (stage / ".evidence.json.abcdef012345.tmp").write_text("{")
    clear_run_state(stage)
    left = sorted(str(p.relative_to(stage)) for p in stage.rglob("*"))
    assert left == [layout.ARRAYS, f"{layout.ARRAYS}/noise.npz"]
