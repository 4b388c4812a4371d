"""Coil sensitivity maps S_j for multi-coil MRI, normalised so that Σ_j |S_j|² = 1 at every pixel.

With that normalisation the stacked coil weighting S = [S_1; …; S_c] is an isometry
(‖S x‖ = ‖x‖), so ‖A‖ ≤ 1 for A = [P_Ω F S_j]_j and a fully sampled A is unitary onto its range.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from auditkit.operators.base import real_float_dtype
from auditkit.operators.masks import check_shape
from auditkit.operators.mri import ifft2c

#: Fraction of the image half-diagonal at which synthetic coils sit (outside the field of view).
COIL_RADIUS = 1.15
#: Gaussian width of a synthetic coil's magnitude, as a fraction of the image half-diagonal.
COIL_WIDTH = 0.9
#: Peak phase change across the image of a synthetic coil's linear phase ramp (radians).
PHASE_RAMP = math.pi / 2


def synthetic_coil_maps(
    count: int,
    shape: tuple[int, int],
    seed: int = 0,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """``count`` smooth complex maps (C, H, W) from coils spaced evenly on a circle around the image.

    Coil j sits at angle 2πj/C + θ₀ on a circle of radius ``COIL_RADIUS`` half-diagonals; its
    magnitude is the Gaussian falloff exp(−d²/(2σ²)) with the distance d to the coil, its phase a
    constant φ_j plus a linear ramp towards the coil. θ₀ and φ_j come from ``seed``. The maps are
    then normalised by √(Σ|S_j|²).
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count: the number of coils must be a positive integer, got {count!r}")
    height, width = check_shape(shape)
    rng = np.random.default_rng(seed)
    start = rng.random() * 2 * math.pi
    phase0 = rng.random(count) * 2 * math.pi
    half_diag = math.hypot(height, width) / 2
    rows = (np.arange(height) - height // 2)[:, None] / half_diag
    cols = (np.arange(width) - width // 2)[None, :] / half_diag
    maps = np.empty((count, height, width), dtype=np.complex128)
    for j in range(count):
        angle = start + 2 * math.pi * j / count
        coil_r, coil_c = COIL_RADIUS * math.sin(angle), COIL_RADIUS * math.cos(angle)
        magnitude = np.exp(-((rows - coil_r) ** 2 + (cols - coil_c) ** 2) / (2 * COIL_WIDTH**2))
        phase = phase0[j] + PHASE_RAMP * (rows * math.sin(angle) + cols * math.cos(angle))
        maps[j] = magnitude * np.exp(1j * phase)
    return normalise_coil_maps(torch.from_numpy(maps)).to(real_float_dtype(dtype).to_complex())


def load_coil_maps(path: str | Path, count: int, shape: tuple[int, int]) -> torch.Tensor:
    """Complex maps (C, H, W) from a .npy file, checked against ``count`` and ``shape``, normalised."""
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ValueError(f"coil_maps: {path} must be a .npy file of complex (C, H, W) maps")
    if not path.is_file():
        raise ValueError(f"coil_maps: {path} does not exist")
    array = np.load(path, allow_pickle=False)
    expected = (int(count), *check_shape(shape))
    if array.shape != expected:
        raise ValueError(f"coil_maps: {path} has shape {tuple(array.shape)}, expected (coils, H, W) = {expected}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"coil_maps: {path} contains NaN or infinite values")
    return normalise_coil_maps(torch.from_numpy(array.astype(np.complex128)))


def normalise_coil_maps(maps: torch.Tensor) -> torch.Tensor:
    """S_j / √(Σ_k |S_k|²) pixel-wise; where all maps vanish, every S_j = 1/√C (so Σ|S_j|² = 1)."""
    if maps.ndim != 3:
        raise ValueError(f"maps: must have shape (C, H, W), got {tuple(maps.shape)}")
    maps = maps.to(torch.complex128) if not maps.is_complex() else maps
    energy = (maps.abs() ** 2).sum(dim=0, keepdim=True)
    vanishing = energy <= torch.finfo(energy.dtype).tiny
    uniform = torch.full_like(maps, 1.0 / math.sqrt(maps.shape[0]))
    return torch.where(vanishing, uniform, maps / torch.where(vanishing, torch.ones_like(energy), energy).sqrt())


def estimate_coil_maps(kspace: torch.Tensor, calibration: int) -> torch.Tensor:
    """Sensitivity maps (C, H, W) from the fully sampled centre of multi-coil k-space (C, H, W), normalised.

    The low-resolution method (McKenzie et al., MRM 47:529, 2002; the reference scans of SENSE): keep
    the central ``calibration`` × ``calibration`` block of each coil's k-space (clipped to the grid),
    taper it with a separable Hann window so that the cut does not ring, transform back, and divide by
    the root-sum-of-squares over coils:  S_c = F⁻¹(w ⊙ k_c) / √(Σ_c' |F⁻¹(w ⊙ k_c')|²).
    The maps are smooth because only low frequencies enter; they share one unknown phase per pixel
    with the true maps, which a coil combination Σ_c conj(S_c) x_c does not need.
    """
    if kspace.ndim != 3 or not kspace.is_complex():
        raise ValueError(f"kspace: must be complex (C, H, W), got {tuple(kspace.shape)} {kspace.dtype}")
    if isinstance(calibration, bool) or not isinstance(calibration, int) or calibration < 2:
        raise ValueError(f"calibration: the calibration region's side must be an integer ≥ 2, got {calibration!r}")
    _, height, width = kspace.shape
    window = torch.ones(height, width, dtype=torch.float64)
    for axis, size in ((0, height), (1, width)):
        side = min(calibration, size)
        start = size // 2 - side // 2
        taper = torch.zeros(size, dtype=torch.float64)
        taper[start:start + side] = torch.hann_window(side + 2, periodic=False, dtype=torch.float64)[1:-1]
        window = window * (taper[:, None] if axis == 0 else taper[None, :])
    low = ifft2c(kspace.to(torch.complex128) * window)
    return normalise_coil_maps(low)
