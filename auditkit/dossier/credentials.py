"""The signer's credentials: what a signature needs (a signing block) and the key and certificates it loads.

The key password comes from the environment variable the signing block names
(``auditkit.key_password``) and is never printed, logged or written. Every failure
is an input error naming the setting, in the manifest or on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from auditkit.dossier.certificates import load_pem_certificates, read_setting_file
from auditkit.errors import InputError, Problem
from auditkit.key_password import DEFAULT_PASSWORD_ENV, password_from_env
from auditkit.manifest.models import PKCS12_SUFFIXES


class SigningSpec(Protocol):
    """What a signature needs: the manifest's ``signing`` block, or :class:`SigningConfig` from the command line."""

    certificate: Path
    key: Path | None
    password_env: str
    signer_name: str
    meaning: str
    timestamp_url: str | None


@dataclass(frozen=True)
class SigningConfig:
    """A signing block built from command-line options (same fields as the manifest's ``signing``)."""

    certificate: Path
    key: Path | None
    signer_name: str
    meaning: str
    password_env: str = DEFAULT_PASSWORD_ENV
    timestamp_url: str | None = None


@dataclass(frozen=True)
class Credentials:
    """A loaded signing key with its certificate and the other certificates shipped with it."""

    key: object
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


def setting_origin(manifest_file: Path | str | None, field: str, option: str) -> tuple[Path | str, str]:
    """Where a signing setting came from: the manifest's ``signing.<field>``, or a command-line option."""
    if manifest_file is None:
        return "command line", option
    return manifest_file, f"signing.{field}"


def load_credentials(spec: SigningSpec, manifest_file: Path | str | None = None) -> Credentials:
    """Decrypt the signer's key with the password from ``spec.password_env`` and check it fits the certificate.

    Every failure is an InputError naming the setting (``signing.<field>`` in
    ``manifest_file``, or the command-line option when no manifest is given).
    """
    env_file, env_field = setting_origin(manifest_file, "password_env", "--password-env")
    password = password_from_env(spec.password_env, file=env_file, field=env_field)
    cert_path = Path(spec.certificate)
    if cert_path.suffix.lower() in PKCS12_SUFFIXES:
        credentials = _from_pkcs12(spec, password, manifest_file)
    else:
        credentials = _from_pem(spec, password, manifest_file)
    if _public_der(credentials.key.public_key()) != _public_der(credentials.certificate.public_key()):  # type: ignore[attr-defined]
        file, field = setting_origin(manifest_file, "key", "--key")
        raise InputError(Problem(file, field, f"the key does not belong to the certificate in '{cert_path}'"))
    return credentials


def _from_pkcs12(spec: SigningSpec, password: bytes, manifest_file: Path | str | None) -> Credentials:
    """Key, certificate and chain from a PKCS#12 bundle."""
    file, field = setting_origin(manifest_file, "certificate", "--cert")
    path = Path(spec.certificate)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(read_setting_file(path, file, field), password)
    except ValueError:
        raise InputError(Problem(file, field, f"cannot open '{path}' with the password from {spec.password_env}")) from None
    if key is None or cert is None:
        raise InputError(Problem(file, field, f"'{path}' holds no private key and certificate"))
    return Credentials(key, cert, tuple(extra))


def _from_pem(spec: SigningSpec, password: bytes, manifest_file: Path | str | None) -> Credentials:
    """Certificate (first in the file; the rest is the chain) and encrypted PKCS#8 key from PEM files."""
    cert_file, cert_field = setting_origin(manifest_file, "certificate", "--cert")
    key_file, key_field = setting_origin(manifest_file, "key", "--key")
    if spec.key is None:
        raise InputError(Problem(key_file, key_field, "required with a PEM certificate"))
    path = Path(spec.certificate)
    certs = load_pem_certificates(read_setting_file(path, cert_file, cert_field), cert_file, cert_field, path)
    try:
        key = serialization.load_pem_private_key(read_setting_file(Path(spec.key), key_file, key_field), password)
    except (ValueError, TypeError):
        raise InputError(
            Problem(key_file, key_field, f"cannot decrypt '{spec.key}' with the password from {spec.password_env}")
        ) from None
    return Credentials(key, certs[0], tuple(certs[1:]))


def _public_der(public_key: object) -> bytes:
    """The public key's SubjectPublicKeyInfo in DER, to compare a key with a certificate."""
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
