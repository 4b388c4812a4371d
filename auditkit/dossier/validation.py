"""``auditkit verify``: check every hash and signature of a dossier and say which file fails.

Checks, in order: ``evidence.json`` parses as evidence; every file in its
``files`` map has the recorded SHA-256; SHA256SUMS matches the disk (no file
changed, missing or added); the detached CMS signatures over ``evidence.json``
and SHA256SUMS; the PAdES signature of ``dossier.pdf`` (intact, valid, covering
the whole file, trusted when a CA is given); the PDF's attached ``evidence.json``
is byte-identical to the one on disk (so a PDF from another audit is caught) and
its attached ``audit.log`` is the beginning of the one on disk (a PDF without
either attachment fails); the audit-log hash chain, and that the log ends at the
chain head signed with SHA256SUMS (so entries appended after sealing are named
even when SHA256SUMS was rewritten); that the folder holds nothing but the dossier
(``auditkit.dossier.layout``: no extra file, folder, symbolic link); and that one
certificate made all the signatures. Every row names the file it is about; the
dossier verifies only when no row fails.

This module reads signatures but never makes them: signing builds on it, not the reverse.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cryptography import x509

from auditkit.dossier import layout
from auditkit.dossier.auditlog import compare_head, verify_chain
from auditkit.dossier.certificates import load_trust
from auditkit.dossier.chain_attribute import signed_chain_head
from auditkit.dossier.checksums import FileStatus, check_sums, read_sums
from auditkit.dossier.pdf_attachments import pdf_attachments
from auditkit.dossier.signature_check import SignatureCheck, SignatureState, verify_cms, verify_pdf
from auditkit.errors import InputError, Problem
from auditkit.evidence import Evidence
from auditkit.fileio import sha256_file

Anchors = list[x509.Certificate] | None


@enum.unique
class RowStatus(enum.StrEnum):
    """The verdict of one row of the verify table (printed as its value)."""

    OK = "ok"
    FAIL = "fail"
    ABSENT = "absent"  # a signature that is not there: fails unless unsigned dossiers are allowed


@dataclass(frozen=True)
class VerifyRow:
    """One finding: the file (or aspect) it is about, its status, and why."""

    item: str
    status: RowStatus
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """All findings about one dossier; ``ok`` only when nothing failed (and, unless allowed, nothing is unsigned)."""

    root: Path
    rows: tuple[VerifyRow, ...] = ()
    allow_unsigned: bool = False

    @property
    def ok(self) -> bool:
        """The dossier verifies: there is at least one row and every row passes."""
        return bool(self.rows) and all(self._passes(r) for r in self.rows)

    def failures(self) -> list[VerifyRow]:
        """Rows that make the dossier fail verification."""
        return [r for r in self.rows if not self._passes(r)]

    def _passes(self, row: VerifyRow) -> bool:
        """An ok row passes; an absent signature passes only when unsigned dossiers are allowed."""
        return row.status is RowStatus.OK or (row.status is RowStatus.ABSENT and self.allow_unsigned)


@dataclass
class _Findings:
    """The rows found so far, in the order the checks add them."""

    rows: list[VerifyRow] = field(default_factory=list)

    def add(self, item: str, ok: bool, detail: str) -> None:
        """An ok or failing row about ``item``."""
        self.rows.append(VerifyRow(item, RowStatus.OK if ok else RowStatus.FAIL, detail))

    def absent(self, item: str, detail: str) -> None:
        """A row saying the signature ``item`` is not there."""
        self.rows.append(VerifyRow(item, RowStatus.ABSENT, detail))

    def failing_items(self) -> set[str]:
        """The items of every failing row so far."""
        return {row.item for row in self.rows if row.status is RowStatus.FAIL}


def verify_dossier(root: Path | str, trust: Path | str | None = None, *, allow_unsigned: bool = False) -> VerifyReport:
    """Verify the dossier in ``root``; ``trust`` is a PEM file of trusted CA certificates.

    A missing folder or an unreadable trust file is bad input (InputError).
    Signatures that are not there are ``absent`` rows, which fail unless
    ``allow_unsigned``; a dossier with some signatures but not all always fails.
    """
    folder = Path(root)
    if not folder.is_dir():
        raise InputError(Problem(folder, "", "not a folder (expected a dossier written by `auditkit run`)"))
    anchors = load_trust(trust) if trust is not None else None
    found = _Findings()
    evidence_files = _check_evidence(folder, found)
    _check_listed_files(folder, evidence_files, found)
    _check_sums(folder, found)
    _check_layout(folder, found)
    evidence_sig = _check_cms(folder, layout.EVIDENCE, anchors, found)
    sums_sig = _check_cms(folder, layout.SUMS, anchors, found)
    signatures = {
        layout.EVIDENCE_SIGNATURE: evidence_sig,
        layout.SUMS_SIGNATURE: sums_sig,
        layout.PDF: _check_pdf_signature(folder, anchors, found),
    }
    _check_attachments(folder, found, evidence_changed=evidence_sig is not None and evidence_sig.data_changed)
    _check_audit_log(folder, found)
    _check_signed_head(folder, sums_sig, found)
    _check_signatures_agree(signatures, found)
    return VerifyReport(folder, tuple(found.rows), allow_unsigned)


# --- the checks -----------------------------------------------------------------------------


def _check_evidence(folder: Path, found: _Findings) -> dict[str, str]:
    """``evidence.json`` reads as Evidence; returns its ``files`` map (empty when it cannot be read)."""
    path = folder / layout.EVIDENCE
    if not path.is_file():
        found.add(layout.EVIDENCE, False, "missing")
        return {}
    files: dict[str, str] = {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("files"), dict):
            files = raw["files"]
        Evidence.model_validate(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        found.add(layout.EVIDENCE, False, f"not valid evidence: {' '.join(str(exc).split())[:200]}")
        return files
    found.add(layout.EVIDENCE, True, f"valid evidence; lists {len(files)} file(s)")
    return files


def _check_listed_files(folder: Path, files: dict[str, str], found: _Findings) -> None:
    """Every file in evidence.json's ``files`` map has the recorded SHA-256."""
    for name in sorted(files):
        path = _inside(folder, name)
        if path is None:
            found.add(name, False, f"{layout.EVIDENCE} lists a path outside the dossier")
        elif not path.is_file():
            found.add(name, False, f"missing (listed in {layout.EVIDENCE})")
        elif sha256_file(path) != files[name]:
            found.add(name, False, f"sha256 differs from {layout.EVIDENCE}")
        else:
            found.add(name, True, f"sha256 matches {layout.EVIDENCE}")


