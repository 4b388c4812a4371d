"""Figures of the trade-off check: drawn from its evidence and arrays, non-blank, byte-identical on redraw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from auditkit.arrays import save_npz
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.report.figures import DRAWERS, draw_figures, load_drawer
from auditkit.report.figures.style import new_figure
from auditkit.report.figures.tradeoff import bound_points, set_error_axis

from .figure_helpers import assert_plain_figures, assert_redraw_identical, single_check_evidence

H = W = 40
ETAS = (0.0, 0.02, 0.04, 0.08)
KEYS = [f"{e:g}" for e in ETAS]


def _disc() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (0.7 * (((yy - H / 2) / 15) ** 2 + ((xx - W / 2) / 11) ** 2 <= 1)).astype(np.float32)


def _subject(name: str, means: list[float], slope: float) -> SubjectResult:
    by_eta = {k: {"mean": m, "std": 0.1 * m, "min": 0.9 * m, "max": 1.1 * m} for k, m in zip(KEYS, means)}
    rows = [{"image": "a", "relative_error_unperturbed": means[0],
             "worst_case_error": {k: {"relative_error": m, "found_at_eta": e, "restart": 0}
                                  for k, m, e in zip(KEYS, means, ETAS)}}]
    return SubjectResult(name=name, summary={
        "worst_case_error_by_eta": by_eta, "local_lipschitz": slope, "local_lipschitz_fit": slope,
        "local_lipschitz_etas": list(ETAS[:3]),
    }, per_image=rows)


def _tradeoff(root: Path, network_means: list[float], *, with_arrays: bool = True) -> CheckResult:
    """The layout of ``auditkit.checks.tradeoff``: curves in the summaries, one criterion per level, one .npz."""
    base = [0.2, 0.22, 0.24, 0.28]
    criteria = [
        Criterion.evaluate(f"tradeoff.error_vs_baseline[eta={k}]", "rule", n, 2.0 * b, compares_to_baseline=True)
        for k, n, b in zip(KEYS, network_means, base)
    ]
    x = _disc()
    artefact = np.zeros((H, W), np.float32)
    artefact[8:12, 15:25] = 0.8
    if with_arrays:
        save_npz(root / "arrays/tradeoff.npz", {
            "image_ids": np.asarray(["a", "b"]), "etas": np.asarray(ETAS),
            "network_error": np.tile(network_means, (2, 1)), "baseline_error": np.tile(base, (2, 1)),
            "x": x, "network_clean": 0.95 * x, "network_worst": 0.95 * x + artefact,
            "baseline_clean": 0.9 * x, "baseline_worst": 0.9 * x + 0.02 * np.sin(np.arange(W))[None],
            "searched_etas": np.asarray(ETAS[1:]),
            "network_progress": np.tile(np.linspace(0.5, 1.0, 11), (2, 3, 1)) * np.asarray(network_means[1:])[None, :, None],
            "baseline_progress": np.tile(np.ones(11), (2, 3, 1)) * np.asarray(base[1:])[None, :, None],
        })
    return CheckResult(
        name="tradeoff", title="Accuracy–stability trade-off", verdict=CheckResult.verdict_from(criteria),
        criteria=criteria,
        subjects={"network": _subject("net", network_means, (network_means[1] - network_means[0]) / 0.02),
                  "baseline": _subject("l1", base, 1.0)},
        parameters={"k_baseline": 2.0, "effective": {"images": ["a", "b"], "k_baseline": 2.0}},
        arrays=["arrays/tradeoff.npz"],
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tradeoff_fig")
    evidence = single_check_evidence(_tradeoff(root, [0.1, 0.3, 0.6, 1.2]))
    return root, evidence, draw_figures(evidence, root)


def test_registered_and_draws_curves_then_examples_then_convergence(drawn):
    root, _, refs = drawn
    assert DRAWERS["tradeoff"] == "auditkit.report.figures.tradeoff:draw" and load_drawer("tradeoff") is not None
    assert [(r.check, r.key) for r in refs] == [("tradeoff", "curves"), ("tradeoff", "examples"),
                                                ("tradeoff", "convergence")]
    assert_plain_figures(root, refs)
    assert all(b"auditkit" in (root / ref.png).read_bytes() for ref in refs)
    assert "exceeded at η = 0.04, 0.08" in refs[0].caption  # the failed levels are named


def test_redraw_is_byte_identical(drawn, tmp_path: Path):
    root, evidence, refs = drawn
    assert_redraw_identical(root, evidence, refs, tmp_path)


def test_without_arrays_only_the_curves(tmp_path: Path):
    refs = draw_figures(single_check_evidence(_tradeoff(tmp_path, [0.1, 0.12, 0.14, 0.2], with_arrays=False)), tmp_path)
    assert [(r.check, r.key) for r in refs] == [("tradeoff", "curves")]
    assert "exceeded" not in refs[0].caption


def test_an_exploding_network_is_drawn_on_a_log_axis(tmp_path: Path):
    refs = draw_figures(single_check_evidence(_tradeoff(tmp_path, [0.2, 8.0, 30.0, 90.0], with_arrays=False)), tmp_path)
    assert [r.key for r in refs] == ["curves"]
    for values, scale in (([0.2, 8.0, 90.0], "log"), ([0.2, 0.4, 1.5], "linear")):
        ax = new_figure(3, 2).subplots()
        ax.plot([0.0, 0.02, 0.04], values)
        set_error_axis(ax)
        assert ax.get_yscale() == scale


def test_not_run_and_error_have_no_figure(tmp_path: Path):
    checks = [CheckResult(name="tradeoff", verdict=v, reason="r") for v in (Verdict.NOT_RUN, Verdict.ERROR)]
    for check in checks:
        assert draw_figures(single_check_evidence(check), tmp_path) == []


def test_bound_points_read_the_criteria_in_level_order():
    crit = [Criterion.evaluate(f"tradeoff.error_vs_baseline[eta={k}]", "r", 0.1, t, compares_to_baseline=True)
            for k, t in (("0.04", 0.5), ("0", 0.3), ("0.02", 0.4))]
    crit.append(Criterion.evaluate("tradeoff.other[eta=0.5]", "r", 0.1, 9.0))
    check = CheckResult(name="tradeoff", verdict=Verdict.PASS, criteria=crit)
    assert bound_points(check) == [(0.0, 0.3), (0.02, 0.4), (0.04, 0.5)]


@pytest.mark.slow
def test_drawn_from_a_real_run(tmp_path: Path):
    """The check's own evidence and arrays feed the drawer (zero-filled reconstruction on both sides, 32 px)."""
    from auditkit.arrays import ArraySink
    from auditkit.checks.base import AuditContext, Subject
    from auditkit.checks.tradeoff import TradeoffCheck
    from auditkit.data.phantoms import random_ellipses
    from auditkit.manifest.models import TradeoffConfig
    from auditkit.operators.mri import MRISingleCoil

    op = MRISingleCoil.from_pattern("cartesian_random", (32, 32), 0.3, 0.08, 0)

    class ZeroFilled:
        name, operator = "zero-filled", op

        def __call__(self, y):
            return op.adjoint(y)

    zf = ZeroFilled()
    ctx = AuditContext(operator=op, network=Subject("network", zf, lambda o: zf),
                       baseline=Subject("baseline", zf, lambda o: zf), images=random_ellipses((32, 32), count=2, seed=1),
                       image_ids=["p", "q"], arrays=ArraySink(tmp_path))
    result = TradeoffCheck().run(ctx, TradeoffConfig(restarts=1, iterations=2))
    assert result.verdict is Verdict.PASS
    refs = draw_figures(single_check_evidence(result), tmp_path)
    assert [r.key for r in refs] == ["curves", "examples", "local", "convergence"]
    assert "Image p" in refs[1].caption


def test_convergence_shows_the_image_whose_search_levelled_off_least():
    from auditkit.report.figures.convergence import least_levelled

    flat = np.ones((3, 2, 9))
    flat[1, 1] = np.linspace(0.1, 1.0, 9)  # image 1 still climbing at level 1
    assert least_levelled(flat) == 1
