"""Figures of check 1 (tiny worst-case perturbations): the ladders, and the worst case against the budget.

From ``arrays/adversarial_image_domain.npz`` (``auditkit.checks.adversarial``): the
image-domain ladder in the layout of the instability paper's Figure 1 — |x + r_j|
on top, the network's reconstructions below, the baseline's reconstructions of
the same perturbed measurements under them, then the baseline under its own worst
perturbations, and r_j itself. From ``arrays/adversarial_measurement_domain.npz``:
the reconstructions under the worst measurement noise e_k (not an image, so not shown).
Complex reconstructions are shown by their modulus.

From the evidence: each subject's summary holds, keyed by budget (``f"{ε:g}"``),
``worst_case_change``, ``worst_case_relative_error``, ``relative_error_unperturbed``
and ``worst_case_amplification`` for the image domain at its top level and for the
measurement domain under ``measurement_domain``; the baseline adds
``change_under_network_perturbation``. The bounds drawn are the thresholds of the
criteria ``adversarial.<rule>[eps=ε]`` (image domain) and ``[eta=η]`` (measurement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from auditkit.checks.result import CheckResult, Criterion
from auditkit.metrics import patch_grid, window_energy
from auditkit.report.figures import CheckArrays, FigureRef, convergence
from auditkit.report.figures.style import (
    CRITERION_COLOR,
    FULL_WIDTH,
    OUTLINE_COLOR,
    SUBJECT_COLORS,
    SUBJECT_LABELS,
    grey_window_text,
    log_axes,
    new_figure,
    outline_box,
    save,
    show_image,
    show_signed,
    symmetric_window,
    window_text,
)

CHECK = "adversarial"
SUBJECTS = ("network", "baseline")
IMAGE_FILE, NOISE_FILE = "adversarial_image_domain", "adversarial_measurement_domain"
LADDER_KEYS = ("budgets", "x", "perturbed_image", "network_clean", "network_perturbed", "baseline_clean",
               "baseline_on_network_perturbation")
NOISE_KEYS = ("etas", "x", "network_clean", "network_worst", "baseline_clean", "baseline_on_network_noise")
# (the measurement-domain file has no clean reconstructions; they are taken from the image-domain file)

CHANGE, ERROR, AMPLIFICATION = "worst_case_change", "worst_case_relative_error", "worst_case_amplification"
#: the worst local change (RMS on the worst patch) and the prefix of its criteria's rule.
LOCAL, LOCAL_RULE = "worst_case_local_change", "local_"
UNPERTURBED, CROSS = "relative_error_unperturbed", "change_under_network_perturbation"
MEASUREMENT = "measurement_domain"
_BUDGET_IN_NAME = re.compile(r"\[(eps|eta)=([0-9.eE+-]+)\]$")
#: line styles of successive criterion families on one panel.
BOUND_STYLES = ("--", "-.", ":")
#: the zoom window on the largest change when the evidence records no ``patch_size`` (the local criterion's patch):
#: this share of the image's smaller side, at least MIN_ZOOM pixels.
ZOOM_SHARE, MIN_ZOOM = 0.25, 12
#: the grey used for the reference line "change = budget".
REFERENCE_GREY = "#888888"


@dataclass(frozen=True)
class Domain:
    """One attack domain: where its numbers are in the summary, and how its quantities are written."""

    key: str  # "" for the summary's top level (image domain), else the sub-record's name
    tag: str  # the budget's name in the criteria: "eps" or "eta"
    budget: str
    change: str
    error: str
    title: str


IMAGE = Domain("", "eps", "budget ε = ‖r‖/‖x‖", "‖f(A(x + r)) − f(Ax)‖ / ‖x‖",
               "‖f(A(x + r)) − (x + r)‖ / ‖x + r‖", "image domain: perturbation r of x")
NOISE = Domain(MEASUREMENT, "eta", "noise level η = ‖e‖/‖Ax‖", "‖f(Ax + e) − f(Ax)‖ / ‖x‖",
               "‖f(Ax + e) − x‖ / ‖x‖", "measurement domain: noise e added to Ax")


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """The image-domain ladder and the measurement-domain reconstructions (when their arrays are there),
    then the change/error curves and the amplification (from the evidence)."""
    refs: list[FigureRef] = []
    image = arrays.get(IMAGE_FILE)
    if image is not None and all(k in image for k in LADDER_KEYS):
        refs.append(_ladder(check, image, root))
        refs.append(_changes(check, image, root))
        noise = arrays.get(NOISE_FILE)
        if noise is not None and all(k in noise or k in image for k in NOISE_KEYS):
            refs.append(_noise_ladder(check, {**image, **noise}, root))
    domains = [d for d in (IMAGE, NOISE) if _has(check, d, CHANGE) or _has(check, d, ERROR)]
    if domains:
        refs.append(_curves(check, domains, root))
    if any(_has(check, d, AMPLIFICATION) for d in (IMAGE, NOISE)):
        refs.append(_amplification(check, root))
    if _has(check, IMAGE, LOCAL):
        refs.append(_local(check, root))
    searches = _searches(arrays)
    if searches:
        ids = [str(i) for i in (image if image is not None else arrays[NOISE_FILE])["image_ids"]]
        refs.append(convergence.draw(CHECK, searches, ids, root))
    return refs


def _searches(arrays: CheckArrays) -> list[convergence.Search]:
    """Both searches' convergence records, where the arrays hold them."""
    out = []
    image, noise = arrays.get(IMAGE_FILE), arrays.get(NOISE_FILE)
    if image is not None and convergence.has_records(image):
        out.append(convergence.Search(
            "image domain: refinement on ‖r‖ = ε‖x‖", "ε", np.asarray(image["budgets"]), convergence.records(image),
            "refinement evaluations (after the ascent path)", "worst change so far\n‖f(A(x + r)) − f(Ax)‖ / ‖x‖",
        ))
    if noise is not None and convergence.has_records(noise):
        out.append(convergence.Search(
            "measurement domain: ‖e‖ ≤ η‖Ax‖", "η", np.asarray(noise["etas"]), convergence.records(noise),
            "iterations (one evaluation per restart each)", "worst change so far\n‖f(Ax + e) − f(Ax)‖ / ‖x‖",
        ))
    return out


