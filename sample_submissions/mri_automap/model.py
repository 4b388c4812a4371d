"""An AUTOMAP-like network: fully-connected layers map k-space to an image, convolutions refine it.

Input: the zero-filled centred k-space grid P_Ω* y as two real channels [Re, Im], shape
(B, 2, n, n); entries that were not sampled are 0, so the input size does not depend on the
sampling ratio. Output: the real image, shape (B, 1, n, n).

Layers: flatten 2n² → fully connected n² (tanh) → fully connected n² (tanh) → reshape to one
n×n feature map → 5×5 convolution (ReLU) → 5×5 convolution (ReLU) → 7×7 transposed convolution
to one channel. The two dense layers can represent any linear map from k-space to the image
(the inverse DFT among them), which is what makes the network a learned transform rather than a
post-processing of the zero-filled image. Only ``torch.nn`` is used.
"""

from __future__ import annotations

import torch
from torch import nn


class Automap(nn.Module):
    """Dense k-space-to-image transform (two tanh layers) followed by a three-layer convolutional stage."""

    def __init__(self, size: int = 32, channels: int = 32):
        super().__init__()
        if size < 1 or channels < 1:
            raise ValueError(f"size and channels must be positive, got size={size}, channels={channels}")
        self.size = size
        pixels = size * size
        self.transform = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * pixels, pixels),
            nn.Tanh(),
            nn.Linear(pixels, pixels),
            nn.Tanh(),
        )
        self.refine = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.ConvTranspose2d(channels, 1, kernel_size=7, padding=3),
        )

    def forward(self, kspace: torch.Tensor) -> torch.Tensor:
        """(B, 2, n, n) [Re, Im] of the zero-filled k-space grid → real image (B, 1, n, n)."""
        if tuple(kspace.shape[1:]) != (2, self.size, self.size):
            raise ValueError(f"kspace must have shape (B, 2, {self.size}, {self.size}), got {tuple(kspace.shape)}")
        image = self.transform(kspace).reshape(-1, 1, self.size, self.size)
        return self.refine(image)


def build(size: int = 32, channels: int = 32) -> Automap:
    """The network of this submission (the manifest's entry point ``model:build``)."""
    return Automap(size=size, channels=channels)
