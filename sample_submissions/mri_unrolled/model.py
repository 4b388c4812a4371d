"""A cascade of small CNNs and soft data-consistency steps for single-coil Cartesian MRI.

Input: the zero-filled k-space grid k = P_Ω* y as two real channels [Re, Im], shape (B, 2, H, W),
zero where nothing was sampled. The sampling mask M is read off the input as the entries that
are nonzero in any item of the batch, so the same weights serve any mask, at any ratio.
Each cascade t refines the complex image x (starting from x₀ = F* k) by a residual CNN on
[Re x, Im x] and then pulls it towards the measurements:

    x ← x + CNN_t(x),    x ← x − μ_t F*(M ⊙ F x − k),    μ_t = sigmoid(θ_t) ∈ (0, 1) learned,

with F the orthonormal centred 2-D DFT of ``auditkit.operators.mri`` (DC at (H//2, W//2)).
μ_t = 1 would replace the sampled k-space entries by the measured ones (hard data consistency);
μ_t < 1 averages them, which lets noisy measurements be trusted less.
Output: the magnitude |x_T|, shape (B, 1, H, W). Only ``torch.nn`` (and ``torch.fft``) are used.
"""

from __future__ import annotations

import torch
from torch import nn

#: added under the square root of the magnitude so that its gradient stays finite at 0.
MAGNITUDE_EPS = 1e-12
_GRID_AXES = (-2, -1)


def fft2c(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal centred 2-D DFT: fftshift(fft2(ifftshift(x), norm="ortho")) over the last two axes."""
    shifted = torch.fft.ifftshift(x, dim=_GRID_AXES)
    return torch.fft.fftshift(torch.fft.fft2(shifted, dim=_GRID_AXES, norm="ortho"), dim=_GRID_AXES)


def ifft2c(k: torch.Tensor) -> torch.Tensor:
    """Inverse (= adjoint) of ``fft2c``: fftshift(ifft2(ifftshift(k), norm="ortho"))."""
    shifted = torch.fft.ifftshift(k, dim=_GRID_AXES)
    return torch.fft.fftshift(torch.fft.ifft2(shifted, dim=_GRID_AXES, norm="ortho"), dim=_GRID_AXES)


def as_channels(x: torch.Tensor) -> torch.Tensor:
    """A complex (B, H, W) image as a real (B, 2, H, W) tensor [Re, Im]."""
    return torch.stack([x.real, x.imag], dim=1)


def sampling_mask(kspace: torch.Tensor) -> torch.Tensor:
    """The (H, W) mask of the entries that are nonzero in any item of a (B, H, W) k-space batch, as 0/1 floats."""
    return (kspace != 0).any(dim=0).to(kspace.real.dtype)


class ResidualCNN(nn.Module):
    """``depth`` 3×3 convolutions 2 → C → … → C → 2 with ReLUs between; returns x + CNN(x) for complex x."""

    def __init__(self, channels: int = 32, depth: int = 4):
        super().__init__()
        if depth < 2:
            raise ValueError(f"depth must be at least 2, got {depth}")
        widths = [2] + [channels] * (depth - 1) + [2]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
            if i < depth - 1:
                layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        correction = self.layers(as_channels(x))
        return x + torch.complex(correction[:, 0], correction[:, 1])


class SoftDataConsistency(nn.Module):
    """x ↦ x − μ F*(M ⊙ F x − k) with μ = sigmoid(θ) learned (θ = 0 at the start: μ = ½)."""

    def __init__(self):
        super().__init__()
        self.logit = nn.Parameter(torch.zeros(()))

    @property
    def weight(self) -> torch.Tensor:
        """μ = sigmoid(θ)."""
        return torch.sigmoid(self.logit)

    def forward(self, x: torch.Tensor, kspace: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        residual = mask * fft2c(x) - kspace
        return x - self.weight * ifft2c(residual)


class CascadeNet(nn.Module):
    """``cascades`` rounds of (residual CNN, soft data consistency) from the zero-filled image F* k."""

    def __init__(self, cascades: int = 5, channels: int = 32, depth: int = 4):
        super().__init__()
        if cascades < 1:
            raise ValueError(f"cascades must be at least 1, got {cascades}")
        self.denoisers = nn.ModuleList(ResidualCNN(channels, depth) for _ in range(cascades))
        self.consistency = nn.ModuleList(SoftDataConsistency() for _ in range(cascades))

    def complex_image(self, kspace_channels: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) [Re, Im] of the zero-filled k-space → the complex image x_T, (B, H, W)."""
        kspace = torch.complex(kspace_channels[:, 0], kspace_channels[:, 1])
        mask = sampling_mask(kspace)
        x = ifft2c(kspace)
        for denoise, consistent in zip(self.denoisers, self.consistency):
            x = consistent(denoise(x), kspace, mask)
        return x

    def forward(self, kspace_channels: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) [Re, Im] of the zero-filled k-space → magnitude image (B, 1, H, W)."""
        x = self.complex_image(kspace_channels)
        return torch.sqrt(x.real.pow(2) + x.imag.pow(2) + MAGNITUDE_EPS).unsqueeze(1)


def build(cascades: int = 5, channels: int = 32, depth: int = 4) -> CascadeNet:
    """The network of this submission (the manifest's entry point ``model:build``)."""
    return CascadeNet(cascades=cascades, channels=channels, depth=depth)
