"""The audit run: evidence on disk only when complete, identical numbers for identical input, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from auditkit import pipeline
from auditkit.cli import app
from auditkit.dossier.layout import staging_dir
from auditkit.checks.result import Verdict
from auditkit.evidence import Evidence
from auditkit.execution import executors
from auditkit.pipeline import RunOptions, run_audit
from auditkit.report.html import table_rows
from auditkit.report.quantities import quantity_of
from auditkit.reproduce import comparable

def _numbers(ev: Evidence) -> dict:
    """Every leaf of the checks' results that two runs must agree on (no timings)."""
    return comparable({"checks": [c.model_dump(mode="json") for c in ev.checks]})


def test_run_writes_evidence_and_nothing_half_written(tiny_manifest: Path, tmp_path: Path):
    out = tmp_path / "out"
    ev = run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling"], quick=True))
    assert (out / "evidence.json").exists()
    assert not staging_dir(out).exists()
    assert not (out / "checkpoints").exists()
    stored = Evidence.read(out / "evidence.json")
    assert stored.checks[0].name == "sampling" and stored.checks[0].verdict is Verdict.PRELIMINARY  # quick: never PASS
    assert stored.overall_verdict is Verdict.PRELIMINARY
    assert all((out / a).exists() for a in stored.checks[0].arrays)
    roles = {r.role for r in stored.inputs}
    assert {"manifest", "network"} <= roles
    assert stored.environment["torch"] == torch.__version__
    assert ev.to_json() == stored.to_json()
    assert stored.archived_manifest == "inputs/manifest.yaml"
    assert set(stored.files) == {"arrays/sampling.npz", "inputs/manifest.yaml", "inputs/net/identity_net.py"}
    assert {"dossier.html", "dossier.pdf", "audit.log", "SHA256SUMS"} <= {p.name for p in out.iterdir()}
    from auditkit.dossier.validation import verify_dossier

    assert verify_dossier(out, allow_unsigned=True).ok
    from auditkit.fileio import sha256_file

    assert all(sha256_file(out / rel) == digest for rel, digest in stored.files.items())


def test_same_manifest_and_seed_give_identical_numbers(tiny_manifest: Path, tmp_path: Path):
    a = run_audit(tiny_manifest, RunOptions(out=tmp_path / "a", checks=["sampling"], quick=True), render=False)
    b = run_audit(tiny_manifest, RunOptions(out=tmp_path / "b", checks=["sampling"], quick=True), render=False)
    assert _numbers(a) == _numbers(b)
    assert (tmp_path / "a" / "arrays" / "sampling.npz").read_bytes() == (tmp_path / "b" / "arrays" / "sampling.npz").read_bytes()


def test_interrupted_run_resumes_without_recomputing(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    real = executors.compute_unit
    computed: list[str] = []

    def interrupting(ctx, manifest, unit, inputs):
        if unit.check == "sampling" and unit.subject == "baseline":  # after structural and sampling's network unit
            raise KeyboardInterrupt
        computed.append(unit.id)
        return real(ctx, manifest, unit, inputs)

    monkeypatch.setattr(executors, "compute_unit", interrupting)
    with pytest.raises(KeyboardInterrupt):
        run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling", "structural"], quick=True), render=False)
    stage = staging_dir(out)
    assert not out.exists() and (stage / "checkpoints" / "structural.json").exists()
    assert computed == ["structural.measure.network.0000", "structural.measure.baseline.0000",
                        "sampling.measure.network.0000", "sampling.measure.network.0001"]
    assert (stage / "units" / "sampling.measure.network.0000.json").exists()

    computed.clear()
    monkeypatch.setattr(executors, "compute_unit", lambda *a: computed.append(a[2].id) or real(*a))
    ev = run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling", "structural"], quick=True, resume=True), render=False)
    # every other unit came from the staging folder
    assert computed == ["sampling.measure.baseline.0000", "sampling.measure.baseline.0001"]
    assert [c.name for c in ev.checks] == ["structural", "sampling"]
    assert (out / "evidence.json").exists() and not staging_dir(out).exists()


def test_without_resume_a_stale_staging_folder_is_discarded(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    stage = staging_dir(out)
    (stage / "checkpoints").mkdir(parents=True)
    (stage / "checkpoints" / "sampling.json").write_text(json.dumps({"fingerprint": "other", "result": {}}))
    ev = run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling"], quick=True, resume=True), render=False)
    assert ev.checks[0].verdict is Verdict.PRELIMINARY


def test_refuses_to_replace_a_folder_that_is_not_an_audit(tiny_manifest: Path, tmp_path: Path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = CliRunner().invoke(app, ["run", str(tiny_manifest), "--out", str(out), "--checks", "sampling", "--quick"])
    assert result.exit_code == 2
    assert "is not an auditkit output folder" in result.output
    assert (out / "thesis.tex").read_text() == "precious"


def test_cli_unknown_check_is_bad_input(tiny_manifest: Path, tmp_path: Path):
    result = CliRunner().invoke(app, ["run", str(tiny_manifest), "--out", str(tmp_path / "o"), "--checks", "adversrial"])
    assert result.exit_code == 2
    assert "unknown check(s) adversrial" in result.output


def test_cli_exit_codes_follow_verdicts(tiny_manifest: Path, tmp_path: Path):
    result = CliRunner().invoke(app, ["run", str(tiny_manifest), "--out", str(tmp_path / "o"), "--checks", "sampling", "--quick"])
    assert result.exit_code == 0, result.output  # a quick run that fails nothing exits 0
    assert "sampling: PRELIMINARY" in result.output
    assert "overall PRELIMINARY" in result.output


def test_nan_network_is_an_error_verdict_and_exit_1(tiny_manifest: Path, tmp_path: Path):
    net = tiny_manifest.parent / "net" / "identity_net.py"
    net.write_text(net.read_text().replace("return x", "return x * float('nan')"))
    from auditkit.fileio import sha256_file

    text = tiny_manifest.read_text().split("sha256: {net/identity_net.py: ")
    tiny_manifest.write_text(text[0] + f"sha256: {{net/identity_net.py: {sha256_file(net)}}}" + text[1].split("}", 1)[1])
    result = CliRunner().invoke(app, ["validate", str(tiny_manifest)])
    assert result.exit_code == 2 and "NaN" in result.output  # the load-time probe catches it first


def test_every_criterion_reports_its_value_on_each_image_it_used(tiny_manifest: Path, tmp_path: Path):
    ev = run_audit(tiny_manifest, RunOptions(out=tmp_path / "o", quick=True), render=False)
    criteria = [(c.name, k) for c in ev.checks for k in c.criteria]
    assert len({name for name, _ in criteria}) == 6
    for check, criterion in criteria:
        images = next(c for c in ev.checks if c.name == check).parameters["effective"]["images"]
        assert criterion.per_image is not None and list(criterion.per_image) == images, (check, criterion.name)
    undefined = [(c.name, row) for c in ev.checks for row in table_rows(c) if quantity_of(c.name, row) is None]
    assert not undefined  # every row of the dossier's tables has its glossary entry
