"""The one table of checks: it agrees with the manifest, and every check is titled from it, also when it did not run."""

from __future__ import annotations

from pathlib import Path

from auditkit.checks import registry
from auditkit.checks.noise import NoiseCheck
from auditkit.checks.result import CheckResult, Verdict
from auditkit.evidence import Evidence
from auditkit.manifest.models import CHECK_NAMES, Checks, NoiseConfig
from auditkit.pipeline import RunOptions, run_audit
from auditkit.report.figures import DRAWERS
from auditkit.report.html import dossier_html


def test_the_registry_is_the_manifests_checks_in_order_with_their_settings_models():
    assert registry.names() == CHECK_NAMES
    assert [e.config for e in registry.CHECKS] == [Checks.model_fields[n].annotation for n in CHECK_NAMES]
    assert registry.entry("noise").check is NoiseCheck and registry.entry("noise").config is NoiseConfig
    assert tuple(DRAWERS) == registry.names()


def test_titles_come_from_the_registry_and_an_unknown_name_stands_for_itself():
    assert registry.title_of("noise") == NoiseCheck.title == "Random noise (not rare events)"
    assert registry.title_of("novel") == "novel"


def test_a_disabled_check_is_recorded_under_its_real_title(tiny_manifest: Path, tmp_path: Path):
    text = tiny_manifest.read_text(encoding="utf-8") + "  noise: {enabled: false}\n"
    tiny_manifest.write_text(text, encoding="utf-8")
    ev = run_audit(tiny_manifest, RunOptions(out=tmp_path / "out", checks=["noise"], quick=True), render=False)
    (noise,) = ev.checks
    assert noise.verdict is Verdict.NOT_RUN and "disabled" in (noise.reason or "")
    assert noise.title == NoiseCheck.title


def test_the_dossier_heads_an_untitled_check_with_its_real_title(tmp_path: Path):
    check = CheckResult(name="hallucination", verdict=Verdict.NOT_RUN, reason="disabled in the manifest")
    ev = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"id": "only-id"}, checks=[check])
    text = dossier_html(ev, [], tmp_path)
    assert f"Check: {registry.title_of('hallucination')} <span" in text  # not name.capitalize(): "Hallucination"