# -- reading the evidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """Values at increasing budgets."""

    budgets: np.ndarray
    values: np.ndarray


def as_series(by_budget: Any) -> Series | None:
    """{budget key: number} as a budget-ordered series (None when absent, empty or not numeric)."""
    if not isinstance(by_budget, dict):
        return None
    pairs = []
    for key, value in by_budget.items():
        try:
            pair = (float(key), float(value))
        except (TypeError, ValueError):
            continue
        if np.isfinite(pair[1]):
            pairs.append(pair)
    if not pairs:
        return None
    pairs.sort()
    return Series(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))


def fields(check: CheckResult, subject: str, domain: Domain) -> dict[str, Any]:
    """The summary record of ``subject`` for ``domain`` (empty when absent)."""
    result = check.subjects.get(subject)
    if result is None:
        return {}
    record = result.summary.get(domain.key, {}) if domain.key else result.summary
    return record if isinstance(record, dict) else {}


def _has(check: CheckResult, domain: Domain, name: str) -> bool:
    return any(as_series(fields(check, s, domain).get(name)) is not None for s in SUBJECTS)


def criterion_bounds(criteria: list[Criterion], domain: Domain, local: bool = False) -> dict[str, Series]:
    """Criterion rule (name without prefix and budget) → its thresholds per budget, for ``domain``'s criteria on the
    global change (or, with ``local``, on the local change)."""
    rules: dict[str, list[tuple[float, float]]] = {}
    for c in criteria:
        match = _BUDGET_IN_NAME.search(c.name)
        if match is None or match.group(1) != domain.tag or c.threshold is None or not np.isfinite(c.threshold):
            continue
        rule = c.name[: match.start()].removeprefix(f"{CHECK}.")
        if rule.startswith(LOCAL_RULE) != local:
            continue
        rules.setdefault(rule, []).append((float(match.group(2)), float(c.threshold)))
    return {
        rule: Series(np.array([b for b, _ in sorted(v)]), np.array([t for _, t in sorted(v)])) for rule, v in rules.items()
    }


