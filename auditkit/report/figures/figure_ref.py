"""One figure of the dossier as the report refers to it, and the shape of a drawing function."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from auditkit.checks.result import CheckResult


#: the ``check`` of the figures of the test data itself (raw slices: reference and coil maps), shown with the setup.
TEST_DATA = "test_data"


@dataclass(frozen=True)
class FigureRef:
    """One figure of the dossier: which check, a short key, its title and caption, and its two files."""

    check: str  # a check's name ("adversarial", …, "tradeoff"), or TEST_DATA
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
