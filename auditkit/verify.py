"""``auditkit verify``: check every hash and signature of a dossier and say which file fails.

Checks, in order: ``evidence.json`` parses as evidence; every file in its
``files`` map has the recorded SHA-256; SHA256SUMS matches the disk (no file
changed, missing or added); the detached CMS signatures over ``evidence.json``
and SHA256SUMS; the PAdES signature of ``dossier.pdf`` (intact, valid, covering
the whole file, trusted when a CA is given); the PDF's attached ``evidence.json``
is byte-identical to the one on disk (so a PDF from another audit is caught) and
its attached ``audit.log`` is the beginning of the one on disk; the audit-log
hash chain, and that the log ends at the chain head signed with SHA256SUMS (so
entries appended after sealing are named even when SHA256SUMS was rewritten);
that the folder holds nothing but the dossier (``auditkit.dossier_layout``: no
extra file, folder, symbolic link); and that one certificate made all the
signatures. Every row names the file it is about; the dossier verifies only when
no row fails.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from auditkit import dossier_layout
from auditkit.auditlog import compare_head, verify_chain
from auditkit.checksums import (
    CHANGED,
    MISSING,
    OK,
    SUMS_NAME,
    SUMS_SIGNATURE_NAME,
    UNLISTED,
    check_sums,
    file_sha256,
    read_sums,
)
from auditkit.errors import InputError, Problem
from auditkit.evidence import Evidence
from auditkit.report.sign import (
    ABSENT,
    CMS_SUFFIX,
    EVIDENCE_NAME,
    PDF_NAME,
    SignatureCheck,
    load_trust,
    signed_chain_head,
    verify_cms,
    verify_pdf,
)

AUDIT_LOG_NAME = dossier_layout.AUDIT_LOG

#: Row statuses.
STATUS_OK, STATUS_FAIL, STATUS_ABSENT = "ok", "fail", "absent"


@dataclass(frozen=True)
class VerifyRow:
    """One finding: the file (or aspect) it is about, ok/fail/absent, and why."""

    item: str
    status: str
    detail: str


@dataclass
class VerifyReport:
    """All findings about one dossier; ``ok`` only when nothing failed (and, unless allowed, nothing is unsigned)."""

    root: Path
    rows: list[VerifyRow] = field(default_factory=list)
    allow_unsigned: bool = False

    def add(self, item: str, ok: bool, detail: str) -> None:
        self.rows.append(VerifyRow(item, STATUS_OK if ok else STATUS_FAIL, detail))

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(self._passes(r) for r in self.rows)

    def failures(self) -> list[VerifyRow]:
        """Rows that make the dossier fail verification."""
        return [r for r in self.rows if not self._passes(r)]

    def _passes(self, row: VerifyRow) -> bool:
        return row.status == STATUS_OK or (row.status == STATUS_ABSENT and self.allow_unsigned)


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
    report = VerifyReport(folder, allow_unsigned=allow_unsigned)
    evidence_files = _check_evidence(folder, report)
    _check_listed_files(folder, evidence_files, report)
    _check_sums(folder, report)
    _check_layout(folder, report)
    evidence_sig = _check_cms(folder, EVIDENCE_NAME, anchors, report)
    sums_sig = _check_cms(folder, SUMS_NAME, anchors, report)
    signatures = {
        f"{EVIDENCE_NAME}{CMS_SUFFIX}": evidence_sig,
        SUMS_SIGNATURE_NAME: sums_sig,
        PDF_NAME: _check_pdf_signature(folder, anchors, report),
    }
    _check_attachments(folder, report, evidence_changed=evidence_sig is not None and _data_changed(evidence_sig))
    _check_audit_log(folder, report)
    _check_signed_head(folder, sums_sig, report)
    _check_signatures_agree(signatures, report)
    return report


# --- the checks -----------------------------------------------------------------------------


def _check_evidence(folder: Path, report: VerifyReport) -> dict[str, str]:
    """``evidence.json`` reads as Evidence; returns its ``files`` map (empty when it cannot be read)."""
    path = folder / EVIDENCE_NAME
    if not path.is_file():
        report.add(EVIDENCE_NAME, False, "missing")
        return {}
    files: dict[str, str] = {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("files"), dict):
            files = raw["files"]
        Evidence.model_validate(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        report.add(EVIDENCE_NAME, False, f"not valid evidence: {' '.join(str(exc).split())[:200]}")
        return files
    report.add(EVIDENCE_NAME, True, f"valid evidence; lists {len(files)} file(s)")
    return files


def _check_listed_files(folder: Path, files: dict[str, str], report: VerifyReport) -> None:
    """Every file in evidence.json's ``files`` map has the recorded SHA-256."""
    for name in sorted(files):
        path = _inside(folder, name)
        if path is None:
            report.add(name, False, "evidence.json lists a path outside the dossier")
        elif not path.is_file():
            report.add(name, False, "missing (listed in evidence.json)")
        elif file_sha256(path) != files[name]:
            report.add(name, False, "sha256 differs from evidence.json")
        else:
            report.add(name, True, "sha256 matches evidence.json")