def worst_index(check: CheckResult, ids: list[str], domain: str, measure: str) -> int:
    """Index in ``ids`` of the image with the network's largest ``measure`` at the largest budget of ``domain``
    (from its per-image rows); 0 when the rows do not say."""
    network = check.subjects.get("network")
    best, best_value = 0, -np.inf
    for row in network.per_image if network else []:
        by_budget = row.get(domain) if isinstance(row.get(domain), dict) else {}
        line = as_series({k: v.get(measure) for k, v in by_budget.items() if isinstance(v, dict)})
        if line is not None and row.get("image") in ids and line.values[-1] > best_value:
            best, best_value = ids.index(row["image"]), float(line.values[-1])
    return best


# -- ladders ------------------------------------------------------------------------------------


def _sub(n: int) -> str:
    """``n`` in subscript digits (r₁, r₂, …)."""
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _modulus(a: np.ndarray) -> np.ndarray:
    return np.abs(a) if np.iscomplexobj(a) else np.asarray(a, dtype=np.float64)


def _row_label(ax: Axes, text: str, color: str = "black") -> None:
    """A row's label written into the (empty) first-column axes, right-aligned against the row."""
    ax.set_axis_off()
    ax.text(0.95, 0.5, text, transform=ax.transAxes, ha="right", va="center", color=color)


def _grid(rows: int, cols: int) -> tuple[Figure, np.ndarray]:
    fig = new_figure(FULL_WIDTH, (FULL_WIDTH - 1.3) / cols * rows + 0.55)
    return fig, np.asarray(fig.subplots(rows, cols)).reshape(rows, cols)


