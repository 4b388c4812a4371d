"""Single-coil MRI: A = P_Ω F with F the orthonormal centred 2-D DFT.

F x = fftshift(fft2(ifftshift(x), norm="ortho")) puts DC at (H//2, W//2), the convention of the
masks in ``masks.py``. F is unitary, so A A* = I, A* = A† and P_N = I − A*A exactly (inherited
from ``SubsampledTransform``). Images are complex; real images are promoted.

The operators avoid the two full-grid shifts (memory copies that cost several FFTs' time): the
shifts are diagonal phase factors, F = D_post F_0 D_pre with F_0 the plain orthonormal DFT
(see ``centring_phases``), and D_post is applied to the m sampled entries only.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from auditkit.operators.masks import MaskSpec
from auditkit.operators.subsampled import SubsampledTransform

_GRID_AXES = (-2, -1)


def fft2c(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal centred 2-D DFT over the last two axes (DC at index (H//2, W//2))."""
    shifted = torch.fft.ifftshift(x, dim=_GRID_AXES)
    return torch.fft.fftshift(torch.fft.fft2(shifted, dim=_GRID_AXES, norm="ortho"), dim=_GRID_AXES)


def ifft2c(k: torch.Tensor) -> torch.Tensor:
    """Inverse (= adjoint) of ``fft2c``: fftshift(ifft2(ifftshift(k), norm="ortho"))."""
    shifted = torch.fft.ifftshift(k, dim=_GRID_AXES)
    return torch.fft.fftshift(torch.fft.ifft2(shifted, dim=_GRID_AXES, norm="ortho"), dim=_GRID_AXES)


def centring_phases(shape: tuple[int, int], dtype: torch.dtype = torch.complex128) -> tuple[torch.Tensor, torch.Tensor]:
    """(pre, post), both (H, W), with fft2c(x) = post ⊙ fft2(pre ⊙ x, norm="ortho").

    Per axis of length N with a = N//2 and ω = e^{−2πi/N}: pre_n = ω^{−an}, post_k = ω^{a² − ak}
    (the shift theorem applied to both shifts); for even N these are the signs (−1)^n and
    (−1)^{N/2}(−1)^k.
    """

    def axis(n: int) -> tuple[np.ndarray, np.ndarray]:
        a, idx = n // 2, np.arange(n)
        pre = np.exp(2j * math.pi * ((a * idx) % n) / n)
        post = np.exp(-2j * math.pi * ((a * a - a * idx) % n) / n)
        return pre, post

    (pre_h, post_h), (pre_w, post_w) = axis(shape[0]), axis(shape[1])
    pre = torch.from_numpy(np.outer(pre_h, pre_w)).to(dtype)
    post = torch.from_numpy(np.outer(post_h, post_w)).to(dtype)
    return pre, post


class MRISingleCoil(SubsampledTransform):
    """A = P_Ω F: the k-space entries on the mask, measurements (B, m) complex.

    Build with ``MRISingleCoil(mask)`` for a fixed mask or ``MRISingleCoil.from_pattern(...)``
    to keep the pattern so that ``with_ratio`` regenerates nested masks.
    """

    is_complex = True
    modality = "mri_singlecoil"

    def __init__(
        self,
        mask: torch.Tensor | np.ndarray,
        *,
        pattern_spec: MaskSpec | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__(mask, pattern_spec=pattern_spec, dtype=dtype)
        pre, post = centring_phases(self.image_shape, self.image_dtype)
        self._pre = pre.to(self.device)
        self._post = self.extract(post.to(self.device))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        return fft2c(x)

    def inverse_transform(self, coefficients: torch.Tensor) -> torch.Tensor:
        return ifft2c(coefficients)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y = P_Ω F x = post_Ω ⊙ P_Ω F_0 (pre ⊙ x), shape (B, m)."""
        k = torch.fft.fft2(self._pre * self.as_image(x), dim=_GRID_AXES, norm="ortho")
        return self._post * self.extract(k)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """A* y = conj(pre) ⊙ F_0* P_Ω* (conj(post_Ω) ⊙ y), shape (B, H, W)."""
        grid = self.embed(torch.conj(self._post) * self.as_measurements(y))
        return torch.conj(self._pre) * torch.fft.ifft2(grid, dim=_GRID_AXES, norm="ortho")

    def kspace(self, x: torch.Tensor) -> torch.Tensor:
        """Masked full k-space P_Ω* P_Ω F x, shape (B, H, W), zero where not sampled."""
        return self.embed(self.forward(x))
