"""The one convention every reconstruction method is brought to.

A ``ReconstructionMap`` f takes canonical measurements y of shape
(B, *A.measurement_shape) and returns an image x̂ of shape (B, H, W) (real or
complex dtype). The submitted network (through its adapter) and the baseline
are both ReconstructionMaps, so every check treats them identically. f must be
differentiable in y: the adversarial checks back-propagate through it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from auditkit.operators.base import ForwardOperator


@runtime_checkable
class ReconstructionMap(Protocol):
    """f: y ↦ x̂, canonical measurements in, image (B, H, W) out."""

    #: short human-readable name used in evidence and figures ("network", "baseline (ℓ1-wavelet)").
    name: str
    #: the operator whose measurements this map reconstructs from.
    operator: ForwardOperator

    def __call__(self, y: torch.Tensor) -> torch.Tensor: ...
