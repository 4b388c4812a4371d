"""Image-quality and size measures used by every check (one definition each).

All images are compared on intensities in [0, 1]: PSNR and SSIM use data range 1
(the range of the ground truth), and complex reconstructions are compared through
their modulus where a real reference is given.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.metrics import structural_similarity

from auditkit.operators.base import batch_norm2

DATA_RANGE = 1.0


def as_magnitude(x: torch.Tensor) -> torch.Tensor:
    """|x| for complex images, x itself for real ones."""
    return x.abs() if x.is_complex() else x


def relative_error(xhat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """‖x̂ − x‖ / ‖x‖ per image, shape (B,); x̂ complex is compared through |x̂| when x is real."""
    if not x.is_complex():
        xhat = as_magnitude(xhat)
    return batch_norm2(xhat - x) / batch_norm2(x)


def norms64(t: torch.Tensor) -> torch.Tensor:
    """Per-item ℓ2 norm over all but the batch axis in double precision (complex modulus), shape (B,):
    ``batch_norm2`` of t cast to float64 (complex128), for sizes compared without float32 rounding."""
    return batch_norm2(t.to(torch.complex128 if t.is_complex() else torch.float64))


def psnr(xhat: torch.Tensor, x: torch.Tensor, data_range: float = DATA_RANGE) -> torch.Tensor:
    """PSNR = 10 log10(range² / MSE) per image in dB, shape (B,); |x̂| when complex."""
    xhat = as_magnitude(xhat).to(x.dtype)
    mse = ((xhat - x) ** 2).reshape(x.shape[0], -1).mean(dim=1)
    return 10.0 * torch.log10(data_range**2 / mse.clamp_min(1e-30))


def ssim(xhat: torch.Tensor, x: torch.Tensor, data_range: float = DATA_RANGE) -> torch.Tensor:
    """Mean SSIM per image (scikit-image, Gaussian window σ = 1.5, data range 1), shape (B,)."""
    a = as_magnitude(xhat).detach().cpu().double().numpy()
    b = x.detach().cpu().double().numpy()
    vals = [
        structural_similarity(b[i], a[i], data_range=data_range, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
        for i in range(b.shape[0])
    ]
    return torch.tensor(np.asarray(vals), dtype=torch.float64)


# -- patches: local measures ------------------------------------------------------------------------


def patch_grid(shape: tuple[int, int], size: int) -> tuple[int, tuple[int, int], list[tuple[int, int]]]:
    """(stride, padded shape, top-left corners) of the half-overlapping patches covering an (H, W) image."""
    if size < 1:
        raise ValueError(f"patch_size: must be ≥ 1, got {size}")
    stride = max(1, size // 2)
    padded = tuple(size + stride * math.ceil(max(n - size, 0) / stride) for n in shape)
    corners = [(r, c) for r in range(0, padded[0] - size + 1, stride) for c in range(0, padded[1] - size + 1, stride)]
    return stride, (padded[0], padded[1]), corners


def patch_windows(t: torch.Tensor, size: int) -> torch.Tensor:
    """(B, P, size²): the patches of ``patch_grid`` of each image of t (B, H, W), in the order of its corners."""
    stride, padded, _ = patch_grid(tuple(t.shape[1:]), size)
    full = torch.zeros((t.shape[0], *padded), dtype=t.dtype, device=t.device)
    full[:, : t.shape[1], : t.shape[2]] = t
    w = full.unfold(1, size, stride).unfold(2, size, stride)
    return w.reshape(t.shape[0], -1, size * size)


def window_energy(t: torch.Tensor, size: int) -> torch.Tensor:
    """‖t‖²_P on each patch P of ``patch_grid``, per image of t (B, H, W), shape (B, P) in the order of its corners
    (padding pixels count as zero)."""
    return (patch_windows(t, size).abs() ** 2).sum(dim=-1)


def largest_patch_rms(t: torch.Tensor, size: int) -> torch.Tensor:
    """max over the patches of ``patch_grid`` of the RMS of |t| on the patch, per image of t (B, H, W), shape (B,).

    A local size of a change or error map, in the images' intensity units (the test images span [0, 1]): a
    structure of contrast c filling one patch scores c, wherever it is, however small against the whole image.
    Padding pixels count as zero and the mean is over the patch's size² pixels."""
    return torch.sqrt(window_energy(t, size).amax(dim=1) / (size * size))
