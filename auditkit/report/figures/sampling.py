"""Figures of check 3 (more samples): PSNR and SSIM against the sampling setting, and example reconstructions.

The curves come from the evidence (``psnr_by_ratio`` / ``ssim_by_ratio``: mean and
population standard deviation over the images, per achieved ratio; ``n_angles``
for CT), with the training setting and the audit setting marked. The examples come
from ``arrays/sampling.npz`` (x, ``{network,baseline}_recon`` (K, H, W) of the first
image, their PSNR per setting, and the k-space masks for MRI).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from auditkit.checks.result import CheckResult
from auditkit.report.figures import CheckArrays, FigureRef, effective
from auditkit.report.figures.style import (
    CRITERION_COLOR,
    FULL_WIDTH,
    SUBJECT_COLORS,
    SUBJECT_LABELS,
    TRAINED_COLOR,
    fmt,
    grey_window_text,
    new_figure,
    save,
    show_image,
)

CHECK = "sampling"
SUBJECTS = ("network", "baseline")
METRICS = (("psnr_by_ratio", "PSNR (dB, peak 1)"), ("ssim_by_ratio", "SSIM (data range 1)"))


@dataclass(frozen=True)
class Axis:
    """The horizontal axis: the setting of each ratio key (ratio, or angle count for CT), and its label."""

    keys: list[str]
    values: list[float]
    label: str
    angles: bool

    def at(self, key: str | None) -> float | None:
        """The axis position of a ratio key (None when it was not measured)."""
        return self.values[self.keys.index(key)] if key in self.keys else None

    def name(self, k: int) -> str:
        """How setting k is written in titles."""
        return self.text(self.values[k])

    def text(self, value: float) -> str:
        """A position on the axis in words: "20 angles" or "ratio 0.33"."""
        return f"{value:.3g} angles" if self.angles else f"ratio {value:.3g}"


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """The quality curves (from the evidence) and, when the arrays are there, the example reconstructions."""
    axis = setting_axis(check)
    if axis is None:
        return []
    refs = [_curves(check, axis, root)]
    data = arrays.get(CHECK)
    if data is not None and "x" in data and all(
        len(data.get(f"{s}_recon", ())) == len(axis.keys) for s in SUBJECTS
    ):
        refs.append(_examples(check, axis, data, root))
    return refs


def setting_axis(check: CheckResult) -> Axis | None:
    """The measured settings in increasing order, from the network's summary (None when there are none)."""
    summary = check.subjects["network"].summary if "network" in check.subjects else {}
    by_ratio = summary.get("psnr_by_ratio") or {}
    if not by_ratio:
        return None
    keys = sorted(by_ratio, key=float)
    angles = summary.get("n_angles")
    if angles and len(angles) == len(keys):
        ordered = [float(a) for _, a in sorted(zip(summary["ratios"], angles))]
        return Axis(keys, ordered, "number of projection angles", True)
    return Axis(keys, [float(k) for k in keys], "sampling ratio (fraction of coefficients measured)", False)


def trained_position(check: CheckResult, axis: Axis) -> float | None:
    """Where the training setting lies on the axis: its measured key, else the trained ratio (in angles for CT)."""
    at_key = axis.at(effective(check).get("trained_setting"))
    if at_key is not None:
        return at_key
    trained = effective(check).get("trained_ratio")
    if trained is None:
        return None
    if not axis.angles:
        return float(trained)
    ratios = sorted(float(k) for k in axis.keys)
    return float(trained) * axis.values[0] / ratios[0]  # angle count per unit ratio is constant (n_full)