_SUMS_DETAIL = {
    OK: "sha256 matches SHA256SUMS",
    CHANGED: "sha256 differs from SHA256SUMS",
    MISSING: "missing (listed in SHA256SUMS)",
    UNLISTED: "not listed in SHA256SUMS (added after sealing)",
}


def _check_sums(folder: Path, report: VerifyReport) -> None:
    """SHA256SUMS against the disk: one row per file."""
    if not (folder / SUMS_NAME).is_file():
        report.add(SUMS_NAME, False, "missing")
        return
    try:
        results = check_sums(folder)
    except (ValueError, UnicodeDecodeError) as exc:
        report.add(SUMS_NAME, False, f"unreadable: {exc}")
        return
    report.add(SUMS_NAME, True, f"readable; lists {sum(status != UNLISTED for _, status in results)} file(s)")
    for name, status in results:
        report.add(name, status == OK, _SUMS_DETAIL[status])


_STRAY_DETAIL = {
    dossier_layout.StrayKind.FILE: "not part of a dossier (added after sealing)",
    dossier_layout.StrayKind.FOLDER: "a folder that is not part of a dossier (it holds no file SHA256SUMS lists)",
    dossier_layout.StrayKind.LINK: "a symbolic link: a dossier holds its own files, never links",
    dossier_layout.StrayKind.OTHER: "a special file (device, pipe or socket) that is not part of a dossier",
}


def _check_layout(folder: Path, report: VerifyReport) -> None:
    """Nothing but the dossier: one failing row per extra file, folder, link or special file.

    Files that the SHA256SUMS rows already fail (as not listed) are not named twice;
    a link or folder is named as such even where a listed file should be.
    """
    try:
        listed: set[str] | None = set(read_sums(folder / SUMS_NAME))
    except (OSError, ValueError, UnicodeDecodeError):
        listed = None  # the SHA256SUMS row fails; judge only what needs no list
    failing = {row.item for row in report.rows if row.status == STATUS_FAIL}
    for stray in dossier_layout.strays(folder, listed):
        if stray.kind is not dossier_layout.StrayKind.FILE or stray.path not in failing:
            report.add(stray.path, False, _STRAY_DETAIL[stray.kind])


def _check_cms(folder: Path, data_name: str, anchors, report: VerifyReport) -> SignatureCheck | None:
    """The detached CMS signature ``<data_name>.p7s``; a changed data file is named itself."""
    sig_name = f"{data_name}{CMS_SUFFIX}"
    data, sig = folder / data_name, folder / sig_name
    if not sig.is_file():
        report.rows.append(VerifyRow(sig_name, STATUS_ABSENT, f"no signature over {data_name}"))
        return None
    if not data.is_file():
        report.add(data_name, False, f"missing, but {sig_name} signs it")
        return None
    check = verify_cms(data, sig, anchors)
    changed_data = _data_changed(check)
    item = data_name if changed_data else sig_name
    prefix = f"changed since it was signed ({sig_name}): " if changed_data else f"signature over {data_name}: "
    report.add(item, check.ok, prefix + check.describe())
    return check


def _data_changed(check: SignatureCheck) -> bool:
    """The signature itself is sound but the signed file no longer matches it."""
    return check.problem is None and check.valid and not check.intact


def _check_pdf_signature(folder: Path, anchors, report: VerifyReport) -> SignatureCheck | None:
    """The PAdES signature of dossier.pdf, with the printed name, meaning and time it records."""
    path = folder / PDF_NAME
    if not path.is_file():
        report.add(PDF_NAME, False, "missing")
        return None
    check = verify_pdf(path, anchors)
    if check.problem == ABSENT:
        report.rows.append(VerifyRow(PDF_NAME, STATUS_ABSENT, "no PAdES signature"))
        return None
    detail = f"PAdES signature: {check.describe()}"
    if check.problem is None:
        detail += f"; name {check.name!r}, meaning {check.reason!r}"
    report.add(PDF_NAME, check.ok, detail)
    return check


def _check_attachments(folder: Path, report: VerifyReport, *, evidence_changed: bool) -> None:
    """The PDF carries this dossier's evidence.json, and its audit.log is the start of the one on disk.

    A mismatch is blamed on evidence.json when its own signature shows it changed, else on the PDF.
    """
    pdf, evidence, log = folder / PDF_NAME, folder / EVIDENCE_NAME, folder / AUDIT_LOG_NAME
    if not pdf.is_file():
        return
    try:
        attached = pdf_attachments(pdf)
    except Exception as exc:  # a damaged PDF can fail anywhere in parsing; that is a verdict
        report.add(PDF_NAME, False, f"cannot read its attachments: {type(exc).__name__}: {exc}")
        return
    if EVIDENCE_NAME not in attached:
        report.add(PDF_NAME, False, "has no evidence.json attachment")
    elif evidence.is_file() and attached[EVIDENCE_NAME] == evidence.read_bytes():
        report.add(PDF_NAME, True, "attached evidence.json is identical to evidence.json")
    elif evidence_changed:
        report.add(EVIDENCE_NAME, False, "differs from the evidence.json attached to dossier.pdf")
    else:
        report.add(PDF_NAME, False, "attached evidence.json differs from evidence.json (a PDF of another audit?)")
    if AUDIT_LOG_NAME in attached and log.is_file():
        prefix = log.read_bytes().startswith(attached[AUDIT_LOG_NAME])
        report.add(
            AUDIT_LOG_NAME,
            prefix,
            "begins with the audit.log attached to dossier.pdf" if prefix
            else "does not begin with the audit.log attached to dossier.pdf (earlier entries changed)",
        )


