"""Figures of the noise check: drawn from its evidence and arrays, non-blank, byte-identical on redraw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from auditkit.arrays import save_npz
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.report.figures import DRAWERS, draw_figures, load_drawer
from auditkit.report.figures.noise import measured_levels, worst_interval
from auditkit.stats import Proportion, distribution_summary

from .figure_helpers import assert_plain_figures, assert_redraw_identical, single_check_evidence

LEVELS = (0.01, 0.05, 0.1)
KEYS = [f"{v:g}" for v in LEVELS]
DRAWS, THRESHOLD, MAX_P = 80, 0.1, 0.05


def _changes(gain: float, spread: float) -> np.ndarray:
    """(N=2, L, D) relative changes ≈ gain·η with a deterministic spread."""
    wiggle = 1.0 + spread * np.sin(np.arange(DRAWS))[None, None]
    return gain * np.asarray(LEVELS)[None, :, None] * wiggle * np.array([1.0, 0.8])[:, None, None]


def _subject(name: str, changes: np.ndarray, survival: bool) -> SubjectResult:
    exceedance, distribution, rows = {}, {}, [{"image": i, "levels": {}} for i in ("a", "b")]
    for li, key in enumerate(KEYS):
        props = [Proportion.of_flags(changes[n, li] > THRESHOLD, 0.95) for n in range(2)]
        worst = max(range(2), key=lambda n: props[n].ci_high)
        pooled = Proportion.of_flags(changes[:, li] > THRESHOLD, 0.95)
        exceedance[key] = {**pooled.as_dict(), "worst_image": "ab"[worst],
                           "worst_probability": props[worst].estimate, "worst_ci_high": props[worst].ci_high}
        distribution[key] = distribution_summary(changes[:, li])
        for n in range(2):
            rows[n]["levels"][key] = {**props[n].as_dict(), "relative_change": distribution_summary(changes[n, li])}
    surv = {"0.25": Proportion.of(70, 80, 0.95).as_dict()} if survival else None
    return SubjectResult(name=name, summary={"exceedance_by_level": exceedance, "relative_change_by_level": distribution,
                                             "survival": surv}, per_image=rows)


def _noise(root: Path, *, with_arrays: bool = True, survival: bool = True) -> CheckResult:
    """The layout of ``auditkit.checks.noise``: summaries and rows per subject, one criterion per level, one .npz."""
    net, base = _changes(2.0, 0.2), _changes(1.2, 0.05)
    network = _subject("net", net, survival)
    criteria = [
        Criterion.evaluate(f"noise.exceedance_upper_bound[level={k}]", "rule",
                           network.summary["exceedance_by_level"][k]["worst_ci_high"], MAX_P)
        for k in KEYS
    ]
    if with_arrays:
        save_npz(root / "arrays/noise.npz", {
            "levels": np.asarray(LEVELS), "image_ids": np.asarray(["a", "b"]), "threshold": np.asarray(THRESHOLD),
            "network_relative_change": net, "baseline_relative_change": base,
        })
    return CheckResult(
        name="noise", title="Random noise", verdict=CheckResult.verdict_from(criteria), criteria=criteria,
        subjects={"network": network, "baseline": _subject("l1", base, survival)},
        parameters={"levels": list(LEVELS), "threshold": THRESHOLD, "max_probability": MAX_P, "confidence": 0.95,
                    "survival_budget": 0.01, "effective": {"draws": DRAWS, "survival_budget": 0.01, "images": ["a", "b"]}},
        arrays=["arrays/noise.npz"] if with_arrays else [],
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("noise_fig")
    evidence = single_check_evidence(_noise(root))
    return root, evidence, draw_figures(evidence, root)


def test_registered_and_draws_three_figures(drawn):
    root, _, refs = drawn
    assert DRAWERS["noise"] == "auditkit.report.figures.noise:draw" and load_drawer("noise") is not None
    assert [(r.check, r.key) for r in refs] == [("noise", "changes"), ("noise", "exceedance"), ("noise", "survival")]
    assert_plain_figures(root, refs)
    assert "Dots: every draw" in refs[0].caption
    assert "exceeded at η = 0.05, 0.1)" in refs[1].caption and "95% Clopper–Pearson" in refs[1].caption


def test_redraw_is_byte_identical(drawn, tmp_path: Path):
    root, evidence, refs = drawn
    assert_redraw_identical(root, evidence, refs, tmp_path)


def test_without_arrays_or_survival_the_evidence_figures_remain(tmp_path: Path):
    refs = draw_figures(single_check_evidence(_noise(tmp_path, with_arrays=False, survival=False)), tmp_path)
    assert [r.key for r in refs] == ["changes", "exceedance"]
    assert "Dots" not in refs[0].caption


def test_levels_in_order_and_the_worst_images_interval(tmp_path: Path):
    check = _noise(tmp_path, with_arrays=False)
    assert measured_levels(check) == ["0.01", "0.05", "0.1"]
    entry = worst_interval(check, "network", "0.1")
    # network changes at level 0.1: image a 0.2·(1 ± 0.2) > 0.1 always, image b 0.16·(…) too: all draws harmful
    assert entry["image"] == "a" and entry["events"] == DRAWS and entry["trials"] == DRAWS
    assert entry["ci_low"] == pytest.approx(Proportion.of(DRAWS, DRAWS, 0.95).ci_low)
    assert worst_interval(check, "network", "0.5") is None


def test_not_run_and_error_have_no_figure(tmp_path: Path):
    for verdict in (Verdict.NOT_RUN, Verdict.ERROR):
        assert draw_figures(single_check_evidence(CheckResult(name="noise", verdict=verdict, reason="r")), tmp_path) == []
