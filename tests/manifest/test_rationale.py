"""Every verdict-deciding default is traced to its source, and the README shows the same table."""

from pathlib import Path

from auditkit.checks import registry
from auditkit.manifest.rationale import RATIONALE, markdown_table

ROOT = Path(__file__).resolve().parents[2]
#: settings that decide a verdict wherever a check's block has them.
DECIDING = {"k_baseline", "c_budget", "min_recovery", "margin", "k_ghost", "ghost_floor", "tolerance_db",
            "min_gain_fraction", "baseline_min_gain_db", "max_probability", "confidence", "border", "patch_size"}


def test_every_deciding_setting_has_a_rationale_and_every_rationale_a_setting():
    covered = {(r.check, r.field) for r in RATIONALE}
    expected = {(e.name, f) for e in registry.CHECKS for f in e.config.model_fields if f in DECIDING}
    assert covered == expected
    assert len(covered) == len(RATIONALE)  # one entry each


def test_the_readme_table_is_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- rationale-table:start -->\n", 1)[1].split("<!-- rationale-table:end -->", 1)[0]
    assert block == markdown_table()
