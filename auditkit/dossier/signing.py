"""Electronic signatures of a dossier: PAdES on the PDF, detached CMS on evidence.json and SHA256SUMS.

The PDF gets a PAdES signature (pyHanko, subfilter ETSI.CAdES.detached,
SHA-256) written as an incremental update, so the rendered PDF/A-3b bytes stay
untouched before it; it records the signer's printed name, the meaning of the
signature (as the reason) and the signing time, as 21 CFR 11.50 asks. With a
time-stamping authority configured the signature also carries an RFC 3161
signature time stamp (PAdES B-T). Other files get a detached CMS SignedData
(DER, binary content, signer certificate included) that ``openssl cms -verify``
accepts.

Sealing (:func:`seal_dossier`) comes last, after the audit log's last event: it
writes SHA256SUMS and, when signing, signs it with the audit log's chain head
(``auditkit.dossier.chain_attribute``) as a signed attribute of that signature.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import serialization

from auditkit.clock import utc_now
from auditkit.dossier import layout
from auditkit.dossier.auditlog import AuditLog, ChainHead, chain_head
from auditkit.dossier.certificates import asn1_certificate, common_name, fingerprint
from auditkit.dossier.chain_attribute import chain_head_attribute
from auditkit.dossier.checksums import write_sums
from auditkit.dossier.credentials import Credentials, SigningSpec, load_credentials, setting_origin
from auditkit.dossier.signature_check import pdf_signature_count
from auditkit.errors import InputError, Problem
from auditkit.report.html import Signature
from auditkit.fileio import sha256_file, write_atomic

#: Name of the PDF signature field.
FIELD_NAME = "auditkit"

#: Seconds to wait for a time-stamping authority before giving up.
TIMESTAMP_TIMEOUT_S = 10


@dataclass(frozen=True)
class SignedDossier:
    """The files a dossier signature wrote or replaced."""

    pdf: Path
    evidence_signature: Path
    signer: str


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
        file, field = setting_origin(manifest_file, "timestamp_url", "--timestamp-url")
        raise InputError(Problem(file, field, f"time stamp from {spec.timestamp_url} failed: {exc}")) from None
    return write_atomic(target, buffer.getvalue())


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
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return signers.SimpleSigner(
        signing_cert=asn1_certificate(credentials.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            credentials.key.private_bytes(  # type: ignore[attr-defined]
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([asn1_certificate(c) for c in credentials.chain]),
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
    when ``head`` is given, the audit log's chain head (``auditkit.dossier.chain_attribute``);
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
        attributes.append(chain_head_attribute(head))
    signed = asyncio.run(signer.async_sign_prescribed_attributes("sha256", asn1_cms.CMSAttributes(attributes)))
    source = Path(data_path)
    target = Path(out_path) if out_path is not None else source.with_name(layout.signature_of(source.name))
    return write_atomic(target, signed.dump())


def signature_block(spec: SigningSpec, credentials: Credentials) -> Signature:
    """The signature page's content for a signature about to be applied: printed name, meaning, time (now) and
    the certificate's common name and fingerprint (21 CFR 11.50; what ``pdfsig`` will show)."""
    return Signature(spec.signer_name, spec.meaning, utc_now(), certificate=common_name(credentials.certificate),
                     certificate_sha256=fingerprint(credentials.certificate))


def require_unsigned(folder: Path) -> None:
    """``InputError`` unless ``folder`` holds a complete dossier whose PDF carries no signature yet."""
    pdf, evidence = folder / layout.PDF, folder / layout.EVIDENCE
    for path in (pdf, evidence):
        if not path.is_file():
            raise InputError(Problem(path, "", "missing: not a complete dossier"))
    if pdf_signature_count(pdf) > 0:
        raise InputError(Problem(pdf, "", "is already signed"))


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
    require_unsigned(folder)
    pdf, evidence = folder / layout.PDF, folder / layout.EVIDENCE
    credentials = credentials or load_credentials(spec, manifest_file)  # fail before anything is written
    sign_pdf(pdf, spec, pdf, manifest_file=manifest_file, credentials=credentials)
    evidence_sig = sign_cms(evidence, spec, manifest_file=manifest_file, credentials=credentials)
    signer = common_name(credentials.certificate)
    if log is not None:
        log.append(
            "sign",
            signer_name=spec.signer_name,
            meaning=spec.meaning,
            certificate_subject=credentials.certificate.subject.rfc4514_string(),
            certificate_sha256=fingerprint(credentials.certificate),
            timestamp_url=spec.timestamp_url,
            files={
                layout.PDF: sha256_file(pdf),
                layout.EVIDENCE: sha256_file(evidence),
                evidence_sig.name: sha256_file(evidence_sig),
            },
        )
    return SignedDossier(pdf, evidence_sig, signer)


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
        log = Path(root) / layout.AUDIT_LOG
        head = chain_head(log) if log.is_file() else None
        sign_cms(sums, spec, manifest_file=manifest_file, credentials=credentials, head=head)
    return sums
