"""Sampling masks: which entries of a 2-D transform (k-space, Walsh–Hadamard) are measured.

A mask is a boolean tensor of shape (H, W); True marks a measured entry. Fourier masks use the
*centred* k-space convention: the DC coefficient sits at index (H//2, W//2). Cartesian patterns
sample full **columns**: a selected phase-encode index j ∈ [0, W) marks ``mask[:, j]``, so lines
run along the first image axis (H, the readout) and are chosen along the second (W).

Every pattern is *nested*: for one seed, each pattern fixes a priority order over its units
(columns, points or radial lines), centre first, and a ratio takes the shortest prefix whose
fraction is closest to it. Hence the mask at a higher ratio contains the mask at a lower one, and
"more samples" really adds samples. Randomness comes only from ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

#: Pattern names accepted by ``make_mask`` (the manifest uses these).
PATTERNS = (
    "cartesian_random",
    "cartesian_equispaced",
    "random_points",
    "radial",
    "file",
    "variable_density",
)

#: Golden ratio φ; radial lines advance by the golden angle π/φ ≈ 111.25°.
GOLDEN_RATIO = (1.0 + math.sqrt(5.0)) / 2.0

DEFAULT_CENTER_FRACTION = 0.08
DEFAULT_DECAY = 2.0


@dataclass(frozen=True)
class MaskSpec:
    """Everything needed to regenerate a mask, so an operator can move to another ratio."""

    pattern: str
    shape: tuple[int, int]
    ratio: float | None = None
    center_fraction: float = DEFAULT_CENTER_FRACTION
    seed: int = 0
    mask_file: str | None = None
    n_lines: int | None = None

    def build(self) -> torch.Tensor:
        """The mask this spec describes (``make_mask`` with these arguments)."""
        return make_mask(**asdict(self))

    def with_ratio(self, ratio: float) -> "MaskSpec":
        """The same pattern and seed at another ratio (a file mask has no other ratio)."""
        if self.pattern == "file":
            raise ValueError(f"ratio: the mask read from {self.mask_file} has a fixed sampling ratio")
        return replace(self, ratio=float(ratio), n_lines=None)


def make_mask(
    pattern: str,
    shape: tuple[int, int],
    ratio: float | None = None,
    center_fraction: float = DEFAULT_CENTER_FRACTION,
    seed: int = 0,
    mask_file: str | Path | None = None,
    n_lines: int | None = None,
) -> torch.Tensor:
    """A boolean (H, W) mask of the named pattern (see ``PATTERNS``).

    ``ratio`` is the requested fraction of sampled entries; ``radial`` takes either ``ratio`` or
    an exact ``n_lines`` and ignores ``center_fraction`` (every line crosses DC); ``file`` takes
    ``mask_file`` and ignores ``ratio``, ``center_fraction`` and ``seed``.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern: unknown mask pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    shape = check_shape(shape)
    if pattern == "file":
        if mask_file is None:
            raise ValueError("mask_file: the 'file' pattern needs a mask_file (.npy or .png)")
        return mask_from_file(mask_file, shape)
    if pattern == "radial":
        return radial(shape, ratio=ratio, seed=seed, n_lines=n_lines)
    generators = {
        "cartesian_random": cartesian_random,
        "cartesian_equispaced": cartesian_equispaced,
        "random_points": random_points,
        "variable_density": variable_density,
    }
    return generators[pattern](shape, ratio, center_fraction=center_fraction, seed=seed)


# -- generators ---------------------------------------------------------------------------------


def cartesian_random(
    shape: tuple[int, int],
    ratio: float | None,
    center_fraction: float = DEFAULT_CENTER_FRACTION,
    seed: int = 0,
    decay: float = DEFAULT_DECAY,
) -> torch.Tensor:
    """Variable-density random columns with a fully sampled centre of ``center_fraction`` of them.

    Outside the centre, column j is drawn without replacement with weight (1 − d/d_lim)^decay,
    d = |j − W//2|/(W/2) and d_lim = 1.05·max d, so density decays away from DC.
    """
    height, width = check_shape(shape)
    ratio = _check_ratio(ratio)
    n_centre = _centre_count(center_fraction, width)
    dist = _column_distance(width)
    order = _weighted_priority(dist, n_centre, decay, np.random.default_rng(_check_seed(seed)))
    return _columns_mask((height, width), order[: _unit_count(ratio, width)])