def _ladder(check: CheckResult, data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Rows: |x + r_j|; network |f(A(x + r_j))|; baseline on the same inputs; baseline's own worst; r_j."""
    ids = [str(s) for s in data["image_ids"]] if "image_ids" in data else ["1"]
    i = worst_index(check, ids, "image_domain", "change")
    budgets = [float(b) for b in np.ravel(data["budgets"])]
    own = "baseline_perturbed" in data
    signed = "network_perturbation" in data
    rows, cols = 3 + own + signed, len(budgets) + 1
    fig, axes = _grid(rows, cols)
    show_image(axes[0, 0], _modulus(data["x"][i]), "x\n(unperturbed)")
    for j, eps in enumerate(budgets):
        title = f"|x + r{_sub(j + 1)}|\n‖r‖/‖x‖ = {eps:g}"
        show_image(axes[0, j + 1], _modulus(data["perturbed_image"][i][j]), title)
    lines = [("network", "network_clean", "network_perturbed", "network\n|f(A(x + r))|"),
             ("baseline", "baseline_clean", "baseline_on_network_perturbation", "baseline\nsame inputs")]
    for row, (s, clean, perturbed, label) in enumerate(lines, start=1):
        show_image(axes[row, 0], _modulus(data[clean][i]))
        axes[row, 0].set_ylabel(label, color=SUBJECT_COLORS[s])
        for j in range(len(budgets)):
            show_image(axes[row, j + 1], _modulus(data[perturbed][i][j]))
    if own:
        _row_label(axes[3, 0], "baseline,\nits own\nworst r", SUBJECT_COLORS["baseline"])
        for j in range(len(budgets)):
            show_image(axes[3, j + 1], _modulus(data["baseline_perturbed"][i][j]))
    half = None
    if signed:
        r = np.real(np.asarray(data["network_perturbation"][i]))
        half = symmetric_window(r)
        _row_label(axes[-1, 0], "the\nnetwork's\nperturbation r")
        for j in range(len(budgets)):
            artist = show_signed(axes[-1, j + 1], r[j], half)
        fig.colorbar(artist, ax=list(axes[-1]), shrink=0.9, label="perturbation (intensity)")
    grey_rows = axes[: rows - signed]
    fig.colorbar(axes[0, 0].images[0], ax=list(grey_rows.ravel()), shrink=0.5, label="intensity")
    caption = (
        f"Image {ids[i]} (the one the network's worst change comes from): the network's worst perturbations r_j "
        f"at budgets ‖r‖/‖x‖ = {', '.join(f'{b:g}' for b in budgets)} (columns; first column unperturbed). "
        f"Rows: |x + r_j|; the network's reconstruction |f(A(x + r_j))|; the baseline's reconstruction of the "
        f"same perturbed measurements"
        f"{'; the baseline under its own worst perturbation of the same size' if own else ''}; all on one "
        f"{grey_window_text()}."
        + (f" Bottom row: r_j on one diverging window {window_text(half)} (image intensity units)." if signed else "")
    )
    return save(fig, root, CHECK, "ladder", "Worst-case image perturbations and the reconstructions", caption)


def largest_change_box(change: np.ndarray, side: int) -> tuple[slice, slice]:
    """The ``side`` × ``side`` window (inside the image) whose mean |change| is largest."""
    from scipy.ndimage import uniform_filter

    h, w = change.shape
    side = min(side, h, w)
    score = uniform_filter(np.abs(change), size=side, mode="constant")
    r, c = np.unravel_index(int(np.argmax(score)), score.shape)
    top, left = min(max(0, r - side // 2), h - side), min(max(0, c - side // 2), w - side)
    return slice(top, top + side), slice(left, left + side)


def largest_rms_patch(change: np.ndarray, size: int) -> tuple[slice, slice]:
    """The patch of ``auditkit.metrics.patch_grid`` (side ``size``, half-overlapping, the image zero-padded) on which
    the RMS of ``change`` is largest — where the local criterion's value comes from — cut to the image's pixels."""
    h, w = change.shape
    _, _, corners = patch_grid((h, w), size)
    energy = window_energy(torch.from_numpy(np.abs(change))[None], size)[0]
    top, left = corners[int(torch.argmax(energy))]
    return slice(top, min(top + size, h)), slice(left, min(left + size, w))


def _zoom_box(check: CheckResult, data: dict[str, np.ndarray], i: int, top: int) -> tuple[tuple[slice, slice], str]:
    """The window zoomed on in the network's reconstruction of image ``i`` at budget ``top``, and the caption's words
    for it: the local criterion's ``patch_size`` patch of largest RMS change f(A(x + r)) − f(Ax) (as that criterion
    measures it), or, when the evidence records no patch size, the ``ZOOM_SHARE`` window of largest mean change."""
    size = check.parameters.get("patch_size")
    if size:
        delta = np.asarray(data["network_perturbed"][i][top]) - np.asarray(data["network_clean"][i])
        box = largest_rms_patch(delta, int(size))
        shape = f"{box[0].stop - box[0].start}×{box[1].stop - box[1].start}"
        return box, (f"{shape}-pixel patch on which its change f(A(x + r)) − f(Ax) has the largest RMS outlined (the "
                     f"local criterion's {int(size)}×{int(size)} patch, on its grid of half-overlapping patches)")
    change = _modulus(data["network_perturbed"][i][top]) - _modulus(data["network_clean"][i])
    side = max(MIN_ZOOM, int(round(ZOOM_SHARE * min(change.shape))))
    box = largest_change_box(change, side)
    return box, (f"{side}×{side}-pixel window of its largest mean change outlined (the evidence records no patch size "
                 f"for the local criterion)")


def _changes(check: CheckResult, data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Change maps |f(A(x + r_j))| − |f(Ax)| of network and baseline (same inputs) on one window, then a zoom on
    the local criterion's patch of the network's largest change at the largest budget, outlined (inside the image)
    on the full image."""
    ids = [str(s) for s in data["image_ids"]] if "image_ids" in data else ["1"]
    i = worst_index(check, ids, "image_domain", "change")
    budgets = [float(b) for b in np.ravel(data["budgets"])]
    changes = {
        "network": _modulus(data["network_perturbed"][i]) - _modulus(data["network_clean"][i])[None],
        "baseline": _modulus(data["baseline_on_network_perturbation"][i]) - _modulus(data["baseline_clean"][i])[None],
    }
    half = symmetric_window(*changes.values())
    cols = max(len(budgets) + 1, 4)
    fig, axes = _grid(3, cols)
    labels = {"network": "network\nchange", "baseline": "baseline\nchange,\nsame inputs"}
    for row, subject in enumerate(SUBJECTS):
        _row_label(axes[row, 0], labels[subject], SUBJECT_COLORS[subject])
        for j, eps in enumerate(budgets):
            artist = show_signed(axes[row, j + 1], changes[subject][j], half,
                                 f"‖r‖/‖x‖ = {eps:g}" if row == 0 else None)
        for ax in axes[row, len(budgets) + 1:]:
            ax.set_axis_off()
    fig.colorbar(artist, ax=list(axes[:2].ravel()), shrink=0.6, label="|f(A(x + r))| − |f(Ax)|")
    top = len(budgets) - 1
    box, outlined = _zoom_box(check, data, i, top)
    full = _modulus(data["network_perturbed"][i][top])
    show_image(axes[2, 0], full, f"network, ‖r‖/‖x‖ = {budgets[top]:g}")
    outline_box(axes[2, 0], box[0].start, box[1].start, box[0].stop - box[0].start, box[1].stop - box[1].start,
                OUTLINE_COLOR, 1.2)
    zooms = [(_modulus(data["perturbed_image"][i][top]), "zoom: |x + r|"),
             (full, "zoom: network"),
             (_modulus(data["baseline_on_network_perturbation"][i][top]), "zoom: baseline, same input")]
    for ax, (img, title) in zip(axes[2, 1:], zooms):
        show_image(ax, img[box], title)
    for ax in axes[2, 1 + len(zooms):]:
        ax.set_axis_off()
    caption = (
        f"Image {ids[i]}: where the network's worst perturbations r_j change its reconstruction. Top rows: the change "
        f"|f(A(x + r_j))| − |f(Ax)| of the network and of the baseline given the same perturbed measurements, at "
        f"each budget, on one diverging window {window_text(half)} (image intensity units), so the colours compare "
        f"across methods and budgets. Bottom: the network's reconstruction at the largest budget with the "
        f"{outlined}, and that window zoomed in |x + r|, the "
        f"network's and the baseline's reconstructions, on the {grey_window_text()}."
    )
    return save(fig, root, CHECK, "changes", "Where the worst perturbations change the reconstructions", caption)


def _noise_ladder(check: CheckResult, data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Rows: network and baseline under the network's worst noise e_k, and the baseline under its own."""
    ids = [str(s) for s in data["image_ids"]] if "image_ids" in data else ["1"]
    i = worst_index(check, ids, MEASUREMENT, "relative_error")
    etas = [float(e) for e in np.ravel(data["etas"])]
    own = "baseline_worst" in data
    rows, cols = 2 + own, len(etas) + 1
    fig, axes = _grid(rows, cols)
    lines = [("network", "network_clean", "network_worst", "network\n|f(Ax + e)|"),
             ("baseline", "baseline_clean", "baseline_on_network_noise", "baseline\nsame inputs")]
    if own:
        lines.append(("baseline", "baseline_clean", "baseline_worst", "baseline\nits own\nworst e"))
    for row, (s, clean, perturbed, label) in enumerate(lines):
        show_image(axes[row, 0], _modulus(data[clean][i]), "f(Ax)\n(no noise)" if row == 0 else None)
        axes[row, 0].set_ylabel(label, color=SUBJECT_COLORS[s])
        for k, eta in enumerate(etas):
            title = f"noise e{_sub(k + 1)}\n‖e‖/‖Ax‖ ≤ {eta:g}" if row == 0 else None
            show_image(axes[row, k + 1], _modulus(data[perturbed][i][k]), title)
    fig.colorbar(axes[0, 0].images[0], ax=list(axes.ravel()), shrink=0.6, label="intensity")
    caption = (
        f"Image {ids[i]} (the one with the network's largest error under noise): reconstructions from Ax + e_k, "
        f"where e_k is the network's worst measurement noise with ‖e‖ ≤ η‖Ax‖, η = "
        f"{', '.join(f'{e:g}' for e in etas)} (columns; first column noise-free). Rows: the network; the baseline "
        f"on the same noisy measurements{'; the baseline under its own worst noise of the same size' if own else ''}; "
        f"all on one {grey_window_text()}."
    )
    return save(fig, root, CHECK, "noise", "Worst-case measurement noise and the reconstructions", caption)


# -- curves -------------------------------------------------------------------------------------


def _plot_subjects(ax: Axes, check: CheckResult, domain: Domain, name: str, *, annotate: bool = False) -> list[float]:
    """Each subject's series ``name`` as a line with markers (each point labelled with its value when ``annotate``);
    returns the budgets drawn."""
    budgets: list[float] = []
    lines: dict[str, Series] = {}
    for s in SUBJECTS:
        line = as_series(fields(check, s, domain).get(name))
        if line is None:
            continue
        lines[s] = line
        budgets += list(line.budgets)
        ax.plot(line.budgets, line.values, marker="o", color=SUBJECT_COLORS[s], label=SUBJECT_LABELS[s])
    if annotate:
        annotate_values(ax, lines)
    return budgets


#: significant digits of a point's value label (one decimal read 0.016 and 0.032 both as "0.0").
LABEL_DIGITS = 3
#: gap between a point and its value label, points.
LABEL_GAP = 3.0


def value_label(value: float) -> str:
    """A point's value with ``LABEL_DIGITS`` significant digits, trailing zeros kept (0.0850, not 0.085)."""
    return f"{value:#.{LABEL_DIGITS}g}".rstrip(".")


def label_above(lines: dict[str, Series], subject: str, budget: float, value: float) -> bool:
    """Whether ``subject``'s label at ``budget`` goes above its point: the larger value at a budget is labelled above,
    the smaller below (ties: the first of ``SUBJECTS`` above), so two labels at one budget point away from each other
    and never overlap, however close the values."""
    for other, line in lines.items():
        if other == subject:
            continue
        at = np.flatnonzero(np.isclose(line.budgets, budget))
        if at.size:
            theirs = float(line.values[at[0]])
            if value != theirs:
                return value > theirs
            return SUBJECTS.index(subject) < SUBJECTS.index(other)
    return True


def annotate_values(ax: Axes, lines: dict[str, Series]) -> None:
    """Label every point of ``lines`` (subject → series) with ``value_label`` in the subject's colour, above or below
    it as ``label_above`` decides."""
    for subject, line in lines.items():
        for b, value in zip(line.budgets, line.values):
            above = label_above(lines, subject, float(b), float(value))
            ax.annotate(value_label(float(value)), (b, value), ha="center", va="bottom" if above else "top", fontsize=6,
                        color=SUBJECT_COLORS[subject], xytext=(0, LABEL_GAP if above else -LABEL_GAP),
                        textcoords="offset points")


def _plot_bounds(ax: Axes, check: CheckResult, domain: Domain, local: bool = False) -> list[float]:
    """The domain's criterion thresholds (global or ``local``), one black line style per rule; returns the budgets."""
    budgets: list[float] = []
    for n, (rule, bound) in enumerate(sorted(criterion_bounds(check.criteria, domain, local).items())):
        budgets += list(bound.budgets)
        ax.plot(bound.budgets, bound.values, color=CRITERION_COLOR, linestyle=BOUND_STYLES[n % len(BOUND_STYLES)],
                marker="_", markersize=10, linewidth=1.0, label=f"bound: {rule}")
    return budgets


def _change_panel(ax: Axes, check: CheckResult, domain: Domain) -> None:
    """Worst change against budget: both subjects, the baseline under the network's perturbation, the bounds."""
    budgets = _plot_subjects(ax, check, domain, CHANGE)
    cross = as_series(fields(check, "baseline", domain).get(CROSS))
    if cross is not None:
        ax.plot(cross.budgets, cross.values, marker="s", markerfacecolor="white", linestyle="--",
                color=SUBJECT_COLORS["baseline"], label="baseline under the network's perturbation")
    if domain is IMAGE and budgets:
        span = [min(budgets), max(budgets)]
        ax.plot(span, span, color=REFERENCE_GREY, linestyle=":", linewidth=1.0, label="change = budget")
    budgets += _plot_bounds(ax, check, domain)
    log_axes(ax, budgets)
    ax.set_xlabel(domain.budget)
    ax.set_ylabel(f"worst-case relative change\n{domain.change}")
    ax.set_title(domain.title)
    ax.grid(True)


def _error_panel(ax: Axes, check: CheckResult, domain: Domain) -> None:
    """Worst relative error against budget, with each subject's unperturbed error as a flat dotted line."""
    budgets = _plot_subjects(ax, check, domain, ERROR)
    for s in SUBJECTS:
        clean = as_series(fields(check, s, domain).get(UNPERTURBED))
        if clean is not None:
            ax.axhline(float(clean.values.max()), color=SUBJECT_COLORS[s], linestyle=":", linewidth=1.0,
                       label=f"{SUBJECT_LABELS[s]}, unperturbed error")
    log_axes(ax, budgets)
    ax.set_xlabel(domain.budget)
    ax.set_ylabel(f"relative error at the worst perturbation\n{domain.error}")
    ax.set_title(domain.title)
    ax.grid(True)


def _shared_legend(fig: Figure, axes: Any) -> None:
    """One legend below the figure with every distinct label of ``axes``."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(2, len(labels)), frameon=False, handlelength=3.5)


def _curves(check: CheckResult, domains: list[Domain], root: Path) -> FigureRef:
    """One row per domain: worst change (with bounds) and worst error against the budget, log–log."""
    fig = new_figure(FULL_WIDTH, 2.7 * len(domains) + 0.8)
    axes = np.asarray(fig.subplots(len(domains), 2, squeeze=False))
    for row, domain in zip(axes, domains):
        _change_panel(row[0], check, domain)
        _error_panel(row[1], check, domain)
    _shared_legend(fig, axes.ravel())
    caption = (
        "Worst case over the attacked images, against the perturbation's relative size (dimensionless, log–log "
        "axes), network and baseline. Left: the relative change of the reconstruction; open squares: the "
        "baseline given the network's worst perturbation; grey dotted: a change as large as the perturbation; "
        "black: the criteria's bounds at each budget (a network point above a bound fails it). Right: the "
        "relative error against the object measured, with each method's error without perturbation (dotted)."
    )
    return save(fig, root, CHECK, "curves", "Worst-case change and error against the perturbation size", caption)


def _budget_axes(ax: Axes, budgets: list[float], domain: Domain, ylabel: str) -> None:
    """Log–log axes over the budgets drawn, with margins for the annotations, labels, title and grid."""
    ax.margins(x=0.08, y=0.15)
    log_axes(ax, budgets)
    ax.set_xlabel(domain.budget)
    ax.set_ylabel(ylabel)
    ax.set_title(domain.title)
    ax.grid(True)


def _local(check: CheckResult, root: Path) -> FigureRef:
    """Worst local change (RMS on the worst patch) against the image-domain budget, with its bound."""
    fig = new_figure(FULL_WIDTH * 0.6, 3.0)
    ax = fig.subplots()
    budgets = _plot_subjects(ax, check, IMAGE, LOCAL, annotate=True)
    budgets += _plot_bounds(ax, check, IMAGE, local=True)
    _budget_axes(ax, budgets, IMAGE, "worst local change\nRMS of f(A(x+r)) − f(Ax) on a patch")
    _shared_legend(fig, [ax])
    size = check.parameters.get("patch_size")
    caption = (
        f"Worst local change over the attacked images at each budget ε, network and baseline: the RMS of "
        f"f(A(x + r)) − f(Ax) on the worst {size}×{size}-pixel patch, in intensity units (the test images span "
        f"[0, 1]; log–log axes), at the perturbations the searches found for the global change. Black: the "
        f"criterion's bound at each budget. A change gathered in a lesion-sized area shows here even when the "
        f"global change above, taken over the whole image, dilutes it."
    )
    return save(fig, root, CHECK, "local", "Worst local change per budget", caption)


def _amplification(check: CheckResult, root: Path) -> FigureRef:
    """Worst-case amplification ‖f(y + e) − f(y)‖/‖e‖ against the budget, one panel per domain."""
    domains = [d for d in (IMAGE, NOISE) if _has(check, d, AMPLIFICATION)]
    fig = new_figure(FULL_WIDTH if len(domains) > 1 else FULL_WIDTH * 0.6, 3.0)
    axes = np.asarray(fig.subplots(1, len(domains), squeeze=False)).ravel()
    for ax, domain in zip(axes, domains):
        budgets = _plot_subjects(ax, check, domain, AMPLIFICATION, annotate=True)
        _budget_axes(ax, budgets, domain, "worst-case amplification\n‖f(y + e) − f(y)‖ / ‖e‖")
    _shared_legend(fig, axes)
    caption = (
        "Worst-case amplification ‖f(y + e) − f(y)‖/‖e‖ over the attacked images at each budget, network and "
        "baseline (dimensionless, log–log axes; y = Ax, and e = A r for an image-domain perturbation r). "
        "A value well above the baseline's means that the network, not the measurement problem, amplifies "
        "the perturbation."
    )
    return save(fig, root, CHECK, "amplification", "Worst-case amplification per budget", caption)
