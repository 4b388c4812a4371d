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


# -- the signature page says what the PDF's signature is ----------------------------------------
def _tool(name: str) -> str:
    import shutil

    found = shutil.which(name)
    if found is None:
        pytest.skip(f"needs {name} (poppler-utils)")
    return found


def _signature_page(pdf: Path) -> str:
    """The text of the PDF from its signature chapter to the glossary."""
    import subprocess

    text = subprocess.run([_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    start = text.rindex("Signature\n")
    return " ".join(text[start: text.index("Glossary of metrics", start)].split())


def _pdfsig_signer(pdf: Path) -> str | None:
    import subprocess

    out = subprocess.run([_tool("pdfsig"), str(pdf)], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Signer Certificate Common Name:" in line:
            return line.split(":", 1)[1].strip()
    assert "does not contain any signatures" in out, out
    return None


def test_the_signature_page_agrees_with_pdfsig(signed_manifest: Path, tiny_manifest: Path, tmp_path: Path, monkeypatch):
    from auditkit.dossier.credentials import SigningConfig
    from auditkit.dossier.sign_existing import sign_existing_dossier

    signed = tmp_path / "signed"
    run_audit(signed_manifest, RunOptions(out=signed, checks=["hallucination"], quick=True))
    page = _signature_page(signed / layout.PDF)
    assert _pdfsig_signer(signed / layout.PDF) == "Test Signer"
    assert "Signed by Test Signer" in page and "Approval of this audit" in page and "Not signed" not in page
    assert "issued to Test Signer" in page

    unsigned = tmp_path / "unsigned"
    run_audit(signed_manifest, RunOptions(out=unsigned, checks=["hallucination"], quick=True, sign=False))
    assert _pdfsig_signer(unsigned / layout.PDF) is None
    assert "Not signed" in _signature_page(unsigned / layout.PDF)

    keys = tmp_path / "keys"
    sign_existing_dossier(unsigned, SigningConfig(keys / "signer.p12", None, signer_name="Later Reviewer",
                                                  meaning="Review of this audit", password_env="AUDITKIT_TEST_KEY"))
    page = _signature_page(unsigned / layout.PDF)
    assert _pdfsig_signer(unsigned / layout.PDF) == "Test Signer"  # the certificate's name …
    assert "Signed by Later Reviewer" in page and "Review of this audit" in page  # … and the printed one
    assert "issued to Test Signer" in page  # the page names the certificate pdfsig names
    assert "Not signed" not in page and "Date and time of signing" in page
