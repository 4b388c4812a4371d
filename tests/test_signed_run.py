"""run with a signing block: the dossier comes out signed and verifies against its CA."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.dossier import layout
from auditkit.dossier.auditlog import EVENTS, read_entries
from auditkit.dossier.keygen import keygen
from auditkit.dossier.validation import verify_dossier
from auditkit.errors import InputError
from auditkit.pipeline import RunOptions, run_audit


@pytest.fixture
def signed_manifest(tiny_manifest: Path, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("AUDITKIT_TEST_KEY", "correct horse")
    keys = keygen(tmp_path / "keys", "Test Signer", "AUDITKIT_TEST_KEY")
    tiny_manifest.write_text(
        tiny_manifest.read_text()
        + f"signing:\n  certificate: {keys.pkcs12}\n  password_env: AUDITKIT_TEST_KEY\n"
        + "  signer_name: Test Signer\n  meaning: Approval of this audit\n",
        encoding="utf-8",
    )
    return tiny_manifest


def test_run_signs_and_the_dossier_verifies(signed_manifest: Path, tmp_path: Path):
    out = tmp_path / "dossier"
    run_audit(signed_manifest, RunOptions(out=out, checks=["hallucination"], quick=True))
    for name in ("dossier.pdf", "evidence.json.p7s", "SHA256SUMS.p7s"):
        assert (out / name).is_file(), name
    report = verify_dossier(out, tmp_path / "keys" / "ca.pem")
    assert report.ok, [(r.item, r.status, r.detail) for r in report.failures()]
    assert not list(out.glob("inputs/**/*.p12")), "the signing key must never be archived"


def test_a_signed_run_logs_every_event_in_the_documented_order(signed_manifest: Path, tmp_path: Path):
    out = tmp_path / "dossier"
    run_audit(signed_manifest, RunOptions(out=out, checks=["hallucination"], quick=True))
    logged = [entry["event"] for entry in read_entries(out / layout.AUDIT_LOG)]
    assert list(dict.fromkeys(logged)) == list(EVENTS)


def test_wrong_password_fails_before_any_check(signed_manifest: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AUDITKIT_TEST_KEY", "wrong")
    with pytest.raises(InputError, match="signing"):
        run_audit(signed_manifest, RunOptions(out=tmp_path / "o", checks=["hallucination"], quick=True))
    assert not (tmp_path / "o").exists()
