"""What a dossier consists of: the one place naming every file and folder ``auditkit run`` writes.

A dossier folder holds exactly these top-level files (the signatures only when signed)
and these folders; the folders hold the files that the dossier's ``SHA256SUMS`` lists,
and the folders on the way to them. Anything else in it — another file, an empty or
extra folder, a symbolic link, a device or pipe — is not part of the dossier:
``auditkit verify`` rejects it, and ``auditkit run`` refuses to replace a folder that
holds it (it would be deleted with the earlier dossier). The names of what a run keeps
beside ``--out`` (the staging folder, the lock) and inside the staging folder only
while it runs (its state, the checks' checkpoints) are here too; the supervisor's crash
records are named by ``auditkit.activity``, which writes them.

This module depends on nothing else in auditkit, so any layer can use it.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

#: Suffix of a detached CMS signature: ``<file>.p7s`` signs ``<file>``.
SIGNATURE_SUFFIX = ".p7s"


def signature_of(name: str) -> str:
    """The name of the detached signature over the file ``name``."""
    return f"{name}{SIGNATURE_SUFFIX}"


EVIDENCE = "evidence.json"
EVIDENCE_SIGNATURE = signature_of(EVIDENCE)
PDF = "dossier.pdf"
HTML = "dossier.html"
AUDIT_LOG = "audit.log"
SUMS = "SHA256SUMS"
SUMS_SIGNATURE = signature_of(SUMS)

#: Every top-level file a dossier may hold.
FILES: frozenset[str] = frozenset({EVIDENCE, EVIDENCE_SIGNATURE, PDF, HTML, AUDIT_LOG, SUMS, SUMS_SIGNATURE})

ARRAYS = "arrays"
#: the stem of the raw test data's arrays (``arrays/test_data.npz``: reference images, coil-map magnitudes).
TEST_DATA_ARRAYS = "test_data"
FIGURES = "figures"
INPUTS = "inputs"

#: Every top-level folder a dossier may hold (each may be empty).
FOLDERS: frozenset[str] = frozenset({ARRAYS, FIGURES, INPUTS})

#: In the staging folder while a run is under way, removed before publishing: the run's
#: fingerprint and id, each finished check's checkpoint and each finished work unit's result.
RUN_STATE = "run.json"
CHECKPOINTS = "checkpoints"
UNITS = "units"


def staging_dir(out: Path | str) -> Path:
    """The folder a run writes into before it is moved to ``out``: ``.<name>.partial`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


def old_dir(out: Path | str) -> Path:
    """Where an earlier dossier at ``out`` is moved while the new one takes its place: ``.<name>.old``."""
    out = Path(out)
    return out.parent / f".{out.name}.old"


def lock_path(out: Path | str) -> Path:
    """The lock file of ``--out``: ``.<name>.lock`` in the folder that holds ``out``."""
    out = Path(out)
    return out.parent / f".{out.name}.lock"


@enum.unique
class StrayKind(enum.Enum):
    """What kind of thing a stray entry is."""

    FILE = "file"
    FOLDER = "folder"
    LINK = "symbolic link"
    OTHER = "special file"


@dataclass(frozen=True)
class Stray:
    """One entry of a folder that is not part of a dossier, by ``/``-separated path relative to the folder."""

    path: str
    kind: StrayKind

    def describe(self) -> str:
        """``notes.txt`` for a file, ``extra/ (folder)`` and the like for anything else."""
        if self.kind is StrayKind.FILE:
            return self.path
        if self.kind is StrayKind.FOLDER:
            return f"{self.path}/ (folder)"
        return f"{self.path} ({self.kind.value})"


def strays(root: Path | str, listed: Collection[str] | None = None) -> list[Stray]:
    """Everything under ``root`` that is not part of a dossier, sorted by path.

    ``listed`` holds the ``/``-separated paths the dossier's SHA256SUMS lists; a file
    inside a dossier folder belongs to the dossier only when listed there. With
    ``listed=None`` (no readable list) every regular file inside a dossier folder is
    taken to belong. A folder holding nothing that belongs is reported as a whole
    (its contents are not listed one by one); symbolic links are never followed.
    """
    found, _ = _scan(Path(root), (), listed)
    return sorted(found, key=lambda stray: stray.path)


def _scan(root: Path, parts: tuple[str, ...], listed: Collection[str] | None) -> tuple[list[Stray], bool]:
    """Strays under ``root/parts`` and whether anything there belongs to the dossier."""
    found: list[Stray] = []
    belongs = False
    top = not parts
    with os.scandir(root.joinpath(*parts)) as entries:
        ordered = sorted(entries, key=lambda e: e.name)
    for entry in ordered:
        relative = "/".join((*parts, entry.name))
        if entry.is_symlink():
            found.append(Stray(relative, StrayKind.LINK))
        elif entry.is_dir(follow_symlinks=False):
            if top and entry.name not in FOLDERS:
                found.append(Stray(relative, StrayKind.FOLDER))
                continue
            inner, inner_belongs = _scan(root, (*parts, entry.name), listed)
            if top or inner_belongs:
                found.extend(inner)
                belongs = belongs or inner_belongs
            else:
                found.append(Stray(relative, StrayKind.FOLDER))
        elif entry.is_file(follow_symlinks=False):
            member = entry.name in FILES if top else (listed is None or relative in listed)
            if member:
                belongs = True
            else:
                found.append(Stray(relative, StrayKind.FILE))
        else:
            found.append(Stray(relative, StrayKind.OTHER))
    return found, belongs
