"""The dossier's figures, drawn only from ``evidence.json`` and the check's ``arrays/*.npz``.

``draw_figures(evidence, root)`` writes ``root/figures/<check>_<key>.png`` and
``.svg`` and returns one ``FigureRef`` per figure, in check order then drawing
order. Each check has a drawing module registered in ``DRAWERS`` (imported only
when that check is drawn). The checks themselves are listed once, in
``auditkit.checks.registry``; a layer below the report cannot name report code, so
the drawers are keyed here by the registry's names, each check drawn by the module
of its name, and this module refuses to import when a check of the registry has no
such module. A new check adds its module here. A drawer receives the check's result
and its arrays and returns its FigureRefs; it never recomputes a reported number.

Only checks that produced a verdict (PASS, PRELIMINARY, INCONCLUSIVE or FAIL) are drawn: a NOT_RUN or
ERROR check has no figure. A figure that needs arrays the check did not save is
left out; what can be drawn from the evidence alone still is.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditkit.checks import registry
from auditkit.report.figures.figure_ref import CheckArrays, Drawer, FigureRef

if TYPE_CHECKING:
    from auditkit.checks.result import CheckResult
    from auditkit.evidence import Evidence


#: check name → "module:function" that draws it: every check of ``auditkit.checks.registry``, in its order.
DRAWERS: dict[str, str] = {name: f"{__name__}.{name}:draw" for name in registry.names()}

#: verdicts whose checks are drawn (NOT_RUN and ERROR have nothing trustworthy to show).
DRAWN_VERDICTS = frozenset({"PASS", "FAIL", "PRELIMINARY", "INCONCLUSIVE"})


def _every_check_has_a_drawer() -> None:
    """ImportError naming the checks of the registry whose drawing module does not exist."""
    missing = [name for name, target in DRAWERS.items() if importlib.util.find_spec(target.split(":")[0]) is None]
    if missing:
        raise ImportError(f"no drawing module in {__name__} for the check(s) {', '.join(missing)}")


_every_check_has_a_drawer()


def load_drawer(check: str) -> Drawer | None:
    """The drawing function registered for ``check``, or None when it has none."""
    target = DRAWERS.get(check)
    if target is None:
        return None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def effective(check: "CheckResult") -> dict[str, Any]:
    """What the check's run used: its parameters' ``effective`` block (images, quick mode, settings after
    defaults), empty when the check did not run."""
    return check.parameters.get("effective") or {}


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
    """Draw every figure of ``evidence`` into ``root/figures/``; FigureRefs in check order, then drawing order,
    then the raw test data's (``test_data``)."""
    from auditkit.report.figures import test_data
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
        refs.extend(test_data.draw(evidence, Path(root)))
    return refs


__all__ = ["DRAWERS", "CheckArrays", "Drawer", "FigureRef", "check_arrays", "draw_figures", "effective", "load_drawer"]
