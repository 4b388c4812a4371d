"""Batched conjugate gradients for Hermitian positive (semi-)definite operators.

Solves M x = b independently for every item of the leading (batch) axis, using the real inner
product Re⟨·,·⟩ of ``base.inner`` (a complex Hermitian M is symmetric for it, so the same
iteration covers real and complex images). Each item stops updating once its relative residual
‖b − M x‖/‖b‖ is below ``tol`` (or its search direction has zero curvature ⟨p, Mp⟩); the loop
ends when all have, or after ``iters`` iterations. Divisions are guarded with ``where`` so a
converged item never produces NaN values or gradients.
Plain torch arithmetic, so the result is differentiable by unrolling.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from auditkit.operators.base import batch_norm2, inner


class CGResult(NamedTuple):
    """The solution, the iterations run, and each item's final relative residual, shape (B,)."""

    x: torch.Tensor
    iterations: int
    relative_residual: torch.Tensor


def cg_solve(
    apply_A: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    x0: torch.Tensor | None = None,
    iters: int = 100,
    tol: float = 1e-6,
) -> CGResult:
    """CG for M x = b (M = ``apply_A``, Hermitian PSD), batched over axis 0; returns a ``CGResult``."""
    if iters < 0:
        raise ValueError(f"iters: must be non-negative, got {iters}")

    def per_item(s: torch.Tensor) -> torch.Tensor:
        return s.reshape(-1, *([1] * (b.ndim - 1)))

    x = torch.zeros_like(b) if x0 is None else x0.to(b.dtype)
    r = b - apply_A(x) if x0 is not None else b.clone()
    p = r
    rs = inner(r, r)
    b_norm = torch.where(batch_norm2(b) > 0, batch_norm2(b), torch.ones_like(rs))
    active = rs.sqrt() / b_norm > tol
    iterations = 0
    for _ in range(iters):
        if not bool(active.any()):
            break
        mp = apply_A(p)
        curvature = inner(p, mp)
        step = active & (curvature > 0)
        alpha = torch.where(step, rs / torch.where(step, curvature, torch.ones_like(rs)), torch.zeros_like(rs))
        x = x + per_item(alpha) * p
        r = r - per_item(alpha) * mp
        rs_new = inner(r, r)
        beta = rs_new / torch.where(step, rs, torch.ones_like(rs))
        p = torch.where(per_item(step), r + per_item(beta) * p, p)
        rs = torch.where(step, rs_new, rs)
        active = step & (rs.sqrt() / b_norm > tol)
        iterations += 1
    return CGResult(x=x, iterations=iterations, relative_residual=(rs.sqrt() / b_norm).detach())


def cg(
    apply_A: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    x0: torch.Tensor | None = None,
    iters: int = 100,
    tol: float = 1e-6,
) -> torch.Tensor:
    """The solution x of M x = b by ``cg_solve`` (see there)."""
    return cg_solve(apply_A, b, x0=x0, iters=iters, tol=tol).x
