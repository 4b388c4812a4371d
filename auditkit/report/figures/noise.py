"""Figures of check 4 (random noise): the relative change per noise level, the probability of harm, survival.

From the evidence (``auditkit.checks.noise``): each subject's ``relative_change_by_level``
({level: {p5, p50, p95, mean, max}}, pooled over the images), ``exceedance_by_level``
(the worst image per level) and the per-image rows with each level's Clopper–Pearson
interval; ``survival`` ({ratio: proportion}) when the survival experiment ran; the
parameters ``threshold``, ``max_probability``, ``confidence`` and the draws used (``effective.draws``).
From ``arrays/noise.npz``: every draw's relative change ``{key}_relative_change``
(N, L, D), drawn as points over the evidence's quantile boxes.
"""

from __future__ import annotations

import re

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from auditkit.checks.result import CheckResult
from auditkit.report.figures import CheckArrays, FigureRef, effective
from auditkit.report.figures.style import (
    CRITERION_COLOR,
    FULL_WIDTH,
    SUBJECT_COLORS,
    SUBJECT_LABELS,
    new_figure,
    save,
)

CHECK = "noise"
_LEVEL_IN_NAME = re.compile(r"^noise\.exceedance_upper_bound\[level=([0-9.eE+-]+)\]$")
SUBJECTS = ("network", "baseline")
#: horizontal offset of each subject from its level's position (levels sit at 0, 1, 2, …).
OFFSETS = {"network": -0.18, "baseline": 0.18}
#: half-width of a subject's box and of the spread of its points, in level positions.
HALF_WIDTH = 0.13
#: relative changes spanning more than this factor are drawn on a logarithmic axis.
LOG_SPAN = 10.0
#: the golden-ratio step spreads the points of one box evenly across its width (deterministic, no random jitter).
_GOLDEN = 0.6180339887498949


def draw(check: CheckResult, arrays: CheckArrays, root: Path) -> list[FigureRef]:
    """Distribution of the change, probability of harm per level, and (when it ran) survival of the worst case."""
    levels = measured_levels(check)
    if not levels:
        return []
    data = arrays.get(CHECK, {})
    refs = [_changes(check, levels, data, root), _exceedance(check, levels, root)]
    if any(_summary(check, s).get("survival") for s in SUBJECTS):
        refs.append(_survival(check, root))
    return refs


# -- reading the evidence -----------------------------------------------------------------------


def _summary(check: CheckResult, subject: str) -> dict[str, Any]:
    result = check.subjects.get(subject)
    return result.summary if result is not None else {}


def measured_levels(check: CheckResult) -> list[str]:
    """The level keys measured for any subject, in increasing order."""
    keys = {k for s in SUBJECTS for k in (_summary(check, s).get("relative_change_by_level") or {})}
    return sorted(keys, key=float)


def worst_interval(check: CheckResult, subject: str, level: str) -> dict[str, Any] | None:
    """The harmful-draw proportion of the image with the largest upper bound at ``level`` (what the criterion judges).

    {probability, ci_low, ci_high, events, trials, image}, from the per-image row of the summary's
    ``worst_image``; the pooled proportion when that row is missing; None when the level was not measured.
    """
    result = check.subjects.get(subject)
    if result is None:
        return None
    pooled = (result.summary.get("exceedance_by_level") or {}).get(level)
    if pooled is None:
        return None
    image = pooled.get("worst_image")
    for row in result.per_image:
        entry = (row.get("levels") or {}).get(level)
        if row.get("image") == image and entry is not None:
            return {**entry, "image": image}
    return {**pooled, "image": image}


