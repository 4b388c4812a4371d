"""Convergence of the worst-case searches: the worst case found so far against the evaluations spent.

Drawn from a check's arrays: per subject a record ``<subject>_progress`` of shape
(N, K, T + 1) (``auditkit.attacks.convergence``; image i, budget or level k, the
best value after t evaluations). One panel per search, one line per budget and
subject (network solid, baseline dashed), for the image on which the network's
search had levelled off least: the curve a reviewer would doubt first. A curve that
is still rising at its right end means more evaluations would likely have found a
larger worst case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes

from auditkit.attacks.convergence import LEVELLED_SHARE, half_budget_share
from auditkit.report.figures import FigureRef
from auditkit.report.figures.style import FULL_WIDTH, SUBJECT_COLORS, SUBJECT_LABELS, new_figure, save

SUBJECTS = ("network", "baseline")
#: suffix of a subject's record in the check's arrays.
PROGRESS = "_progress"
#: line styles of the subjects.
STYLES = {"network": "-", "baseline": "--"}
#: shades of one subject's colour for successive budgets, lightest first.
SHADES = (0.45, 0.7, 1.0)


@dataclass(frozen=True)
class Search:
    """One search's records, as drawn on one panel."""

    title: str  # e.g. "image domain: refinement on ‖r‖ = ε‖x‖"
    symbol: str  # the budget's symbol in the legend: "ε" or "η"
    budgets: np.ndarray  # (K,)
    records: dict[str, np.ndarray]  # subject → (N, K, T + 1)
    x_label: str
    y_label: str


def has_records(data: dict[str, np.ndarray]) -> bool:
    """Whether ``data`` (one arrays file) holds a convergence record for every subject."""
    return all(f"{s}{PROGRESS}" in data and np.size(data[f"{s}{PROGRESS}"]) > 0 for s in SUBJECTS)


def records(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """subject → its record (N, K, T + 1) in ``data``."""
    return {s: np.asarray(data[f"{s}{PROGRESS}"], dtype=np.float64) for s in SUBJECTS}


def least_levelled(record: np.ndarray) -> int:
    """The image whose search (any budget) had found the least share of its final value at half the budget."""
    return int(np.argmin(half_budget_share(torch.from_numpy(record)).numpy().min(axis=1)))


def draw(check: str, searches: list[Search], image_ids: list[str], root: Path) -> FigureRef:
    """One panel per search; the image drawn is chosen per search (``least_levelled`` of the network)."""
    fig = new_figure(FULL_WIDTH, 3.1)
    axes = np.asarray(fig.subplots(1, len(searches), squeeze=False)).ravel()
    shown = []
    for ax, search in zip(axes, searches):
        i = least_levelled(search.records["network"])
        shown.append(f"{search.title.split(':')[0]}: {image_ids[i] if i < len(image_ids) else i}")
        _panel(ax, search, i)
    caption = (
        "Convergence of the worst-case searches: the worst case found so far (relative to ‖x‖, log axis) against "
        "the evaluations spent, network (solid) and baseline (dashed), one line per budget, for the image on which "
        f"the network's search had levelled off least ({'; '.join(shown)}). A flat right end: the search had "
        "converged within its budget. A line still rising at its right end: more evaluations would likely have found "
        f"a larger worst case, and the evidence notes it (share of the final value found at half the budget below "
        f"{LEVELLED_SHARE:g})."
    )
    return save(fig, root, check, "convergence", "Convergence of the worst-case searches", caption)


def _panel(ax: Axes, search: Search, image: int) -> None:
    for subject in SUBJECTS:
        record = search.records[subject][image]
        for k, budget in enumerate(search.budgets):
            shade = SHADES[max(0, len(SHADES) - len(search.budgets) + k)] if len(search.budgets) <= len(SHADES) else 1.0
            line = record[k]
            ax.plot(np.arange(line.size), np.maximum(line, np.finfo(float).tiny), STYLES[subject],
                    color=SUBJECT_COLORS[subject], alpha=shade,
                    label=f"{SUBJECT_LABELS[subject]}, {search.symbol} = {budget:g}")
    ax.set_yscale("log")
    ax.set_xlabel(search.x_label)
    ax.set_ylabel(search.y_label)
    ax.set_title(search.title)
    ax.grid(True)
    ax.legend(fontsize="x-small", ncols=2, frameon=False)
