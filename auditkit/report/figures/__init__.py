"""The dossier's figures, drawn only from ``evidence.json`` and the check's ``arrays/*.npz``.

``draw_figures(evidence, root)`` writes ``root/figures/<check>_<key>.png`` and
``.svg`` and returns one ``FigureRef`` per figure, in check order then drawing
order. Each check has a drawing module registered in ``DRAWERS`` (imported only
when that check is drawn); a new check adds one module and one line there. A
drawer receives the check's result and its arrays and returns its FigureRefs; it
never recomputes a reported number.

Only checks that produced a verdict (PASS or FAIL) are drawn: a NOT_RUN or
ERROR check has no figure. A figure that needs arrays the check did not save is
left out; what can be drawn from the evidence alone still is.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from auditkit.evidence import CheckResult, Evidence


@dataclass(frozen=True)
class FigureRef:
    """One figure of the dossier: which check, a short key, its title and caption, and its two files."""

    check: str  # "adversarial" | "structural" | "sampling" | "noise" | "hallucination" | "tradeoff"
    key: str  # short id, unique within the check, e.g. "ladder", "curves", "zoom"
    title: str
    caption: str  # what is shown, in one or two sentences, with units and grey windows
    png: str  # relative path, "figures/<check>_<key>.png"
    svg: str  # relative path, "figures/<check>_<key>.svg"
    #: panels of pixel images: the PDF embeds the PNG (the SVG holds the same pixels, and drawing
    #: it costs WeasyPrint several seconds per figure); the HTML still shows the SVG.
    raster: bool = False


#: the arrays of one check: file stem (``arrays/<stem>.npz``) → name → array.
CheckArrays = dict[str, dict[str, np.ndarray]]
#: a drawing function: (check result, its arrays, dossier root) → its figures.
Drawer = Callable[["CheckResult", CheckArrays, Path], list[FigureRef]]

#: check name → "module:function" that draws it, in the order the dossier shows the checks.
DRAWERS: dict[str, str] = {
    "adversarial": "auditkit.report.figures.adversarial:draw",
    "structural": "auditkit.report.figures.structural:draw",
    "sampling": "auditkit.report.figures.sampling:draw",
    "noise": "auditkit.report.figures.noise:draw",
    "hallucination": "auditkit.report.figures.hallucination:draw",
    "tradeoff": "auditkit.report.figures.tradeoff:draw",
}

#: verdicts whose checks are drawn (NOT_RUN and ERROR have nothing trustworthy to show).
DRAWN_VERDICTS = frozenset({"PASS", "FAIL"})


def load_drawer(check: str) -> Drawer | None:
    """The drawing function registered for ``check``, or None when it has none."""
    target = DRAWERS.get(check)
    if target is None:
        return None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def check_arrays(check: "CheckResult", root: Path) -> CheckArrays:
    """The check's ``arrays/*.npz`` that exist under ``root``, by file stem (missing files are left out)."""
    from auditkit.arrays import load_npz

    found: CheckArrays = {}
    for rel in check.arrays:
        path = Path(root) / rel
        if path.suffix == ".npz" and path.is_file():
            found[path.stem] = load_npz(path)
    return found


def draw_figures(evidence: "Evidence", root: Path) -> list[FigureRef]:
    """Draw every figure of ``evidence`` into ``root/figures/``; FigureRefs in check order, then drawing order."""
    from auditkit.report.figures.style import figure_style

    by_name = {c.name: c for c in evidence.checks}
    order = list(DRAWERS) + [c.name for c in evidence.checks if c.name not in DRAWERS]
    refs: list[FigureRef] = []
    with figure_style():
        for name in order:
            check = by_name.get(name)
            if check is None or check.verdict.value not in DRAWN_VERDICTS:
                continue
            drawer = load_drawer(name)
            if drawer is not None:
                refs.extend(drawer(check, check_arrays(check, root), Path(root)))
    return refs


__all__ = ["DRAWERS", "CheckArrays", "Drawer", "FigureRef", "check_arrays", "draw_figures", "load_drawer"]
