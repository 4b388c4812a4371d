"""Synthetic test images: the Shepp–Logan head phantom and random-ellipse images.

Random-ellipse images are the family the Ell-50 CT network of the instability
study was trained on (images made solely of ellipses): a random number of random
ellipses, each adding its own intensity, inside one large outer ellipse, and
nothing outside it. Image i of a seed is drawn from its own generator
(SeedSequence(seed, spawn_key=(i,))), so it is the same whatever ``count`` or
``start`` the caller asks for, and training sets can be built in chunks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from skimage.data import shepp_logan_phantom

from auditkit.data.resize import check_shape, pad_to_aspect, resize_to

#: pixels (× images) rasterised per vectorised step, so that the temporaries stay in cache.
_CHUNK_ELEMENTS = 1 << 14


def shepp_logan(shape: tuple[int, int] = (128, 128), dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The (modified) Shepp–Logan phantom of scikit-image, resized with anti-aliasing to (H, W), in [0, 1].

    A non-square ``shape`` pads the square phantom with zeros first, so the head is
    not stretched.
    """
    target = check_shape(tuple(shape))
    img = resize_to(pad_to_aspect(shepp_logan_phantom(), target), target)
    return torch.from_numpy(np.clip(img, 0.0, 1.0)).to(dtype)


@dataclass(frozen=True)
class EllipseFamily:
    """Distribution of one random-ellipse image; every range is (low, high), drawn uniformly.

    Lengths are in units of half the image's shorter side (the image spans [-1, 1]
    along its shorter axis). The image is outer_intensity on the outer ellipse plus,
    for each inner ellipse, its intensity on its support; the sum is restricted to the
    outer ellipse and clipped to [0, 1]. Negative inner intensities make darker holes.
    """

    #: number of inner ellipses (inclusive range).
    ellipse_count: tuple[int, int] = (5, 25)
    #: semi-axes of the outer ellipse, as fractions of the half-extent along each image axis.
    outer_axes: tuple[float, float] = (0.80, 0.95)
    #: intensity of the outer ellipse (the "body").
    outer_intensity: tuple[float, float] = (0.1, 0.4)
    #: semi-axes of the inner ellipses.
    axes: tuple[float, float] = (0.03, 0.35)
    #: additive intensity of each inner ellipse.
    intensity: tuple[float, float] = (-0.3, 0.7)
    #: inner centres lie within this fraction of the outer ellipse (uniform by area).
    centre_spread: float = 0.85
    #: samples per pixel along each axis; > 1 averages subpixels (area-weighted edges).
    supersample: int = 1

    def __post_init__(self) -> None:
        lo, hi = self.ellipse_count
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise ValueError(f"ellipse_count must be integers 0 <= low <= high, got {self.ellipse_count!r}")
        for name in ("outer_axes", "axes"):
            lo_f, hi_f = getattr(self, name)
            if not 0.0 < lo_f <= hi_f:
                raise ValueError(f"{name} must satisfy 0 < low <= high, got {getattr(self, name)!r}")
        if self.outer_axes[1] > 1.0:
            raise ValueError(f"outer_axes must not exceed 1 (the image border), got {self.outer_axes!r}")
        for name in ("outer_intensity", "intensity"):
            lo_f, hi_f = getattr(self, name)
            if not lo_f <= hi_f:
                raise ValueError(f"{name} must satisfy low <= high, got {getattr(self, name)!r}")
        if not 0.0 <= self.centre_spread <= 1.0:
            raise ValueError(f"centre_spread must be in [0, 1], got {self.centre_spread!r}")
        if not (isinstance(self.supersample, int) and self.supersample >= 1):
            raise ValueError(f"supersample must be a positive integer, got {self.supersample!r}")

    def as_dict(self) -> dict[str, object]:
        """Plain-data form, for recording the family in the evidence."""
        return asdict(self)


def _image_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image ``index`` under ``seed``: independent of how many images are drawn."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _draw_ellipses(rng: np.random.Generator, family: EllipseFamily, half_extent: tuple[float, float]) -> np.ndarray:
    """Parameters of one image as rows (cx, cy, a, b, θ, intensity); row 0 is the outer ellipse.

    ``half_extent`` = (half width, half height) in the isotropic unit.
    """
    n = int(rng.integers(family.ellipse_count[0], family.ellipse_count[1] + 1))
    out_a = rng.uniform(*family.outer_axes) * half_extent[0]
    out_b = rng.uniform(*family.outer_axes) * half_extent[1]
    out_c = rng.uniform(*family.outer_intensity)
    # centres uniform by area inside the scaled outer ellipse
    radius = family.centre_spread * np.sqrt(rng.uniform(0.0, 1.0, n))
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    rows = np.empty((n + 1, 6))
    rows[0] = (0.0, 0.0, out_a, out_b, 0.0, out_c)
    rows[1:, 0] = radius * np.cos(phi) * out_a
    rows[1:, 1] = radius * np.sin(phi) * out_b
    rows[1:, 2] = rng.uniform(*family.axes, n)
    rows[1:, 3] = rng.uniform(*family.axes, n)
    rows[1:, 4] = rng.uniform(0.0, np.pi, n)
    rows[1:, 5] = rng.uniform(*family.intensity, n)
    return rows


