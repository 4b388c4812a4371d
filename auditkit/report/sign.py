"""Electronic signatures of a dossier: PAdES on the PDF, detached CMS on evidence.json and SHA256SUMS.

The PDF gets a PAdES signature (pyHanko, subfilter ETSI.CAdES.detached,
SHA-256) written as an incremental update, so the rendered PDF/A-3b bytes stay
untouched before it; it records the signer's printed name, the meaning of the
signature (as the reason) and the signing time, as 21 CFR 11.50 asks. With a
time-stamping authority configured the signature also carries an RFC 3161
signature time stamp (PAdES B-T). Other files get a detached CMS SignedData
(DER, binary content, signer certificate included) that ``openssl cms -verify``
accepts. The key password comes from the environment variable the signing block
names and is never printed, logged or written.

Sealing (:func:`seal_dossier`) comes last, after the audit log's last event: it
writes SHA256SUMS and, when signing, signs it with the audit log's chain head
(``auditkit.auditlog.ChainHead``) as a signed attribute of that signature, so
that where the log ends is bound by the signature, not only by the log itself.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from auditkit import dossier_layout
from auditkit.auditlog import AuditLog, ChainHead, chain_head
from auditkit.checksums import write_sums
from auditkit.errors import InputError, Problem
from auditkit.report.keygen import password_from_env

#: Names of the dossier files signed here (``auditkit.dossier_layout``).
PDF_NAME = dossier_layout.PDF
EVIDENCE_NAME = dossier_layout.EVIDENCE
CMS_SUFFIX = ".p7s"

#: OID of the signed CMS attribute holding the audit log's chain head: a UUID-based OID
#: (ITU-T X.667, arc 2.25), which needs no registration.
CHAIN_HEAD_OID = "2.25.274285772362385386833520358984183776876"


class _ChainHeadValue(asn1_core.Sequence):
    """ASN.1 form of the chain-head attribute: SEQUENCE { entries INTEGER, lastLineSha256 OCTET STRING }."""

    _fields = [("entries", asn1_core.Integer), ("last_line_sha256", asn1_core.OctetString)]


#: Name of the PDF signature field.
FIELD_NAME = "auditkit"

#: Seconds to wait for a time-stamping authority before giving up.
TIMESTAMP_TIMEOUT_S = 10

PKCS12_SUFFIXES = (".p12", ".pfx")


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
    password_env: str = "AUDITKIT_KEY_PASSWORD"
    timestamp_url: str | None = None


@dataclass(frozen=True)
class Credentials:
    """A loaded signing key with its certificate and the other certificates shipped with it."""

    key: object
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of validating one signature.

    ``trusted`` is None when no trust anchor was given or the signature is
    broken (trust is then not evaluated); ``coverage`` is only set
    for PDF signatures (``ENTIRE_FILE`` is required).
    """

    intact: bool
    valid: bool
    trusted: bool | None
    signer: str = ""
    certificate_sha256: str = ""
    signing_time: _dt.datetime | None = None
    coverage: str | None = None
    reason: str | None = None
    name: str | None = None
    timestamped: bool = False
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Intact and valid, trusted when a trust anchor was given, covering the whole PDF."""
        return (
            self.problem is None
            and self.intact
            and self.valid
            and self.trusted is not False
            and self.coverage in (None, "ENTIRE_FILE")
        )

    def describe(self) -> str:
        """One line for the verify table."""
        if self.problem is not None:
            return self.problem
        parts = [
            "intact" if self.intact else "NOT intact (signed bytes changed)",
            "valid" if self.valid else "signature NOT valid",
        ]
        if self.trusted is None:
            if self.intact and self.valid:
                parts.append("trust not checked (no --trust)")
        else:
            parts.append("trusted" if self.trusted else "NOT trusted by the given CA")
        if self.coverage is not None:
            parts.append("covers the whole file" if self.coverage == "ENTIRE_FILE" else f"coverage {self.coverage}")
        if self.timestamped:
            parts.append("time-stamped")
        who = f"signer {self.signer!r}"
        if self.signing_time is not None:
            who += f" at {self.signing_time.isoformat()}"
        return ", ".join(parts) + f"; {who}"


# --- credentials ------------------------------------------------------------------------------


def _origin(manifest_file: Path | str | None, field: str, option: str) -> tuple[Path | str, str]:
    """Where a signing setting came from: the manifest's ``signing.<field>``, or a command-line option."""
    if manifest_file is None:
        return "command line", option
    return manifest_file, f"signing.{field}"


