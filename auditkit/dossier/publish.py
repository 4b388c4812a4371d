"""Publishing: moving the finished staging folder onto ``--out`` in one rename, replacing an earlier dossier.

``--out`` never holds half a dossier: the new one appears by ``os.replace`` of the
whole staging folder, and an earlier dossier is first renamed aside to ``.<name>.old``
and removed once the new one is in place.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from auditkit.dossier.layout import old_dir
from auditkit.dossier.outfolder import check_out_folder
from auditkit.errors import InputError, Problem


def publish(stage: Path, out: Path) -> None:
    """Move the finished staging folder to ``out``, replacing an earlier auditkit dossier there.

    ``out`` is checked again first; when it no longer passes, the finished dossier
    stays in ``stage`` and the refusal says so.
    """
    out = Path(out)
    try:
        check_out_folder(out)
    except InputError as exc:
        kept = Problem(stage, "", "the finished dossier is kept here; move it into place once --out is fixed")
        raise InputError([*exc.problems, kept]) from None
    if out.exists():
        old = old_dir(out)
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, out)
