"""The look shared by every dossier figure, and the deterministic way figures are saved.

One place for: the two subject colours (network and baseline are the same two
colours in every figure; Okabe–Ito, safe for colour-blind readers), the grey and
diverging colour maps with their windows, fonts and sizes, and ``save``, which
writes a figure as PNG and SVG with no timestamp or random identifier in either,
so the same evidence and arrays always give byte-identical files.

Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas; pyplot
(and with it any display backend or global figure registry) is never used.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

from auditkit.dossier import layout
from auditkit.report.figures.figure_ref import FigureRef

# -- colours (Okabe–Ito) ------------------------------------------------------------------------

#: the network under audit, in every figure.
NETWORK_COLOR = "#D55E00"  # vermillion
#: the classical baseline, in every figure.
BASELINE_COLOR = "#0072B2"  # blue
#: each subject's colour by its evidence key.
SUBJECT_COLORS = {"network": NETWORK_COLOR, "baseline": BASELINE_COLOR}
#: each subject's label in legends and titles.
SUBJECT_LABELS = {"network": "network", "baseline": "baseline"}
#: pass/fail bounds drawn from the criteria.
CRITERION_COLOR = "#000000"
#: the setting a network was trained at.
TRAINED_COLOR = "#009E73"  # bluish green
#: outlines of detail regions on grey images (stands out against grey, distinct from both subjects).
OUTLINE_COLOR = "#F0E442"  # yellow

# -- images -------------------------------------------------------------------------------------

#: colour map and window of every image with intensities in [0, 1] (ground truth, reconstructions).
GREY = "gray"
IMAGE_WINDOW = (0.0, 1.0)
#: colour map of signed images (perturbations, differences); always with a symmetric window.
DIVERGING = "RdBu_r"

# -- sizes and output ---------------------------------------------------------------------------

#: width of a full-width figure, inches (fits an A4 page with margins).
FULL_WIDTH = 7.0
#: resolution of the PNG files.
PNG_DPI = 150
#: salt of the SVG element identifiers (fixed: no random ids).
SVG_SALT = "auditkit"
PNG_METADATA = {"Software": "auditkit"}
SVG_METADATA = {"Date": None, "Creator": "auditkit"}
#: axes positions (fractions of the figure) are rounded to this many decimals before saving.
LAYOUT_DECIMALS = 5

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "figure.titlesize": 9.0,
    "axes.grid": False,
    "grid.color": "#d0d0d0",
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.5,
    "lines.markersize": 5.0,
    "image.interpolation": "nearest",
    "svg.hashsalt": SVG_SALT,
    "svg.fonttype": "path",
    "svg.image_inline": True,
}


@contextmanager
def figure_style() -> Iterator[None]:
    """Draw inside this context so every figure gets the same fonts, sizes and fixed SVG salt."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches on the Agg canvas (no pyplot, no display)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, root: Path, check: str, key: str, title: str, caption: str) -> FigureRef:
    """Write ``figures/<check>_<key>.png`` and ``.svg`` under ``root`` without timestamps; return their FigureRef
    (``raster`` when any axes shows an image)."""
    stem = f"{check}_{key}"
    folder = Path(root) / layout.FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    with figure_style():
        freeze_layout(fig)
        fig.savefig(folder / f"{stem}.png", format="png", dpi=PNG_DPI, metadata=PNG_METADATA)
        fig.savefig(folder / f"{stem}.svg", format="svg", metadata=SVG_METADATA)
    raster = any(ax.get_images() for ax in fig.axes)
    return FigureRef(
        check=check, key=key, title=title, caption=caption, png=f"{layout.FIGURES}/{stem}.png", svg=f"{layout.FIGURES}/{stem}.svg",
        raster=raster,
    )


def freeze_layout(fig: Figure, decimals: int = LAYOUT_DECIMALS) -> None:
    """Compute the constrained layout once, round every axes' position, and keep it for both files.

    The layout solver's last bits can depend on the interpreter's hash seed; the SVG
    names its clip paths by a hash of the exact axes rectangles, so unrounded positions
    would make the same figure differ between two processes. Rounding to ``decimals``
    of the figure size (far below a pixel) removes that, and both files share one layout.
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    for ax in fig.axes:
        ax.set_position(Bbox(np.round(ax.get_position(original=True).get_points(), decimals)), which="both")
    fig.set_layout_engine("none")


# -- helpers shared by the drawing modules ------------------------------------------------------


def show_image(ax: Axes, image: np.ndarray, title: str | None = None) -> None:
    """Grey image in the shared window [0, 1], without ticks."""
    ax.imshow(np.asarray(image, dtype=np.float64), cmap=GREY, vmin=IMAGE_WINDOW[0], vmax=IMAGE_WINDOW[1])
    _bare(ax, title)


def show_signed(ax: Axes, image: np.ndarray, half_width: float, title: str | None = None) -> Any:
    """Signed image on the diverging map with window [−half_width, half_width]; returns the image artist."""
    artist = ax.imshow(np.asarray(image, dtype=np.float64), cmap=DIVERGING, vmin=-half_width, vmax=half_width)
    _bare(ax, title)
    return artist


def _bare(ax: Axes, title: str | None) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)


def outline_box(ax: Axes, top: int, left: int, height: int, width: int, color: str, linewidth: float) -> Rectangle:
    """Outline the pixels rows top … top + height − 1, columns left … left + width − 1 of an image, the stroke
    entirely inside that box (``linewidth`` wide), and return the outline.

    Why: a stroke centred on the box's edge loses its outer half where the box meets the image's edge (the axes clip
    it) and spills into a neighbouring box elsewhere; clipped to the box itself, the outline looks the same
    everywhere and never leaves the image, and two adjacent boxes keep two separate lines.
    """
    corner, size = (left - 0.5, top - 0.5), (width, height)
    outline = Rectangle(corner, *size, fill=False, edgecolor=color, linewidth=2 * linewidth)
    ax.add_patch(outline)
    outline.set_clip_path(Rectangle(corner, *size, transform=ax.transData))
    return outline


def log_axes(ax: Axes, x_ticks: list[float]) -> None:
    """Log–log axes with plain-number labels: x ticks at ``x_ticks`` (the budgets); y ticks at 1-2-5 steps
    over a decade or more, at every digit over a narrower range, evenly spaced when the data span less than 3×.
    Call after plotting (the y ticks follow the data's range)."""
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(x_ticks))))
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_locator(NullLocator())
    low, high = ax.get_ylim()
    span = high / low if low > 0 else np.inf
    if span >= 10:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    elif span >= 3:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=tuple(float(d) for d in range(1, 10))))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(NullFormatter())


def symmetric_window(*images: np.ndarray) -> float:
    """Half-width of one symmetric window covering every finite value of ``images`` (1 when all are zero)."""
    peak = max((float(np.nanmax(np.abs(im))) for im in images if np.size(im)), default=0.0)
    return peak if np.isfinite(peak) and peak > 0 else 1.0


def window_text(half_width: float) -> str:
    """The symmetric window as the captions state it."""
    return f"[−{half_width:.3g}, {half_width:.3g}]"


def grey_window_text() -> str:
    """The grey window as the captions state it."""
    lo, hi = IMAGE_WINDOW
    return f"grey window [{lo:g}, {hi:g}] (black to white)"


def fmt(value: float | None, decimals: int = 2) -> str:
    """A number for a title or caption with fixed ``decimals``, 'n/a' when it was not measured."""
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.{decimals}f}"
