"""Per-item ℓ2 geometry of perturbations: scaling, unit directions, balls, spheres, and one ascent step.

Every function acts on a batch (B, ...) item by item, with the ℓ2 norm over all
but the batch axis (complex modulus for complex tensors), the convention of
``auditkit.operators.base.batch_norm2``.
"""

from __future__ import annotations

import torch

from auditkit.operators.base import batch_norm2


def per_item(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) values shaped (B, 1, …, 1) to broadcast against ``like``."""
    return values.reshape((-1,) + (1,) * (like.dim() - 1)).to(device=like.device)


def scale_items(t: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """t[b] · factors[b] for every item b."""
    return t * per_item(factors.to(t.real.dtype), t)


def unit(t: torch.Tensor) -> torch.Tensor:
    """t[b] / ‖t[b]‖ per item; an item that is exactly zero stays zero (no direction, no NaN)."""
    norms = batch_norm2(t)
    safe = torch.where(norms > 0, norms, torch.ones_like(norms))
    return scale_items(t, torch.where(norms > 0, 1.0 / safe, torch.zeros_like(norms)))


def to_sphere(t: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """t[b] rescaled to norm radius[b] (a zero item stays zero)."""
    return scale_items(unit(t), radius)


def to_ball(t: torch.Tensor, radius: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Projection of each item onto the ℓ2 ball of its radius: t · min(1, radius/‖t‖)."""
    norms = batch_norm2(t)
    r = torch.as_tensor(radius, dtype=norms.dtype, device=norms.device).expand_as(norms)
    factor = torch.where(norms > r, r / torch.where(norms > 0, norms, torch.ones_like(norms)), torch.ones_like(norms))
    return scale_items(t, factor)


def normalised_ascent_step(
    u: torch.Tensor, grad: torch.Tensor, direction: torch.Tensor, *, momentum: float, step: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One projected ascent step on the unit ball with momentum on normalised gradients.

    d ← γ d + ∇/‖∇‖,  u ← Π_{‖u‖≤1}(u + s · d/‖d‖).

    Normalising the gradient makes the step independent of the map's gain and of
    the data's scale; with s ≥ 2 every iterate lands on the sphere and, for a
    linear map, the step is a (momentum-smoothed) power iteration on JᵀJ, which
    converges to the top singular vector — the worst ℓ2 direction. Returns (u, d).
    """
    direction = momentum * direction + unit(grad)
    return to_ball(u + step * unit(direction), 1.0), direction
