"""reproduce: re-running from the archived inputs gives the same numbers; tampering is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditkit.cli import app
from auditkit.pipeline import RunOptions, run_audit
from auditkit.reproduce import compare_evidence, reproduce_dossier
from auditkit.evidence import Evidence



@pytest.fixture
def dossier(tiny_manifest: Path, tmp_path: Path) -> Path:
    out = tmp_path / "dossier"
    run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling"], quick=True), render=False)
    # the original submission may move or vanish: reproduce needs only the dossier
    for p in sorted(tiny_manifest.parent.glob("net/*")) + [tiny_manifest]:
        p.unlink()
    return out


def test_reproduces_exactly_from_the_archived_inputs(dossier: Path):
    report = reproduce_dossier(dossier)
    assert report.exact
    assert report.ok, [d.format() for d in report.differences]
    assert report.compared > 20


def test_an_edited_number_is_listed(dossier: Path):
    path = dossier / "evidence.json"
    data = json.loads(path.read_text())
    summary = data["checks"][0]["subjects"]["network"]["summary"]
    key = next(iter(summary["psnr_by_ratio"]))
    summary["psnr_by_ratio"][key]["mean"] += 0.5
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["reproduce", str(dossier)])
    assert result.exit_code == 1
    assert f"psnr_by_ratio.{key}.mean" in result.output


def test_tolerance_comparison():
    a = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"v": 1.0})
    b = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"v": 1.0005})
    assert compare_evidence(a, b, rtol=1e-3, atol=0)[1] == []
    assert [d.where for d in compare_evidence(a, b, rtol=1e-4, atol=0)[1]] == ["submission.v"]


def test_not_a_dossier_is_bad_input(tmp_path: Path):
    result = CliRunner().invoke(app, ["reproduce", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an auditkit dossier folder" in result.output
