"""Figures of check 5 (hallucination): the kernel maps with the largest patches, and the kernel detail.

From ``arrays/hallucination.npz`` (``auditkit.checks.hallucination``): x, the truth's
kernel part P_N x (``truth_kernel``), per subject f(Ax) (``{key}_fx``), its kernel part
c = P_N f(Ax) (``{key}_kernel_content``), the kernel error h = P_N(f(Ax) − x)
(``{key}_kernel_error``), the largest patches by invented energy (``{key}_patches``:
row, col, height, width; ``{key}_patch_energy``: I_P/‖x‖²), and the kernel detail d̃,
d = P_N d̃, its region and f(A(x + d)). From the evidence: the image that decided the criterion
``hallucination.largest_patch_vs_baseline`` (its largest per-image ratio), each subject's shown
fraction γ, ‖Ad‖/‖d‖ and the patch size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes

from auditkit.checks.result import CheckResult, Criterion
from auditkit.report.figures import CheckArrays, FigureRef, effective
from auditkit.report.figures.style import (
    CRITERION_COLOR,
    FULL_WIDTH,
    GREY,
    OUTLINE_COLOR,
    SUBJECT_COLORS,
    SUBJECT_LABELS,
    fmt,
    grey_window_text,
    new_figure,
    outline_box,
    save,
    show_image,
    show_signed,
    symmetric_window,
    window_text,
)

CHECK = "hallucination"
SUBJECTS = ("network", "baseline")
MAP_KEYS = ("x", "truth_kernel") + tuple(
    f"{s}_{k}" for s in SUBJECTS for k in ("fx", "kernel_content", "kernel_error", "patches", "patch_energy")
)
DETAIL_KEYS = ("detail_symbol", "kernel_detail", "detail_region") + tuple(
    f"{s}_{k}" for s in SUBJECTS for k in ("fx", "f_detail")
)
#: outline of the kernel detail's region R on the (light) diverging maps.
REGION_COLOR = CRITERION_COLOR
#: patches whose invented energy is below this fraction of ‖x‖² are listed but not outlined (nothing to point at).
NEGLIGIBLE = 1e-6
#: the criterion that compares the network's largest patch with the baseline's; the figures show its deciding image.
CRITERION = "hallucination.largest_patch_vs_baseline"


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """The kernel maps with the largest patches and, when a kernel detail was built, what each method made of it."""
    data = arrays.get(CHECK)
    if data is None or not all(k in data for k in MAP_KEYS):
        return []
    n = example_index(check, data)
    refs = [_maps(check, data, n, root)]
    if all(k in data for k in DETAIL_KEYS) and np.any(np.asarray(data["kernel_detail"]) != 0):
        refs.append(_detail(check, data, n, root))
    return refs


def example_index(check: CheckResult, data: dict[str, np.ndarray]) -> int:
    """Index of the image that decided ``CRITERION`` (its largest per-image ratio); without that criterion's
    per-image values, the image with the network's largest patch (the summary's ``largest_patch_image``); else 0.

    Why the criterion's image: the figure is read as the evidence for the verdict, and the verdict is decided by the
    ratio network/baseline, which may peak on another image than the network's largest patch alone.
    """
    ids = [str(i) for i in np.ravel(data.get("image_ids", np.zeros(0)))]
    image = deciding_image(check, ids)
    if image is None:
        network = check.subjects.get("network")
        image = network.summary.get("largest_patch_image") if network is not None else None
    return ids.index(image) if image in ids else 0


def _criterion(check: CheckResult) -> Criterion | None:
    """The check's ``CRITERION``, None when it was not decided."""
    return next((c for c in check.criteria if c.name == CRITERION), None)


def deciding_image(check: CheckResult, ids: list[str]) -> str | None:
    """The image of ``ids`` with the largest finite per-image value of ``CRITERION`` (the one its measured value is
    taken on); None when the criterion or its per-image values are absent."""
    criterion = _criterion(check)
    values = {
        image: float(v) for image, v in ((criterion.per_image or {}) if criterion is not None else {}).items()
        if image in ids and v is not None and np.isfinite(v)
    }
    return max(values, key=lambda image: (values[image], -ids.index(image))) if values else None


