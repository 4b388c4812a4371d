"""Checks shared by the per-check figure tests: evidence holding one check, plain figures, identical redraws."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from auditkit.checks.result import CheckResult

from auditkit.evidence import Evidence
from auditkit.report.figures import FigureRef, draw_figures


def single_check_evidence(check: CheckResult) -> Evidence:
    """Evidence holding only ``check``, with a fixed tool and submission, so its figures are drawn alone."""
    return Evidence(tool={"name": "auditkit", "version": "0"}, submission={"id": "T"}, checks=[check])


def assert_plain_figures(root: Path, refs: list[FigureRef]) -> None:
    """Each figure is titled and captioned, its PNG is not blank (pixel std > 10) and neither file carries a date."""
    for ref in refs:
        raw = (root / ref.png).read_bytes()
        pixels = (imread(io.BytesIO(raw)) * 255).astype(np.uint8)
        assert pixels.std() > 10, ref.png
        assert b"tIME" not in raw and "<dc:date>" not in (root / ref.svg).read_text(encoding="utf-8")
        assert ref.title and ref.caption


def assert_redraw_identical(root: Path, evidence: Evidence, refs: list[FigureRef], again: Path) -> None:
    """Drawing ``evidence`` again in ``again`` (with a copy of root's arrays) gives the same refs and the same bytes."""
    shutil.copytree(root / "arrays", again / "arrays")
    assert draw_figures(evidence, again) == refs
    for ref in refs:
        for rel in (ref.png, ref.svg):
            assert (again / rel).read_bytes() == (root / rel).read_bytes(), rel
