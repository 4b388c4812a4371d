"""Convergence of the worst-case searches: the worst case found so far against the evaluations spent.

Drawn from a check's arrays: per subject a record ``<subject>_progress`` of shape
(N, K, T + 1) (``auditkit.attacks.convergence``; image i, budget or level k, the
best value after t evaluations). One panel per search, one line per budget and
subject (one colour per budget, network solid, baseline dashed; the legend beside
the panel, so it covers no curve), for the image on which the network's
search had levelled off least: the curve a reviewer would doubt first. A curve that
is still rising at its right end means more evaluations would likely have found a
larger worst case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from auditkit.attacks.convergence import LEVELLED_SHARE, half_budget_share
from auditkit.report.figures import FigureRef
from auditkit.report.figures.style import FULL_WIDTH, SUBJECT_LABELS, new_figure, save

SUBJECTS = ("network", "baseline")
#: suffix of a subject's record in the check's arrays.
PROGRESS = "_progress"
#: line styles of the subjects.
STYLES = {"network": "-", "baseline": "--"}
#: colour map of the budgets, smallest budget first (sequential and safe for colour-blind readers; its pale yellow
#: end is left out, it would vanish on white).
BUDGET_MAP, BUDGET_RANGE = "viridis", (0.0, 0.8)
#: a value axis is logarithmic only when the drawn values span at least this factor (a decade); below it a log
#: axis gets at most one or two labelled ticks, so it is linear.
LOG_SPAN = 10.0


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
        "Convergence of the worst-case searches: the worst case found so far (relative to ‖x‖; a log axis where the "
        f"values drawn span a factor {LOG_SPAN:g} or more, else linear) against the evaluations spent, network "
        "(solid) and baseline (dashed), one colour per budget, for the image on which "
        f"the network's search had levelled off least ({'; '.join(shown)}). A flat right end: the search had "
        "converged within its budget. A line still rising at its right end: more evaluations would likely have found "
        f"a larger worst case, and the evidence notes it (share of the final value found at half the budget below "
        f"{LEVELLED_SHARE:g})."
    )
    return save(fig, root, check, "convergence", "Convergence of the worst-case searches", caption)


def budget_colors(count: int) -> list[tuple[float, float, float, float]]:
    """One colour per budget, smallest first, evenly spread over ``BUDGET_RANGE`` of ``BUDGET_MAP``."""
    cmap = matplotlib.colormaps[BUDGET_MAP]
    return [cmap(v) for v in np.linspace(*BUDGET_RANGE, count)] if count > 1 else [cmap(BUDGET_RANGE[0])]


def _panel(ax: Axes, search: Search, image: int) -> None:
    """Every budget's curve of both subjects (colour: budget; style: subject), a readable value axis, and the legend
    outside the axes on the right."""
    colors = budget_colors(len(search.budgets))
    for subject in SUBJECTS:
        record = search.records[subject][image]
        for k, color in enumerate(colors):
            line = record[k]
            ax.plot(np.arange(line.size), np.maximum(line, np.finfo(float).tiny), STYLES[subject], color=color)
    value_axis(ax)
    ax.set_xlabel(search.x_label)
    ax.set_ylabel(search.y_label)
    ax.set_title(search.title)
    ax.grid(True)
    handles = [Line2D([], [], color=c, linestyle="-") for c in colors]
    labels = [f"{search.symbol} = {budget:g}" for budget in search.budgets]
    for subject in SUBJECTS:
        handles.append(Line2D([], [], color="black", linestyle=STYLES[subject]))
        labels.append(SUBJECT_LABELS[subject])
    # outside on the right: inside, wherever it went, it could cover a curve of some search
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
              handlelength=2.5)


def value_axis(ax: Axes) -> str:
    """Make the y axis readable over the drawn values and return its scale ("log" or "linear").

    Log with plain-number labels at 1-2-5 steps when the positive values span ``LOG_SPAN`` or more (small budgets'
    curves stay visible beside large ones); linear otherwise, where a log axis would label one or two ticks only.
    """
    drawn = [np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()]
    values = np.concatenate(drawn or [np.zeros(0)])
    values = values[np.isfinite(values) & (values > np.finfo(float).tiny)]
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    if values.size and values.max() / values.min() >= LOG_SPAN:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(plain)
        return "log"
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.yaxis.set_major_formatter(plain)
    return "linear"
