"""Figures of check 6 (the accuracy–stability trade-off): worst-case error against the noise level, and one example.

From the evidence (``auditkit.checks.tradeoff``): each subject's
``worst_case_error_by_eta`` ({f"{η:g}": {mean, std, min, max}}), its slopes
``local_lipschitz`` and ``local_lipschitz_fit``, and the thresholds of the criteria
``tradeoff.error_vs_baseline[eta=η]`` (k × the baseline's mean), drawn as the bound.
From ``arrays/tradeoff.npz``: x and both subjects' reconstructions of the first image,
without noise and under the worst noise found at the largest level (moduli).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from auditkit.checks.result import CheckResult
from auditkit.report.figures import CheckArrays, FigureRef, convergence, effective
from auditkit.report.figures.style import (
    CRITERION_COLOR,
    FULL_WIDTH,
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

CHECK = "tradeoff"
SUBJECTS = ("network", "baseline")
CURVE, LOCAL_CURVE = "worst_case_error_by_eta", "local_error_by_eta"
EXAMPLE_KEYS = ("etas", "x", "network_clean", "network_worst", "baseline_clean", "baseline_worst")
_ETA_IN_NAME = re.compile(r"^tradeoff\.error_vs_baseline\[eta=([0-9.eE+-]+)\]$")
_LOCAL_ETA_IN_NAME = re.compile(r"^tradeoff\.local_error_vs_baseline\[eta=([0-9.eE+-]+)\]$")
#: mean curves spanning more than this factor are drawn on a logarithmic error axis.
LOG_SPAN = 10.0


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """The curves (from the evidence) and, when the arrays are there, the example reconstructions."""
    refs: list[FigureRef] = []
    if any(_curve(check, s) for s in SUBJECTS):
        refs.append(_curves(check, root))
    data = arrays.get(CHECK)
    if data is not None and all(k in data for k in EXAMPLE_KEYS):
        refs.append(_examples(check, data, root))
    if any(_curve(check, s, LOCAL_CURVE) for s in SUBJECTS):
        refs.append(_local(check, root))
    if data is not None and "searched_etas" in data and convergence.has_records(data):
        search = convergence.Search(
            "projected attack: ‖e‖ ≤ η‖Ax‖", "η", np.asarray(data["searched_etas"]), convergence.records(data),
            "iterations (one evaluation per restart each)", "worst error so far\n‖|f(Ax + e)| − x‖ / ‖x‖",
        )
        refs.append(convergence.draw(CHECK, [search], [str(i) for i in data["image_ids"]], root))
    return refs


# -- reading the evidence -----------------------------------------------------------------------


def _curve(check: CheckResult, subject: str, key: str = CURVE) -> list[tuple[float, float, float]]:
    """(η, mean, std) in increasing η from a subject's summary entry ``key`` (empty when absent)."""
    result = check.subjects.get(subject)
    by_eta = result.summary.get(key) if result is not None else None
    if not isinstance(by_eta, dict):
        return []
    points = [(float(k), float(v["mean"]), float(v.get("std", 0.0))) for k, v in by_eta.items()
              if isinstance(v, dict) and "mean" in v]
    return sorted(points)


def bound_points(check: CheckResult, pattern: re.Pattern[str] = _ETA_IN_NAME) -> list[tuple[float, float]]:
    """(η, threshold) of the criteria ``tradeoff.error_vs_baseline[eta=η]`` (or those ``pattern`` matches), in
    increasing η."""
    points = []
    for c in check.criteria:
        match = pattern.match(c.name)
        if match and c.threshold is not None:
            points.append((float(match.group(1)), float(c.threshold)))
    return sorted(points)


def _slopes(check: CheckResult, subject: str) -> tuple[float | None, float | None]:
    result = check.subjects.get(subject)
    summary: dict[str, Any] = result.summary if result is not None else {}
    return summary.get("local_lipschitz"), summary.get("local_lipschitz_fit")


# -- the curves ---------------------------------------------------------------------------------