def _choice_text(check: CheckResult, image: str, ids: list[str]) -> str:
    """Why the maps show ``image``, for the caption (true to how ``example_index`` chose it)."""
    if deciding_image(check, ids) == image:
        criterion = _criterion(check)
        value = (criterion.per_image or {}).get(image) if criterion is not None else None
        ratio = f", {float(value):.3g}" if value is not None else ""
        return (f"the image that decides {CRITERION}: the largest ratio, patch by patch, of the network's invented "
                f"energy to the baseline's on the same patch{ratio}")
    network = check.subjects.get("network")
    if network is not None and network.summary.get("largest_patch_image") == image:
        return "where the network's largest invented patch is"
    return "the first audited image"


def _image_id(data: dict[str, np.ndarray], n: int) -> str:
    ids = [str(i) for i in np.ravel(data.get("image_ids", np.zeros(0)))]
    return ids[n] if n < len(ids) else "the first image"


def _row(check: CheckResult, subject: str, image: str) -> dict[str, Any]:
    """The subject's per-image row for ``image`` (empty when absent)."""
    result = check.subjects.get(subject)
    for row in result.per_image if result is not None else []:
        if row.get("image") == image:
            return row
    return {}


# -- figure 1: kernel maps ----------------------------------------------------------------------


def _maps(check: CheckResult, data: dict[str, np.ndarray], n: int, root: Path) -> FigureRef:
    """x and P_N x on the left; per subject |f(Ax)|, |P_N f(Ax)| with its largest patches, and |P_N(f(Ax) − x)|.

    The unmeasured content of both subjects shares one window, and the kernel error of both
    shares another with |P_N x| (the error of a method that invents nothing is −P_N x).
    """
    image = _image_id(data, n)
    ids = [str(i) for i in np.ravel(data.get("image_ids", np.zeros(0)))]
    truth_kernel = np.abs(data["truth_kernel"][n])
    content = {s: np.abs(data[f"{s}_kernel_content"][n]) for s in SUBJECTS}
    error = {s: np.abs(data[f"{s}_kernel_error"][n]) for s in SUBJECTS}
    content_peak = magnitude_window(*content.values())
    error_peak = magnitude_window(truth_kernel, *error.values())
    fig = new_figure(FULL_WIDTH, 4.4)
    axes = np.asarray(fig.subplots(len(SUBJECTS), 4)).reshape(len(SUBJECTS), 4)
    show_image(axes[0, 0], np.abs(data["x"][n]), "truth: x")
    _magnitude(axes[1, 0], truth_kernel, error_peak, "truth: |P_N x|, the\nunmeasured part of x")
    axes[1, 0].set_xlabel("(the truth, not a method)", fontsize=6.5)
    listed: list[str] = []
    for r, subject in enumerate(SUBJECTS):
        row = _row(check, subject, image)
        show_image(axes[r, 1], np.abs(data[f"{subject}_fx"][n]), "|f(Ax)|")
        content_art = _magnitude(axes[r, 2], content[subject], content_peak,
                                 f"|P_N f(Ax)| (unmeasured)\nnorm {fmt(row.get('kernel_content_relative'), 3)}‖x‖")
        error_art = _magnitude(axes[r, 3], error[subject], error_peak,
                               f"|P_N(f(Ax) − x)|\nnorm {fmt(row.get('kernel_error_relative'), 3)}‖x‖")
        patches, energy = data[f"{subject}_patches"][n], data[f"{subject}_patch_energy"][n]
        axes[r, 2].set_xlabel(outline_patches(axes[r, 2], patches, energy), fontsize=6)
        listed.append(f"{SUBJECT_LABELS[subject]}: {patch_text(patches, energy)}")
        axes[r, 1].set_ylabel(SUBJECT_LABELS[subject], color=SUBJECT_COLORS[subject], fontsize=9)
    fig.colorbar(content_art, ax=list(axes[:, 2]), shrink=0.6, aspect=30, label="|P_N f(Ax)|")
    fig.colorbar(error_art, ax=list(axes[:, 3]), shrink=0.6, aspect=30, label="|P_N x|, |P_N(f(Ax) − x)|")
    size = int(np.ravel(data.get("patch_size", [0]))[0]) or check.parameters.get("patch_size")
    caption = (
        f"Image {image} ({_choice_text(check, image, ids)}), images in intensity units. Left: x and "
        f"the part of x that A does not measure, |P_N x|. Per method: |f(Ax)|; the unmeasured content of the "
        f"reconstruction |P_N f(Ax)| (window [0, {content_peak:.3g}], both methods); and the kernel error "
        f"|P_N(f(Ax) − x)| (window [0, {error_peak:.3g}], shared with |P_N x|: a method that invents nothing has "
        f"kernel error −P_N x). x and |f(Ax)| on the {grey_window_text()}; every map black (0) to white. "
        f"Yellow, numbered: the largest non-overlapping patches ({size}×{size} px, top-left corner at row, col"
        f"{_border_text(data)}) by "
        f"invented energy I_P = min over 0 ≤ β ≤ 1 of ‖P_N f(Ax) − β P_N x‖² on P, in units of ‖x‖² — "
        f"{'; '.join(listed)}. Patches below {NEGLIGIBLE:g}‖x‖² are listed, not outlined."
    )
    return save(fig, root, CHECK, "maps", "What each method put where nothing was measured", caption)


