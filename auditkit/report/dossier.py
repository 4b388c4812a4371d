"""Turns a finished evidence folder into the dossier: figures, HTML, PDF/A-3b, signatures.

Order matters: the PDF attaches ``evidence.json``, the archived manifest and the audit log
as they stand when it is rendered; signing then adds PAdES to the PDF and a detached CMS to
``evidence.json``; the caller logs the last event and seals (SHA256SUMS) afterwards.
"""

from __future__ import annotations

from pathlib import Path

from auditkit.auditlog import AuditLog, read_entries
from auditkit.evidence import Evidence
from auditkit.networks.hashing import sha256_file
from auditkit.report.figures import draw_figures
from auditkit.report.html import Signature, render_html
from auditkit.report.pdf import render_pdf
from auditkit.report.sign import Credentials, SigningSpec, sign_dossier


def write_dossier(
    evidence: Evidence,
    root: Path,
    log: AuditLog,
    *,
    signing: SigningSpec | None = None,
    credentials: Credentials | None = None,
    manifest_file: Path | None = None,
) -> None:
    """Figures, ``dossier.html`` and ``dossier.pdf`` into ``root`` (which holds evidence.json and arrays/), signed when ``signing``."""
    root = Path(root)
    figures = draw_figures(evidence, root)
    log.append("render", stage="figures", files={f: sha256_file(root / f) for ref in figures for f in (ref.png, ref.svg)})
    signature = Signature(signing.signer_name, signing.meaning) if signing is not None else None
    events = read_entries(log.path)
    html = render_html(evidence, figures, root, audit_events=events, signature=signature)
    attachments = {"evidence.json": root / "evidence.json", "audit.log": log.path}
    if evidence.archived_manifest:
        attachments[Path(evidence.archived_manifest).name] = root / evidence.archived_manifest
    pdf = render_pdf(evidence, figures, root, attachments=attachments, audit_events=events, signature=signature)
    log.append("render", stage="documents", files={p.name: sha256_file(p) for p in (html, pdf)})
    if signing is not None:
        sign_dossier(root, signing, log=log, manifest_file=manifest_file, credentials=credentials)
