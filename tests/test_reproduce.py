"""reproduce: re-running from the archived inputs gives the same numbers; tampering is found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from auditkit.cli import app
from auditkit.pipeline import RunOptions, run_audit
from auditkit.reproduce import compare_evidence, reproduce_dossier, same_machine
from auditkit.evidence import Evidence


def env_now() -> dict:
    """This process's environment record (cpu), as reproduce sees it."""
    from auditkit.environment import environment

    return environment(torch.device("cpu"))


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


def test_a_fresh_process_is_the_same_machine(dossier: Path, monkeypatch):
    """A new process starts with deterministic algorithms off; the audit switches them on before it records."""
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        report = reproduce_dossier(dossier)
    finally:
        torch.use_deterministic_algorithms(was)
    assert report.environment == [] and report.exact


def test_environment_differences_are_told_before_the_audit_is_re_run(dossier: Path, monkeypatch):
    import auditkit.reproduce

    told: list[str] = []
    real_run = auditkit.reproduce.run_audit

    def run_audit(*args, **kwargs):
        told.append("run")
        return real_run(*args, **kwargs)

    path = dossier / "evidence.json"
    data = json.loads(path.read_text())
    data["environment"]["packages"]["numpy"] = "1.26.4"
    path.write_text(json.dumps(data))
    monkeypatch.setattr(auditkit.reproduce, "run_audit", run_audit)
    reproduce_dossier(dossier, on_environment=lambda changes: told.extend(c.what for c in changes))
    assert told == ["numpy", "run"]


def test_environment_differences_are_listed_before_the_numbers(dossier: Path):
    path = dossier / "evidence.json"
    data = json.loads(path.read_text())
    env = data["environment"]
    numpy_here, threads_here = env["packages"]["numpy"], env["torch_threads"]
    env["packages"]["numpy"] = "1.26.4"
    env["packages"]["sigpy"] = "0.1.26"
    env["lock_sha256"] = "f" * 64
    env["torch_threads"] = threads_here + 15
    path.write_text(json.dumps(data))
    report = reproduce_dossier(dossier)
    assert [c.format() for c in report.environment] == [
        f"torch threads {threads_here + 15} → {threads_here}",
        f"lock file sha256 {'f' * 64} → {env_now()['lock_sha256']}",
        f"numpy 1.26.4 → {numpy_here}",
        "sigpy 0.1.26 → not installed",
    ]
    assert not report.exact and report.ok  # another thread count: compared within tolerance
    result = CliRunner().invoke(app, ["reproduce", str(dossier)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    printed = [line for line in lines if line.startswith("environment differs: ")]
    assert printed == [f"environment differs: {c.format()}" for c in report.environment]
    assert lines.index(printed[-1]) < next(i for i, line in enumerate(lines) if "reproduced within rtol" in line)


def test_exact_needs_the_same_packages_cpu_and_threads_but_not_the_same_lock():
    now = env_now()
    assert same_machine(now, now)
    assert same_machine({**now, "lock_sha256": "f" * 64}, now)
    assert not same_machine({**now, "cpu_flags": now["cpu_flags"] + ["zz_only_there"]}, now)
    assert not same_machine({**now, "packages": {**now["packages"], "numpy": "1.26.4"}}, now)
    assert not same_machine({**now, "torch_threads": now["torch_threads"] + 1}, now)
    assert not same_machine({**now, "blas": {**now["blas"], "numpy": "openblas 0.3.20"}}, now)


def test_tolerance_comparison():
    a = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"v": 1.0})
    b = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"v": 1.0005})
    assert compare_evidence(a, b, rtol=1e-3, atol=0)[1] == []
    assert [d.where for d in compare_evidence(a, b, rtol=1e-4, atol=0)[1]] == ["submission.v"]


def test_not_a_dossier_is_bad_input(tmp_path: Path):
    result = CliRunner().invoke(app, ["reproduce", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an auditkit dossier folder" in result.output


def test_unit_provenance_and_timing_are_not_compared_but_image_sources_are():
    """Whether a unit was reused from the cache, and its seconds, differ between runs of one audit; an image's
    source is part of what was audited."""
    from auditkit.reproduce import comparable

    run = {"checks": [{"units": [{"unit": "noise.measure.baseline.0000", "source": "reused", "seconds": 0.0}]}],
           "data": {"images": [{"id": "a", "source": "shepp_logan"}]}}
    leaves = comparable(run)
    assert "checks[0].units[0].unit" in leaves
    assert not any(k.endswith(".source") and "units" in k or k.endswith(".seconds") for k in leaves)
    assert leaves["data.images[0].source"] == "shepp_logan"
