"""Figures of the hallucination check: drawn from its arrays and evidence, non-blank, byte-identical on redraw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from auditkit.arrays import save_npz
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.report.figures import DRAWERS, draw_figures, load_drawer
from auditkit.report.figures.hallucination import example_index, outline_patches, patch_text
from auditkit.report.figures.style import new_figure

from .figure_helpers import assert_plain_figures, assert_redraw_identical, single_check_evidence

H = W = 40


def _disc() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (0.7 * (((yy - H / 2) / 15) ** 2 + ((xx - W / 2) / 11) ** 2 <= 1)).astype(np.float32)


def _arrays(root: Path, *, detail: bool = True) -> None:
    """The layout of ``auditkit.checks.hallucination``'s .npz for two images, complex maps as for MRI."""
    x = np.stack([_disc(), 0.5 * _disc()])
    b = (0.1 * np.sin(np.arange(W) / 2.0)[None, None] * x).astype(np.complex64)  # a stand-in for P_N x
    bump = np.zeros((H, W), np.complex64)
    bump[8:14, 24:30] = 0.3
    arrays = {"x": x, "image_ids": np.asarray(["a", "b"]), "truth_kernel": b, "patch_size": np.asarray(8)}
    for key, c in (("network", 0.5 * b + bump), ("baseline", 0.2 * b)):
        arrays.update({
            f"{key}_fx": (x + c - b).astype(np.complex64), f"{key}_kernel_content": c.astype(np.complex64),
            f"{key}_kernel_error": (c - b).astype(np.complex64), f"{key}_f_detail": (x + c - b).astype(np.complex64),
            f"{key}_patches": np.array([[[8, 24, 8, 8], [0, 0, 8, 8], [-1, -1, -1, -1]]] * 2),
            f"{key}_patch_energy": np.array([[2e-2, 1e-9, 0.0]] * 2) * (1.0 if key == "network" else 0.01),
        })
    if detail:
        symbol = np.zeros((H, W), np.float32)
        symbol[16:24, 16:24] = 0.5
        d = (symbol - symbol.mean()).astype(np.complex64)
        arrays.update({"detail_symbol": symbol, "kernel_detail": d, "detail_region": symbol > 0})
        arrays["network_f_detail"] = arrays["network_fx"] + 0.8 * d  # the network "shows" the unmeasurable detail
    save_npz(root / "arrays/hallucination.npz", arrays)


def _subject(name: str, largest: float, gamma: float) -> SubjectResult:
    rows = [{"image": i, "largest_patch_energy": largest, "kernel_error_relative": 0.3, "kernel_content_relative": 0.1,
             "image_kernel_share": 0.2, "largest_patches": [], "kernel_detail_shown": gamma} for i in ("a", "b")]
    return SubjectResult(name=name, summary={"largest_patch_energy": largest, "largest_patch_image": "b",
                                             "kernel_detail_shown": gamma}, per_image=rows)


def _hallucination(root: Path, *, detail: bool = True, with_arrays: bool = True) -> CheckResult:
    if with_arrays:
        _arrays(root, detail=detail)
    crit = Criterion.evaluate("hallucination.largest_patch_vs_baseline", "rule", 100.0, 2.0, compares_to_baseline=True)
    return CheckResult(
        name="hallucination", title="Hallucination", verdict=CheckResult.verdict_from([crit]), criteria=[crit],
        subjects={"network": _subject("net", 2e-2, 0.8), "baseline": _subject("l1", 2e-4, 0.0)},
        parameters={"patch_size": 8, "effective": {"kernel_detail": {"measured_fraction": 3e-7, "kernel_share": 0.33}}},
        arrays=["arrays/hallucination.npz"] if with_arrays else [],
    )


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("hallucination_fig")
    evidence = single_check_evidence(_hallucination(root))
    return root, evidence, draw_figures(evidence, root)


