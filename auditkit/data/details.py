"""Small structural details — card suits, letters, any text — rendered into detail images.

The structural-change test adds a clearly visible but small detail d to a test
image and asks whether a reconstruction method brings it back. Details are
glyph outlines of a TrueType font (DejaVu Sans by default: matplotlib ships it,
and it has ♠ ♥ ♦ ♣), filled with matplotlib's Agg rasteriser, so edges are
anti-aliased (pixel value = intensity × covered fraction of the pixel), the
result is the same on every machine, and no display is needed.

Geometry: ``size`` is the height of the text's ink bounding box as a fraction of
the image height; ``position`` = (row_frac, col_frac) is the centre of that box,
with pixel i covering [i, i+1) along each axis, so (0.5, 0.5) is the image centre.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D
from scipy import ndimage

from auditkit.data.resize import check_shape

DEFAULT_FONT = "DejaVu Sans"
#: intensity of the default details (added to images in [0, 1]).
DEFAULT_INTENSITY = 0.5
#: the four suits of the default set, with their identifiers.
SUIT_NAMES = {"♠": "spade", "♥": "heart", "♦": "diamond", "♣": "club"}
DEFAULT_TEXT = "CAN U SEE IT"
#: smallest image side the default layout is made for.
MIN_SIDE = 32
#: dots per inch of the off-screen canvas; any value works, pixels are set by the figure size.
_DPI = 100


@dataclass(frozen=True)
class DetailSpec:
    """One detail to render: its text, geometry and intensity, and a safe identifier for evidence keys."""

    name: str
    text: str
    size: float
    position: tuple[float, float]
    intensity: float

    def render(self, shape: tuple[int, int], font: str = DEFAULT_FONT) -> torch.Tensor:
        """The detail image d of this spec on an (H, W) grid (see ``render_detail``)."""
        return render_detail(
            self.text, shape, size=self.size, position=self.position, intensity=self.intensity, font=font
        )


def detail_name(text: str) -> str:
    """A safe identifier for a detail's text: 'spade' … 'club' for the suits, else a lowercase slug.

    Non-ASCII symbols are named by their Unicode names ('★' → 'black_star'), so
    every detail gets a readable key such as ``structural.recovery[can_u_see_it]``.
    """
    stripped = text.strip()
    if stripped in SUIT_NAMES:
        return SUIT_NAMES[stripped]
    words = []
    for ch in stripped:
        if ch.isascii():
            words.append(ch)
        else:
            words.append(f" {unicodedata.name(ch, f'u{ord(ch):04x}')} ")
    slug = re.sub(r"[^a-z0-9]+", "_", "".join(words).lower()).strip("_")
    return slug or "detail"


def unique_names(texts: list[str]) -> list[str]:
    """``detail_name`` of each text, with '_2', '_3' … appended to repeats so keys never collide."""
    seen: dict[str, int] = {}
    names = []
    for text in texts:
        base = detail_name(text)
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return names


@lru_cache(maxsize=8)
def _font_file(font: str) -> str:
    try:
        return findfont(FontProperties(family=font), fallback_to_default=False)
    except ValueError:
        raise ValueError(f"font: no installed font named {font!r}") from None


def _check_glyphs(text: str, font: str) -> None:
    face = FT2Font(_font_file(font))
    missing = [ch for ch in text if not ch.isspace() and face.get_char_index(ord(ch)) == 0]
    if missing:
        raise ValueError(f"text: font {font!r} has no glyph for {''.join(missing)!r}")


def _text_outline(text: str, font: str) -> MplPath:
    """Glyph outlines of ``text`` at unit font size, y pointing up (font units)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    _check_glyphs(text, font)
    return TextPath((0.0, 0.0), text, size=1.0, prop=FontProperties(fname=_font_file(font)))


def text_aspect(text: str, font: str = DEFAULT_FONT) -> float:
    """Width / height of the text's ink bounding box (e.g. ≈ 8.7 for 'CAN U SEE IT' in DejaVu Sans)."""
    box = _text_outline(text, font).get_extents()
    return float(box.width / box.height)


def _check_detail_args(size: float, position: tuple[float, float], intensity: float) -> tuple[float, float]:
    if not (isinstance(size, (int, float)) and 0.0 < size <= 1.0):
        raise ValueError(f"size must be a fraction of the image height in (0, 1], got {size!r}")
    if len(position) != 2 or not all(0.0 <= float(p) <= 1.0 for p in position):
        raise ValueError(f"position must be [row_frac, col_frac] with both in [0, 1], got {position!r}")
    if not (math.isfinite(intensity) and intensity != 0.0 and -1.0 <= intensity <= 1.0):
        raise ValueError(f"intensity must be non-zero and in [-1, 1], got {intensity!r}")
    return float(position[0]), float(position[1])