def cartesian_equispaced(
    shape: tuple[int, int],
    ratio: float | None,
    center_fraction: float = DEFAULT_CENTER_FRACTION,
    seed: int = 0,
) -> torch.Tensor:
    """Quasi-equispaced columns plus a fully sampled centre.

    After the centre, columns follow the Kronecker sequence frac(u + k/φ)·W (u drawn from the
    seed), each moved to the nearest free column: every prefix has at most three distinct gap
    lengths, which keeps the lines near-equispaced at any ratio while staying nested.
    """
    height, width = check_shape(shape)
    ratio = _check_ratio(ratio)
    n_centre = _centre_count(center_fraction, width)
    rng = np.random.default_rng(_check_seed(seed))
    order = _golden_line_order(_column_distance(width), n_centre, float(rng.random()))
    return _columns_mask((height, width), order[: _unit_count(ratio, width)])


def random_points(
    shape: tuple[int, int],
    ratio: float | None,
    center_fraction: float = DEFAULT_CENTER_FRACTION,
    seed: int = 0,
    decay: float = DEFAULT_DECAY,
) -> torch.Tensor:
    """Variable-density random k-space points with a fully sampled central disc.

    With normalised radius ρ = √((k_y/(H/2))² + (k_x/(W/2))²), the disc ρ ≤ ``center_fraction``
    (diameter ``center_fraction`` of each side) comes first; the rest is drawn with weight
    (1 − ρ/ρ_lim)^decay.
    """
    height, width = check_shape(shape)
    ky = (np.arange(height) - height // 2) / (height / 2)
    kx = (np.arange(width) - width // 2) / (width / 2)
    return _points_mask((height, width), np.hypot(ky[:, None], kx[None, :]), ratio, center_fraction, seed, decay)


def variable_density(
    shape: tuple[int, int],
    ratio: float | None,
    center_fraction: float = DEFAULT_CENTER_FRACTION,
    seed: int = 0,
    decay: float = DEFAULT_DECAY,
) -> torch.Tensor:
    """Variable-density points for a sequency-ordered Walsh–Hadamard transform.

    The origin is the corner (0, 0) (lowest sequencies), not the centre: with ρ = √((i/H)² + (j/W)²)
    the quarter disc ρ ≤ ``center_fraction`` is fully sampled and low sequencies are favoured.
    (Sequency s ≈ 2 × frequency, so this matches ``random_points`` in area and falloff.)
    """
    height, width = check_shape(shape)
    rho = np.hypot((np.arange(height) / height)[:, None], (np.arange(width) / width)[None, :])
    return _points_mask((height, width), rho, ratio, center_fraction, seed, decay)


def radial(
    shape: tuple[int, int],
    ratio: float | None = None,
    seed: int = 0,
    n_lines: int | None = None,
) -> torch.Tensor:
    """Radial lines through DC at golden-angle increments (``radial_angles``), rasterised on the grid.

    Give exactly one of ``n_lines`` (that many lines, exactly) or ``ratio`` (the line count whose
    mask fraction is closest to it, see ``radial_line_count``).
    """
    height, width = check_shape(shape)
    if (ratio is None) == (n_lines is None):
        raise ValueError("ratio, n_lines: the radial pattern needs exactly one of ratio or n_lines")
    if n_lines is None:
        n_lines = radial_line_count((height, width), ratio, seed)
    covered = np.zeros(height * width, dtype=bool)
    for angle in radial_angles(n_lines, seed):
        covered[radial_line_pixels((height, width), angle)] = True
    return torch.from_numpy(covered.reshape(height, width))


def radial_angles(n_lines: int, seed: int = 0) -> np.ndarray:
    """The angles θ_k = θ₀ + kπ/φ (k < n_lines) of the golden-angle radial lines; θ₀ ∈ [0, π) from ``seed``."""
    if isinstance(n_lines, bool) or not isinstance(n_lines, (int, np.integer)) or n_lines < 1:
        raise ValueError(f"n_lines: must be a positive integer, got {n_lines!r}")
    start = float(np.random.default_rng(_check_seed(seed)).random()) * math.pi
    return start + np.arange(int(n_lines)) * (math.pi / GOLDEN_RATIO)


def radial_line_count(shape: tuple[int, int], ratio: float | None, seed: int = 0) -> int:
    """The number of radial lines whose mask fraction is closest to ``ratio`` (smallest on ties).

    The fraction never decreases with the count, so the chosen count never decreases with the
    ratio and the ratio form stays nested.
    """
    height, width = check_shape(shape)
    target = _check_ratio(ratio)
    total = height * width
    max_lines = int(math.ceil(2 * math.pi * math.hypot(height, width)))
    covered = np.zeros(total, dtype=bool)
    best_count, best_gap = 1, math.inf
    for count, angle in enumerate(radial_angles(max_lines, seed), start=1):
        covered[radial_line_pixels((height, width), angle)] = True
        fraction = int(covered.sum()) / total
        if abs(fraction - target) < best_gap:
            best_count, best_gap = count, abs(fraction - target)
        if fraction >= target:
            break
    return best_count


def radial_line_pixels(shape: tuple[int, int], angle: float) -> np.ndarray:
    """Flat indices of the pixels a line through (H//2, W//2) at ``angle`` crosses (half-pixel steps)."""
    height, width = check_shape(shape)
    half = math.hypot(height, width) / 2 + 1
    t = np.arange(-half, half + 0.25, 0.5)
    rows = np.rint(height // 2 + t * math.sin(angle)).astype(np.int64)
    cols = np.rint(width // 2 + t * math.cos(angle)).astype(np.int64)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    return rows[inside] * width + cols[inside]


def mask_from_file(path: str | Path, shape: tuple[int, int]) -> torch.Tensor:
    """A mask read from .npy or .png (nonzero = sampled).

    The file is taken in the convention of the operator using it: centred k-space (DC at
    (H//2, W//2)) for MRI, corner-origin sequency order for Walsh–Hadamard.
    """
    path = Path(path)
    shape = check_shape(shape)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise ValueError(f"mask_file: {path} must be a .npy or .png file")
    if not path.is_file():
        raise ValueError(f"mask_file: {path} does not exist")
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    else:
        from PIL import Image

        with Image.open(path) as image:
            array = np.asarray(image)
        if array.ndim == 3:  # sampled where any colour channel is nonzero; alpha is ignored
            colour_channels = 1 if array.shape[2] == 2 else min(3, array.shape[2])
            array = array[..., :colour_channels].any(axis=2)
    if array.shape != shape:
        raise ValueError(f"mask_file: {path} has shape {tuple(array.shape)}, but image_shape is {shape}")
    mask = torch.from_numpy(np.ascontiguousarray(array != 0))
    if not bool(mask.any()):
        raise ValueError(f"mask_file: {path} samples no entries")
    return mask


def as_mask(mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A 2-D boolean torch mask from a tensor or array (nonzero = sampled), with at least one entry."""
    mask = torch.as_tensor(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask: must be 2-D (H, W), got shape {tuple(mask.shape)}")
    mask = mask != 0 if mask.dtype != torch.bool else mask
    if not bool(mask.any()):
        raise ValueError("mask: samples no entries")
    return mask


# -- priority orders ----------------------------------------------------------------------------


def _weighted_priority(dist: np.ndarray, n_centre: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """Unit indices in sampling order: the ``n_centre`` nearest (by ``dist``) first, then the rest
    as a weighted draw without replacement, weight (1 − dist/dist_lim)^decay, dist_lim = 1.05·max dist.

    The draw sorts the keys log(u)/w (Efraimidis–Spirakis), which equals sampling without
    replacement in proportion to w; one draw serves every ratio, which makes masks nested.
    """
    dist = dist.ravel()
    by_distance = np.argsort(dist, kind="stable")
    centre, rest = by_distance[:n_centre], by_distance[n_centre:]
    span = 1.05 * max(float(dist.max()), 1e-12)
    weight = np.clip(1.0 - dist[rest] / span, 1e-6, None) ** float(decay)
    keys = np.log(rng.random(dist.size)[rest]) / weight
    return np.concatenate([centre, rest[np.argsort(-keys, kind="stable")]])


def _golden_line_order(dist: np.ndarray, n_centre: int, offset: float) -> np.ndarray:
    """Line indices: the ``n_centre`` nearest first, then a Kronecker (golden-ratio) sequence,
    each target moved to the nearest free line (lower index on ties)."""
    count = dist.size
    order = list(np.argsort(dist, kind="stable")[:n_centre])
    taken = np.zeros(count, dtype=bool)
    taken[order] = True
    indices = np.arange(count)
    step = 0
    while len(order) < count:
        target = int(((offset + step / GOLDEN_RATIO) % 1.0) * count)
        step += 1
        free = indices[~taken]
        pick = int(free[np.argmin(np.abs(free - target))])
        taken[pick] = True
        order.append(pick)
    return np.asarray(order, dtype=np.int64)


def _points_mask(
    shape: tuple[int, int],
    rho: np.ndarray,
    ratio: float | None,
    center_fraction: float,
    seed: int,
    decay: float,
) -> torch.Tensor:
    """The prefix of the weighted point priority (disc ρ ≤ center_fraction first) at ``ratio``."""
    ratio = _check_ratio(ratio)
    n_centre = int((rho <= _check_center_fraction(center_fraction)).sum())
    order = _weighted_priority(rho, n_centre, decay, np.random.default_rng(_check_seed(seed)))
    flat = np.zeros(rho.size, dtype=bool)
    flat[order[: _unit_count(ratio, rho.size)]] = True
    return torch.from_numpy(flat.reshape(shape))


def _columns_mask(shape: tuple[int, int], columns: np.ndarray) -> torch.Tensor:
    """The (H, W) mask sampling the given full columns."""
    mask = np.zeros(shape, dtype=bool)
    mask[:, columns] = True
    return torch.from_numpy(mask)


def _column_distance(width: int) -> np.ndarray:
    """|j − W//2| / (W/2) for every column j: the normalised distance of a phase-encode line from DC."""
    return np.abs(np.arange(width) - width // 2) / (width / 2)


# -- validation -----------------------------------------------------------------------------------


def _unit_count(ratio: float, total: int) -> int:
    """round(ratio · total) units, at least one (half-way rounds up)."""
    return min(total, max(1, int(math.floor(ratio * total + 0.5))))


def _centre_count(center_fraction: float, total: int) -> int:
    """round(center_fraction · total) fully sampled central lines."""
    return min(total, int(math.floor(_check_center_fraction(center_fraction) * total + 0.5)))


def check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    """(H, W) as two positive ints (ValueError naming ``shape`` otherwise)."""
    dims = tuple(int(s) for s in shape)
    if len(dims) != 2 or min(dims) < 1:
        raise ValueError(f"shape: must be two positive integers (H, W), got {tuple(shape)}")
    return dims  # type: ignore[return-value]


def _check_ratio(ratio: float | None) -> float:
    if ratio is None or not (0.0 < float(ratio) <= 1.0):
        raise ValueError(f"ratio: must be in (0, 1], got {ratio!r}")
    return float(ratio)


def _check_center_fraction(center_fraction: float) -> float:
    if not (0.0 <= float(center_fraction) < 1.0):
        raise ValueError(f"center_fraction: must be in [0, 1), got {center_fraction!r}")
    return float(center_fraction)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
    return int(seed)
