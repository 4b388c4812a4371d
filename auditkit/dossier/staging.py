"""The staging folder a run builds its dossier in, beside ``--out``, until it is published.

It holds the dossier's files as they are written and, while the run is under way, what
only the run needs: ``run.json`` (the run's fingerprint and id, so that ``--resume``
reuses the folder only for the same inputs), the checks' checkpoints and the
supervisor's crash records. Those are removed before the dossier is sealed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from auditkit.activity import CRASH_FOLDER
from auditkit.dossier import layout
from auditkit.fileio import stale_temporaries, write_atomic


def open_stage(out: Path, fingerprint: str, *, resume: bool, started_at: str, run_id: str) -> Path:
    """The staging folder of ``out``, ready for run ``run_id``; returns its path.

    An existing staging folder is kept only when resuming a run of the same
    ``fingerprint``; otherwise it is emptied. The run is recorded in ``run.json``.
    """
    stage = layout.staging_dir(out)
    run_file = stage / layout.RUN_STATE
    if stage.exists():
        same = run_file.exists() and json.loads(run_file.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
        if not (resume and same):
            shutil.rmtree(stage)
    stage.mkdir(parents=True, exist_ok=True)
    write_atomic(run_file, json.dumps({"fingerprint": fingerprint, "started_at": started_at, "run_id": run_id}))
    return stage


def clear_run_state(stage: Path) -> None:
    """Remove what only the run needed (``run.json``, checkpoints, crash records) and what a killed earlier
    attempt left half-written (``write_atomic``'s temporary files), leaving the dossier."""
    for debris in stale_temporaries(stage):
        debris.unlink(missing_ok=True)
    (stage / layout.RUN_STATE).unlink(missing_ok=True)
    shutil.rmtree(stage / layout.CHECKPOINTS, ignore_errors=True)
    shutil.rmtree(stage / layout.UNITS, ignore_errors=True)
    shutil.rmtree(stage / CRASH_FOLDER, ignore_errors=True)