def _thresholds(check: CheckResult, data: dict[str, np.ndarray], levels: list[str]) -> list[np.ndarray]:
    """τ of every image at each level (the arrays' (N, L) ``threshold``; the parameters' fixed τ without arrays)."""
    saved = data.get("threshold")
    saved_levels = [f"{v:g}" for v in np.ravel(data.get("levels", np.zeros(0)))]
    fixed = check.parameters.get("threshold")
    out = []
    for level in levels:
        if saved is not None and np.ndim(saved) == 2 and level in saved_levels:
            out.append(np.unique(np.asarray(saved, dtype=float)[:, saved_levels.index(level)]))
        elif saved is not None and np.ndim(saved) == 0:
            out.append(np.asarray([float(saved)]))
        else:
            out.append(np.asarray([] if fixed is None else [float(fixed)]))
    return out


def _tau_rule(check: CheckResult) -> str:
    """How τ was set (the evidence's ``harmful`` parameter, else the fixed τ)."""
    fixed = check.parameters.get("threshold")
    if fixed is not None:
        return f"fixed at {float(fixed):g}"
    k = check.parameters.get("k_baseline", 2.0)
    return f"τ = {float(k):g} × max(the baseline's median change on the image at the level, η)"


# -- figure 1: the distribution of the relative change ------------------------------------------


def _changes(check: CheckResult, levels: list[str], data: dict[str, np.ndarray], root: Path) -> FigureRef:
    """Per level, each subject's p5–p95 box with its median and maximum, and every draw as a point when saved."""
    fig = new_figure(FULL_WIDTH * 0.72, 3.2)
    ax = fig.subplots()
    saved_levels = [f"{v:g}" for v in np.ravel(data.get("levels", np.zeros(0)))]
    with_points = False
    for subject in SUBJECTS:
        draws = data.get(f"{subject}_relative_change")
        for i, level in enumerate(levels):
            stats = (_summary(check, subject).get("relative_change_by_level") or {}).get(level)
            if stats is None:
                continue
            centre = i + OFFSETS[subject]
            if draws is not None and level in saved_levels:
                values = np.ravel(np.asarray(draws)[:, saved_levels.index(level)])
                _points(ax, centre, values, subject)
                with_points = True
            _box(ax, centre, stats, subject, label=SUBJECT_LABELS[subject] if i == 0 else None)
    labelled = False
    for i, taus in enumerate(_thresholds(check, data, levels)):
        for tau in taus:
            ax.hlines(float(tau), i - 0.45, i + 0.45, color=CRITERION_COLOR, linestyle="--", linewidth=1.0,
                      label=None if labelled else "threshold τ (per image)")
            labelled = True
    ax.set_xticks(range(len(levels)), levels)
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_xlabel("noise level η (E‖e‖² = η²‖Ax‖²)")
    ax.set_ylabel("relative change ‖f(y + e) − f(y)‖ / ‖f(y)‖")
    change_axis(ax)
    ax.grid(True, axis="y")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    images = effective(check).get("images") or []
    draws_used = effective(check).get("draws")
    points = " Dots: every draw." if with_points else ""
    caption = (
        f"Relative change ‖f(y + e) − f(y)‖ / ‖f(y)‖ (dimensionless) of each method's reconstruction under zero-mean "
        f"Gaussian measurement noise e with E‖e‖² = η²‖Ax‖², {draws_used} draws per level on each of "
        f"{len(images) or 'the'} test image(s), the same draws for network (left of each level) and baseline (right). "
        f"Box: 5th to 95th percentile of all draws of the level, line: median, ×: maximum.{points} "
        f"Dashed: the threshold τ above which a draw counts as harmful, one dash per image and level: "
        f"{_tau_rule(check)}."
    )
    return save(fig, root, CHECK, "changes", "Relative change of the reconstruction under random noise", caption)


def _box(ax: Axes, centre: float, stats: dict[str, float], subject: str, label: str | None) -> None:
    """p5–p95 box, median line and maximum marker of one subject at one level."""
    color = SUBJECT_COLORS[subject]
    low, mid, high = stats["p5"], stats["p50"], stats["p95"]
    ax.fill_between([centre - HALF_WIDTH, centre + HALF_WIDTH], low, high, color=color, alpha=0.25, linewidth=0)
    ax.plot([centre - HALF_WIDTH, centre + HALF_WIDTH, centre + HALF_WIDTH, centre - HALF_WIDTH, centre - HALF_WIDTH],
            [low, low, high, high, low], color=color, linewidth=1.0, label=label)
    ax.plot([centre - HALF_WIDTH, centre + HALF_WIDTH], [mid, mid], color=color, linewidth=2.0)
    ax.plot([centre], [stats["max"]], marker="x", color=color, linestyle="none")


