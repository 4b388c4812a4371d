"""The dossier as a PDF/A-3b file: the HTML dossier typeset by WeasyPrint, with its sources attached.

``evidence.json``, the submission manifest and the audit log travel inside the PDF
as associated files (PDF/A-3), so one archived file holds both the readable
report and the machine-readable record it was rendered from.

Deterministic: the unsigned PDF of the same evidence, figures and attachments is
byte-identical. The creation and modification dates (document and attachments)
are the audit's start time (``Evidence.started_at``), the file identifier /ID is
derived from the sha256 of ``evidence.json``, and the fonts are the DejaVu files
that matplotlib ships, embedded as subsets, so the output does not depend on the
system's fonts either. While rendering, ``SOURCE_DATE_EPOCH`` is set to the audit's
time, because fontTools (WeasyPrint's font subsetter when HarfBuzz-subset is
missing) stamps each subset font with the current time otherwise. Signing (PAdES) happens after rendering, so the signature
block prints who will sign and what the signature means, with the audit's time.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as _dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from auditkit.dossier import layout
from auditkit.evidence import Evidence
from auditkit.fileio import write_atomic
from auditkit.report.html import FALLBACK_DATE, Signature, dossier_html, evidence_sha256

if TYPE_CHECKING:
    from auditkit.report.figures import FigureRef

#: The PDF variant written: PDF/A-3, level B (visual appearance preserved; attachments allowed).
PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class AttachmentRole:
    """How an attached file relates to the PDF (ISO 32000-2 AFRelationship), its MIME type, and what it is in words."""

    relationship: str
    mime: str
    description: str


_MANIFEST = "Submission manifest the audit was run from."
#: Known attachments by file name; anything else is attached as 'Unspecified' binary data.
ATTACHMENT_ROLES: dict[str, AttachmentRole] = {
    layout.EVIDENCE: AttachmentRole(
        "Data",
        "application/json",
        "Audit evidence: every number, criterion, verdict, input hash, version and seed this document shows.",
    ),
    "manifest.yaml": AttachmentRole("Source", "application/yaml", _MANIFEST),
    "manifest.yml": AttachmentRole("Source", "application/yaml", _MANIFEST),
    "manifest.json": AttachmentRole("Source", "application/json", _MANIFEST),
    layout.AUDIT_LOG: AttachmentRole(
        "Supplement",
        "text/plain",
        "Audit trail: hash-chained JSON lines of the audit's events, up to the rendering of this document.",
    ),
}


def attachment_role(name: str) -> AttachmentRole:
    """The role of an attachment named ``name`` (by its file name)."""
    return ATTACHMENT_ROLES.get(Path(name).name, AttachmentRole("Unspecified", "application/octet-stream", name))


def document_time(evidence: Evidence) -> _dt.datetime:
    """The date stamped on the PDF and its attachments: the audit's start time, in UTC."""
    text = evidence.started_at or FALLBACK_DATE
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"evidence.started_at must be ISO 8601, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)


def pdf_identifier(evidence: Evidence) -> bytes:
    """The first part of the PDF's /ID: the first 32 hex digits of sha256(evidence.json)."""
    return evidence_sha256(evidence)[:32].encode("ascii")


@contextlib.contextmanager
def _source_date_epoch(when: _dt.datetime) -> Iterator[None]:
    """Set ``SOURCE_DATE_EPOCH`` (the reproducible-builds clock that fontTools reads) to ``when`` (naive UTC) for a while."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(when.timetuple()))
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def font_css() -> str:
    """@font-face rules for "auditkit Sans" and "auditkit Mono" from the DejaVu files bundled with matplotlib."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = [
        ("auditkit Sans", "normal", "normal", "DejaVuSans.ttf"),
        ("auditkit Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
        ("auditkit Sans", "normal", "italic", "DejaVuSans-Oblique.ttf"),
        ("auditkit Sans", "bold", "italic", "DejaVuSans-BoldOblique.ttf"),
        ("auditkit Mono", "normal", "normal", "DejaVuSansMono.ttf"),
        ("auditkit Mono", "bold", "normal", "DejaVuSansMono-Bold.ttf"),
    ]
    rules = []
    for family, weight, style, name in faces:
        path = ttf / name
        if not path.is_file():
            raise FileNotFoundError(f"font {name} not found in matplotlib's data folder {ttf}")
        rules.append(
            f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: {style}; '
            f'src: url("{path.as_uri()}"); }}'
        )
    return "\n".join(rules)