_SUMS_DETAIL = {
    FileStatus.OK: f"sha256 matches {layout.SUMS}",
    FileStatus.CHANGED: f"sha256 differs from {layout.SUMS}",
    FileStatus.MISSING: f"missing (listed in {layout.SUMS})",
    FileStatus.UNLISTED: f"not listed in {layout.SUMS} (added after sealing)",
}


def _check_sums(folder: Path, found: _Findings) -> None:
    """SHA256SUMS against the disk: one row per file."""
    if not (folder / layout.SUMS).is_file():
        found.add(layout.SUMS, False, "missing")
        return
    try:
        results = check_sums(folder)
    except (ValueError, UnicodeDecodeError) as exc:
        found.add(layout.SUMS, False, f"unreadable: {exc}")
        return
    listed = sum(status is not FileStatus.UNLISTED for _, status in results)
    found.add(layout.SUMS, True, f"readable; lists {listed} file(s)")
    for name, status in results:
        found.add(name, status is FileStatus.OK, _SUMS_DETAIL[status])


_STRAY_DETAIL = {
    layout.StrayKind.FILE: "not part of a dossier (added after sealing)",
    layout.StrayKind.FOLDER: f"a folder that is not part of a dossier (it holds no file {layout.SUMS} lists)",
    layout.StrayKind.LINK: "a symbolic link: a dossier holds its own files, never links",
    layout.StrayKind.OTHER: "a special file (device, pipe or socket) that is not part of a dossier",
}


