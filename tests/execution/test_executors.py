"""Who runs the units does not change the evidence: this process against Ray workers on a tiny audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditkit.pipeline import RunOptions, run_audit
from auditkit.reproduce import comparable

pytest.importorskip("ray")


def _run(manifest: Path, out: Path, **options) -> tuple[bytes, dict[str, bytes]]:
    run_audit(manifest, RunOptions(out=out, quick=True, **options), render=False)
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    arrays = {p.name: p.read_bytes() for p in sorted((out / "arrays").iterdir())}
    return json.dumps(comparable(evidence), sort_keys=True).encode(), arrays


def test_ray_workers_give_the_evidence_of_this_process(tiny_manifest: Path, tmp_path: Path):
    local, local_arrays = _run(tiny_manifest, tmp_path / "local")
    ray_, ray_arrays = _run(tiny_manifest, tmp_path / "ray", executor="ray", workers=2)
    assert ray_ == local
    assert ray_arrays == local_arrays and len(local_arrays) >= 6
