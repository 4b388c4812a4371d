"""The demo dossier is laid out for print: no page in the middle of a section is more than two-thirds empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.dossier import layout
from auditkit.pipeline import RunOptions, run_audit

from .page_fill import sparse_pages, tools_missing

DEMO = Path(__file__).parents[2] / "sample_submissions" / "mri_unet" / "manifest.yaml"


@pytest.mark.slow
def test_no_page_of_the_demo_dossier_is_near_empty_but_the_last_of_a_section(tmp_path):
    missing = tools_missing()
    if missing:
        pytest.skip(f"needs {missing} (poppler-utils)")
    out = tmp_path / "demo"
    run_audit(DEMO, RunOptions(out=out, quick=True, cache=tmp_path / "cache"))
    assert sparse_pages(out / layout.PDF, out / layout.HTML) == []
