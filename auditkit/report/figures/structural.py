"""Figures of check 2 (small structural changes): the image with its details, and a zoom on each detail.

Drawn from ``arrays/structural.npz`` (x, x_d, {network,baseline}_{fx,fxd},
masks, detail_names, image_ids) and the recovered fractions q in the evidence.
One image is shown: the one on which the network's recovered fraction is
lowest (the worst case the criteria judge), the first image when none was measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from auditkit.checks.result import CheckResult
from auditkit.report.figures import CheckArrays, FigureRef, effective
from auditkit.report.figures.style import (
    FULL_WIDTH,
    OUTLINE_COLOR,
    SUBJECT_COLORS,
    SUBJECT_LABELS,
    fmt,
    grey_window_text,
    new_figure,
    save,
    show_image,
    show_signed,
    symmetric_window,
    window_text,
)

CHECK = "structural"
REQUIRED = ("x", "x_d", "network_fx", "network_fxd", "baseline_fx", "baseline_fxd", "masks", "detail_names", "image_ids")
SUBJECTS = ("network", "baseline")
#: zoom windows are this many times the detail region's larger side, and at least ``MIN_ZOOM`` pixels.
ZOOM_FACTOR = 1.6
MIN_ZOOM = 12


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """The overview (image, reconstructions, changes) and the per-detail zoom of the worst image."""
    data = arrays.get(CHECK)
    if data is None or any(k not in data for k in REQUIRED):
        return []
    ids = [str(s) for s in data["image_ids"]]
    index = ids.index(worst_image(check, ids))
    names = [str(s) for s in data["detail_names"]]
    labels = detail_labels(check, names)
    shape = data["x"].shape[1:]
    boxes = [zoom_box(mask, shape) for mask in data["masks"]]
    wide = [(b[1].stop - b[1].start) > WIDE * (b[0].stop - b[0].start) for b in boxes]
    refs = [_overview(check, data, index, ids[index], labels, root)]
    compact = [k for k, w in enumerate(wide) if not w]
    if compact:
        refs.append(_zoom(check, data, index, ids[index], names, labels, compact, root))
    for k in (k for k, w in enumerate(wide) if w):
        refs.append(_zoom_wide(check, data, index, ids[index], names[k], labels[k], k, boxes[k], root))
    return refs


def worst_image(check: CheckResult, ids: list[str]) -> str:
    """The image holding the network's lowest recovered fraction (the first image when nothing was measured)."""
    network = check.subjects.get("network")
    recovery = network.summary.get("detail_recovery", {}) if network else {}
    measured = [
        (v["recovered_fraction"], v.get("worst_image"))
        for v in recovery.values()
        if v.get("recovered_fraction") is not None and v.get("worst_image") in ids
    ]
    return min(measured, key=lambda qi: qi[0])[1] if measured else ids[0]


def detail_labels(check: CheckResult, names: list[str]) -> list[str]:
    """A short label per detail: its text, with its name when the text is a single symbol."""
    texts = {d.get("name"): d.get("text") for d in effective(check).get("details", [])}
    labels = []
    for name in names:
        text = texts.get(name)
        labels.append(name if not text else (f"{text} ({name})" if len(text) == 1 else f"“{text}”"))
    return labels


def recovered(check: CheckResult, subject: str, image: str, name: str) -> tuple[float | None, float | None]:
    """(q of the detail reconstructed alone, q within all details together) for one subject and image."""
    result = check.subjects.get(subject)
    row = next((r for r in (result.per_image if result else []) if r.get("image") == image), None)
    scores: dict[str, Any] = (row or {}).get("details", {}).get(name, {})
    return scores.get("recovered_fraction"), scores.get("together", {}).get("recovered_fraction")


