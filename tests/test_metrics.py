import math

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from auditkit.metrics import psnr, relative_error, ssim


def test_psnr_and_ssim_match_scikit_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 32, 32, generator=g, dtype=torch.float64)
    xhat = (x + 0.05 * torch.randn(2, 32, 32, generator=g, dtype=torch.float64)).clamp(0, 1)
    for i in range(2):
        ref = peak_signal_noise_ratio(x[i].numpy(), xhat[i].numpy(), data_range=1.0)
        assert math.isclose(float(psnr(xhat, x)[i]), ref, rel_tol=1e-9)
        ref_s = structural_similarity(
            x[i].numpy(), xhat[i].numpy(), data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
        assert math.isclose(float(ssim(xhat, x)[i]), ref_s, rel_tol=1e-9)


def test_relative_error_uses_modulus_for_complex_against_real():
    x = torch.ones(1, 4, 4, dtype=torch.float64)
    xhat = torch.ones(1, 4, 4, dtype=torch.complex128) * 1j
    assert float(relative_error(xhat, x)) == 0.0
    assert np.isclose(float(relative_error(2 * x, x)), 1.0)
