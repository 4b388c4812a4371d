"""The one convention every reconstruction method is brought to.

A ``ReconstructionMap`` f takes canonical measurements y of shape
(B, *A.measurement_shape) and returns an image x̂ of shape (B, H, W) (real or
complex dtype). The submitted network (through its adapter) and the baseline
are both ReconstructionMaps, so every check treats them identically. f must be
differentiable in y: the adversarial checks back-propagate through it.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import ContextManager, Protocol, runtime_checkable

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


def starting_at(fmap: ReconstructionMap, image: torch.Tensor, y: torch.Tensor) -> ContextManager[object]:
    """A block in which ``fmap``'s solves start from ``image``, its solution for measurements ``y`` (*meas),
    when it is iterative (a map with a ``starting_at`` method, i.e. the baselines); other maps are unaffected."""
    start = getattr(fmap, "starting_at", None)
    return start(image, y) if start is not None else nullcontext()