def _pixel_outline(text: str, shape: tuple[int, int], size: float, position: tuple[float, float], font: str) -> MplPath:
    """The outline placed in pixel coordinates (x = column, y = row, rows growing downwards)."""
    h, w = shape
    path = _text_outline(text, font)
    box = path.get_extents()
    scale = size * h / box.height
    row_c, col_c = position[0] * h, position[1] * w
    place = (
        Affine2D()
        .translate(-(box.x0 + box.x1) / 2.0, -(box.y0 + box.y1) / 2.0)
        .scale(scale, -scale)  # font y points up, image rows point down
        .translate(col_c, row_c)
    )
    placed = place.transform_path(path)
    ext = placed.get_extents()
    tol = 1e-6
    if ext.x0 < -tol or ext.y0 < -tol or ext.x1 > w + tol or ext.y1 > h + tol:
        raise ValueError(
            f"position/size: detail {text!r} of size {size} at {tuple(position)} does not fit in a {h}×{w} image"
        )
    return placed


def _coverage(path: MplPath, shape: tuple[int, int]) -> np.ndarray:
    """Fraction of each pixel covered by the filled path, by Agg's anti-aliased scan converter."""
    h, w = shape
    fig = Figure(figsize=(w / _DPI, h / _DPI), dpi=_DPI, facecolor="white")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0.0, w)
    ax.set_ylim(h, 0.0)
    ax.add_patch(PathPatch(path, facecolor="black", edgecolor="none", linewidth=0.0, antialiased=True, snap=False))
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    if rgba.shape[:2] != (h, w):  # the canvas must map one pixel to one pixel
        raise RuntimeError(f"rasteriser produced {rgba.shape[:2]}, expected {(h, w)}")
    return 1.0 - rgba[..., 0].astype(np.float64) / 255.0


def render_detail(
    text: str,
    shape: tuple[int, int],
    *,
    size: float,
    position: tuple[float, float],
    intensity: float,
    font: str = DEFAULT_FONT,
) -> torch.Tensor:
    """Detail image d (H, W), float64: intensity × anti-aliased glyph coverage, so d ∈ [0, intensity].

    ``size`` is the ink height as a fraction of H, ``position`` the (row, col)
    fractions of the ink box's centre; a negative intensity gives a dark detail.
    Raises ValueError when a glyph is missing from the font or the detail leaves the image.
    """
    hw = check_shape(tuple(shape))
    pos = _check_detail_args(size, position, intensity)
    cov = _coverage(_pixel_outline(text, hw, float(size), pos, font), hw)
    return torch.from_numpy(intensity * cov)


def default_details(shape: tuple[int, int], font: str = DEFAULT_FONT) -> list[DetailSpec]:
    """The default set: ♠ ♥ ♦ ♣ side by side in the upper half and 'CAN U SEE IT' below, none overlapping.

    Sizes are fractions of the image height, enlarged on small images so a glyph
    stays at least ~8 px (suits) / ~7 px (text) tall where room allows; the text
    spans at most 56 % of the width, so on a head phantom it stays inside the skull.
    Fits every image with sides ≥ 32 px and aspect between 1:2 and 2:1.
    """
    h, w = check_shape(tuple(shape))
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"shape: default details need images of at least {MIN_SIDE}×{MIN_SIDE}, got {h}×{w}")
    # suits: centres 0.14 of the width apart; the widest suit (♥) is ≈ 0.87 × its height wide
    suit_size = min(max(0.08, 8.0 / h), 0.10, 0.12 * w / h / 0.87)
    text_size = min(max(0.06, 7.0 / h), 0.56 * w / h / text_aspect(DEFAULT_TEXT, font))
    suits = [
        DetailSpec(name, symbol, suit_size, (0.32, col), DEFAULT_INTENSITY)
        for (symbol, name), col in zip(SUIT_NAMES.items(), (0.29, 0.43, 0.57, 0.71))
    ]
    text = DetailSpec(detail_name(DEFAULT_TEXT), DEFAULT_TEXT, text_size, (0.66, 0.5), DEFAULT_INTENSITY)
    return [*suits, text]


def detail_region(d: torch.Tensor, dilation: int = 2) -> torch.Tensor:
    """Boolean region of a detail: its support {d ≠ 0} dilated by a disc of radius ``dilation`` pixels.

    The dilation lets a slightly blurred or shifted reconstruction of the detail
    still count against it, so blur lowers the correlation instead of escaping it.
    """
    if d.ndim != 2:
        raise ValueError(f"d must be one (H, W) detail image, got shape {tuple(d.shape)}")
    if not (isinstance(dilation, int) and dilation >= 0):
        raise ValueError(f"dilation must be a non-negative integer number of pixels, got {dilation!r}")
    support = (d.detach().cpu().abs() > 0).numpy()
    if dilation > 0:
        r = np.arange(-dilation, dilation + 1)
        disc = (r[:, None] ** 2 + r[None, :] ** 2) <= dilation**2
        support = ndimage.binary_dilation(support, structure=disc)
    return torch.from_numpy(support)
