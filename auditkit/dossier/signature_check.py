"""Validating one signature of a dossier: a detached CMS signature or the PDF's PAdES signature.

The outcome is a :class:`SignatureCheck`: whether a signature was there and could be
read at all (:class:`SignatureState`) and, once read, whether it is intact, valid,
trusted and (for the PDF) covers the whole file. A signature that cannot be parsed is a
verdict, never a crash.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms as asn1_cms
from cryptography import x509

from auditkit.dossier.certificates import asn1_certificate, common_name, fingerprint

#: pyHanko's name of the coverage a PDF signature must have.
ENTIRE_FILE = "ENTIRE_FILE"


@enum.unique
class SignatureState(enum.Enum):
    """Whether a signature was found and read; only a read one carries verdicts on integrity and trust."""

    READ = "read"
    ABSENT = "absent"  # there is no signature at all
    UNREADABLE = "unreadable"  # there is one, but it cannot be parsed or is malformed


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of validating one signature.

    ``trusted`` is None when no trust anchor was given or the signature is
    broken (trust is then not evaluated); ``coverage`` is only set
    for PDF signatures (``ENTIRE_FILE`` is required); ``error`` says why an
    ``UNREADABLE`` signature could not be read.
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
    state: SignatureState = SignatureState.READ
    error: str = ""

    @classmethod
    def absent(cls) -> "SignatureCheck":
        """The outcome for a file that holds no signature."""
        return cls(intact=False, valid=False, trusted=None, state=SignatureState.ABSENT)

    @classmethod
    def unreadable(cls, error: str) -> "SignatureCheck":
        """The outcome for a signature that cannot be read, and why."""
        return cls(intact=False, valid=False, trusted=None, state=SignatureState.UNREADABLE, error=error)

    @property
    def read(self) -> bool:
        """The signature was found and parsed, so its intact/valid/trusted verdicts mean something."""
        return self.state is SignatureState.READ

    @property
    def problem(self) -> str | None:
        """Why the signature has no verdicts, in words (``absent``, or the reading error); None once read."""
        if self.state is SignatureState.UNREADABLE:
            return self.error
        return None if self.read else self.state.value

    @property
    def data_changed(self) -> bool:
        """The signature itself is sound but the signed data no longer matches it."""
        return self.read and self.valid and not self.intact

    @property
    def ok(self) -> bool:
        """Intact and valid, trusted when a trust anchor was given, covering the whole PDF."""
        return (
            self.read
            and self.intact
            and self.valid
            and self.trusted is not False
            and self.coverage in (None, ENTIRE_FILE)
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
            parts.append("covers the whole file" if self.coverage == ENTIRE_FILE else f"coverage {self.coverage}")
        if self.timestamped:
            parts.append("time-stamped")
        who = f"signer {self.signer!r}"
        if self.signing_time is not None:
            who += f" at {self.signing_time.isoformat()}"
        return ", ".join(parts) + f"; {who}"


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
            return SignatureCheck.unreadable("not a CMS SignedData")
        signed_data = info["content"]
        if len(signed_data["signer_infos"]) != 1:
            return SignatureCheck.unreadable(f"expected one signer, found {len(signed_data['signer_infos'])}")
        with _quiet_pyhanko():
            status = asyncio.run(
                async_validate_detached_cms(content, signed_data, signer_validation_context=_context(trust))
            )
    except Exception as exc:  # a damaged signature can fail anywhere in parsing; that is a verdict, not a crash
        return SignatureCheck.unreadable(f"cannot read the signature: {type(exc).__name__}: {exc}")
    return _verdicts(status, trust)


def verify_pdf(path: Path | str, trust: list[x509.Certificate] | None = None) -> SignatureCheck:
    """Validate the PDF's single PAdES signature: intact, valid, trusted (when ``trust``), covering the whole file."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    try:
        with open(path, "rb") as fh, _quiet_pyhanko():
            reader = PdfFileReader(fh, strict=False)
            signatures = reader.embedded_signatures
            if not signatures:
                return SignatureCheck.absent()
            if len(signatures) != 1:
                return SignatureCheck.unreadable(f"expected one signature, found {len(signatures)}")
            embedded = signatures[0]
            status = validate_pdf_signature(embedded, signer_validation_context=_context(trust))
            sig_object = embedded.sig_object
            reason, name = sig_object.get("/Reason"), sig_object.get("/Name")
            padding_ok = _zero_padded(bytes(sig_object["/Contents"]))
    except Exception as exc:  # a damaged PDF can fail anywhere in parsing; that is a verdict, not a crash
        return SignatureCheck.unreadable(f"cannot read the PDF or its signature: {type(exc).__name__}: {exc}")
    if not padding_ok:
        return SignatureCheck.unreadable("the unused space after the signature in /Contents is not zero (the file was altered)")
    return _verdicts(
        status,
        trust,
        coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
        reason=None if reason is None else str(reason),
        name=None if name is None else str(name),
    )


def pdf_signature_count(path: Path | str) -> int:
    """How many signatures the PDF holds (0 for an unsigned one)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with open(path, "rb") as fh:
        return len(PdfFileReader(fh, strict=False).embedded_signatures)


def _zero_padded(contents: bytes) -> bool:
    """True when every byte of the PDF's /Contents after the CMS structure is zero.

    Those bytes lie outside the signed byte range, so this is the only check that covers them.
    """
    used = len(asn1_cms.ContentInfo.load(contents).dump())
    return not contents[used:].strip(b"\x00")


def _verdicts(
    status,
    trust: list[x509.Certificate] | None,
    *,
    coverage: str | None = None,
    reason: str | None = None,
    name: str | None = None,
) -> SignatureCheck:
    """The outcome for a signature pyHanko read and validated (``status``); the PDF-only fields when given."""
    return SignatureCheck(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=_trusted(status, trust),
        signer=common_name(status.signing_cert),
        certificate_sha256=fingerprint(status.signing_cert),
        signing_time=status.signer_reported_dt,
        coverage=coverage,
        reason=reason,
        name=name,
        timestamped=status.timestamp_validity is not None,
    )


def _trusted(status, trust: list[x509.Certificate] | None) -> bool | None:
    """Trust verdict, or None when not asked for (no anchors) or not evaluated (signature broken)."""
    if trust is None or not (status.intact and status.valid):
        return None
    return bool(status.trusted)


def _context(trust: list[x509.Certificate] | None):
    """A certificate validation context anchored at ``trust``, or None (no trust evaluation asked)."""
    from pyhanko_certvalidator import ValidationContext

    if trust is None:
        return None
    return ValidationContext(trust_roots=[asn1_certificate(c) for c in trust], allow_fetching=False)


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