def _points(ax: Axes, centre: float, values: np.ndarray, subject: str) -> None:
    """Every draw as a small dot, spread evenly across the box's width."""
    spread = ((np.arange(values.size) * _GOLDEN) % 1.0 - 0.5) * 2 * HALF_WIDTH
    ax.plot(centre + spread, values, marker=".", markersize=2.0, linestyle="none", color=SUBJECT_COLORS[subject],
            alpha=0.35)


def change_axis(ax: Axes) -> None:
    """Logarithmic value axis when every drawn value is positive and they span more than ``LOG_SPAN``, else linear."""
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > LOG_SPAN:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())


# -- figure 2: the probability of harm ----------------------------------------------------------


def _exceedance(check: CheckResult, levels: list[str], root: Path) -> FigureRef:
    """Per level, the worst image's fraction of harmful draws with its Clopper–Pearson interval, both subjects."""
    fig = new_figure(FULL_WIDTH * 0.72, 3.2)
    ax = fig.subplots()
    top = 0.0
    for subject in SUBJECTS:
        xs, est, low, high, counts = [], [], [], [], []
        for i, level in enumerate(levels):
            entry = worst_interval(check, subject, level)
            if entry is None:
                continue
            xs.append(i + OFFSETS[subject] / 2)
            est.append(float(entry["probability"]))
            low.append(float(entry["ci_low"]))
            high.append(float(entry["ci_high"]))
            counts.append(f"{entry['events']}/{entry['trials']}")
        if not xs:
            continue
        e, lo, hi = (np.asarray(v, dtype=np.float64) for v in (est, low, high))
        color = SUBJECT_COLORS[subject]
        ax.errorbar(xs, e, yerr=np.vstack([e - lo, hi - e]), marker="o", color=color, capsize=3, linewidth=0.8,
                    label=SUBJECT_LABELS[subject])
        for x, h, text in zip(xs, hi, counts):
            ax.annotate(text, (x, h), textcoords="offset points", xytext=(0, 3), ha="center", va="bottom",
                        fontsize=6, color=color)
        top = max(top, float(hi.max()))
    bound = check.parameters.get("max_probability")
    if bound is not None:
        ax.axhline(float(bound), color=CRITERION_COLOR, linestyle="--", linewidth=1.0,
                   label=f"max_probability = {float(bound):g}")
        top = max(top, 3.0 * float(bound))
    ax.set_ylim(-0.02 * max(top, 0.05), min(1.0, top * 1.15) + 0.02 * max(top, 0.05))
    ax.set_xticks(range(len(levels)), levels)
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_xlabel("noise level η (E‖e‖² = η²‖Ax‖²)")
    ax.set_ylabel("probability of a harmful draw")
    ax.grid(True, axis="y")
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda j: labels[j].startswith("max_probability"))
    fig.legend([handles[j] for j in order], [labels[j] for j in order], loc="outside lower center",
               ncols=len(labels), frameon=False)
    confidence = check.parameters["confidence"]
    failed = [m.group(1) for c in check.criteria if not c.passed and (m := _LEVEL_IN_NAME.match(c.name))]
    caption = (
        f"Fraction of noise draws whose relative change ‖f(y + e) − f(y)‖ / ‖f(y)‖ exceeds the threshold τ "
        f"({_tau_rule(check)}), on the image where "
        f"the upper end of the interval is largest (per level and method; labels: harmful draws / draws), with its "
        f"{float(confidence):.0%} Clopper–Pearson interval. Dashed: max_probability; the criterion requires the "
        f"network's upper end to stay at or below it at every level"
        + (f" (exceeded at η = {', '.join(failed)})" if failed else "")
        + ". The baseline is shown for comparison and is not judged."
    )
    return save(fig, root, CHECK, "exceedance", "Probability of a harmful change under random noise", caption)


