"""A qualification record attached to an audit: checked against the audit, copied into its dossier.

``auditkit run --qualification FILE`` attaches the record that ``auditkit selftest`` wrote for the
same manifest setting. It is refused (bad input, exit 2) when it cannot be read, when it was made
by another auditkit (version or source sha256) or for another setting (``record.setting_sha256``), or
when its signature ``FILE.p7s`` does not match its bytes. The record and its signature are copied to
``inputs/qualification/`` of the dossier (so ``SHA256SUMS`` covers them), and the evidence gets the
summary that the report shows (``summary``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditkit.checks.base import AuditContext
from auditkit.dossier import layout
from auditkit.dossier.signature_check import SignatureState, verify_cms
from auditkit.errors import InputError, Problem
from auditkit.fileio import write_atomic
from auditkit.manifest import Manifest
from auditkit.qualification.record import Outcome, Record, qualified, setting_sha256, tool_identity

#: where the record goes in the dossier, under ``inputs/``.
FOLDER = "qualification"


@dataclass(frozen=True)
class Attached:
    """A record accepted for an audit: the very bytes checked (record and signature, b"" when unsigned), what they
    say, and the signer ("" when unsigned). The dossier archives these bytes, not whatever the path holds later."""

    path: Path
    data: bytes
    signature_data: bytes
    record: Record
    signer: str


def accept(path: Path, manifest: Manifest, ctx: AuditContext) -> Attached:
    """The record at ``path`` if it qualifies this auditkit in this audit's setting, else ``InputError``."""
    path = Path(path)
    signature = path.with_name(layout.signature_of(path.name))
    try:
        data = path.read_bytes()
        signature_data = signature.read_bytes() if signature.exists() else b""
    except FileNotFoundError:
        raise InputError(Problem("--qualification", "", f"{path}: no such file")) from None
    except OSError as exc:
        raise InputError(Problem("--qualification", "", f"{path}: cannot be read ({exc.strerror or exc})")) from None
    try:
        record = Record.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "(top level)"
        raise InputError(Problem(path, where, f"not a qualification record written by auditkit selftest "
                                              f"({first.get('msg', 'invalid')})")) from None
    problems = []
    tool = tool_identity()
    if record.tool != tool:
        problems.append(Problem(path, "tool", f"made by auditkit {record.tool.get('version')} (source "
                                              f"{str(record.tool.get('source_sha256'))[:12]}), not this one "
                                              f"({tool['version']}, {tool['source_sha256'][:12]}): run auditkit "
                                              f"selftest again"))
    if record.setting_sha256 != setting_sha256(manifest, ctx):
        problems.append(Problem(path, "setting_sha256", "made for another setting (operator, images, baseline, checks, "
                                                        "seed or quick mode differ): run auditkit selftest on this "
                                                        "manifest" + (" with --quick" if ctx.quick else "")))
    if record.qualified != qualified(record.references):
        problems.append(Problem(path, "qualified", "does not follow from the record's own outcomes: the record was edited"))
    signer = ""
    if signature_data:
        check = verify_cms(data, signature_data)
        if check.state is not SignatureState.READ or not (check.intact and check.valid):
            problems.append(Problem(signature, "", f"the signature does not hold for {path.name} "
                                                   f"({check.error or 'its bytes were changed after signing'})"))
        signer = check.signer
    if problems:
        raise InputError(problems)
    return Attached(path, data, signature_data, record, signer)


def archive(attached: Attached, stage: Path) -> str:
    """Copy the record (and its signature) to ``stage/inputs/qualification/``; the record's path there."""
    folder = Path(stage) / layout.INPUTS / FOLDER
    shutil.rmtree(folder, ignore_errors=True)  # a resumed stage may hold an earlier run's record
    folder.mkdir(parents=True)
    write_atomic(folder / attached.path.name, attached.data)
    if attached.signature_data:
        write_atomic(folder / layout.signature_of(attached.path.name), attached.signature_data)
    return f"{layout.INPUTS}/{FOLDER}/{attached.path.name}"


def summary(attached: Attached, archived: str) -> dict[str, Any]:
    """What the evidence records of the attached record, and the report shows."""
    r = attached.record
    return {
        "file": archived,
        "created_at": r.created_at,
        "quick": r.quick,
        "checks": r.checks,
        "qualified": r.qualified,
        "signed_by": attached.signer or None,
        "references": [
            {
                "key": ref.key,
                "title": ref.title,
                "verdicts": ref.verdicts,
                "expectations": [
                    {"criteria": e.criteria, "expected": e.expected, "why": e.why, "outcome": e.outcome.value,
                     "observed": len(e.observed)}
                    for e in ref.expectations
                ],
                "worst_cases": [
                    {"domain": w.domain, "known": w.known, "least_share_found": w.least_share_found,
                     "required": w.required, "outcome": w.outcome.value}
                    for w in ref.worst_cases
                ],
                "holds": all(o is Outcome.HOLDS for o in ref.outcomes),
            }
            for ref in r.references
        ],
    }