def _curves(check: CheckResult, root: Path) -> FigureRef:
    """Mean ± std of the worst-case relative error against η, both subjects, with the criterion's bound."""
    fig = new_figure(FULL_WIDTH * 0.72, 3.2)
    ax = fig.subplots()
    for subject in SUBJECTS:
        _plot_subject(ax, check, subject)
    bound = bound_points(check)
    if bound:
        k = effective(check).get("k_baseline")
        label = f"bound: {k:g} × baseline mean" if isinstance(k, (int, float)) else "bound (criterion)"
        _bound_line(ax, bound, label)
    _finish_axes(fig, ax, "worst-case relative error", ncols=2)
    failed = [m.group(1) for c in check.criteria if not c.passed and (m := _ETA_IN_NAME.match(c.name))]
    images = effective(check).get("images") or []
    caption = (
        f"Worst-case relative error ‖|f(Ax + e)| − x‖ / ‖x‖ over the noise ‖e‖ ≤ η‖Ax‖ found by the projected attack "
        f"(η = 0: no noise), mean over {len(images) or 'the'} test image(s) with a band of ± one population standard "
        f"deviation, network and baseline. Dashed: the criterion's bound, k × the baseline's mean; the network's mean "
        f"must stay under it at every level"
        + (f" (exceeded at η = {', '.join(failed)})" if failed else "")
        + ". Legend, L: the slope of the mean curve from η = 0 to the first positive level (relative error per relative "
        "noise); fit: the least-squares slope over η = 0 and the first two positive levels; both are lower "
        "estimates of how strongly the method amplifies noise."
    )
    return save(fig, root, CHECK, "curves", "Worst-case error against the noise level", caption)


def _bound_line(ax: Axes, bound: list[tuple[float, float]], label: str) -> None:
    """The criterion's thresholds against η, dashed."""
    eta, limit = zip(*bound)
    ax.plot(eta, limit, linestyle="--", color=CRITERION_COLOR, linewidth=1.0, label=label)


def _finish_axes(fig: Any, ax: Axes, ylabel: str, ncols: int) -> None:
    """Error axis, η axis, grid and the legend below the figure."""
    set_error_axis(ax)
    ax.set_xlabel("noise level η = ‖e‖ / ‖Ax‖")
    ax.set_ylabel(ylabel)
    ax.grid(True)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)


def _local(check: CheckResult, root: Path) -> FigureRef:
    """Mean ± std of the local error against η, both subjects, with its criterion's bound."""
    fig = new_figure(FULL_WIDTH * 0.72, 3.2)
    ax = fig.subplots()
    for subject in SUBJECTS:
        points = _curve(check, subject, LOCAL_CURVE)
        if points:
            eta, mean, std = (np.asarray(v, dtype=np.float64) for v in zip(*points))
            color = SUBJECT_COLORS[subject]
            ax.fill_between(eta, np.maximum(mean - std, 0.0), mean + std, color=color, alpha=0.18, linewidth=0)
            ax.plot(eta, mean, marker="o", color=color, label=SUBJECT_LABELS[subject])
    bound = bound_points(check, _LOCAL_ETA_IN_NAME)
    if bound:
        _bound_line(ax, bound, "bound (criterion)")
    _finish_axes(fig, ax, "local error (RMS on the worst patch)", ncols=3)
    size = check.parameters.get("patch_size")
    caption = (
        f"Local error: the RMS of |f(Ax + e)| − x on the worst {size}×{size}-pixel patch, in intensity units (the "
        f"test images span [0, 1]), at the noise kept for the worst-case relative error; mean over the test images "
        f"with a band of ± one population standard deviation, network and baseline. Dashed: the criterion's bound, "
        f"k × the baseline's mean. An error gathered in a lesion-sized area shows here even where the relative error "
        f"over the whole image dilutes it."
    )
    return save(fig, root, CHECK, "local", "Local error against the noise level", caption)