def _check_layout(folder: Path, found: _Findings) -> None:
    """Nothing but the dossier: one failing row per extra file, folder, link or special file.

    Files that the SHA256SUMS rows already fail (as not listed) are not named twice;
    a link or folder is named as such even where a listed file should be.
    """
    try:
        listed: set[str] | None = set(read_sums(folder / layout.SUMS))
    except (OSError, ValueError, UnicodeDecodeError):
        listed = None  # the SHA256SUMS row fails; judge only what needs no list
    failing = found.failing_items()
    for stray in layout.strays(folder, listed):
        if stray.kind is not layout.StrayKind.FILE or stray.path not in failing:
            found.add(stray.path, False, _STRAY_DETAIL[stray.kind])


def _check_cms(folder: Path, data_name: str, anchors: Anchors, found: _Findings) -> SignatureCheck | None:
    """The detached CMS signature ``<data_name>.p7s``; a changed data file is named itself.

    Returns None when there is nothing to validate (no signature, or no data file)."""
    sig_name = layout.signature_of(data_name)
    data, sig = folder / data_name, folder / sig_name
    if not sig.is_file():
        found.absent(sig_name, f"no signature over {data_name}")
        return None
    if not data.is_file():
        found.add(data_name, False, f"missing, but {sig_name} signs it")
        return None
    check = verify_cms(data, sig, anchors)
    item = data_name if check.data_changed else sig_name
    prefix = f"changed since it was signed ({sig_name}): " if check.data_changed else f"signature over {data_name}: "
    found.add(item, check.ok, prefix + check.describe())
    return check


def _check_pdf_signature(folder: Path, anchors: Anchors, found: _Findings) -> SignatureCheck | None:
    """The PAdES signature of dossier.pdf, with the printed name, meaning and time it records."""
    path = folder / layout.PDF
    if not path.is_file():
        found.add(layout.PDF, False, "missing")
        return None
    check = verify_pdf(path, anchors)
    if check.state is SignatureState.ABSENT:
        found.absent(layout.PDF, "no PAdES signature")
        return None
    detail = f"PAdES signature: {check.describe()}"
    if check.read:
        detail += f"; name {check.name!r}, meaning {check.reason!r}"
    found.add(layout.PDF, check.ok, detail)
    return check


def _check_attachments(folder: Path, found: _Findings, *, evidence_changed: bool) -> None:
    """The PDF carries this dossier's evidence.json, and its audit.log is the start of the one on disk.

    A mismatch is blamed on evidence.json when its own signature shows it changed, else on the PDF;
    a PDF without either attachment fails.
    """
    pdf, evidence, log = folder / layout.PDF, folder / layout.EVIDENCE, folder / layout.AUDIT_LOG
    if not pdf.is_file():
        return
    try:
        attached = pdf_attachments(pdf)
    except Exception as exc:  # a damaged PDF can fail anywhere in parsing; that is a verdict
        found.add(layout.PDF, False, f"cannot read its attachments: {type(exc).__name__}: {exc}")
        return
    _check_attached_evidence(attached, evidence, found, evidence_changed=evidence_changed)
    _check_attached_log(attached, log, found)


def _check_attached_evidence(
    attached: dict[str, bytes], evidence: Path, found: _Findings, *, evidence_changed: bool
) -> None:
    """The evidence.json attached to the PDF is byte-identical to the one on disk."""
    name = layout.EVIDENCE
    if name not in attached:
        found.add(layout.PDF, False, f"has no {name} attachment")
    elif evidence.is_file() and attached[name] == evidence.read_bytes():
        found.add(layout.PDF, True, f"attached {name} is identical to {name}")
    elif evidence_changed:
        found.add(name, False, f"differs from the {name} attached to {layout.PDF}")
    else:
        found.add(layout.PDF, False, f"attached {name} differs from {name} (a PDF of another audit?)")