def _curves(check: CheckResult, axis: Axis, root: Path) -> FigureRef:
    """PSNR and SSIM (mean ± std over the images) against the setting, network and baseline."""
    fig = new_figure(FULL_WIDTH, 3.0)
    axes = fig.subplots(1, 2)
    trained = trained_position(check, axis)
    audit = axis.at(effective(check).get("audit_setting"))
    for ax, (field, ylabel) in zip(axes, METRICS):
        for s in SUBJECTS:
            summary = check.subjects[s].summary if s in check.subjects else {}
            _curve(ax, axis, summary.get(field, {}), s, audit)
        if trained is not None:
            ax.axvline(trained, color=TRAINED_COLOR, linestyle="--", linewidth=1.0, label="trained setting")
        ax.set_xlabel(axis.label)
        ax.set_ylabel(ylabel)
        ax.grid(True)
    handles, labels = axes[0].get_legend_handles_labels()
    order = [labels.index(n) for n in ("network", "baseline", "trained setting", "audit setting") if n in labels]
    fig.legend([handles[j] for j in order], [labels[j] for j in order], loc="outside lower center",
               ncols=len(order), frameon=False)
    images = effective(check).get("images") or []
    trained_text = "not given" if trained is None else axis.text(trained)
    caption = (
        f"Mean PSNR (dB, peak 1: images in [0, 1]) and SSIM (data range 1) over {len(images) or 'the'} test images "
        f"against the {axis.label}, network and baseline, from noise-free measurements; the band is ± one "
        f"population standard deviation over the images. Dashed line: the setting the network was trained at "
        f"({trained_text}); ringed points: the audit setting"
        f"{'' if audit is None else f' ({axis.text(audit)})'}."
    )
    return save(fig, root, CHECK, "curves", "Reconstruction quality against the sampling setting", caption)


def _curve(ax: Axes, axis: Axis, stats: dict, subject: str, audit: float | None) -> None:
    """One subject's mean line with its ± std band, and a ring at the audit setting."""
    keys = [k for k in axis.keys if k in stats]
    x = np.array([axis.at(k) for k in keys], dtype=np.float64)
    mean = np.array([stats[k]["mean"] for k in keys], dtype=np.float64)
    std = np.array([stats[k].get("std", 0.0) for k in keys], dtype=np.float64)
    color = SUBJECT_COLORS[subject]
    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, linewidth=0)
    ax.plot(x, mean, marker="o", color=color, label=SUBJECT_LABELS[subject])
    if audit is not None and audit in x:
        j = int(np.flatnonzero(x == audit)[0])
        label = "audit setting" if subject == SUBJECTS[0] else None
        ax.plot([audit], [mean[j]], marker="o", markersize=10, markerfacecolor="none",
                markeredgecolor=CRITERION_COLOR, linestyle="none", label=label)


def _examples(check: CheckResult, axis: Axis, data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Small multiples: per setting, the mask (MRI) and the network's and baseline's reconstruction of one image."""
    k_count = len(axis.keys)
    masks = data.get("masks")
    if masks is not None and len(masks) != k_count:
        masks = None
    rows = [("mask", None)] if masks is not None else []
    rows += [(s, s) for s in SUBJECTS]
    ids = [str(s) for s in data.get("image_ids", [])]
    if "example_image_id" in data:
        example = str(np.ravel(data["example_image_id"])[0])
    else:
        example = ids[0] if ids else "the first image"
    column = ids.index(example) if example in ids else 0
    fig = new_figure(min(FULL_WIDTH, 1.35 * (k_count + 1) + 0.3), 1.45 * len(rows) + 0.3)
    axes = np.asarray(fig.subplots(len(rows), k_count + 1)).reshape(len(rows), k_count + 1)
    for r, (row_name, subject) in enumerate(rows):
        axes[r, 0].set_axis_off()
        for k in range(k_count):
            ax = axes[r, k + 1]
            if subject is None:
                show_image(ax, masks[k].astype(np.float64), axis.name(k))
                continue
            scores = data.get(f"{subject}_psnr")
            value = None if scores is None else float(scores[k, column])
            head = f"{axis.name(k)}\n" if r == 0 else ""
            show_image(ax, data[f"{subject}_recon"][k], f"{head}{fmt(value)} dB")
        axes[r, 1].set_ylabel(row_name, color=SUBJECT_COLORS.get(row_name, "black"))
    truth_row = len(rows) - len(SUBJECTS)
    show_image(axes[truth_row, 0], data["x"], "ground truth x")
    axes[truth_row, 0].set_axis_on()
    mask_text = "Top row: the sampling mask at each ratio (white: measured). " if masks is not None else ""
    caption = (
        f"Reconstructions of image {example} at each measured setting "
        f"({', '.join(axis.name(k) for k in range(k_count))}). "
        f"{mask_text}Rows: the network's and the baseline's |f(A_r x)|, with PSNR (dB, peak 1) above each; "
        f"left: the ground truth x. All images on one {grey_window_text()}."
    )
    return save(fig, root, CHECK, "examples", "Example reconstructions at each sampling setting", caption)