def _border_text(data: Any) -> str:
    """Where the listed patches may lie: away from the judged frame, when there is one."""
    border = int(np.ravel(data.get("border", [0]))[0])
    return f"; only patches at least {border} px from the edges are judged and listed" if border else ""


def magnitude_window(*images: np.ndarray) -> float:
    """Upper end of one window [0, peak] covering every finite modulus of ``images`` (1 when all are zero)."""
    return symmetric_window(*images)


def _magnitude(ax: Axes, image: np.ndarray, peak: float, title: str) -> Any:
    """A modulus map on the grey scale with window [0, peak], without ticks; returns the image artist."""
    artist = ax.imshow(np.asarray(image, dtype=np.float64), cmap=GREY, vmin=0.0, vmax=peak)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=6.5)
    return artist


#: a kernel-detail change smaller than this share of d's size is drawn on d's window (not magnified noise).
VISIBLE = 1e-3
#: gap between a patch's outline corner and its number, points.
LABEL_INSET = 1.5


def outline_patches(ax: Axes, patches: np.ndarray, energy: np.ndarray) -> str:
    """Outline and number the listed patches (row, col, height, width; −1 rows unused); return the list as text.

    Each number sits inside the top-left corner of its own box (row, col is that corner): boxes do not overlap, so
    no number can fall into a neighbour's box, as one placed above or below its box would when patches touch.
    """
    lines = []
    for k, ((r, c, h, w), e) in enumerate(zip(np.asarray(patches, dtype=np.int64), np.asarray(energy, dtype=float))):
        if r < 0:
            continue
        if e >= NEGLIGIBLE:
            outline_box(ax, int(r), int(c), int(h), int(w), OUTLINE_COLOR, 0.9)
            ax.annotate(str(k + 1), (c - 0.5, r - 0.5), xytext=(LABEL_INSET, -LABEL_INSET), textcoords="offset points",
                        color=OUTLINE_COLOR, fontsize=8, ha="left", va="top", fontweight="bold", annotation_clip=False,
                        path_effects=[patheffects.withStroke(linewidth=1.5, foreground="black")])
        lines.append(f"{k + 1}: I = {e:.2e}‖x‖² at ({r}, {c})")
    return "\n".join(lines) if lines else "no patches"


def patch_text(patches: np.ndarray, energy: np.ndarray) -> str:
    """The listed patches for the caption: "1 at (row, col) h×w, I = …; …"."""
    items = [
        f"{k + 1} at (row {r}, col {c}) {h}×{w} px, I = {e:.2e}"
        for k, ((r, c, h, w), e) in enumerate(zip(np.asarray(patches, dtype=np.int64), np.asarray(energy, dtype=float)))
        if r >= 0
    ]
    return ", ".join(items) if items else "none"


# -- figure 2: the kernel detail ----------------------------------------------------------------