def _plot_subject(ax: Axes, check: CheckResult, subject: str) -> None:
    """One subject's mean line with markers and its ± std band; the legend carries its slopes."""
    points = _curve(check, subject)
    if not points:
        return
    eta, mean, std = (np.asarray(v, dtype=np.float64) for v in zip(*points))
    color = SUBJECT_COLORS[subject]
    secant, fit = _slopes(check, subject)
    label = f"{SUBJECT_LABELS[subject]}: L = {fmt(secant)}, fit {fmt(fit)}"
    ax.fill_between(eta, np.maximum(mean - std, 0.0), mean + std, color=color, alpha=0.18, linewidth=0)
    ax.plot(eta, mean, marker="o", color=color, label=label)


def set_error_axis(ax: Axes) -> None:
    """Linear error axis fitted to the data, or logarithmic when the drawn values span more than ``LOG_SPAN``."""
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size and values.max() / values.min() > LOG_SPAN:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


# -- the example --------------------------------------------------------------------------------


def _example_errors(check: CheckResult, subject: str, eta_max: float) -> tuple[float | None, float | None, float | None]:
    """The first image's unperturbed and worst-case errors at ``eta_max``, and the level that supplied the latter."""
    result = check.subjects.get(subject)
    if result is None or not result.per_image:
        return None, None, None
    row = result.per_image[0]
    entry = row.get("worst_case_error", {}).get(f"{eta_max:g}", {})
    return row.get("relative_error_unperturbed"), entry.get("relative_error"), entry.get("found_at_eta")


def _examples(check: CheckResult, data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Per subject: f(Ax), f(Ax + e) at the largest level, and their difference on one window for both; x left."""
    eta_max = float(np.max(data["etas"]))
    ids = [str(i) for i in data.get("image_ids", [])]
    example = ids[0] if ids else "the first image"
    fig = new_figure(FULL_WIDTH, 3.6)
    axes = np.asarray(fig.subplots(len(SUBJECTS), 4)).reshape(len(SUBJECTS), 4)
    show_image(axes[0, 0], np.abs(data["x"]), "ground truth x")
    axes[1, 0].set_axis_off()
    changes = {s: np.abs(data[f"{s}_worst"]) - np.abs(data[f"{s}_clean"]) for s in SUBJECTS}
    half = symmetric_window(*changes.values())  # one window for both methods: colours compare directly
    for r, subject in enumerate(SUBJECTS):
        clean_err, worst_err, found_at = _example_errors(check, subject, eta_max)
        clean, worst = np.abs(data[f"{subject}_clean"]), np.abs(data[f"{subject}_worst"])
        show_image(axes[r, 1], clean, f"|f(Ax)|, η = 0\nerror {fmt(clean_err, 3)}")
        show_image(axes[r, 2], worst, f"|f(Ax + e)|, η = {eta_max:g}\nerror {fmt(worst_err, 3)}")
        artist = show_signed(axes[r, 3], changes[subject], half, "change\n|f(Ax + e)| − |f(Ax)|")
        fig.colorbar(artist, ax=axes[r, 3], shrink=0.9)
        axes[r, 1].set_ylabel(SUBJECT_LABELS[subject], color=SUBJECT_COLORS[subject])
        if found_at is not None and float(found_at) < eta_max:
            axes[r, 2].set_xlabel(f"(noise found at η = {float(found_at):g})")
    caption = (
        f"Image {example}: each method's reconstruction without noise and under the worst noise e with "
        f"‖e‖ ≤ {eta_max:g}‖Ax‖ that the attack found against it (its own worst case), with the relative error "
        f"‖|f| − x‖ / ‖x‖ above each. Right: the change |f(Ax + e)| − |f(Ax)| on one diverging window for both "
        f"methods, {window_text(half)} (image intensity units), so the colours compare directly. "
        f"Reconstructions are moduli, on one {grey_window_text()}."
    )
    return save(fig, root, CHECK, "examples", "Worst-case reconstructions at the largest noise level", caption)
