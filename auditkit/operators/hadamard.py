"""Walsh–Hadamard sampling: A = P_Ω H with H the orthonormal, sequency-ordered 2-D Walsh transform.

H X = W_H X W_Wᵀ, where W_n is the n×n Hadamard matrix divided by √n with its rows sorted by
sequency (number of sign changes), so coefficient (0, 0) is the mean and low indices are coarse.
W_n is orthogonal, so A A* = I, A* = A† and P_N = I − A*A exactly. Images and measurements are real;
image sides must be powers of two. The dense products cost O(n³) and suit images up to ~256 px.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

from auditkit.operators.masks import MaskSpec
from auditkit.operators.subsampled import SubsampledTransform


def walsh_matrix(size: int) -> torch.Tensor:
    """The orthonormal sequency-ordered Walsh matrix (size × size, float64): row k has k sign changes."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size & (size - 1):
        raise ValueError(f"size: the Walsh–Hadamard transform needs a power of two, got {size!r}")
    natural = scipy.linalg.hadamard(size).astype(np.float64)
    sign_changes = (np.diff(natural, axis=1) != 0).sum(axis=1)
    return torch.from_numpy(natural[np.argsort(sign_changes, kind="stable")] / math.sqrt(size))


class HadamardSubsampled(SubsampledTransform):
    """A = P_Ω H: sampled sequency-ordered Walsh–Hadamard coefficients, measurements (B, m) real.

    Masks use the corner-origin sequency convention (pattern ``variable_density``: (0, 0) is the
    lowest sequency); ``from_pattern`` keeps the spec for ``with_ratio``.
    """

    is_complex = False
    modality = "hadamard"

    def __init__(
        self,
        mask: torch.Tensor | np.ndarray,
        *,
        pattern_spec: MaskSpec | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(mask, pattern_spec=pattern_spec, dtype=dtype)
        height, width = self.image_shape
        if height & (height - 1) or width & (width - 1):
            raise ValueError(f"image_shape: Walsh–Hadamard sampling needs power-of-two sides, got {self.image_shape}")
        self._rows = walsh_matrix(height).to(device=self.device, dtype=self.real_dtype)
        self._cols = walsh_matrix(width).to(device=self.device, dtype=self.real_dtype)

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """W_H X W_Wᵀ on the last two axes."""
        return self._rows @ x @ self._cols.T

    def inverse_transform(self, coefficients: torch.Tensor) -> torch.Tensor:
        """W_Hᵀ C W_W on the last two axes (the inverse, W_n being orthogonal)."""
        return self._rows.T @ coefficients @ self._cols

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        """Masked full coefficient grid P_Ω* P_Ω H x, shape (B, H, W), zero where not sampled."""
        return self.embed(self.forward(x))
