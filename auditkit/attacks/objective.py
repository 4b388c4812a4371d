"""How the attacks call a reconstruction method, and the one gradient they need.

A ``Reconstruct`` is f with bookkeeping: ``recon(y, rows)`` returns f(y) for a
batch whose row b perturbs the measurements of image ``rows[b]`` (an index into
the images the attack was given), so that a caller can name the image when f
misbehaves (the checks pass ``guarded_call``). ``plain(fmap)`` adapts an
ordinary ``ReconstructionMap``.

Outputs are always computed with gradient tracking on the input, also where no
gradient is taken, so that a method whose no-gradient path differs (the
baseline's adaptive stopping versus its fixed unrolling) is compared with itself.
"""

from __future__ import annotations

from typing import Callable

import torch

from auditkit.operators.base import batch_norm2

#: f with row bookkeeping: (measurements (B, *meas), image index per row (B,)) → images (B, H, W)
Reconstruct = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def plain(fmap: Callable[[torch.Tensor], torch.Tensor]) -> Reconstruct:
    """A ``Reconstruct`` that ignores the row bookkeeping (library use, tests, benchmarks)."""

    def recon(y: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return fmap(y)

    return recon


def outputs(recon: Reconstruct, y: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """f(y), detached, computed the way the attacks compute it (gradient tracking on y)."""
    with torch.enable_grad():
        out = recon(y.detach().requires_grad_(True), rows)
    return out.detach()


def distance_gradient(
    recon: Reconstruct,
    measure: Callable[[torch.Tensor], torch.Tensor],
    var: torch.Tensor,
    rows: torch.Tensor,
    target: torch.Tensor,
    penalty: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f(y), ‖f(y) − target‖, ∇ J) per row for J(v) = ½‖f(measure(v)) − target‖² − (penalty/2)‖v‖².

    One forward and one backward pass of f: this is the "network gradient
    evaluation" the attacks count. ``var`` may be real or complex; for complex
    ``var`` the gradient is ∂J/∂Re v + i ∂J/∂Im v, the steepest-ascent direction.
    """
    with torch.enable_grad():
        v = var.detach().requires_grad_(True)
        out = recon(measure(v), rows)
        dist = batch_norm2(out - target)
        objective = 0.5 * dist.square()
        if penalty:
            objective = objective - 0.5 * penalty * batch_norm2(v).square()
        if objective.requires_grad:
            (grad,) = torch.autograd.grad(objective.sum(), v, allow_unused=True)
        else:
            grad = None
    if grad is None:
        grad = torch.zeros_like(v)
    return out.detach(), dist.detach(), grad.detach()


def image_groups(n_images: int, rows_per_image: int, max_rows: int | None) -> list[range]:
    """Consecutive groups of image indices with at most ``max_rows`` rows per call of f;
    a group holds at least one image.."""
    size = n_images if max_rows is None else max(1, int(max_rows) // max(1, rows_per_image))
    return [range(start, min(start + size, n_images)) for start in range(0, n_images, size)]
