"""Test signing keys: a self-signed test CA and a signer certificate for dossier signatures.

The CA is only for trying out signing and verification (its organisation says
"not for production"). The signer certificate carries the non-repudiation key
usage that an electronic signature with a stated meaning (21 CFR 11.50) calls
for, and the e-mail-protection and document-signing extended key usages so that
pyHanko, ``pdfsig`` and ``openssl cms -verify`` accept it. The private key is
stored encrypted with a password read from an environment variable; the
password is never printed or logged.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from auditkit.errors import InputError, Problem
from auditkit.key_password import DEFAULT_PASSWORD_ENV, password_from_env

#: Organisation written into every test certificate, so that nobody mistakes them for real ones.
TEST_ORGANISATION = "auditkit test CA \u2014 not for production"

#: id-kp-documentSigning (RFC 9336).
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")

VALIDITY = _dt.timedelta(days=3653)

KeyType = Literal["rsa-3072", "ec-p256"]
KEY_TYPES: tuple[str, ...] = ("rsa-3072", "ec-p256")
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyFiles:
    """Paths of the files ``keygen`` wrote."""

    ca: Path
    certificate: Path
    key: Path
    pkcs12: Path

    def all(self) -> tuple[Path, ...]:
        return (self.ca, self.certificate, self.key, self.pkcs12)


def keygen(
    out_dir: Path | str,
    name: str,
    password_env: str = DEFAULT_PASSWORD_ENV,
    *,
    key_type: KeyType = "rsa-3072",
) -> KeyFiles:
    """Write ``ca.pem``, ``signer.pem``, ``signer.key.pem`` (PKCS#8, encrypted) and ``signer.p12`` to ``out_dir``.

    The signer's subject is CN=``name``, O=:data:`TEST_ORGANISATION`; both
    certificates are valid for ten years from now. Existing files are not
    overwritten (an input error names the first one found). RSA is the default:
    pyHanko marks an ECDSA-signed PDF as PDF 2.0 (ISO/TS 32002 extension), which
    a PDF/A-3 file based on PDF 1.7 should not declare.
    """
    if not name.strip():
        raise InputError(Problem("command line", "--name", "must not be empty"))
    if key_type not in KEY_TYPES:
        raise InputError(Problem("command line", "--key-type", f"must be one of {', '.join(KEY_TYPES)}, not {key_type!r}"))
    password = password_from_env(password_env)
    out = Path(out_dir)
    files = KeyFiles(out / "ca.pem", out / "signer.pem", out / "signer.key.pem", out / "signer.p12")
    for path in files.all():
        if path.exists():
            raise InputError(Problem(path, "--out", "already exists; refusing to overwrite a key or certificate"))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(Problem(out, "--out", f"cannot create folder: {exc.strerror}")) from None

    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    ca_key = _new_key(key_type)
    ca_name = _subject(f"{name} test CA")
    ca_cert = _ca_certificate(ca_key, ca_name, now)
    signer_key = _new_key(key_type)
    signer_cert = _signer_certificate(signer_key.public_key(), _subject(name), ca_key, ca_cert, now)

    encryption = serialization.BestAvailableEncryption(password)
    _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write(files.certificate, signer_cert.public_bytes(serialization.Encoding.PEM))
    _write(
        files.key,
        signer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption),
        private=True,
    )
    _write(
        files.pkcs12,
        pkcs12.serialize_key_and_certificates(name.encode("utf-8"), signer_key, signer_cert, [ca_cert], encryption),
        private=True,
    )
    return files


def _new_key(key_type: KeyType) -> PrivateKey:
    """A fresh RSA-3072 (the default) or ECDSA P-256 private key."""
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def _subject(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_ORGANISATION),
    ])


def _ca_certificate(key: PrivateKey, subject: x509.Name, now: _dt.datetime) -> x509.Certificate:
    """Self-signed CA: basicConstraints CA:true (critical), keyCertSign and cRLSign only."""
    public = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def _signer_certificate(
    public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    subject: x509.Name,
    ca_key: PrivateKey,
    ca_cert: x509.Certificate,
    now: _dt.datetime,
) -> x509.Certificate:
    """End-entity certificate: digitalSignature + nonRepudiation, EKU emailProtection + documentSigning."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _key_usage(
    *, digital_signature: bool = False, content_commitment: bool = False, key_cert_sign: bool = False
) -> x509.KeyUsage:
    """KeyUsage with only the named bits set (CAs also get cRLSign)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write a new file; private ones are created readable by the owner only (0600)."""
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
