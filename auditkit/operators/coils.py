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


#: where the low-resolution root-sum-of-squares is below this fraction of its maximum, the data say little about
#: the coil sensitivities: ``estimate_coil_maps`` extends them there from their neighbourhood.
SIGNAL_FLOOR = 0.05
#: width (standard deviation) of the Gaussian of that extension, as a fraction of the image's larger side.
EXTENSION_WIDTH = 1 / 8


def calibration_image(kspace: torch.Tensor, calibration: int) -> torch.Tensor:
    """The low-resolution coil images F⁻¹(w ⊙ k_c) (C, H, W): the central ``calibration`` × ``calibration`` block
    (clipped to the grid) tapered by a separable Hann window w, so that the cut does not ring."""
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
    return ifft2c(kspace.to(torch.complex128) * window)


def signal_support(kspace: torch.Tensor, calibration: int) -> torch.Tensor:
    """Where the data determine the coil maps, (H, W) bool: the low-resolution root-sum-of-squares
    √(Σ_c |F⁻¹(w ⊙ k_c)|²) is at least ``SIGNAL_FLOOR`` times its maximum."""
    rss = calibration_image(kspace, calibration).abs().square().sum(dim=0).sqrt()
    return rss >= SIGNAL_FLOOR * rss.max()


def estimate_coil_maps(kspace: torch.Tensor, calibration: int) -> torch.Tensor:
    """Sensitivity maps (C, H, W) from the fully sampled centre of multi-coil k-space (C, H, W), normalised.

    The low-resolution method (McKenzie et al., MRM 47:529, 2002; the reference scans of SENSE): the low-resolution
    coil images L_c = F⁻¹(w ⊙ k_c) (``calibration_image``) divided by their root-sum-of-squares r = √(Σ_c |L_c|²):
    S_c = L_c / r. The maps are smooth because only low frequencies enter; they share one unknown phase per pixel
    with the true maps (the object's), which a coil combination Σ_c conj(S_c) x_c does not need.
    Where there is no signal (r below ``SIGNAL_FLOOR`` max r: background, dark tissue) L_c / r is noise over noise,
    so the maps are extended there by normalised convolution with a Gaussian G of width ``EXTENSION_WIDTH`` times
    the larger side: E_c = G ∗ (r² S_c) / G ∗ r², and S = β S_low + (1 − β) E with the confidence
    β = r² / (r² + (SIGNAL_FLOOR max r)²); finally Σ_c |S_c|² = 1 at every pixel.
    """
    from scipy.ndimage import gaussian_filter

    low = calibration_image(kspace, calibration)
    maps = normalise_coil_maps(low).numpy()
    energy = low.abs().square().sum(dim=0).numpy()
    if not energy.max() > 0:  # no signal anywhere: nothing to extend from (the maps are uniform)
        return torch.from_numpy(maps)
    sigma = EXTENSION_WIDTH * max(energy.shape)

    def smooth(a: np.ndarray) -> np.ndarray:
        return gaussian_filter(a, sigma, mode="nearest")

    weighted = maps * energy
    extended = np.stack([smooth(c.real) + 1j * smooth(c.imag) for c in weighted]) / np.maximum(smooth(energy), np.finfo(float).tiny)
    confidence = energy / (energy + (SIGNAL_FLOOR**2) * energy.max())
    return normalise_coil_maps(torch.from_numpy(confidence * maps + (1 - confidence) * extended))