def test_registered_and_draws_maps_then_detail(drawn):
    root, _, refs = drawn
    assert DRAWERS["hallucination"] == "auditkit.report.figures.hallucination:draw"
    assert load_drawer("hallucination") is not None
    assert [(r.check, r.key) for r in refs] == [("hallucination", "maps"), ("hallucination", "detail")]
    assert_plain_figures(root, refs)
    maps = refs[0].caption
    assert maps.startswith("Image b") and "8×8 px" in maps and "1 at (row 8, col 24) 8×8 px, I = 2.00e-02" in maps
    assert "‖Ad‖/‖d‖ = 3.0e-07" in refs[1].caption


def test_redraw_is_byte_identical(drawn, tmp_path: Path):
    root, evidence, refs = drawn
    assert_redraw_identical(root, evidence, refs, tmp_path)


def test_without_a_detail_only_the_maps_and_without_arrays_nothing(tmp_path: Path):
    refs = draw_figures(single_check_evidence(_hallucination(tmp_path / "one", detail=False)), tmp_path / "one")
    assert [r.key for r in refs] == ["maps"]
    assert draw_figures(single_check_evidence(_hallucination(tmp_path / "two", with_arrays=False)), tmp_path / "two") == []


def test_negligible_patches_are_listed_not_outlined():
    ax = new_figure(2, 2).subplots()
    ax.imshow(np.zeros((H, W)))
    patches = np.array([[8, 24, 8, 8], [0, 0, 8, 8], [-1, -1, -1, -1]])
    text = outline_patches(ax, patches, np.array([2e-2, 1e-9, 0.0]))
    assert len(ax.patches) == 1 and [t.get_text() for t in ax.texts] == ["1"]
    assert text.splitlines() == ["1: I = 2.00e-02‖x‖² at (8, 24)", "2: I = 1.00e-09‖x‖² at (0, 0)"]
    assert patch_text(patches[2:], np.zeros(1)) == "none"


def test_example_is_the_networks_largest_patch_image(tmp_path: Path):
    check = _hallucination(tmp_path, with_arrays=False)
    assert example_index(check, {"image_ids": np.asarray(["a", "b"])}) == 1
    assert example_index(check, {"image_ids": np.asarray(["c"])}) == 0


def test_not_run_and_error_have_no_figure(tmp_path: Path):
    for verdict in (Verdict.NOT_RUN, Verdict.ERROR):
        assert draw_figures(single_check_evidence(CheckResult(name="hallucination", verdict=verdict, reason="r")), tmp_path) == []


def test_each_patch_number_sits_inside_its_own_box():
    """Touching patches (the reviewer's case: 1 above 3, 2 beside them): every number lies in its own box only."""
    fig = new_figure(3, 3)
    ax = fig.subplots()
    ax.imshow(np.zeros((32, 32)))
    patches = np.array([[8, 8, 8, 8], [12, 16, 8, 8], [16, 8, 8, 8]])  # row, col (top-left corner), height, width
    outline_patches(ax, patches, np.array([3e-4, 2e-4, 1e-4]))
    fig.canvas.draw()
    boxes = [p.get_window_extent() for p in ax.patches]
    assert [t.get_text() for t in ax.texts] == ["1", "2", "3"] and len(boxes) == 3
    for k, text in enumerate(ax.texts):
        extent = text.get_window_extent()
        centre = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
        assert boxes[k].contains(*centre) and boxes[k].x0 <= extent.x0 and extent.y1 <= boxes[k].y1
        assert not any(box.contains(*centre) for j, box in enumerate(boxes) if j != k)


def test_the_maps_show_the_image_that_decides_the_criterion(tmp_path: Path):
    """The criterion's largest per-image ratio (image a), not the network's largest patch (image b), is shown."""
    check = _hallucination(tmp_path)
    crit = Criterion.evaluate("hallucination.largest_patch_vs_baseline", "rule", 5.0, 2.0, compares_to_baseline=True,
                              per_image={"a": 5.0, "b": 1.0})
    check = check.model_copy(update={"criteria": [crit]})
    assert example_index(check, {"image_ids": np.asarray(["a", "b"])}) == 0
    refs = draw_figures(single_check_evidence(check), tmp_path)
    assert refs[0].caption.startswith(
        "Image a (the image that decides hallucination.largest_patch_vs_baseline: the largest ratio, patch by patch, "
        "of the network's invented energy to the baseline's on the same patch, 5)")
    assert refs[1].caption.startswith("Kernel detail on image a")