def _overview(
    check: CheckResult, data: dict[str, np.ndarray], i: int, image: str, labels: list[str], root: Path
) -> FigureRef:
    """Top: x + d with the regions outlined, network and baseline; bottom: d and the change each shows."""
    d = data["x_d"][i] - data["x"][i]
    changes = {s: data[f"{s}_fxd"][i] - data[f"{s}_fx"][i] for s in SUBJECTS}
    half = symmetric_window(d)
    fig = new_figure(FULL_WIDTH, 4.7)
    axes = fig.subplots(2, 3)
    show_image(axes[0, 0], data["x_d"][i], "x + d")
    outline_regions(axes[0, 0], data["masks"])
    for col, s in enumerate(SUBJECTS, start=1):
        show_image(axes[0, col], data[f"{s}_fxd"][i], f"{SUBJECT_LABELS[s]} |f(A(x+d))|")
        axes[0, col].title.set_color(SUBJECT_COLORS[s])
    show_signed(axes[1, 0], d, half, "added detail d")
    for col, s in enumerate(SUBJECTS, start=1):
        artist = show_signed(axes[1, col], changes[s], half, f"{SUBJECT_LABELS[s]} change Δ")
        axes[1, col].title.set_color(SUBJECT_COLORS[s])
    grey = axes[0, 0].images[0]
    fig.colorbar(grey, ax=list(axes[0]), shrink=0.85, label="intensity")
    fig.colorbar(artist, ax=list(axes[1]), shrink=0.85, label="intensity difference")
    names = "; ".join(f"{k + 1}: {label}" for k, label in enumerate(labels))
    caption = (
        f"Image {image} (where the network's recovered fraction is lowest) with all {len(labels)} details added "
        f"({names}). Top: x + d with each detail's region R outlined and numbered, and the network's and the "
        f"baseline's reconstructions |f(A(x+d))|, {grey_window_text()}. Bottom: the added detail d = (x + d) − x "
        f"and the change each reconstruction shows, Δ = |f(A(x+d))| − |f(Ax)|, on one diverging window "
        f"{window_text(half)} (image intensity units, images in [0, 1]); a method that brings the details back "
        f"shows Δ = d."
    )
    return save(fig, root, CHECK, "overview", "Details added to the image, and what each method shows", caption)


def outline_regions(ax: Axes, masks: np.ndarray) -> None:
    """Outline each detail's region and number it (1-based, as in the captions and the zoom rows)."""
    for k, mask in enumerate(masks):
        m = np.asarray(mask, dtype=np.float64)
        if not m.any():
            continue
        ax.contour(m, levels=[0.5], colors=OUTLINE_COLOR, linewidths=0.7)
        rows, cols = np.nonzero(m)
        ax.text(cols.min(), rows.min() - 1, str(k + 1), color=OUTLINE_COLOR, fontsize=6, ha="right", va="bottom")


#: a detail whose zoom window is more than this many times wider than tall gets a full-width figure of its own.
WIDE = 2.0
#: the tallest that figure may be (inches), so that it prints at full size on A4.
MAX_WIDE_HEIGHT = 7.5


