"""``auditkit sign``: signing a dossier that an earlier, unsigned run wrote.

It needs every side: verification first (a signature must never vouch for files
changed after the run), then the documents rendered again with the signer's printed
name, the meaning and the time on the signature page (21 CFR 11.50: the printed
manifestation must be part of what is signed, and the unsigned rendering said "Not
signed"), then signing and sealing. So it sits above the report and the signing modules.
"""

from __future__ import annotations

from pathlib import Path

from auditkit.dossier import layout
from auditkit.dossier.auditlog import AuditLog
from auditkit.dossier.credentials import SigningSpec, load_credentials
from auditkit.dossier.signing import SignedDossier, require_unsigned, seal_dossier, sign_dossier, signature_block
from auditkit.dossier.validation import verify_dossier
from auditkit.errors import InputError, Problem
from auditkit.evidence import Evidence
from auditkit.report.dossier import write_dossier


def sign_existing_dossier(root: Path | str, spec: SigningSpec) -> SignedDossier:
    """Sign a finished, unsigned dossier after checking it is intact, then re-seal it.

    The dossier must verify as an unsigned one first (hashes, audit log,
    attachments), so that a signature never vouches for files changed after the run.
    """
    folder = Path(root)
    require_unsigned(folder)  # before anything is rendered again
    report = verify_dossier(folder, allow_unsigned=True)
    if not report.ok:
        raise InputError([Problem(folder / row.item, "", f"does not verify: {row.detail}") for row in report.failures()])
    credentials = load_credentials(spec)
    log = AuditLog(folder / layout.AUDIT_LOG)
    evidence = Evidence.read(folder / layout.EVIDENCE)
    write_dossier(evidence, folder, log, signature=signature_block(spec, credentials))
    try:
        signed = sign_dossier(folder, spec, log=log, credentials=credentials)
        seal_dossier(folder, spec, credentials=credentials)
    except BaseException:  # never leave a page that names a signature the PDF does not carry
        for name in (layout.EVIDENCE_SIGNATURE, layout.SUMS_SIGNATURE):
            (folder / name).unlink(missing_ok=True)
        write_dossier(evidence, folder, log, signature=None)
        seal_dossier(folder, None)
        raise
    return signed