def _check_audit_log(folder: Path, report: VerifyReport) -> None:
    """The audit log's hash chain."""
    path = folder / AUDIT_LOG_NAME
    if not path.is_file():
        report.add(AUDIT_LOG_NAME, False, "missing")
        return
    ok, _line, message = verify_chain(path)
    report.add(AUDIT_LOG_NAME, ok, f"hash chain: {message}")


def _check_signed_head(folder: Path, sums_signature: SignatureCheck | None, report: VerifyReport) -> None:
    """The audit log ends at the chain head that the signature over SHA256SUMS records.

    Nothing to compare when the dossier is unsigned, the signature itself fails (its
    own row says so) or the log is missing (its own row says so). The head is trusted
    as far as that signature is: it is one of the attributes the signature covers.
    """
    log = folder / AUDIT_LOG_NAME
    if sums_signature is None or sums_signature.problem is not None or not sums_signature.valid or not log.is_file():
        return
    head = signed_chain_head(folder / SUMS_SIGNATURE_NAME)
    if head is None:
        report.add(SUMS_SIGNATURE_NAME, False, "records no audit-log chain head (sealed by an older auditkit?)")
        return
    comparison = compare_head(log, head)
    report.add(AUDIT_LOG_NAME, comparison.ok, f"signed chain head: {comparison.describe()}")


def _check_signatures_agree(signatures: dict[str, SignatureCheck | None], report: VerifyReport) -> None:
    """One certificate made every signature; a dossier signed only in part fails."""
    present = {name: c for name, c in signatures.items() if c is not None}
    missing = [name for name, c in signatures.items() if c is None]
    if not present:
        return
    for name in missing:
        report.add(name, False, "signature missing while the dossier's other files are signed")
    readable = {name: c for name, c in present.items() if c.problem is None}
    if not readable:
        return
    counts = Counter(c.certificate_sha256 for c in readable.values())
    reference = next(c for c in readable.values() if counts[c.certificate_sha256] == max(counts.values()))
    odd = [name for name, c in readable.items() if c.certificate_sha256 != reference.certificate_sha256]
    for name in odd:
        report.add(name, False, f"signed with another certificate ({readable[name].signer!r}) than the other signatures")
    if not odd:
        fingerprint = reference.certificate_sha256[:16]
        report.add("signer", True, f"{len(readable)} signature(s) by {reference.signer!r} (certificate sha256 {fingerprint}…)")


# --- helpers ----------------------------------------------------------------------------------


def _inside(folder: Path, name: str) -> Path | None:
    """``folder/name`` when ``name`` is a relative path that stays inside the folder, else None."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return None
    return folder.joinpath(*pure.parts)


def pdf_attachments(path: Path | str) -> dict[str, bytes]:
    """The embedded files of a PDF (``/Names /EmbeddedFiles`` name tree), by name, decoded."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    found: dict[str, bytes] = {}
    with open(path, "rb") as fh:
        root = PdfFileReader(fh, strict=False).root
        names = _entry(root, "/Names")
        tree = _entry(names, "/EmbeddedFiles") if names is not None else None
        if tree is not None:
            _walk_name_tree(tree, found)
    return found


def _walk_name_tree(node, found: dict[str, bytes], depth: int = 0) -> None:
    """Collect ``name → file bytes`` from a name-tree node and its kids (depth-limited against loops)."""
    if depth > 32:
        raise ValueError("embedded-file name tree is nested too deeply")
    entries = _entry(node, "/Names")
    if entries is not None:
        for i in range(0, len(entries) - 1, 2):
            streams = entries[i + 1]["/EF"]
            found[str(entries[i])] = (streams["/UF"] if "/UF" in streams else streams["/F"]).data
    kids = _entry(node, "/Kids")
    for index in range(len(kids) if kids is not None else 0):
        _walk_name_tree(kids[index], found, depth + 1)


def _entry(dictionary, key: str):
    """``dictionary[key]`` with indirect references resolved, or None when absent."""
    return dictionary[key] if key in dictionary else None


def report_table(report: VerifyReport):
    """The report as a rich Table (item, status, detail) for the command line.

    Every cell and the title are ``Text``: file names and details are data, never markup or emoji codes."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"auditkit verify {report.root}"), show_lines=False)
    table.add_column("item", overflow="fold")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    colour = {STATUS_OK: "green", STATUS_FAIL: "red", STATUS_ABSENT: "yellow"}
    for row in report.rows:
        table.add_row(Text(row.item), Text(row.status, style=colour[row.status]), Text(row.detail))
    return table
