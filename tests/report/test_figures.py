"""Dossier figures: drawn from evidence and arrays alone, non-blank, byte-identical on redraw, none for NOT_RUN/ERROR."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from matplotlib.layout_engine import ConstrainedLayoutEngine

from auditkit.arrays import save_npz
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.evidence import Evidence
from auditkit.report.figures import DRAWERS, FigureRef, draw_figures
from auditkit.report.figures.adversarial import IMAGE, NOISE, criterion_bounds
from auditkit.report.figures.sampling import setting_axis, trained_position
from auditkit.report.figures.structural import zoom_box
from auditkit.report.figures.style import (
    BASELINE_COLOR,
    LAYOUT_DECIMALS,
    NETWORK_COLOR,
    SUBJECT_COLORS,
    freeze_layout,
    new_figure,
)

H = W = 48
BUDGETS = (0.01, 0.04)
RATIOS = (0.2, 0.33, 0.5)
DETAILS = ("spade", "word")


def _disc() -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (0.6 * (((yy - H / 2) / 18) ** 2 + ((xx - W / 2) / 14) ** 2 <= 1)).astype(np.float32)


def _adversarial(root: Path, rng: np.random.Generator) -> CheckResult:
    """The layout of ``auditkit.checks.adversarial``: two files, summaries keyed by budget, per-image rows."""
    x = np.stack([_disc(), 0.8 * _disc()])
    r = np.stack([[b * np.linalg.norm(xi) / H * rng.standard_normal((H, W)) for b in BUDGETS] for xi in x])
    artefact = np.zeros((H, W), np.float32)
    artefact[10:14, 20:30] = 1.0
    net = np.stack([[np.clip(xi + 10 * b * artefact, 0, 1) for b in BUDGETS] for xi in x]).astype(np.float32)
    base = np.stack([[xi + rj for rj in ri] for xi, ri in zip(x, r)]).astype(np.float32)
    ids = np.asarray(["a", "b"])
    save_npz(root / "arrays/adversarial_image_domain.npz", {
        "image_ids": ids, "budgets": np.asarray(BUDGETS), "x": x, "network_perturbation": r.astype(np.float32),
        "perturbed_image": (x[:, None] + r).astype(np.float32), "network_clean": x.astype(np.complex64),
        "network_perturbed": net.astype(np.complex64), "baseline_clean": x, "baseline_on_network_perturbation": base,
        "baseline_perturbation": r.astype(np.float32), "baseline_perturbed": base,
    })
    save_npz(root / "arrays/adversarial_measurement_domain.npz", {
        "image_ids": ids, "etas": np.asarray(BUDGETS), "x": x, "network_noise": rng.standard_normal((2, len(BUDGETS), 40)),
        "network_worst": net, "baseline_noise": rng.standard_normal((2, len(BUDGETS), 40)), "baseline_worst": base,
        "baseline_on_network_noise": base,
    })
    keys = [f"{b:g}" for b in BUDGETS]

    def summary(gain: float) -> dict:
        fields = {
            "worst_case_change": {k: gain * b for k, b in zip(keys, BUDGETS)},
            "worst_case_relative_error": {k: 0.05 + gain * b for k, b in zip(keys, BUDGETS)},
            "relative_error_unperturbed": {k: 0.05 for k in keys},
            "worst_case_amplification": {k: gain for k in keys},
        }
        cross = {"change_under_network_perturbation": fields["worst_case_change"]}
        return {**fields, **cross, "measurement_domain": dict(fields)}

    def rows(scale: float) -> list[dict]:
        return [
            {"image": i, "image_domain": {k: {"change": f * scale * b} for k, b in zip(keys, BUDGETS)},
             "measurement_domain": {k: {"relative_error": f * b} for k, b in zip(keys, BUDGETS)}}
            for i, f in (("a", 4.0), ("b", 8.0))
        ]

    criteria = [
        c for k, b in zip(keys, BUDGETS) for c in (
            Criterion.evaluate(f"adversarial.change_vs_baseline[eps={k}]", "k·max(Δ_base, ε)", 8 * b, 2 * 1.1 * b),
            Criterion.evaluate(f"adversarial.change_vs_budget[eps={k}]", "c·ε", 8 * b, 10 * b),
            Criterion.evaluate(
                f"adversarial.measurement_change_vs_baseline[eta={k}]", "k·max(Δ_base, η)", 8 * b, 2.2 * b
            ),
        )
    ]
    return CheckResult(
        name="adversarial", verdict=Verdict.FAIL, criteria=criteria,
        arrays=["arrays/adversarial_image_domain.npz", "arrays/adversarial_measurement_domain.npz"],
        subjects={
            "network": SubjectResult(name="net", summary=summary(8.0), per_image=rows(1.0)),
            "baseline": SubjectResult(name="base", summary=summary(1.1), per_image=rows(0.1)),
        },
    )


def _structural(root: Path) -> CheckResult:
    x = _disc()[None]
    details = np.zeros((2, H, W), np.float32)
    details[0, 12:18, 14:20] = 0.3
    details[1, 30:34, 8:40] = 0.3
    masks = np.zeros((2, H, W), bool)
    masks[0, 10:20, 12:22] = True
    masks[1, 28:36, 6:42] = True
    x_d = np.clip(x + details.sum(0), 0, 1)
    save_npz(root / "arrays/structural.npz", {
        "x": x, "x_d": x_d, "network_fx": x, "network_fxd": 0.5 * (x + x_d), "baseline_fx": x, "baseline_fxd": x_d,
        "details": details, "masks": masks, "detail_names": np.asarray(DETAILS), "image_ids": np.asarray(["a"]),
    })
    row = {n: {"recovered_fraction": 0.75, "together": {"recovered_fraction": 0.7}} for n in DETAILS}
    recovery = {n: {"recovered_fraction": 0.75, "worst_image": "a"} for n in DETAILS}
    return CheckResult(
        name="structural", verdict=Verdict.PASS, arrays=["arrays/structural.npz"],
        parameters={"effective": {"details": [{"name": "spade", "text": "♠"}, {"name": "word", "text": "CAN U"}]}},
        subjects={
            s: SubjectResult(name=s, summary={"detail_recovery": recovery}, per_image=[{"image": "a", "details": row}])
            for s in ("network", "baseline")
        },
    )


def _sampling(root: Path) -> CheckResult:
    x = _disc()
    recon = np.stack([x * (0.6 + r) for r in RATIOS])
    masks = np.zeros((3, H, W), bool)
    for k, r in enumerate(RATIOS):
        masks[k, :, : int(r * W)] = True
    psnr = np.array([[20.0 + 10 * r, 21.0 + 10 * r] for r in RATIOS])
    save_npz(root / "arrays/sampling.npz", {
        "ratios": np.asarray(RATIOS), "x": x, "image_ids": np.asarray(["a", "b"]), "example_image_id": np.asarray("a"),
        "masks": masks, "network_recon": recon, "baseline_recon": recon, "network_psnr": psnr, "baseline_psnr": psnr + 1,
        "network_ssim": psnr / 40, "baseline_ssim": psnr / 40,
    })

    def summary(shift: float) -> dict:
        stats = lambda v: {"mean": v, "std": 0.5, "min": v - 0.5, "max": v + 0.5}  # noqa: E731
        return {
            "ratios": list(RATIOS),
            "psnr_by_ratio": {f"{r:g}": stats(20.5 + 10 * r + shift) for r in RATIOS},
            "ssim_by_ratio": {f"{r:g}": stats(0.5 + r / 2 + shift / 50) for r in RATIOS},
        }

    return CheckResult(
        name="sampling", verdict=Verdict.PASS, arrays=["arrays/sampling.npz"],
        parameters={"effective": {"trained_setting": "0.33", "trained_ratio": 0.33, "audit_setting": "0.33", "images": ["a", "b"]}},
        subjects={
            "network": SubjectResult(name="net", summary=summary(0)),
            "baseline": SubjectResult(name="b", summary=summary(1)),
        },
    )


def make_dossier(root: Path) -> Evidence:
    """Evidence and arrays of three drawn checks and two that must not be drawn, under ``root``."""
    rng = np.random.default_rng(0)
    checks = [
        _adversarial(root, rng),
        _structural(root),
        _sampling(root),
        CheckResult(name="noise", verdict=Verdict.NOT_RUN, reason="not available"),
        CheckResult(name="tradeoff", verdict=Verdict.ERROR, reason="boom", arrays=["arrays/tradeoff.npz"]),
    ]
    return Evidence(tool={"name": "auditkit", "version": "0"}, submission={"id": "T"}, checks=checks)


EXPECTED = [
    ("adversarial", "ladder"), ("adversarial", "changes"), ("adversarial", "noise"), ("adversarial", "curves"), ("adversarial", "amplification"),
    ("structural", "overview"), ("structural", "zoom"), ("structural", "zoom_word"),  # a word: its own full-width zoom
    ("sampling", "curves"), ("sampling", "examples"),
]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Evidence, list[FigureRef]]:
    root = tmp_path_factory.mktemp("dossier")
    evidence = make_dossier(root)
    return root, evidence, draw_figures(evidence, root)


def test_figures_in_check_order_with_files(drawn):
    root, _, refs = drawn
    assert [(r.check, r.key) for r in refs] == EXPECTED
    for ref in refs:
        assert ref.png == f"figures/{ref.check}_{ref.key}.png" and ref.svg == f"figures/{ref.check}_{ref.key}.svg"
        assert (root / ref.png).stat().st_size > 1000 and (root / ref.svg).stat().st_size > 1000
        assert ref.title and ref.caption


def test_png_is_not_blank_and_has_no_timestamp(drawn):
    root, _, refs = drawn
    for ref in refs:
        raw = (root / ref.png).read_bytes()
        pixels = (imread(io.BytesIO(raw)) * 255).astype(np.uint8)
        assert pixels.std() > 10, ref.png
        packed = np.ascontiguousarray(pixels[..., :3]).view(np.dtype((np.void, 3))).ravel()
        assert len(np.unique(packed)) > 20, ref.png
        assert b"auditkit" in raw and b"tIME" not in raw


def test_svg_has_no_date_and_fixed_creator(drawn):
    root, _, refs = drawn
    for ref in refs:
        text = (root / ref.svg).read_text(encoding="utf-8")
        assert "<dc:date>" not in text and "auditkit" in text


def test_redraw_is_byte_identical(drawn, tmp_path: Path):
    root, evidence, refs = drawn
    shutil.copytree(root / "arrays", tmp_path / "arrays")
    again = draw_figures(evidence, tmp_path)
    assert again == refs
    for ref in refs:
        for rel in (ref.png, ref.svg):
            assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes(), rel


def test_not_run_and_error_checks_have_no_figure(drawn):
    root, _, refs = drawn
    assert not {r.check for r in refs} & {"noise", "tradeoff"}
    assert not list((root / "figures").glob("noise_*")) and not list((root / "figures").glob("tradeoff_*"))


def test_missing_arrays_leave_out_only_the_figures_that_need_them(tmp_path: Path):
    evidence = make_dossier(tmp_path)
    for f in (tmp_path / "arrays").iterdir():
        f.unlink()
    refs = draw_figures(evidence, tmp_path)
    evidence_only = [("adversarial", "curves"), ("adversarial", "amplification"), ("sampling", "curves")]
    assert [(r.check, r.key) for r in refs] == evidence_only


def test_failed_check_without_any_drawer_or_data_is_skipped(tmp_path: Path):
    ev = Evidence(
        tool={"name": "auditkit", "version": "0"}, submission={"id": "T"},
        checks=[
            CheckResult(name="hallucination", verdict=Verdict.FAIL),
            CheckResult(name="structural", verdict=Verdict.FAIL, arrays=["arrays/structural.npz"]),
            CheckResult(name="sampling", verdict=Verdict.PASS),
            CheckResult(name="adversarial", verdict=Verdict.FAIL),
        ],
    )
    assert draw_figures(ev, tmp_path) == []


def test_subject_colours_are_fixed_and_distinct():
    assert SUBJECT_COLORS == {"network": NETWORK_COLOR, "baseline": BASELINE_COLOR}
    assert NETWORK_COLOR != BASELINE_COLOR
    assert list(DRAWERS)[:3] == ["adversarial", "structural", "sampling"]


def test_ct_settings_are_angle_counts_with_the_trained_setting_in_angles():
    stats = {"mean": 20.0, "std": 0.0}
    ratios = [0.2, 0.4, 0.8]
    check = CheckResult(
        name="sampling", verdict=Verdict.PASS, parameters={"effective": {"trained_ratio": 0.25, "trained_setting": None}},
        subjects={"network": SubjectResult(name="n", summary={
            "ratios": ratios, "n_angles": [15, 30, 60], "psnr_by_ratio": {f"{r:g}": stats for r in ratios},
        })},
    )
    axis = setting_axis(check)
    assert axis is not None and axis.angles and axis.values == [15.0, 30.0, 60.0]
    assert trained_position(check, axis) == pytest.approx(18.75)  # 0.25 of the 75 angles of ratio 1


def test_criterion_bounds_split_by_domain():
    criteria = [
        Criterion.evaluate("adversarial.change_vs_baseline[eps=0.02]", "", 0.1, 0.3),
        Criterion.evaluate("adversarial.change_vs_baseline[eps=0.01]", "", 0.1, 0.2),
        Criterion.evaluate("adversarial.measurement_change_vs_baseline[eta=0.01]", "", 0.1, 0.5),
    ]
    image = criterion_bounds(criteria, IMAGE)
    assert list(image) == ["change_vs_baseline"]
    assert image["change_vs_baseline"].budgets.tolist() == [0.01, 0.02]
    assert image["change_vs_baseline"].values.tolist() == [0.2, 0.3]
    assert list(criterion_bounds(criteria, NOISE)) == ["measurement_change_vs_baseline"]


def test_freeze_layout_rounds_positions_and_keeps_them():
    fig = new_figure(4.0, 3.0)
    axes = fig.subplots(1, 2)
    axes[0].set_ylabel("a long label that moves the layout")
    freeze_layout(fig)
    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    for ax in fig.axes:
        points = ax.get_position(original=True).get_points()
        assert np.array_equal(points, np.round(points, LAYOUT_DECIMALS))


def test_zoom_box_stays_inside_the_image_and_covers_the_region():
    mask = np.zeros((40, 40), bool)
    mask[0:3, 35:40] = True
    rows, cols = zoom_box(mask, (40, 40))
    assert 0 <= rows.start < rows.stop <= 40 and 0 <= cols.start < cols.stop <= 40
    assert rows.start <= 0 and cols.stop >= 40
    assert rows.stop - rows.start >= 12 and cols.stop - cols.start >= 12


#: the adversarial check's settings, kept short, added to the suite's tiny manifest (``tiny_manifest``).
ADVERSARIAL_SETTINGS = "  adversarial: {image_domain: {max_iter: 20}, measurement_domain: {restarts: 1, iterations: 10}}\n"

DRAW_SCRIPT = (
    "import sys; from pathlib import Path; from auditkit.evidence import Evidence; "
    "from auditkit.report.figures import draw_figures; root = Path(sys.argv[1]); "
    "draw_figures(Evidence.read(root / 'evidence.json'), root)"
)


@pytest.mark.slow
def test_figures_from_a_real_audit_are_identical_across_processes(tiny_manifest: Path, tmp_path: Path):
    """The pipeline on the 32×32 fixture, then its figures drawn here and in a fresh process with another hash seed."""
    import os
    import subprocess
    import sys

    import torch

    from auditkit.pipeline import RunOptions, run_audit

    manifest = tiny_manifest
    text = manifest.read_text(encoding="utf-8")
    assert text.count("\nchecks:\n") == 1
    manifest.write_text(text.replace("\nchecks:\n", "\nchecks:\n" + ADVERSARIAL_SETTINGS), encoding="utf-8")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path / "out"
        run_audit(manifest, RunOptions(out=out, checks=["adversarial", "structural", "sampling"], quick=True))
    finally:
        torch.set_num_threads(before)
    refs = draw_figures(Evidence.read(out / "evidence.json"), out)
    assert [r.check for r in refs][:1] == ["adversarial"]
    assert {(r.check, r.key) for r in refs} >= {
        ("adversarial", "ladder"), ("adversarial", "curves"), ("adversarial", "convergence"), ("structural", "zoom"),
        ("sampling", "curves"),
    }
    other = tmp_path / "again"
    shutil.copytree(out / "arrays", other / "arrays")
    shutil.copy(out / "evidence.json", other / "evidence.json")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", DRAW_SCRIPT, str(other)], check=True, env=env)
    for ref in refs:
        for rel in (ref.png, ref.svg):
            assert (other / rel).read_bytes() == (out / rel).read_bytes(), rel


def test_the_zoom_window_holds_the_largest_change():
    from auditkit.report.figures.adversarial import largest_change_box

    change = np.zeros((40, 50))
    change[30:34, 41:45] = 1.0
    rows, cols = largest_change_box(change, 10)
    assert rows.stop - rows.start == 10 and cols.stop - cols.start == 10
    assert rows.start <= 30 and rows.stop >= 34 and cols.start <= 41 and cols.stop >= 45
    rows, cols = largest_change_box(np.pad(np.ones((1, 1)), ((0, 39), (49, 0))), 10)  # a corner stays inside
    assert (rows.start, cols.stop) == (0, 50)


def test_the_outlined_patch_is_the_local_criterions_patch():
    """The patch of largest RMS change on the criterion's grid (side patch_size, stride half of it), cut to the image."""
    from auditkit.report.figures.adversarial import largest_rms_patch

    change = np.zeros((32, 32))
    change[1:5, 27:31] = 1.0  # at the top-right edge
    assert largest_rms_patch(change, 8) == (slice(0, 8), slice(24, 32))
    change = np.zeros((30, 30))
    change[27:30, 27:30] = 1.0  # on a padded patch of the grid: cut to the image's pixels
    assert largest_rms_patch(change, 8) == (slice(24, 30), slice(24, 30))


def test_value_labels_have_three_digits_and_point_away_from_each_other():
    from auditkit.report.figures.adversarial import Series, label_above, value_label

    assert [value_label(v) for v in (0.016059, 0.08502, 3.2383)] == ["0.0161", "0.0850", "3.24"]
    lines = {"network": Series(np.array([0.01, 0.04]), np.array([3.14, 3.24])),
             "baseline": Series(np.array([0.01, 0.04]), np.array([4.22, 3.16]))}
    assert [label_above(lines, "network", b, v) for b, v in ((0.01, 3.14), (0.04, 3.24))] == [False, True]
    assert [label_above(lines, "baseline", b, v) for b, v in ((0.01, 4.22), (0.04, 3.16))] == [True, False]


def test_convergence_budgets_have_their_own_colours_and_a_readable_axis():
    from auditkit.report.figures.convergence import budget_colors, value_axis

    assert len(set(budget_colors(4))) == 4
    ax = new_figure(3, 2).subplots()
    ax.plot([0, 1], [0.06, 0.19])
    assert value_axis(ax) == "linear" and len(ax.get_yticks()) >= 4
    ax = new_figure(3, 2).subplots()
    ax.plot([0, 1], [0.005, 0.11])
    assert value_axis(ax) == "log"