# -- figure 3: survival of the worst case -------------------------------------------------------


def common_trials(entries: list[dict[str, Any]]) -> int | None:
    """The number of draws shared by every proportion of ``entries`` ({events, trials, …}); None when they differ."""
    trials = {int(e["trials"]) for e in entries}
    return trials.pop() if len(trials) == 1 else None


def count_label(entry: dict[str, Any], trials: int | None) -> str:
    """A point's label: its count alone when every point has ``trials`` draws (stated once, in the caption), else
    the count over "/draws" on a second line — short either way: "1800/1800" twice at one ratio ran together."""
    return f"{int(entry['events'])}" if trials is not None else f"{int(entry['events'])}\n/{int(entry['trials'])}"


def _survival(check: CheckResult, root: Path) -> FigureRef:
    """Per noise ratio ‖v‖/‖r₁‖, the fraction of draws in which each subject's worst-case artefact survives; each
    point labelled with its count, centred under it, the subjects a full ``OFFSETS`` apart so labels do not touch."""
    ratios = sorted({k for s in SUBJECTS for k in (_summary(check, s).get("survival") or {})}, key=float)
    by_subject = {s: _summary(check, s).get("survival") or {} for s in SUBJECTS}
    trials = common_trials([v for survival in by_subject.values() for v in survival.values()])
    fig = new_figure(FULL_WIDTH * 0.5, 2.6)
    ax = fig.subplots()
    for subject in SUBJECTS:
        survival = by_subject[subject]
        xs = [i + OFFSETS[subject] for i, r in enumerate(ratios) if r in survival]
        if not xs:
            continue
        entries = [survival[r] for r in ratios if r in survival]
        e = np.array([v["probability"] for v in entries], dtype=np.float64)
        lo = np.array([v["ci_low"] for v in entries], dtype=np.float64)
        hi = np.array([v["ci_high"] for v in entries], dtype=np.float64)
        color = SUBJECT_COLORS[subject]
        ax.errorbar(xs, e, yerr=np.vstack([e - lo, hi - e]), marker="o", color=color, capsize=3, linestyle="none",
                    label=SUBJECT_LABELS[subject])
        for x, v in zip(xs, entries):
            ax.annotate(count_label(v, trials), (x, v["ci_low"]), textcoords="offset points", xytext=(0, -4),
                        ha="center", va="top", fontsize=6, color=color)
    ax.set_ylim(-0.12, 1.05)
    ax.set_xticks(range(len(ratios)), ratios)
    ax.set_xlim(-0.6, len(ratios) - 0.4)
    ax.set_xlabel("noise size ‖v‖ / ‖r₁‖")
    ax.set_ylabel("surviving fraction of draws")
    ax.grid(True, axis="y")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    p = check.parameters
    key = "surviving draws / draws" if trials is None else f"surviving draws, of {trials} draws each"
    budget = p.get("survival_budget")
    budget_text = f" = {float(budget):g}‖x‖" if budget is not None else ""
    caption = (
        f"Each method's own smallest worst-case image perturbation r₁ (‖r₁‖{budget_text}) plus Gaussian image noise v "
        f"of exactly the size shown: fraction of draws in which the artefact survives, i.e. "
        f"‖f(A(x + r₁ + v)) − f(Ax)‖ ≥ ½‖f(A(x + r₁)) − f(Ax)‖, pooled over the images, with its "
        f"{float(p['confidence']):.0%} Clopper–Pearson interval (labels: {key}). "
        f"Reported, not judged: a high fraction says the worst case is not a knife-edge."
    )
    return save(fig, root, CHECK, "survival", "Survival of the worst-case artefact under random noise", caption)