def _change_title(gamma: float | None) -> str:
    """Title of a change panel, no wider than the panel: the layout keeps room for the axes and the colorbar beside
    them, not for a title line that overhangs, which the colorbar would then cover."""
    shown = fmt(None if gamma is None else round(gamma, 2) + 0.0)
    return f"f(A(x + d)) − f(Ax)\nshown fraction\nγ = {shown}"


def _detail(check: CheckResult, data: dict[str, np.ndarray], n: int, root: Path) -> FigureRef:
    """d̃ and d = P_N d̃ on the left; per subject |f(A(x + d))| and its change from f(Ax), on one window of the
    changes (both methods), so a change far smaller than d is still visible; d on its own window. Changes below
    ``VISIBLE`` of d are numerical noise and are drawn on d's window instead."""
    image = _image_id(data, n)
    region = np.asarray(data["detail_region"], dtype=np.float64)
    d = np.real(data["kernel_detail"])
    changes = {s: np.real(data[f"{s}_f_detail"][n] - data[f"{s}_fx"][n]) for s in SUBJECTS}
    half_d = symmetric_window(d)
    largest = symmetric_window(*changes.values())
    # a change below VISIBLE × d's size is numerical noise: drawn on d's window (blank), not magnified
    visible = largest >= VISIBLE * half_d
    half = largest if visible else half_d
    fig = new_figure(FULL_WIDTH * 0.8, 4.2)
    axes = np.asarray(fig.subplots(len(SUBJECTS), 3)).reshape(len(SUBJECTS), 3)
    show_image(axes[0, 0], data["detail_symbol"], "symbol d̃")
    artist = show_signed(axes[1, 0], d, half_d, "d = P_N d̃ (real part)")
    axes[1, 0].contour(region, levels=[0.5], colors=REGION_COLOR, linewidths=0.7, linestyles="dashed")
    for r, subject in enumerate(SUBJECTS):
        gamma = _row(check, subject, image).get("kernel_detail_shown")
        show_image(axes[r, 1], np.abs(data[f"{subject}_f_detail"][n]), "|f(A(x + d))|")
        change_art = show_signed(axes[r, 2], changes[subject], half, _change_title(gamma))
        axes[r, 2].contour(region, levels=[0.5], colors=REGION_COLOR, linewidths=0.7, linestyles="dashed")
        axes[r, 1].set_ylabel(SUBJECT_LABELS[subject], color=SUBJECT_COLORS[subject], fontsize=9)
    # below d, not beside it: a colorbar label on d's right would meet the row labels of the next column
    fig.colorbar(artist, ax=[axes[1, 0]], shrink=0.8, label="d", location="bottom")
    fig.colorbar(change_art, ax=[axes[0, 2], axes[1, 2]], shrink=0.8, label="change (both methods)")
    if visible:
        window = (f"on one window for both methods, {window_text(half)}, against d's {window_text(half_d)} (image "
                  f"intensity units; d's window is {half_d / half:.3g} × the changes')")
    else:
        window = (f"on d's window {window_text(half_d)} (image intensity units): neither method changes by more than "
                  f"{largest:.2g}, below {VISIBLE:g} of d's size, so the panels are blank; γ is fitted on f(A(x + d)) "
                  f"itself, so here a γ away from 0 is the method's own unmeasured content on R, not d shown")
    spec = effective(check).get("kernel_detail") or {}
    measured, share = spec.get("measured_fraction"), spec.get("kernel_share")
    caption = (
        f"Kernel detail on image {image}: the symbol d̃ and its unmeasured part d = P_N d̃, which "
        f"keeps {fmt(None if share is None else 100 * share, 0)} % of ‖d̃‖ and has ‖Ad‖/‖d‖ = "
        f"{'n/a' if measured is None else f'{measured:.1e}'}: A(x + d) ≈ Ax, so no method can see d. Per method: "
        f"|f(A(x + d))| (d̃ and |f| on the {grey_window_text()}) and the change f(A(x + d)) − f(Ax) (real part) "
        f"{window}. Dashed: the region R where γ, the fraction of d a method "
        f"shows beyond a partial copy of P_N x, is fitted; γ ≈ 0 is honest, γ near 1 means the method brings d "
        f"from its training."
    )
    return save(fig, root, CHECK, "detail", "A detail no method can measure, and what each shows of it", caption)
