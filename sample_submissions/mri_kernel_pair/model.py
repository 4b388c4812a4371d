"""A small residual U-Net that removes Cartesian undersampling artefacts from a zero-filled MR image.

Input: the zero-filled image A*y as two real channels [Re, Im], shape (B, 2, H, W).
Output: the magnitude image, shape (B, 1, H, W): |A*y| plus a learned correction
(residual learning, so the untrained network already returns the zero-filled magnitude).
H and W must be divisible by 2**(levels − 1). Only ``torch.nn`` is used.
"""

from __future__ import annotations

import torch
from torch import nn

#: added under the square root of the magnitude so that its gradient stays finite at 0.
MAGNITUDE_EPS = 1e-12


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3×3 convolutions, each followed by a ReLU, at constant resolution."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
    )


def magnitude(channels: torch.Tensor) -> torch.Tensor:
    """√(Re² + Im² + ε) of a (B, 2, H, W) [Re, Im] tensor, shape (B, 1, H, W)."""
    return torch.sqrt(channels.pow(2).sum(dim=1, keepdim=True) + MAGNITUDE_EPS)


class ResidualUNet(nn.Module):
    """U-Net with ``levels`` resolutions; level k has ``base_channels``·2^k feature maps.

    Encoder: conv_block then 2×2 max-pooling per level; decoder: 2×2 transposed
    convolution, concatenation with the encoder features of the same level, conv_block.
    A 1×1 convolution maps the finest features to the correction added to |input|.
    """

    def __init__(self, in_channels: int = 2, base_channels: int = 16, levels: int = 4):
        super().__init__()
        if levels < 2:
            raise ValueError(f"levels must be at least 2, got {levels}")
        widths = [base_channels * 2**k for k in range(levels)]
        self.levels = levels
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in widths[:-1]:
            self.encoders.append(conv_block(previous, width))
            previous = width
        self.pool = nn.MaxPool2d(kernel_size=2)
        self.bottleneck = conv_block(widths[-2], widths[-1])
        self.upsamplers = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for coarse, fine in zip(reversed(widths[1:]), reversed(widths[:-1])):
            self.upsamplers.append(nn.ConvTranspose2d(coarse, fine, kernel_size=2, stride=2))
            self.decoders.append(conv_block(2 * fine, fine))
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)

    def forward(self, zero_filled: torch.Tensor) -> torch.Tensor:
        """(B, 2, H, W) [Re, Im] of A*y → magnitude estimate (B, 1, H, W)."""
        skips = []
        features = zero_filled
        for encoder in self.encoders:
            features = encoder(features)
            skips.append(features)
            features = self.pool(features)
        features = self.bottleneck(features)
        for upsample, decoder, skip in zip(self.upsamplers, self.decoders, reversed(skips)):
            features = decoder(torch.cat([upsample(features), skip], dim=1))
        return magnitude(zero_filled) + self.head(features)


def build(base_channels: int = 16, levels: int = 4) -> ResidualUNet:
    """The network of this submission (the manifest's entry point ``model:build``)."""
    return ResidualUNet(in_channels=2, base_channels=base_channels, levels=levels)
