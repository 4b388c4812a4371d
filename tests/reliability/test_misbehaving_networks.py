"""Networks that misbehave end as ERROR (or, at load, as bad input), never as success or auditkit's crash.

The real console script is run, supervised as a user runs it: a network calling
``os._exit(0)`` used to end ``validate`` and ``run`` with exit status 0, no output and
no dossier; one raising ``MemoryError`` or ``KeyboardInterrupt`` after the probe ended
the run as an internal error or as the user's Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditkit.errors import EXIT_FAIL, EXIT_INPUT
from auditkit.fileio import sha256_file

HOSTILE = Path(__file__).with_name("hostile_net.py")

MANIFEST = """\
schema_version: 1
submission: {{id: T-1, vendor: V, device: D, version: "1", intended_use: tests, contact: qa@example.com}}
modality:
  kind: mri_singlecoil
  image_shape: [32, 32]
  sampling: {{pattern: cartesian_random, ratio: 0.33}}
network:
  format: python
  path: hostile_net.py
  entrypoint: hostile_net:build
  kwargs: {{mode: {mode}}}
  sha256: {{hostile_net.py: {sha}}}
  input: zero_filled
  output: real
  device: cpu
  trained_ratio: 0.33
data:
  phantoms: [{{kind: shepp_logan}}]
baseline: {{method: l1_wavelet, max_iter: 15}}
"""


def submission(tmp_path: Path, mode: str) -> Path:
    shutil.copy(HOSTILE, tmp_path / HOSTILE.name)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(MANIFEST.format(mode=mode, sha=sha256_file(HOSTILE)), encoding="utf-8")
    return manifest


def auditkit(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditkit.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=_env())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("AUDITKIT_ACTIVITY_FD", None)
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.mark.parametrize("mode, field, says", [
    ("exit_build", "network.path", "ended the process (exit status 0, no result) while it was loaded or probed"),
    ("exit_forward", "network.path", "ended the process (exit status 0, no result) while it was loaded or probed"),
    ("system_exit_build", "network.entrypoint", "SystemExit"),
    ("system_exit_forward", "network.input", "SystemExit"),
    ("int64_output", "network.output", "floating-point or complex"),
    ("constant_output", "network.path", "does not depend on its input"),
    ("huge_output", "network.output", "on the scale of its input"),
])
def test_validate_reports_a_network_that_cannot_be_audited_as_bad_input(tmp_path, mode, field, says):
    manifest = submission(tmp_path, mode)
    done = auditkit("validate", manifest.name, cwd=tmp_path)
    assert done.returncode == EXIT_INPUT, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"manifest.yaml:") and f" {field}: " in line and says in line, line


def _run(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess, dict]:
    manifest = submission(tmp_path, mode)
    done = auditkit("run", manifest.name, "--out", "dossier", "--quick", "--checks", "structural", cwd=tmp_path)
    evidence = tmp_path / "dossier" / "evidence.json"
    assert evidence.exists(), done.stderr
    return done, json.loads(evidence.read_text(encoding="utf-8"))


def _assert_error_naming_the_image(evidence: dict, says: str) -> None:
    (check,) = evidence["checks"]
    assert check["name"] == "structural" and check["verdict"] == "ERROR" and not check["internal_error"]
    assert says in check["reason"] and "shepp_logan" in check["reason"], check["reason"]
    assert evidence["overall_verdict"] == "ERROR"


@pytest.mark.parametrize("mode, says", [
    ("exit_later", "the network's code ended the audit process (exit status 0) while reconstructing image(s) shepp_logan"),
    ("memory_error_later", "network raised MemoryError: cannot allocate"),
])
def test_the_console_script_ends_a_misbehaving_audit_with_a_dossier_and_exit_1(tmp_path, mode, says):
    """Through the supervisor: a network ending the process, or raising, still gets its dossier."""
    done, evidence = _run(tmp_path, mode)
    assert done.returncode == EXIT_FAIL, done.stderr
    _assert_error_naming_the_image(evidence, says)
    assert not any(p.name.startswith(".dossier") for p in tmp_path.iterdir())  # nothing left half-written


@pytest.mark.parametrize("mode, says", [
    ("keyboard_interrupt_later", "network raised KeyboardInterrupt"),
    ("runtime_error_later", "network raised RuntimeError: shape mismatch in layer 3"),
    ("bool_output_later", "floating-point or complex"),
    ("tuple_output_later", "returned a tuple"),
    ("complex_output_later", "got complex64"),
])
def test_misbehaviour_inside_the_audit_is_an_error_verdict_naming_check_and_image(tmp_path, mode, says):
    from auditkit.pipeline import RunOptions, run_audit

    manifest = submission(tmp_path, mode)
    options = RunOptions(out=tmp_path / "dossier", checks=["structural"], quick=True)
    evidence = run_audit(manifest, options, render=False).model_dump(mode="json")
    _assert_error_naming_the_image(evidence, says)


def test_a_failure_while_differentiating_the_network_is_its_error_naming_the_image(tmp_path):
    """The attacks' backward pass runs outside the forward call: its failure is the network's too."""
    from auditkit.pipeline import RunOptions, run_audit

    manifest = submission(tmp_path, "inplace_backward")
    options = RunOptions(out=tmp_path / "dossier", checks=["adversarial"], quick=True)
    (check,) = run_audit(manifest, options, render=False).checks
    assert check.verdict.value == "ERROR" and not check.internal_error, check.reason
    assert "network on image(s) shepp_logan" in check.reason and "while the audit differentiated it" in check.reason


def test_half_precision_output_is_audited_and_said(tmp_path):
    done, evidence = _run(tmp_path, "float16_output")
    assert done.returncode in (0, 1), done.stderr
    assert evidence["network"]["output_dtype"] == "float16"
    assert "relative resolution 0.00098" in evidence["network"]["precision"]
    assert "float16" in (tmp_path / "dossier" / "dossier.html").read_text(encoding="utf-8")


def test_nothing_in_the_working_folder_is_imported_before_the_hashes_are_checked(tmp_path):
    """The child starts without the current folder on its path: a stray ``yaml.py`` there is never run."""
    manifest = submission(tmp_path, "ok")
    (tmp_path / "yaml.py").write_text("raise SystemExit('imported from the working folder')\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-P", "-m", "auditkit.cli", "validate", manifest.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=_env())
    assert done.returncode == 0 and "imported from the working folder" not in done.stderr, done.stderr


def test_a_process_the_network_forks_does_not_hold_the_command_up(tmp_path):
    manifest = submission(tmp_path, "fork_worker")
    started = time.monotonic()
    done = auditkit("validate", manifest.name, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 40  # the forked worker lives 60 s


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_keeps_the_staging_folder_and_says_so(tmp_path, signum):
    manifest = submission(tmp_path, "ok")
    proc = subprocess.Popen([sys.executable, "-m", "auditkit.cli", "run", manifest.name, "--out", "dossier"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    stage = tmp_path / ".dossier.partial"
    deadline = time.monotonic() + 120
    while not (stage / "audit.log").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert f"interrupted ({signum.name}): finished checks are kept; rerun with --resume" in err
    assert stage.is_dir() and not (tmp_path / "dossier").exists()