def _pad_rows(params: list[np.ndarray]) -> np.ndarray:
    """Stack per-image ellipse tables into (N, K, 6); padding rows are unit circles of intensity 0."""
    k = max(p.shape[0] for p in params)
    out = np.zeros((len(params), k, 6))
    out[:, :, 2:4] = 1.0
    for i, p in enumerate(params):
        out[i, : p.shape[0]] = p
    return out


def _axes(shape: tuple[int, int], unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in units of ``unit`` pixels: x (W,) rightwards and y (H,) upwards."""
    h, w = shape
    x = (np.arange(w) + 0.5 - w / 2) / unit
    y = (h / 2 - np.arange(h) - 0.5) / unit
    return x, y


def _quadratic_forms(params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of q = α·dx² + β·dx·dy + γ·dy² for each ellipse of (N, K, 6) tables, each (N, K).

    With u = dx cos θ + dy sin θ and v = −dx sin θ + dy cos θ, q = (u/a)² + (v/b)²
    gives α = c²/a² + s²/b², β = 2cs(1/a² − 1/b²), γ = s²/a² + c²/b².
    """
    c, s = np.cos(params[..., 4]), np.sin(params[..., 4])
    ia, ib = params[..., 2] ** -2.0, params[..., 3] ** -2.0
    return c * c * ia + s * s * ib, 2.0 * c * s * (ia - ib), s * s * ia + c * c * ib


def _rasterise(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Images (N, H, W) float64 from ellipse tables (N, K, 6): Σ_k c_k·1{q_k ≤ 1} on the outer support, in [0, 1].

    q is separable into column terms (functions of dx) and row terms (functions of
    dy), so each ellipse costs three full-image operations. Ellipses are added one
    at a time, all images at once, so the summation order (hence every bit of the
    result) is fixed. Plain single-threaded numpy: predictable on a shared machine
    and inside data-loader workers.
    """
    n, k, _ = params.shape
    alpha, beta, gamma = _quadratic_forms(params)
    dx = x - params[..., 0, None]  # (N, K, W)
    dy = y - params[..., 1, None]  # (N, K, H)
    col_sq, col_lin = alpha[..., None] * dx * dx, beta[..., None] * dx
    row_sq = gamma[..., None] * dy * dy
    img = np.zeros((n, y.size, x.size))
    q = np.empty_like(img)
    inside = np.empty(img.shape, dtype=bool)
    outer = np.empty_like(inside)
    for j in range(k):
        np.multiply(dy[:, j, :, None], col_lin[:, j, None, :], out=q)
        q += col_sq[:, j, None, :]
        q += row_sq[:, j, :, None]
        np.less_equal(q, 1.0, out=outer if j == 0 else inside)
        if j > 0:
            img += inside * params[:, j, 5, None, None]
    img += params[:, 0, 5, None, None]
    img *= outer
    return np.clip(img, 0.0, 1.0, out=img)


def random_ellipses(
    shape: tuple[int, int] = (128, 128),
    count: int = 1,
    seed: int = 0,
    *,
    start: int = 0,
    family: EllipseFamily = EllipseFamily(),
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Images start, …, start+count−1 of the random-ellipse family under ``seed``, as (count, H, W) in [0, 1].

    Deterministic: image i depends only on (seed, i, family, shape), never on
    ``count`` or ``start``. Rasterised with vectorised numpy operations in float64.
    """
    h, w = check_shape(tuple(shape))
    for name, value in (("count", count), ("seed", seed), ("start", start)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    s = family.supersample
    unit = min(h, w) / 2.0
    half_extent = (w / 2.0 / unit, h / 2.0 / unit)
    x, y = _axes((h * s, w * s), unit * s)
    out = torch.empty((count, h, w), dtype=dtype)
    per_chunk = max(1, _CHUNK_ELEMENTS // (h * w * s * s))
    band = max(1, _CHUNK_ELEMENTS // (w * s * s))  # output rows per step for images larger than a chunk
    for lo in range(0, count, per_chunk):
        hi = min(count, lo + per_chunk)
        tables = _pad_rows([_draw_ellipses(_image_rng(seed, start + i), family, half_extent) for i in range(lo, hi)])
        for r0 in range(0, h, band):
            r1 = min(h, r0 + band)
            imgs = _rasterise(tables, x, y[r0 * s : r1 * s])
            if s > 1:  # mean over each s × s block of subpixels
                imgs = imgs.reshape(hi - lo, r1 - r0, s, w, s).mean(axis=(2, 4))
            out[lo:hi, r0:r1] = torch.from_numpy(imgs).to(dtype)
    return out
