"""Certificates as signing and verification read them: PEM files, trust anchors, names and fingerprints.

Both sides of a signature need these (signing to load the signer's chain,
verification to load ``--trust`` and to say who signed), so they live apart from either.
"""

from __future__ import annotations

from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from auditkit.errors import InputError, Problem
from auditkit.fileio import sha256_bytes


def read_setting_file(path: Path, file: Path | str, field: str) -> bytes:
    """The bytes of a file a setting names; an unreadable file is an input error naming ``file`` and ``field``."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(file, field, f"cannot read '{path}': {exc.strerror}")) from None


def load_pem_certificates(data: bytes, file: Path | str, field: str, path: Path) -> list[x509.Certificate]:
    """Every certificate in PEM ``data`` read from ``path``; none is an input error naming ``file`` and ``field``."""
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError(Problem(file, field, f"'{path}' holds no PEM certificate")) from None


def load_trust(path: Path | str) -> list[x509.Certificate]:
    """The trust anchors in a PEM file (``--trust``); unreadable or empty is an input error."""
    path = Path(path)
    return load_pem_certificates(read_setting_file(path, path, "--trust"), path, "--trust", path)


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The same certificate as asn1crypto reads it (what pyHanko takes)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def common_name(cert: x509.Certificate | asn1_x509.Certificate | None) -> str:
    """The certificate subject's CN (or the whole subject when it has none)."""
    if cert is None:
        return ""
    if isinstance(cert, asn1_x509.Certificate):
        native = cert.subject.native
        return str(native.get("common_name", cert.subject.human_friendly))
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def fingerprint(cert: x509.Certificate | asn1_x509.Certificate | None) -> str:
    """SHA-256 of the certificate's DER encoding."""
    if cert is None:
        return ""
    der = cert.dump() if isinstance(cert, asn1_x509.Certificate) else cert.public_bytes(serialization.Encoding.DER)
    return sha256_bytes(der)