def load_credentials(spec: SigningSpec, manifest_file: Path | str | None = None) -> Credentials:
    """Decrypt the signer's key with the password from ``spec.password_env`` and check it fits the certificate.

    Every failure is an InputError naming the setting (``signing.<field>`` in
    ``manifest_file``, or the command-line option when no manifest is given).
    """
    env_file, env_field = _origin(manifest_file, "password_env", "--password-env")
    password = password_from_env(spec.password_env, file=env_file, field=env_field)
    cert_path = Path(spec.certificate)
    if cert_path.suffix.lower() in PKCS12_SUFFIXES:
        credentials = _from_pkcs12(spec, password, manifest_file)
    else:
        credentials = _from_pem(spec, password, manifest_file)
    if _public_der(credentials.key.public_key()) != _public_der(credentials.certificate.public_key()):  # type: ignore[attr-defined]
        file, field = _origin(manifest_file, "key", "--key")
        raise InputError(Problem(file, field, f"the key does not belong to the certificate in '{cert_path}'"))
    return credentials


def _from_pkcs12(spec: SigningSpec, password: bytes, manifest_file: Path | str | None) -> Credentials:
    """Key, certificate and chain from a PKCS#12 bundle."""
    file, field = _origin(manifest_file, "certificate", "--cert")
    path = Path(spec.certificate)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(_read(path, file, field), password)
    except ValueError:
        raise InputError(Problem(file, field, f"cannot open '{path}' with the password from {spec.password_env}")) from None
    if key is None or cert is None:
        raise InputError(Problem(file, field, f"'{path}' holds no private key and certificate"))
    return Credentials(key, cert, tuple(extra))


def _from_pem(spec: SigningSpec, password: bytes, manifest_file: Path | str | None) -> Credentials:
    """Certificate (first in the file; the rest is the chain) and encrypted PKCS#8 key from PEM files."""
    cert_file, cert_field = _origin(manifest_file, "certificate", "--cert")
    key_file, key_field = _origin(manifest_file, "key", "--key")
    if spec.key is None:
        raise InputError(Problem(key_file, key_field, "required with a PEM certificate"))
    path = Path(spec.certificate)
    certs = _load_pem_certificates(_read(path, cert_file, cert_field), cert_file, cert_field, path)
    try:
        key = serialization.load_pem_private_key(_read(Path(spec.key), key_file, key_field), password)
    except (ValueError, TypeError):
        raise InputError(
            Problem(key_file, key_field, f"cannot decrypt '{spec.key}' with the password from {spec.password_env}")
        ) from None
    return Credentials(key, certs[0], tuple(certs[1:]))


def _read(path: Path, file: Path | str, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(file, field, f"cannot read '{path}': {exc.strerror}")) from None


