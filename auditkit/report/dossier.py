"""Turns a finished evidence folder into the dossier's documents: figures, HTML, PDF/A-3b.

Order matters: the PDF attaches ``evidence.json``, the archived manifest and the audit log
as they stand when it is rendered; the caller then signs (``auditkit.dossier.signing``: PAdES
on the PDF, a detached CMS on ``evidence.json``), logs the last event and seals (SHA256SUMS).
The audit log is taken as an :class:`EventLog`, so rendering needs nothing of the dossier
package but its file names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from auditkit.dossier import layout
from auditkit.evidence import Evidence
from auditkit.fileio import sha256_file
from auditkit.report.figures import draw_figures
from auditkit.report.html import Signature, render_html
from auditkit.report.pdf import render_pdf


class EventLog(Protocol):
    """The audit log as rendering uses it (``auditkit.dossier.auditlog.AuditLog``): its file, new events, past ones."""

    path: Path

    def append(self, event: str, **data: Any) -> dict[str, Any]:
        """Record one event."""
        ...

    def entries(self) -> list[dict[str, Any]]:
        """Every event recorded so far."""
        ...


def write_dossier(evidence: Evidence, root: Path, log: EventLog, *, signature: Signature | None = None) -> None:
    """Figures, ``dossier.html`` and ``dossier.pdf`` into ``root`` (which holds evidence.json and arrays/).

    ``signature`` is who will sign and what it means, printed in the signature block."""
    root = Path(root)
    figures = draw_figures(evidence, root)
    log.append("render", stage="figures", files={f: sha256_file(root / f) for ref in figures for f in (ref.png, ref.svg)})
    events = log.entries()
    html = render_html(evidence, figures, root, audit_events=events, signature=signature)
    attachments = {layout.EVIDENCE: root / layout.EVIDENCE, layout.AUDIT_LOG: log.path}
    if evidence.archived_manifest:
        attachments[Path(evidence.archived_manifest).name] = root / evidence.archived_manifest
    pdf = render_pdf(evidence, figures, root, attachments=attachments, audit_events=events, signature=signature)
    log.append("render", stage="documents", files={p.name: sha256_file(p) for p in (html, pdf)})
