"""PAdES and CMS signatures: made, validated by pyHanko, and accepted by openssl / pdfsig when installed."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import weasyprint
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditkit.dossier.auditlog import AuditLog, read_entries
from auditkit.dossier.certificates import load_trust
from auditkit.dossier.credentials import SigningConfig
from auditkit.dossier.keygen import keygen
from auditkit.dossier.signature_check import pdf_signature_count, verify_cms, verify_pdf
from auditkit.dossier.signing import sign_cms, sign_dossier, sign_pdf
from auditkit.errors import InputError
from auditkit.manifest.models import Signing
from auditkit.manifest.paths import MANIFEST_DIR

PASSWORD = "pw-for-tests"
OPENSSL = shutil.which("openssl")
PDFSIG = shutil.which("pdfsig")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
        return keygen(tmp_path_factory.mktemp("keys"), "Jane Reviewer")


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
        return keygen(tmp_path_factory.mktemp("other"), "Someone Else", key_type="ec-p256")


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)


@pytest.fixture
def spec(keys) -> SigningConfig:
    return SigningConfig(
        certificate=keys.certificate, key=keys.key, signer_name="Jane Reviewer", meaning="Author: I approve this audit"
    )


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    html = weasyprint.HTML(string="<h1>Audit</h1><p>x</p>")
    attachment = weasyprint.Attachment(string='{"seed": 1}\n', name="evidence.json")
    return html.write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment])


@pytest.fixture
def pdf(tmp_path, pdf_bytes) -> Path:
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf_bytes)
    return path


# --- CMS ----------------------------------------------------------------------------------------


def test_cms_signature_verifies_and_is_trusted(tmp_path, spec, keys):
    data = tmp_path / "evidence.json"
    data.write_bytes(b'{"seed": 1}\n')
    sig = sign_cms(data, spec)
    assert sig == tmp_path / "evidence.json.p7s"
    check = verify_cms(data, sig, load_trust(keys.ca))
    assert check.ok and check.intact and check.valid and check.trusted
    assert check.signer == "Jane Reviewer"
    assert abs(check.signing_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=2)
    untrusted = verify_cms(data, sig)
    assert untrusted.ok and untrusted.trusted is None


def test_cms_detects_changed_data_and_foreign_ca(tmp_path, spec, other_keys):
    data = tmp_path / "evidence.json"
    data.write_bytes(b'{"seed": 1}\n')
    sig = sign_cms(data, spec)
    changed = verify_cms(b'{"seed": 2}\n', sig)
    assert not changed.ok and not changed.intact
    foreign = verify_cms(data, sig, load_trust(other_keys.ca))
    assert foreign.intact and foreign.trusted is False and not foreign.ok
    garbage = verify_cms(data, b"not DER at all")
    assert not garbage.ok and "cannot read" in garbage.problem


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_cms_verify_accepts_the_signature(tmp_path, spec, keys):
    data = tmp_path / "evidence.json"
    data.write_bytes(b'{"seed": 1}\n')
    sig = sign_cms(data, spec)
    command = [OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-content", str(data), "-in", str(sig),
               "-CAfile", str(keys.ca), "-purpose", "any", "-out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == data.read_bytes()
    data.write_bytes(b'{"seed": 2}\n')
    assert subprocess.run(command, capture_output=True).returncode != 0


# --- PAdES --------------------------------------------------------------------------------------


def test_pdf_signature_is_intact_valid_trusted_and_covers_the_file(pdf, spec, keys, pdf_bytes):
    out = sign_pdf(pdf, spec, pdf.with_name("signed.pdf"))
    signed = out.read_bytes()
    assert signed.startswith(pdf_bytes), "incremental update: the rendered PDF/A bytes are kept"
    assert signed.startswith(b"%PDF-1.7") and b"/Version /2.0" not in signed[len(pdf_bytes):]
    check = verify_pdf(out, load_trust(keys.ca))
    assert check.ok and check.intact and check.valid and check.trusted
    assert check.coverage == "ENTIRE_FILE"
    assert check.name == "Jane Reviewer" and check.reason == "Author: I approve this audit"
    assert abs(check.signing_time - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=2)
    assert not check.timestamped


def test_signed_pdf_keeps_pdfa_identification_and_consistent_producer(pdf, spec):
    """PDF/A wants /Info and XMP to agree; pyHanko rewrites both, sign_pdf keeps them equal."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    sign_pdf(pdf, spec, pdf)
    with open(pdf, "rb") as fh:
        reader = PdfFileReader(fh)
        producer = str(reader.trailer["/Info"]["/Producer"])
        xmp = reader.root["/Metadata"].data.decode("utf-8")
    assert f'pdf:Producer="{producer}"' in xmp
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp


def test_pdf_signature_fails_on_a_changed_byte_and_a_foreign_ca(pdf, spec, other_keys):
    sign_pdf(pdf, spec, pdf)  # in place
    assert pdf_signature_count(pdf) == 1
    assert verify_pdf(pdf, load_trust(other_keys.ca)).trusted is False
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    assert not verify_pdf(pdf).ok


def test_changed_padding_in_the_signature_contents_is_caught(pdf, spec):
    """The zero padding of /Contents lies outside the signed byte range; verify_pdf checks it itself."""
    sign_pdf(pdf, spec, pdf)
    data = pdf.read_bytes()
    end = data.rindex(b"0000>")
    pdf.write_bytes(data[:end] + b"1" + data[end + 1:])
    check = verify_pdf(pdf)
    assert not check.ok and "not zero" in check.problem


def test_appended_bytes_break_entire_file_coverage(pdf, spec):
    sign_pdf(pdf, spec, pdf)
    with open(pdf, "ab") as fh:
        fh.write(b"\n% appended\n")
    check = verify_pdf(pdf)
    assert not check.ok and check.coverage != "ENTIRE_FILE"


def test_unsigned_pdf_reports_absent(pdf):
    check = verify_pdf(pdf)
    assert check.problem == "absent" and not check.ok


def test_pkcs12_and_manifest_signing_block(tmp_path, pdf, keys):
    manifest_dir = keys.pkcs12.parent
    block = Signing.model_validate(
        {"certificate": keys.pkcs12.name, "signer_name": "J. Reviewer", "meaning": "Reviewer"},
        context={MANIFEST_DIR: manifest_dir},
    )
    sign_pdf(pdf, block, pdf, manifest_file=manifest_dir / "manifest.yaml")
    check = verify_pdf(pdf, load_trust(keys.ca))
    assert check.ok and check.name == "J. Reviewer"


@pytest.mark.skipif(PDFSIG is None, reason="pdfsig (poppler-utils) not installed")
def test_pdfsig_accepts_the_signature(pdf, spec, keys):
    sign_pdf(pdf, spec, pdf)
    done = subprocess.run([PDFSIG, "-nocert", str(pdf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature is Valid" in done.stdout


def _tsa():
    """A self-signed time-stamping authority standing in for a remote TSA."""
    from pyhanko.sign.timestamps import DummyTimeStamper

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's stand-in TSA is RSA-only
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test TSA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        ),
    )


def test_timestamped_signature_is_pades_b_t(pdf, spec):
    sign_pdf(pdf, spec, pdf, timestamper=_tsa())
    check = verify_pdf(pdf)
    assert check.timestamped and check.intact and check.valid and check.coverage == "ENTIRE_FILE"


def test_unreachable_timestamp_authority_is_an_input_error(pdf, spec, pdf_bytes):
    with pytest.raises(InputError, match="signing.timestamp_url"):
        sign_pdf(pdf, replace(spec, timestamp_url="http://127.0.0.1:9/tsa"), pdf, manifest_file="m.yaml")
    assert pdf.read_bytes() == pdf_bytes


# --- credentials --------------------------------------------------------------------------------


def test_missing_password_names_the_setting_and_the_manifest(pdf, spec, monkeypatch):
    monkeypatch.delenv("AUDITKIT_KEY_PASSWORD")
    with pytest.raises(InputError) as info:
        sign_pdf(pdf, spec, pdf, manifest_file="submission/manifest.yaml")
    message = str(info.value)
    assert message.startswith("submission/manifest.yaml: signing.password_env:") and "AUDITKIT_KEY_PASSWORD" in message
    assert "\n" not in message
    with pytest.raises(InputError, match="--password-env"):
        sign_cms(pdf, spec)


def test_wrong_password_and_mismatched_key_are_input_errors(pdf, spec, other_keys, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", "wrong")
    with pytest.raises(InputError, match="signing.key: cannot decrypt") as info:
        sign_cms(pdf, spec, manifest_file="m.yaml")
    assert "wrong" not in str(info.value)
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    with pytest.raises(InputError, match="does not belong to the certificate"):
        sign_cms(pdf, replace(spec, key=other_keys.key))


def test_sign_dossier_logs_and_refuses_a_second_signature(tmp_path, pdf, spec):
    (tmp_path / "evidence.json").write_bytes(b'{"seed": 1}\n')
    log = AuditLog(tmp_path / "audit.log")
    signed = sign_dossier(tmp_path, spec, log=log)
    assert signed.evidence_signature.is_file() and signed.signer == "Jane Reviewer"
    [entry] = read_entries(tmp_path / "audit.log")
    assert entry["event"] == "sign" and entry["data"]["meaning"] == spec.meaning
    assert PASSWORD not in (tmp_path / "audit.log").read_text()
    with pytest.raises(InputError, match="already signed"):
        sign_dossier(tmp_path, spec, log=log)