def _check_attached_log(attached: dict[str, bytes], log: Path, found: _Findings) -> None:
    """The audit.log on disk begins with the one attached to the PDF (a missing log on disk has its own row)."""
    name = layout.AUDIT_LOG
    if name not in attached:
        found.add(layout.PDF, False, f"has no {name} attachment")
    elif log.is_file():
        prefix = log.read_bytes().startswith(attached[name])
        found.add(
            name,
            prefix,
            f"begins with the {name} attached to {layout.PDF}" if prefix
            else f"does not begin with the {name} attached to {layout.PDF} (earlier entries changed)",
        )


def _check_audit_log(folder: Path, found: _Findings) -> None:
    """The audit log's hash chain."""
    path = folder / layout.AUDIT_LOG
    if not path.is_file():
        found.add(layout.AUDIT_LOG, False, "missing")
        return
    chain = verify_chain(path)
    found.add(layout.AUDIT_LOG, chain.ok, f"hash chain: {chain.message}")


def _check_signed_head(folder: Path, sums_signature: SignatureCheck | None, found: _Findings) -> None:
    """The audit log ends at the chain head that the signature over SHA256SUMS records.

    Nothing to compare when the dossier is unsigned, the signature itself fails (its
    own row says so) or the log is missing (its own row says so). The head is trusted
    as far as that signature is: it is one of the attributes the signature covers.
    """
    log = folder / layout.AUDIT_LOG
    if sums_signature is None or not sums_signature.read or not sums_signature.valid or not log.is_file():
        return
    head = signed_chain_head(folder / layout.SUMS_SIGNATURE)
    if head is None:
        found.add(layout.SUMS_SIGNATURE, False, "records no audit-log chain head (sealed by an older auditkit?)")
        return
    comparison = compare_head(log, head)
    found.add(layout.AUDIT_LOG, comparison.ok, f"signed chain head: {comparison.describe()}")


def _check_signatures_agree(signatures: dict[str, SignatureCheck | None], found: _Findings) -> None:
    """One certificate made every signature; a dossier signed only in part fails."""
    present = {name: c for name, c in signatures.items() if c is not None}
    missing = [name for name, c in signatures.items() if c is None]
    if not present:
        return
    for name in missing:
        found.add(name, False, "signature missing while the dossier's other files are signed")
    readable = {name: c for name, c in present.items() if c.read}
    if not readable:
        return
    counts = Counter(c.certificate_sha256 for c in readable.values())
    reference = next(c for c in readable.values() if counts[c.certificate_sha256] == max(counts.values()))
    odd = [name for name, c in readable.items() if c.certificate_sha256 != reference.certificate_sha256]
    for name in odd:
        found.add(name, False, f"signed with another certificate ({readable[name].signer!r}) than the other signatures")
    if not odd:
        fingerprint = reference.certificate_sha256[:16]
        found.add("signer", True, f"{len(readable)} signature(s) by {reference.signer!r} (certificate sha256 {fingerprint}…)")


def _inside(folder: Path, name: str) -> Path | None:
    """``folder/name`` when ``name`` is a relative path that stays inside the folder, else None."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return folder.joinpath(*pure.parts)


# --- the table ---------------------------------------------------------------------------------

_COLOUR = {RowStatus.OK: "green", RowStatus.FAIL: "red", RowStatus.ABSENT: "yellow"}


def report_table(report: VerifyReport):
    """The report as a rich Table (item, status, detail) for the command line.

    Every cell and the title are ``Text``: file names and details are data, never markup or emoji codes."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"auditkit verify {report.root}"), show_lines=False)
    table.add_column("item", overflow="fold")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for row in report.rows:
        table.add_row(Text(row.item), Text(row.status.value, style=_COLOUR[row.status]), Text(row.detail))
    return table