def zoom_box(mask: np.ndarray, shape: tuple[int, int]) -> tuple[slice, slice]:
    """A window around the region ``mask``: ``ZOOM_FACTOR`` times its extent on each axis, at least ``MIN_ZOOM``."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return slice(0, shape[0]), slice(0, shape[1])
    return _span(rows, shape[0]), _span(cols, shape[1])


def _span(index: np.ndarray, size: int) -> slice:
    """``ZOOM_FACTOR`` × the extent of ``index`` (at least ``MIN_ZOOM``), centred on it, shifted into [0, size)."""
    side = min(size, max(MIN_ZOOM, int(np.ceil(ZOOM_FACTOR * (int(np.ptp(index)) + 1)))))
    centre = (int(index.min()) + int(index.max()) + 1) // 2
    start = min(max(0, centre - side // 2), size - side)
    return slice(start, start + side)


def _zoom(
    check: CheckResult,
    data: dict[str, np.ndarray],
    i: int,
    image: str,
    names: list[str],
    labels: list[str],
    details: list[int],
    root: Path,
) -> FigureRef:
    """One row per detail of ``details``: x + d, network and baseline, zoomed on the detail, with each method's q."""
    k_count = len(details)
    shape = data["x"].shape[1:]
    boxes = [zoom_box(data["masks"][k], shape) for k in details]
    aspects = [(b[0].stop - b[0].start) / (b[1].stop - b[1].start) for b in boxes]
    width = FULL_WIDTH * 0.72
    panel = (width - 0.5) / 3
    fig = new_figure(width, sum(panel * a + 0.35 for a in aspects) + 0.25)
    axes = np.asarray(fig.subplots(k_count, 3, gridspec_kw={"height_ratios": aspects})).reshape(k_count, 3)
    for row, (k, box) in enumerate(zip(details, boxes)):
        show_image(axes[row, 0], data["x_d"][i][box], "x + d" if row == 0 else None)
        axes[row, 0].set_xlabel(f"{k + 1}: {labels[k]}")
        for col, s in enumerate(SUBJECTS, start=1):
            alone, together = recovered(check, s, image, names[k])
            show_image(axes[row, col], data[f"{s}_fxd"][i][box], SUBJECT_LABELS[s] if row == 0 else None)
            axes[row, col].title.set_color(SUBJECT_COLORS[s])
            axes[row, col].set_xlabel(f"q = {fmt(alone)} ({fmt(together)} with all)")
    caption = (
        f"Zoom on each detail of image {image}: x + d, and the network's and the baseline's reconstructions "
        f"|f(A(x+d))| with all details present, {grey_window_text()}, each window {ZOOM_FACTOR:g}× the extent "
        f"of the detail's region. "
        f"q is the recovered fraction 1 − ‖Δ − d‖²/‖d‖² on the region (1: fully recovered, ≤ 0: not at all) "
        f"with the detail reconstructed alone (the criterion's value), and in brackets with all details present "
        f"(the images shown)."
    )
    return save(fig, root, CHECK, "zoom", "Zoom on each detail, network and baseline", caption)


def _zoom_wide(
    check: CheckResult, data: dict[str, np.ndarray], i: int, image: str, name: str, label: str, k: int,
    box: tuple[slice, slice], root: Path,
) -> FigureRef:
    """A detail much wider than tall (a word): x + d, network and baseline one above the other, each the full
    width of the page, so that the letters are legible in print."""
    aspect = (box[0].stop - box[0].start) / (box[1].stop - box[1].start)
    # full width, unless three such rows would be taller than a page can hold at full size
    width = min(FULL_WIDTH, ((MAX_WIDE_HEIGHT - 0.2) / 3 - 0.5) / aspect + 0.3)
    fig = new_figure(width, 3 * ((width - 0.3) * aspect + 0.5) + 0.2)
    axes = np.asarray(fig.subplots(3, 1)).ravel()
    show_image(axes[0], data["x_d"][i][box], f"x + d, detail {k + 1}: {label}")
    for ax, s in zip(axes[1:], SUBJECTS):
        alone, together = recovered(check, s, image, name)
        show_image(ax, data[f"{s}_fxd"][i][box], f"{SUBJECT_LABELS[s]}: q = {fmt(alone)} ({fmt(together)} with all)")
        ax.title.set_color(SUBJECT_COLORS[s])
    caption = (
        f"Zoom on detail {k + 1} ({label}) of image {image}, wider than tall, drawn wide (up to the page's width): "
        f"x + d, then the network's and the baseline's reconstructions |f(A(x+d))| with all details present, "
        f"{grey_window_text()}. q is the recovered fraction 1 − ‖Δ − d‖²/‖d‖² on the detail's region: with the "
        f"detail alone (the criterion's value), in brackets with all details present."
    )
    return save(fig, root, CHECK, f"zoom_{name}", f"Zoom on detail {k + 1}, network and baseline", caption)
