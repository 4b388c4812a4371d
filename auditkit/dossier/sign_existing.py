"""``auditkit sign``: signing a dossier that an earlier, unsigned run wrote.

It needs both sides: verification first (a signature must never vouch for files
changed after the run), then signing and sealing. So it sits above both modules.
"""

from __future__ import annotations

from pathlib import Path

from auditkit.dossier import layout
from auditkit.dossier.auditlog import AuditLog
from auditkit.dossier.credentials import SigningSpec, load_credentials
from auditkit.dossier.signing import SignedDossier, seal_dossier, sign_dossier
from auditkit.dossier.validation import verify_dossier
from auditkit.errors import InputError, Problem


def sign_existing_dossier(root: Path | str, spec: SigningSpec) -> SignedDossier:
    """Sign a finished, unsigned dossier after checking it is intact, then re-seal it.

    The dossier must verify as an unsigned one first (hashes, audit log,
    attachments), so that a signature never vouches for files changed after the run.
    """
    folder = Path(root)
    report = verify_dossier(folder, allow_unsigned=True)
    if not report.ok:
        raise InputError([Problem(folder / row.item, "", f"does not verify: {row.detail}") for row in report.failures()])
    credentials = load_credentials(spec)
    signed = sign_dossier(folder, spec, log=AuditLog(folder / layout.AUDIT_LOG), credentials=credentials)
    seal_dossier(folder, spec, credentials=credentials)
    return signed