def _load_pem_certificates(data: bytes, file: Path | str, field: str, path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError(Problem(file, field, f"'{path}' holds no PEM certificate")) from None


def _public_der(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_trust(path: Path | str) -> list[x509.Certificate]:
    """The trust anchors in a PEM file (``--trust``); unreadable or empty is an input error."""
    path = Path(path)
    return _load_pem_certificates(_read(path, path, "--trust"), path, "--trust", path)


# --- signing ----------------------------------------------------------------------------------


def sign_pdf(
    pdf_path: Path | str,
    spec: SigningSpec,
    out_path: Path | str,
    *,
    manifest_file: Path | str | None = None,
    timestamper: object | None = None,
    credentials: Credentials | None = None,
) -> Path:
    """PAdES-sign ``pdf_path`` into ``out_path`` (may be the same file: replaced atomically).

    The signature field is invisible; ``/Name`` is the signer's printed name,
    ``/Reason`` the meaning, ``/M`` the signing time. A time stamp is requested
    from ``spec.timestamp_url`` when set (or from ``timestamper``, which tests
    use to stand in for a time-stamping authority). ``credentials`` already
    loaded with :func:`load_credentials` save decrypting the key again.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps

    credentials = credentials or load_credentials(spec, manifest_file)
    signer = _signer(credentials)
    if timestamper is None and spec.timestamp_url:
        timestamper = timestamps.HTTPTimeStamper(spec.timestamp_url, timeout=TIMESTAMP_TIMEOUT_S)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=spec.meaning,
        name=spec.signer_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    source, target = Path(pdf_path), Path(out_path)
    buffer = io.BytesIO()
    try:
        with open(source, "rb") as fh:
            writer = IncrementalPdfFileWriter(fh, strict=False)
            _align_producer(writer)
            signers.sign_pdf(writer, meta, signer, timestamper=timestamper, output=buffer)  # type: ignore[arg-type]
    except timestamps.TimestampRequestError as exc:
        file, field = _origin(manifest_file, "timestamp_url", "--timestamp-url")
        raise InputError(Problem(file, field, f"time stamp from {spec.timestamp_url} failed: {exc}")) from None
    _replace(target, buffer.getvalue())
    return target


def _align_producer(writer) -> None:
    """Make the /Info Producer equal to the one pyHanko writes into the XMP metadata.

    pyHanko sets the XMP ``pdf:Producer`` to its own name but appends that name
    to an existing /Info ``/Producer``; PDF/A requires the two to agree.
    """
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    info_ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if info_ref is None or "/Metadata" not in writer.root:
        return
    info_ref.get_object()["/Producer"] = generic.TextStringObject(VENDOR)
    writer.mark_update(info_ref)


def _signer(credentials: Credentials):
    """A pyHanko signer for the loaded key, its certificate and the certificates shipped with it."""
    from pyhanko.sign import signers

    return signers.SimpleSigner(
        signing_cert=_asn1_cert(credentials.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            credentials.key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        cert_registry=_registry(credentials.chain),
    )


def sign_cms(
    data_path: Path | str,
    spec: SigningSpec,
    *,
    manifest_file: Path | str | None = None,
    out_path: Path | str | None = None,
    credentials: Credentials | None = None,
    head: ChainHead | None = None,
) -> Path:
    """Detached CMS SignedData (DER) over the bytes of ``data_path``, written to ``<data_path>.p7s``.

    Signed attributes: content type, signing time, message digest (SHA-256) and,
    when ``head`` is given, the audit log's chain head (:data:`CHAIN_HEAD_OID`);
    the signer's certificate is included so ``openssl cms -verify -CAfile`` needs only the CA.
    """
    credentials = credentials or load_credentials(spec, manifest_file)
    signer = _signer(credentials)  # first: importing pyHanko registers attribute names that asn1crypto caches on first use
    data = Path(data_path).read_bytes()
    now = asn1_cms.Time({"utc_time": _dt.datetime.now(_dt.timezone.utc)})
    attributes = [
        asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        asn1_cms.CMSAttribute({"type": "signing_time", "values": [now]}),
        asn1_cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(data).digest()]}),
    ]
    if head is not None:
        value = _ChainHeadValue({"entries": head.entries, "last_line_sha256": bytes.fromhex(head.last_line_sha256)})
        attributes.append(asn1_cms.CMSAttribute({"type": CHAIN_HEAD_OID, "values": [value]}))
    signed = asyncio.run(signer.async_sign_prescribed_attributes("sha256", asn1_cms.CMSAttributes(attributes)))
    target = Path(out_path) if out_path is not None else Path(f"{data_path}{CMS_SUFFIX}")
    _replace(target, signed.dump())
    return target


def signed_chain_head(signature: bytes | Path | str) -> ChainHead | None:
    """The chain head recorded in a detached CMS signature's signed attributes, or None when it records none.

    Only meaningful once :func:`verify_cms` found the signature valid (the attributes are what it signs).
    """
    der = signature if isinstance(signature, bytes) else Path(signature).read_bytes()
    try:
        signer_info = asn1_cms.ContentInfo.load(der)["content"]["signer_infos"][0]
        for attribute in signer_info["signed_attrs"]:
            if attribute["type"].dotted == CHAIN_HEAD_OID:
                value = attribute["values"][0].parse(_ChainHeadValue)
                return ChainHead(int(value["entries"].native), bytes(value["last_line_sha256"].native).hex())
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return None


@dataclass(frozen=True)
class SignedDossier:
    """The files a dossier signature wrote or replaced."""

    pdf: Path
    evidence_signature: Path
    signer: str


def sign_dossier(
    root: Path | str,
    spec: SigningSpec,
    *,
    log: AuditLog | None = None,
    manifest_file: Path | str | None = None,
    credentials: Credentials | None = None,
) -> SignedDossier:
    """Sign ``dossier.pdf`` (PAdES, in place) and ``evidence.json`` (CMS), then log a ``sign`` event.

    Call :func:`seal_dossier` afterwards (after the last audit-log event), so
    that SHA256SUMS covers the signed files and the final log. A dossier whose
    PDF is already signed is refused: a second signature would leave the first
    no longer covering the whole file.
    """
    folder = Path(root)
    pdf, evidence = folder / PDF_NAME, folder / EVIDENCE_NAME
    for path in (pdf, evidence):
        if not path.is_file():
            raise InputError(Problem(path, "", "missing: not a complete dossier"))
    if pdf_signature_count(pdf) > 0:
        raise InputError(Problem(pdf, "", "is already signed"))
    credentials = credentials or load_credentials(spec, manifest_file)  # fail before anything is written
    sign_pdf(pdf, spec, pdf, manifest_file=manifest_file, credentials=credentials)
    evidence_sig = sign_cms(evidence, spec, manifest_file=manifest_file, credentials=credentials)
    signer = _common_name(credentials.certificate)
    if log is not None:
        log.append(
            "sign",
            signer_name=spec.signer_name,
            meaning=spec.meaning,
            certificate_subject=credentials.certificate.subject.rfc4514_string(),
            certificate_sha256=_fingerprint(credentials.certificate),
            timestamp_url=spec.timestamp_url,
            files={
                PDF_NAME: _sha256(pdf),
                EVIDENCE_NAME: _sha256(evidence),
                evidence_sig.name: _sha256(evidence_sig),
            },
        )
    return SignedDossier(pdf, evidence_sig, signer)


def sign_existing_dossier(root: Path | str, spec: SigningSpec) -> SignedDossier:
    """``auditkit sign``: sign a finished, unsigned dossier after checking it is intact, then re-seal it.

    The dossier must verify as an unsigned one first (hashes, audit log,
    attachments), so that a signature never vouches for files changed after the run.
    """
    from auditkit.verify import verify_dossier

    folder = Path(root)
    report = verify_dossier(folder, allow_unsigned=True)
    if not report.ok:
        raise InputError([Problem(folder / row.item, "", f"does not verify: {row.detail}") for row in report.failures()])
    credentials = load_credentials(spec)
    signed = sign_dossier(folder, spec, log=AuditLog(folder / dossier_layout.AUDIT_LOG), credentials=credentials)
    seal_dossier(folder, spec, credentials=credentials)
    return signed


def seal_dossier(
    root: Path | str,
    spec: SigningSpec | None = None,
    *,
    manifest_file: Path | str | None = None,
    credentials: Credentials | None = None,
) -> Path:
    """Write SHA256SUMS over every file of the dossier and, when signing, its detached CMS signature.

    The signature also signs the audit log's chain head as it stands now (the log's
    last event must already be written); sealing again after appending to the log
    (as ``auditkit sign`` does) signs the new head.
    """
    sums = write_sums(root)
    if spec is not None:
        log = Path(root) / dossier_layout.AUDIT_LOG
        head = chain_head(log) if log.is_file() else None
        sign_cms(sums, spec, manifest_file=manifest_file, credentials=credentials, head=head)
    return sums


# --- verification -----------------------------------------------------------------------------


def verify_cms(
    data: bytes | Path | str, signature: bytes | Path | str, trust: list[x509.Certificate] | None = None
) -> SignatureCheck:
    """Validate a detached CMS signature over ``data`` (bytes or a file), against ``trust`` when given."""
    from pyhanko.sign.validation import async_validate_detached_cms

    content = data if isinstance(data, bytes) else Path(data).read_bytes()
    der = signature if isinstance(signature, bytes) else Path(signature).read_bytes()
    try:
        info = asn1_cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            return _unreadable("not a CMS SignedData")
        signed_data = info["content"]
        if len(signed_data["signer_infos"]) != 1:
            return _unreadable(f"expected one signer, found {len(signed_data['signer_infos'])}")
        with _quiet_pyhanko():
            status = asyncio.run(
                async_validate_detached_cms(content, signed_data, signer_validation_context=_context(trust))
            )
    except Exception as exc:  # a damaged signature can fail anywhere in parsing; that is a verdict, not a crash
        return _unreadable(f"cannot read the signature: {type(exc).__name__}: {exc}")
    return SignatureCheck(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=_trusted(status, trust),
        signer=_common_name(status.signing_cert),
        certificate_sha256=_fingerprint(status.signing_cert),
        signing_time=status.signer_reported_dt,
        timestamped=status.timestamp_validity is not None,
    )


def verify_pdf(path: Path | str, trust: list[x509.Certificate] | None = None) -> SignatureCheck:
    """Validate the PDF's single PAdES signature: intact, valid, trusted (when ``trust``), covering the whole file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    try:
        with open(path, "rb") as fh, _quiet_pyhanko():
            reader = PdfFileReader(fh, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                return _unreadable("no signature", absent=True)
            if len(signatures) != 1:
                return _unreadable(f"expected one signature, found {len(signatures)}")
            embedded = signatures[0]
            status = validate_pdf_signature(embedded, signer_validation_context=_context(trust))
            sig_object = embedded.sig_object
            reason, name = sig_object.get("/Reason"), sig_object.get("/Name")
            padding_ok = _zero_padded(bytes(sig_object["/Contents"]))
    except Exception as exc:  # a damaged PDF can fail anywhere in parsing; that is a verdict, not a crash
        return _unreadable(f"cannot read the PDF or its signature: {type(exc).__name__}: {exc}")
    if not padding_ok:
        return _unreadable("the unused space after the signature in /Contents is not zero (the file was altered)")
    return SignatureCheck(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=_trusted(status, trust),
        signer=_common_name(status.signing_cert),
        certificate_sha256=_fingerprint(status.signing_cert),
        signing_time=status.signer_reported_dt,
        coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
        reason=None if reason is None else str(reason),
        name=None if name is None else str(name),
        timestamped=status.timestamp_validity is not None,
    )


def _zero_padded(contents: bytes) -> bool:
    """True when every byte of the PDF's /Contents after the CMS structure is zero.

    Those bytes lie outside the signed byte range, so this is the only check that covers them.
    """
    used = len(asn1_cms.ContentInfo.load(contents).dump())
    return not contents[used:].strip(b"\x00")


def pdf_signature_count(path: Path | str) -> int:
    """How many signatures the PDF holds (0 for an unsigned one)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with open(path, "rb") as fh:
        return len(PdfFileReader(fh, strict=False).embedded_signatures)


#: Marker in SignatureCheck.problem for a signature that is not there at all.
ABSENT = "absent"


def _trusted(status, trust: list[x509.Certificate] | None) -> bool | None:
    """Trust verdict, or None when not asked for (no anchors) or not evaluated (signature broken)."""
    if trust is None or not (status.intact and status.valid):
        return None
    return bool(status.trusted)


def _unreadable(message: str, *, absent: bool = False) -> SignatureCheck:
    return SignatureCheck(intact=False, valid=False, trusted=None, problem=ABSENT if absent else message)


def _context(trust: list[x509.Certificate] | None):
    """A certificate validation context anchored at ``trust``, or None (no trust evaluation asked)."""
    from pyhanko_certvalidator import ValidationContext

    if trust is None:
        return None
    return ValidationContext(trust_roots=[_asn1_cert(c) for c in trust], allow_fetching=False)


def _registry(certs: tuple[x509.Certificate, ...]):
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return SimpleCertificateStore.from_certs([_asn1_cert(c) for c in certs])


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _common_name(cert: x509.Certificate | asn1_x509.Certificate | None) -> str:
    """The certificate subject's CN (or the whole subject when it has none)."""
    if cert is None:
        return ""
    if isinstance(cert, asn1_x509.Certificate):
        native = cert.subject.native
        return str(native.get("common_name", cert.subject.human_friendly))
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _fingerprint(cert: x509.Certificate | asn1_x509.Certificate | None) -> str:
    """SHA-256 of the certificate's DER encoding."""
    if cert is None:
        return ""
    der = cert.dump() if isinstance(cert, asn1_x509.Certificate) else cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """Silence pyHanko's log records while validating: a failed validation is reported as a verdict instead."""
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _replace(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, fsync it and rename it into place."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
