"""An ItNet-like cascade for radial single-coil MRI: small U-Nets alternating with learned data consistency.

Input: the zero-filled k-space grid k = P_Ω* y as two real channels [Re, Im], shape (B, 2, H, W),
zero where nothing was sampled; the sampling mask M is read off the input as the entries that are
nonzero in any item of the batch (so a batch must hold measurements taken with one mask, as the audit's
batches do: items of another mask would change each other's output). Starting from the zero-filled image x₀ = F* k, each of the T
cascades applies a residual U-Net to [Re x, Im x] and then a soft data-consistency step:

    x ← x + U_t(x),    x ← x − μ_t F*(M ⊙ F x − k),    μ_t = sigmoid(θ_t) ∈ (0, 1) learned,

with F the orthonormal centred 2-D DFT of ``auditkit.operators.mri`` (DC at (H//2, W//2)).
μ_t near 1 replaces the sampled k-space by the measured values (trusts the data fully); a smaller
μ_t averages them and so trusts noisy measurements less.
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


def sampling_mask(kspace: torch.Tensor) -> torch.Tensor:
    """The (H, W) mask of the entries that are nonzero in any item of a (B, H, W) k-space batch, as 0/1 floats."""
    return (kspace != 0).any(dim=0).to(kspace.real.dtype)


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """Two 3×3 convolutions, each followed by a ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A residual U-Net on complex images: x ↦ x + U(x), U acting on [Re x, Im x].

    ``levels`` resolutions (max-pooling by 2 down, transposed convolutions up, skip connections by
    concatenation), ``channels`` feature maps at the finest level, doubled at each coarser one.
    H and W must be divisible by 2^(levels − 1).
    """

    def __init__(self, channels: int = 16, levels: int = 3):
        super().__init__()
        if levels < 1:
            raise ValueError(f"levels must be at least 1, got {levels}")
        widths = [channels * 2**i for i in range(levels)]
        self.down = nn.ModuleList(conv_block(c_in, c_out) for c_in, c_out in zip([2] + widths[:-1], widths))
        self.upsample = nn.ModuleList(nn.ConvTranspose2d(c, c // 2, 2, stride=2) for c in reversed(widths[1:]))
        self.up = nn.ModuleList(conv_block(c, c // 2) for c in reversed(widths[1:]))
        self.head = nn.Conv2d(widths[0], 2, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.stack([x.real, x.imag], dim=1)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h if i == 0 else self.pool(h))
            skips.append(h)
        for upsample, block, skip in zip(self.upsample, self.up, reversed(skips[:-1])):
            h = block(torch.cat([skip, upsample(h)], dim=1))
        correction = self.head(h)
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
        return x - self.weight * ifft2c(mask * fft2c(x) - kspace)


class ItNet(nn.Module):
    """``cascades`` rounds of (residual U-Net, soft data consistency) from the zero-filled image F* k."""

    def __init__(self, cascades: int = 3, channels: int = 16, levels: int = 3):
        super().__init__()
        if cascades < 1:
            raise ValueError(f"cascades must be at least 1, got {cascades}")
        self.unets = nn.ModuleList(UNet(channels, levels) for _ in range(cascades))
        self.consistency = nn.ModuleList(SoftDataConsistency() for _ in range(cascades))

    def complex_image(self, kspace_channels: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) [Re, Im] of the zero-filled k-space → the complex image x_T, (B, H, W)."""
        kspace = torch.complex(kspace_channels[:, 0], kspace_channels[:, 1])
        mask = sampling_mask(kspace)
        x = ifft2c(kspace)
        for unet, consistent in zip(self.unets, self.consistency):
            x = consistent(unet(x), kspace, mask)
        return x

    def forward(self, kspace_channels: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) [Re, Im] of the zero-filled k-space → magnitude image (B, 1, H, W)."""
        x = self.complex_image(kspace_channels)
        return torch.sqrt(x.real.pow(2) + x.imag.pow(2) + MAGNITUDE_EPS).unsqueeze(1)


def build(cascades: int = 3, channels: int = 16, levels: int = 3) -> ItNet:
    """The network of this submission (the manifest's entry point ``model:build``)."""
    return ItNet(cascades=cascades, channels=channels, levels=levels)
