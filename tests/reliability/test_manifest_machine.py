"""validate reports, at the manifest's lines and in one pass, what run would only find later
(issue 12, section 3, items 5 to 7): a CUDA device the machine lacks, an unset signing
password, a sha256 entry for a file that is not there, and missing files of the sections
that passed the schema when another section did not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from auditkit.errors import InputError
from auditkit.preflight import validate_manifest
from auditkit.fileio import sha256_file

from .manifest_edits import FIXTURES, edited, line_of, validate
SIGNING = "signing:\n  certificate: keys/signer.p12\n{env}  signer_name: A. Reviewer\n  meaning: Author\n"


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    """A private copy of the fixture submissions, with a (never read) certificate file for signing blocks."""
    folder = Path(shutil.copytree(FIXTURES, tmp_path / "sub"))
    (folder / "keys").mkdir()
    (folder / "keys" / "signer.p12").write_bytes(b"not read by validate")
    return folder








# --- item 5: the device and the signing password ------------------------------------------------


def test_cuda_without_a_cuda_device_is_reported_at_its_line(submission, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    path = edited(submission, "device: cpu", "device: cuda")
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"{path}:{line_of(path, 'device: cuda')}: network.device: 'cuda' requested but no CUDA "
                             "device is available on this machine\n")


def test_an_unset_password_variable_is_reported_at_its_line(submission, monkeypatch):
    monkeypatch.delenv("AUDITKIT_TEST_UNSET_PASSWORD", raising=False)
    path = edited(submission, "    ratio: 0.33\n", "    ratio: 0.33\n" + SIGNING.format(
        env="  password_env: AUDITKIT_TEST_UNSET_PASSWORD\n"))
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"{path}:{line_of(path, 'password_env:')}: signing.password_env: environment variable "
        "AUDITKIT_TEST_UNSET_PASSWORD is not set or empty (it must hold the key password)\n")
    monkeypatch.setenv("AUDITKIT_TEST_UNSET_PASSWORD", "")
    assert validate(path).exit_code == 2
    monkeypatch.setenv("AUDITKIT_TEST_UNSET_PASSWORD", "secret")
    assert validate(path).exit_code == 0


def test_the_default_password_variable_is_reported_at_the_signing_block(submission, monkeypatch):
    monkeypatch.delenv("AUDITKIT_KEY_PASSWORD", raising=False)
    path = edited(submission, "    ratio: 0.33\n", "    ratio: 0.33\n" + SIGNING.format(env=""))
    with pytest.raises(InputError) as info:
        validate_manifest(path)
    (problem,) = info.value.problems
    assert (problem.field, problem.line) == ("signing.password_env", line_of(path, "signing:"))
    assert "AUDITKIT_KEY_PASSWORD" in problem.message
    validate_manifest(path, signing=False)  # reproduce: the signing block is not used


# --- item 6: sha256 entries name files ----------------------------------------------------------


def test_a_sha256_entry_for_a_file_that_is_not_there(submission):
    path = edited(submission, "  input: zero_filled", "    net/ghost.py: " + "ab" * 32 + "\n  input: zero_filled")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:{line_of(path, 'net/ghost.py')}: network.sha256.net/ghost.py: no such file: "
                             f"'net/ghost.py' (looked for {submission / 'net' / 'ghost.py'})\n")


def test_a_sha256_entry_for_a_folder(submission):
    path = edited(submission, "  input: zero_filled", "    net: " + "ab" * 32 + "\n  input: zero_filled")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr.endswith(": network.sha256.net: 'net' is a folder; list each file under it that is read or executed\n")


# --- item 7: every problem in one pass ----------------------------------------------------------


def test_a_bad_checks_block_and_a_missing_network_file_together(submission):
    path = edited(submission, "path: net/identity_net.py", "path: net/missing_net.py")
    path.write_text(path.read_text(encoding="utf-8") + "checks:\n  noise: {draws: 0}\n", encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:{line_of(path, 'missing_net.py')}: network.path: file not found: 'net/missing_net.py' "
        f"(looked for {submission / 'net' / 'missing_net.py'})",
        f"{path}:{line_of(path, 'draws: 0')}: checks.noise.draws: Input should be greater than or equal to 1 (got 0)",
    ]


def test_valid_sections_have_their_files_checked_when_another_fails(submission):
    """valid_full: the submission section fails; the mask, an image and a hash of the others are still checked."""
    import numpy as np

    np.save(submission / "arrays" / "mask_32.npy", np.ones((16, 16), bool))
    (submission / "arrays" / "gradient_32.npy").unlink()
    (submission / "net" / "scaled_net.py").write_text("# changed\n", encoding="utf-8")
    path = edited(submission, "  vendor: Example Imaging\n", "", base="valid_full.yaml")
    with pytest.raises(InputError) as info:
        validate_manifest(path)
    assert [p.field for p in info.value.problems] == [
        "submission.vendor", "modality.sampling.mask_file", "network.sha256.net/scaled_net.py", "data.images.1.file"]


def test_no_network_code_runs_when_the_schema_fails(submission):
    """With the schema failing only existence and hashes are checked: the network is never imported."""
    marker = submission / "ran.txt"
    net = submission / "net" / "identity_net.py"
    net.write_text(f"open({str(marker)!r}, 'w').close()\n\ndef build():\n    return None\n", encoding="utf-8")
    path = edited(submission, "4523d39cc3764d737dfc7bf883469292b001ab1b0d2efbf6f0ae2139ba514de4", sha256_file(net))
    path.write_text(path.read_text(encoding="utf-8") + "checks:\n  sampling: {bogus: 1}\n", encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr.endswith(": checks.sampling.bogus: unknown field (allowed here: baseline_min_gain_db, enabled, min_gain_fraction, "
                                  "n_angles, ratios, tolerance_db)\n")
    assert not marker.exists()


def test_a_schema_failure_does_not_hide_a_hash_mismatch(submission):
    path = edited(submission, "4523d39cc3764d737dfc7bf883469292b001ab1b0d2efbf6f0ae2139ba514de4", "cd" * 32)
    path.write_text(path.read_text(encoding="utf-8") + "checks:\n  sampling: {bogus: 1}\n", encoding="utf-8")
    fields = [line.split(": ")[1] for line in validate(path).stderr.splitlines()]
    assert fields == ["network.sha256.net/identity_net.py", "checks.sampling.bogus"]
