"""The sparse system matrix of the 2-D parallel-beam Radon transform, built once per geometry.

Geometry (the conventions of ``skimage.transform.radon``): pixel (row r, column c) of an
H×W image has centre x = c − W//2, y = r − H//2 (unit pixel size, the rotation axis on
pixel (H//2, W//2)); at angle θ_k = kπ/n it projects to the detector coordinate

    t = x cos θ_k − y sin θ_k,   bin index u = t + det_count//2,

and its value is split between the two nearest bins by linear interpolation
(weights 1 − frac(u) on ⌊u⌋ and frac(u) on ⌊u⌋ + 1; bins outside [0, det_count) are dropped).
This pixel-driven projector is chosen because its transpose is exactly the linear-interpolation
back-projection of ``skimage.transform.iradon``, while its sinograms differ from
``skimage.transform.radon`` (a ray-driven bilinear sum) by interpolation error only.

Rows of A are ordered (angle, bin) and columns are pixels in row-major order, so for
x of shape (H, W) the sinogram is ``(A @ x.ravel()).reshape(n_angles, det_count)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import torch


@dataclass(frozen=True)
class RadonGeometry:
    """The key a system matrix is built and cached for: image size, angle count, detector bins."""

    image_shape: tuple[int, int]
    n_angles: int
    det_count: int

    def __post_init__(self) -> None:
        h, w = self.image_shape
        if h < 1 or w < 1:
            raise ValueError(f"image_shape must be two positive sizes, got {self.image_shape}")
        if self.n_angles < 1:
            raise ValueError(f"n_angles must be ≥ 1, got {self.n_angles}")
        if self.det_count < 1:
            raise ValueError(f"det_count must be ≥ 1, got {self.det_count}")

    @property
    def angles(self) -> np.ndarray:
        """Projection angles θ_k = kπ/n, k = 0…n−1, in radians (float64)."""
        return np.arange(self.n_angles, dtype=np.float64) * (math.pi / self.n_angles)

    @property
    def n_pixels(self) -> int:
        """H·W, the number of columns of A."""
        return self.image_shape[0] * self.image_shape[1]

    @property
    def n_measurements(self) -> int:
        """n_angles · det_count, the number of rows of A."""
        return self.n_angles * self.det_count


def default_det_count(image_shape: tuple[int, int]) -> int:
    """⌈√2 · max(H, W)⌉ bins: the image diagonal, as ``skimage.transform.radon(circle=False)``."""
    return math.ceil(math.sqrt(2.0) * max(image_shape))


@dataclass(frozen=True)
class CsrPair:
    """A and Aᵀ as CSR arrays (float64 values, shared integer index arrays per matrix)."""

    forward: sp.csr_matrix
    transpose: sp.csr_matrix


@lru_cache(maxsize=4)
def radon_csr(geometry: RadonGeometry) -> CsrPair:
    """Build A (pixel-driven, linear interpolation on the detector) and Aᵀ as scipy CSR, float64.

    Aᵀ is assembled directly (one row per pixel, entries already sorted by measurement index);
    A is its transpose. Cached (the 4 most recent geometries: one 256², 180-angle pair
    takes about 0.6 GB).
    """
    h, w = geometry.image_shape
    n, d = geometry.n_angles, geometry.det_count
    n_pix, n_meas = geometry.n_pixels, geometry.n_measurements
    index_dtype = np.int32 if max(2 * n_pix * n, n_meas) < 2**31 - 1 else np.int64
    theta = geometry.angles
    rows, cols = np.mgrid[:h, :w]
    x = (cols - w // 2).reshape(-1, 1).astype(np.float64)
    y = (rows - h // 2).reshape(-1, 1).astype(np.float64)
    u = x * np.cos(theta)  # (pixels, angles): bin coordinate of each pixel centre
    u -= y * np.sin(theta)
    u += d // 2
    lower = np.floor(u)
    # Per pixel, entries in the order (angle 0: lower, upper), (angle 1: lower, upper), …
    value = np.empty((n_pix, n, 2))
    np.subtract(u, lower, out=value[:, :, 1])
    np.subtract(1.0, value[:, :, 1], out=value[:, :, 0])
    del u
    bins = np.empty((n_pix, n, 2), dtype=index_dtype)
    bins[:, :, 0] = lower
    bins[:, :, 1] = bins[:, :, 0]
    bins[:, :, 1] += 1
    del lower
    keep = (bins >= 0) & (bins < d)
    bins += (np.arange(n, dtype=index_dtype) * d)[None, :, None]  # row of A: angle·d + bin
    if keep.all():
        indptr = np.arange(n_pix + 1, dtype=index_dtype) * (2 * n)
        data, indices = value.reshape(-1), bins.reshape(-1)
    else:
        indptr = np.zeros(n_pix + 1, dtype=index_dtype)
        np.cumsum(keep.reshape(n_pix, -1).sum(axis=1), out=indptr[1:])
        data, indices = value[keep], bins[keep]
    transpose = sp.csr_matrix((data, indices, indptr), shape=(n_pix, n_meas))
    forward = transpose.T.tocsr()
    forward.sort_indices()
    return CsrPair(forward=forward, transpose=transpose)


def _torch_csr(matrix: sp.csr_matrix, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor (index arrays shared on the CPU)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr),
            torch.from_numpy(matrix.indices),
            torch.from_numpy(matrix.data).to(dtype),
            size=matrix.shape,
            check_invariants=False,
        ).to(device)


def canonical_device(device: torch.device | str | None) -> torch.device:
    """A device with its index made explicit (``cuda`` → ``cuda:<current>``), for cache keys."""
    dev = torch.device("cpu" if device is None else device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return dev


@lru_cache(maxsize=4)
def radon_matrices(
    geometry: RadonGeometry, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, Aᵀ) as torch sparse CSR tensors of ``dtype`` on ``device``, cached per key.

    ``device`` must be canonical (see ``canonical_device``) so that one device has one entry.
    """
    pair = radon_csr(geometry)
    return _torch_csr(pair.forward, dtype, device), _torch_csr(pair.transpose, dtype, device)


@lru_cache(maxsize=32)
def radon_norm_squared(geometry: RadonGeometry, iters: int = 200, rtol: float = 1e-10) -> float:
    """‖A‖₂² = λ_max(AᵀA) by power iteration in float64, started from the all-ones image.

    AᵀA has non-negative entries, so its top eigenvector is non-negative (Perron–Frobenius)
    and the all-ones start converges quickly; stops when the Rayleigh quotient changes by
    less than ``rtol`` (relative). Deterministic, cached per geometry.
    """
    pair = radon_csr(geometry)
    v = np.full(geometry.n_pixels, 1.0 / math.sqrt(geometry.n_pixels))
    estimate = 0.0
    for _ in range(iters):
        w = pair.transpose @ (pair.forward @ v)
        new = float(v @ w)
        v = w / np.linalg.norm(w)
        if abs(new - estimate) <= rtol * new:
            return new
        estimate = new
    return estimate
