"""The checks ``--out`` must pass before any work, so that publishing the dossier there cannot fail or lose files.

A run builds the dossier in ``.<name>.partial`` beside ``--out`` and renames it onto
``--out`` only when it is complete (``auditkit.dossier.publish``), so ``--out`` never
holds half a dossier. That rename, and the removal of an earlier dossier it replaces,
must not fail after hours of checks, so :func:`check_out_folder` refuses at the start
(bad input, exit 2) anything that would make it fail or lose someone's files:

- the folder that holds ``--out`` cannot be written (a probe file is created and removed);
- ``--out`` is a file or a symbolic link, a mount point or on another filesystem than
  the staging folder, or a folder this user may not rename or empty;
- ``--out`` holds anything that is not part of an auditkit dossier
  (``auditkit.dossier.layout``): a folder that is not a dossier at all, or an earlier
  dossier with files added to it. Those files are named; nothing is replaced.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from auditkit.dossier import layout
from auditkit.dossier.checksums import read_sums
from auditkit.errors import InputError, Problem
from auditkit.fileio import unwritable_parent

#: How many stray entries a refusal names before it only counts the rest.
_NAMED = 5


def check_out_folder(out: Path | str) -> None:
    """Refuse (InputError) an ``--out`` that the finished dossier could not replace without failing or losing files.

    Run before any work, and again just before publishing (the folder may change during
    a long audit). An ``--out`` that does not exist yet passes when the nearest folder
    above it can be written; an empty folder or an earlier dossier passes when it can be
    renamed and emptied.
    """
    out = Path(out)
    if out.name in ("", ".."):
        raise _refusal(out, "must name the dossier's folder itself (not ., .. or /): it is built beside it, then renamed")
    _require_writable_parent(out)
    if out.is_symlink():
        raise _refusal(out, "is a symbolic link; give the folder itself")
    if not out.exists():
        return
    if not out.is_dir():
        raise _refusal(out, "exists and is not a folder")
    _require_replaceable(out)
    _require_only_dossier_files(out)


def _refusal(out: Path, message: str) -> InputError:
    """The bad-input error about ``--out``."""
    return InputError(Problem(out, "--out", message))


def _require_writable_parent(out: Path) -> None:
    """The folder that holds ``out`` (or the nearest one that exists) takes a new file (``fileio.unwritable_parent``)."""
    problem = unwritable_parent(out)
    if problem is not None:
        suffix = " (the dossier is built beside --out, then moved into place)" if problem.startswith("cannot") else ""
        raise _refusal(out, problem + suffix)


def _require_replaceable(out: Path) -> None:
    """``out`` (an existing folder) can be renamed away and emptied by this process."""
    parent = out.parent
    here, above = out.stat(), parent.stat()
    if os.path.ismount(out) or here.st_dev != above.st_dev:
        raise _refusal(
            out,
            f"is a mount point (another filesystem than {parent}): the dossier is built in {parent} and renamed "
            "onto --out, which needs one filesystem; choose a folder inside it",
        )
    user = os.geteuid()
    if above.st_mode & stat.S_ISVTX and user not in (0, here.st_uid, above.st_uid):
        raise _refusal(
            out, f"cannot be replaced: {parent} has the sticky bit (like /tmp), so only the owner of --out may rename it"
        )
    for folder in _folders(out):
        if not os.access(folder, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
            raise _refusal(out, f"cannot be replaced: no permission to remove the files in {folder}")


def _folders(root: Path) -> list[Path]:
    """``root`` and every folder below it (symbolic links are not followed)."""
    return [Path(folder) for folder, _, _ in os.walk(root)]


def _require_only_dossier_files(out: Path) -> None:
    """``out`` is empty, or holds an earlier dossier and nothing else (``auditkit.dossier.layout``)."""
    if not any(out.iterdir()):
        return
    if not (out / layout.EVIDENCE).is_file():
        kind = {True: layout.StrayKind.FOLDER, False: layout.StrayKind.FILE}
        names = _names([layout.Stray(p.name, kind[p.is_dir()]) for p in sorted(out.iterdir())])
        raise _refusal(
            out, f"exists and is not an auditkit output folder (it holds {names}); choose another --out or remove it"
        )
    try:
        listed: set[str] | None = set(read_sums(out / layout.SUMS))
    except (OSError, ValueError, UnicodeDecodeError):
        listed = None
    extra = layout.strays(out, listed if listed is not None else set())
    if not extra:
        return
    why = "" if listed is not None else f" (it has no readable {layout.SUMS} listing its files)"
    verb = "is" if len(extra) == 1 else "are"
    raise _refusal(
        out,
        f"holds {_names(extra)}, which {verb} not part of the earlier dossier there{why}; replacing the dossier "
        "would delete them: move them away or choose another --out",
    )


def _names(strays: list[layout.Stray]) -> str:
    """The first few strays by name, and how many more there are."""
    named = ", ".join(s.describe() for s in strays[:_NAMED])
    rest = len(strays) - _NAMED
    return named + (f" and {rest} more" if rest > 0 else "")