def _attachments(files: Mapping[str, Path], when: _dt.datetime) -> tuple[list[Any], dict[str, str]]:
    """WeasyPrint attachments with fixed dates, a description and an AFRelationship each,
    and their MIME types keyed by the MD5 checksum the PDF stores with each file."""
    from weasyprint import Attachment

    out, mimes = [], {}
    for name, path in sorted(files.items()):  # the PDF's EmbeddedFiles name tree must be sorted
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"attachment '{name}': {path} does not exist")
        data = path.read_bytes()
        role = attachment_role(name)
        out.append(
            Attachment(
                string=data,
                name=name,
                description=role.description,
                created=when,
                modified=when,
                relationship=role.relationship,
            )
        )
        mimes[hashlib.md5(data, usedforsecurity=False).hexdigest()] = role.mime
    return out, mimes


def _associated_files_finisher(mimes: Mapping[str, str]):
    """A WeasyPrint finisher: list each associated file once in the catalog's /AF and give it its MIME type.

    WeasyPrint 70 lists every attachment twice in /AF and guesses MIME types from
    file names (YAML and logs become application/octet-stream).
    """

    def finish(document: Any, pdf: Any) -> None:
        if "AF" in pdf.catalog:
            unique = list(dict.fromkeys(pdf.catalog["AF"]))
            pdf.catalog["AF"].clear()
            pdf.catalog["AF"].extend(unique)
        for obj in pdf.objects:
            if isinstance(obj, dict) and obj.get("Type") == "/Filespec" and "EF" in obj:
                stream = pdf.objects[int(obj["EF"]["F"].split()[0])]
                mime = mimes.get(stream.extra["Params"]["CheckSum"].strip("<>"))
                if mime:
                    stream.extra["Subtype"] = "/" + mime.replace("/", "#2f")

    return finish


def pdf_bytes(
    evidence: Evidence,
    figures: Sequence["FigureRef"],
    root: Path,
    *,
    attachments: Mapping[str, Path],
    audit_events: Sequence[Mapping[str, Any]] = (),
    signature: Signature | None = None,
) -> bytes:
    """The PDF/A-3b dossier as bytes (see the module docstring for what makes it deterministic)."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    root = Path(root)
    html = dossier_html(evidence, figures, root, audit_events=audit_events, signature=signature, medium="print")
    fonts = FontConfiguration()
    when = document_time(evidence)
    files, mimes = _attachments(attachments, when)
    with _source_date_epoch(when):
        return HTML(string=html, base_url=str(root)).write_pdf(
            stylesheets=[CSS(string=font_css(), font_config=fonts)],
            font_config=fonts,
            finisher=_associated_files_finisher(mimes),
            pdf_variant=PDF_VARIANT,
            pdf_identifier=pdf_identifier(evidence),
            attachments=files,
        )


def render_pdf(
    evidence: Evidence,
    figures: Sequence["FigureRef"],
    root: Path,
    *,
    attachments: Mapping[str, Path],
    audit_events: Sequence[Mapping[str, Any]] = (),
    signature: Signature | None = None,
) -> Path:
    """Write ``root/dossier.pdf`` (PDF/A-3b, ``attachments`` embedded as {name in the PDF: file}) and return its path."""
    root = Path(root)
    data = pdf_bytes(
        evidence, figures, root, attachments=attachments, audit_events=audit_events, signature=signature
    )
    return write_atomic(root / layout.PDF, data)
