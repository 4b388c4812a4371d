"""A variational-network-like unrolled reconstruction for multi-coil Cartesian MRI.

Input: zero-filled multi-coil k-space, complex (B, C, H, W), centred (DC at (H//2, W//2)),
zero wherever nothing was sampled. The sampling mask is read from the input itself
(a k-space position is sampled where any coil has a nonzero value), so the same
weights run at any sampling pattern or ratio.
Output: the magnitude image |x_T|, shape (B, 1, H, W).

Forward model inside the network (the same as auditkit's ``MRIMultiCoil``):
A x = [M ⊙ F(S_j x)]_j with the centred orthonormal 2-D DFT F and coil maps S_j
(Σ_j |S_j|² = 1), stored as the buffer ``coil_maps`` (real and imaginary parts,
(2, C, H, W)); train.py fills it with the synthetic maps of the audited modality.
Iterations, from the coil-combined zero-filled image x_0 = A*y:
    x_{t+1} = x_t − α_t · A*(A x_t − y) − R_t(x_t),   t = 0, …, T−1,
with a learned step α_t and a small CNN R_t on [Re, Im] per stage. Only ``torch`` and
``torch.nn`` are used.
"""

from __future__ import annotations

import torch
from torch import nn

#: added under the square root of the magnitude so that its gradient stays finite at 0.
MAGNITUDE_EPS = 1e-12
#: initial data-consistency step α_t of every stage (‖A‖ ≤ 1, so 1 is a safe gradient step).
INITIAL_STEP = 1.0
_GRID = (-2, -1)


def fft2c(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2-D DFT with the DC at (H//2, W//2): fftshift(fft2(ifftshift(x)))."""
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(x, dim=_GRID), norm="ortho"), dim=_GRID)


def ifft2c(k: torch.Tensor) -> torch.Tensor:
    """Inverse (= adjoint) of ``fft2c``."""
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(k, dim=_GRID), norm="ortho"), dim=_GRID)


def regulariser(features: int) -> nn.Sequential:
    """R_t: three 3×3 convolutions [Re, Im] → features → features → [Re, Im], leaky ReLUs between."""
    return nn.Sequential(
        nn.Conv2d(2, features, kernel_size=3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(features, features, kernel_size=3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(features, 2, kernel_size=3, padding=1),
    )


class UnrolledVN(nn.Module):
    """T stages of gradient descent on ½‖Ax − y‖² interleaved with learned CNN corrections."""

    def __init__(self, coils: int, image_shape: tuple[int, int], stages: int = 6, features: int = 24):
        super().__init__()
        if stages < 1:
            raise ValueError(f"stages must be at least 1, got {stages}")
        height, width = image_shape
        self.register_buffer("coil_maps", torch.zeros(2, coils, height, width))
        self.steps = nn.Parameter(torch.full((stages,), INITIAL_STEP))
        self.regularisers = nn.ModuleList(regulariser(features) for _ in range(stages))

    def maps(self) -> torch.Tensor:
        """The coil maps S_j as a complex (1, C, H, W) tensor."""
        return torch.complex(self.coil_maps[0], self.coil_maps[1]).unsqueeze(0)

    def forward(self, kspace: torch.Tensor) -> torch.Tensor:
        """Zero-filled k-space (B, C, H, W) complex → magnitude image (B, 1, H, W)."""
        maps = self.maps().to(kspace.dtype)
        mask = (kspace.abs().sum(dim=1, keepdim=True) > 0).to(kspace.real.dtype)
        x = (maps.conj() * ifft2c(kspace)).sum(dim=1, keepdim=True)  # A*y, (B, 1, H, W)
        for step, cnn in zip(self.steps, self.regularisers):
            residual = mask * fft2c(maps * x) - kspace
            gradient = (maps.conj() * ifft2c(residual)).sum(dim=1, keepdim=True)
            correction = cnn(torch.cat([x.real, x.imag], dim=1))
            x = x - step * gradient - torch.complex(correction[:, :1], correction[:, 1:])
        return torch.sqrt(x.real.pow(2) + x.imag.pow(2) + MAGNITUDE_EPS)


def build(coils: int = 8, height: int = 96, width: int = 96, stages: int = 6, features: int = 24) -> UnrolledVN:
    """The network of this submission (the manifest's entry point ``model:build``)."""
    return UnrolledVN(coils, (height, width), stages=stages, features=features)
