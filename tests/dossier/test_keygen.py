"""Test keys: files written, key encrypted, key usages right, password never leaked."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditkit.errors import InputError
from auditkit.dossier.keygen import DOCUMENT_SIGNING, TEST_ORGANISATION, keygen

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
        return keygen(tmp_path_factory.mktemp("keys"), "Jane Reviewer")


def _cert(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_writes_the_four_files(keys):
    assert [p.name for p in keys.all()] == ["ca.pem", "signer.pem", "signer.key.pem", "signer.p12"]
    assert all(p.stat().st_size > 0 for p in keys.all())
    assert keys.key.stat().st_mode & 0o077 == 0
    assert keys.pkcs12.stat().st_mode & 0o077 == 0


def test_key_is_encrypted_and_opens_with_the_password(keys):
    pem = keys.key.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert PASSWORD.encode() not in pem
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong")
    key = serialization.load_pem_private_key(pem, PASSWORD.encode())
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    assert key.public_key() == _cert(keys.certificate).public_key()


def test_pkcs12_holds_key_certificate_and_ca(keys):
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(keys.pkcs12.read_bytes(), b"wrong")
    key, cert, extra = pkcs12.load_key_and_certificates(keys.pkcs12.read_bytes(), PASSWORD.encode())
    assert cert == _cert(keys.certificate)
    assert extra == [_cert(keys.ca)]
    assert key.public_key() == cert.public_key()


def test_signer_certificate_usages_and_names(keys):
    cert, ca = _cert(keys.certificate), _cert(keys.ca)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.content_commitment and usage.value.digital_signature
    assert not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku and DOCUMENT_SIGNING in eku
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Jane Reviewer"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == TEST_ORGANISATION
    assert cert.issuer == ca.subject
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365.25
    assert 9.9 < years < 10.1
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)


def test_ca_certificate_is_a_self_signed_ca(keys):
    ca = _cert(keys.ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_accepts_the_chain(keys):
    done = subprocess.run(
        ["openssl", "verify", "-CAfile", str(keys.ca), str(keys.certificate)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("value", [None, ""])
def test_missing_password_is_a_one_line_input_error(tmp_path, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MY_KEY_PW", raising=False)
    else:
        monkeypatch.setenv("MY_KEY_PW", value)
    with pytest.raises(InputError) as info:
        keygen(tmp_path, "X", "MY_KEY_PW")
    assert "\n" not in str(info.value)
    assert "MY_KEY_PW" in str(info.value) and "--password-env" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite(keys, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    before = keys.key.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        keygen(keys.key.parent, "Jane Reviewer")
    assert keys.key.read_bytes() == before


def test_ec_keys_are_available(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    files = keygen(tmp_path, "EC Signer", key_type="ec-p256")
    key = serialization.load_pem_private_key(files.key.read_bytes(), PASSWORD.encode())
    assert key.public_key() == _cert(files.certificate).public_key()
