"""``scripts/sample_table.py``: the README tables come from evidence files, never by hand."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from sample_table import CHECKS, SAMPLE_END, SAMPLE_START, replace_block, sample_table, top_table  # noqa: E402


def _evidence(verdict: str = "FAIL") -> dict:
    checks = [{"name": c, "verdict": "PASS", "criteria": [{"name": f"{c}.x", "measured": 0.5, "threshold": 1.0, "passed": True}]}
              for c in CHECKS]
    checks[0] = {"name": "adversarial", "verdict": verdict,
                 "criteria": [{"name": "adversarial.change_vs_budget[eps=0.01]", "measured": 0.31234, "threshold": 0.1, "passed": False}]}
    checks[3] = {"name": "noise", "verdict": "NOT_RUN", "criteria": [], "reason": "disabled in the manifest"}
    return {"checks": checks, "overall_verdict": verdict, "quick": True, "tool": {"name": "auditkit", "version": "9.9"},
            "wall_time_s": 90.0, "modality": {"kind": "ct_parallel", "n_angles": 50}}


def test_top_table_has_one_row_per_sample_with_each_verdict():
    table = top_table({"ct_demo": _evidence()})
    row = next(line for line in table.splitlines() if line.startswith("| [`ct_demo`]"))
    assert row == ("| [`ct_demo`](sample_submissions/ct_demo/) | CT, parallel beam | 50 angles | FAIL | PASS | PASS | "
                   "NOT_RUN | PASS | PASS | **FAIL** |")
    assert "quick audits" in table and "auditkit 9.9" in table


def test_sample_table_lists_every_criterion_and_why_a_check_did_not_run():
    table = sample_table(_evidence())
    assert "| adversarial | `adversarial.change_vs_budget[eps=0.01]` | 0.3123 | 0.1 | FAIL |" in table
    assert "| noise | — | — | — | NOT_RUN disabled in the manifest |" in table
    assert "overall **FAIL**, 1.5 min wall time" in table


def test_replace_block_is_idempotent_and_keeps_the_rest():
    text = f"# x\n\n## Audit findings\n{SAMPLE_START}\n\nprose\n"
    once = replace_block(text, SAMPLE_START, SAMPLE_END, "TABLE 1", "README.md")
    assert once == f"# x\n\n## Audit findings\n{SAMPLE_START}\nTABLE 1\n{SAMPLE_END}\n\nprose\n"
    twice = replace_block(once, SAMPLE_START, SAMPLE_END, "TABLE 2", "README.md")
    assert twice == once.replace("TABLE 1", "TABLE 2")
