"""Image-quality and size measures used by every check (one definition each).

All images are compared on intensities in [0, 1]: PSNR and SSIM use data range 1
(the range of the ground truth), and complex reconstructions are compared through
their modulus where a real reference is given.
"""

from __future__ import annotations

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
