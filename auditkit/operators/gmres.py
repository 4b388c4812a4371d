"""Batched GMRES for general (non-symmetric) linear systems on real vectors.

Solves M x = b independently for every row of b (B, N): the k-th iterate minimises
‖b − M x‖ over the Krylov space span{b, Mb, …, M^{k−1}b} (x₀ = 0, no restarts). The
Arnoldi basis is built with classical Gram–Schmidt applied twice (CGS2: as stable as the
modified form, and two batched matrix products per iteration instead of 2k vector
operations), the small least-squares problems min ‖β e₁ − H_k y‖ are solved
in float64. All rows share the iterations (one call of M per iteration on the whole
batch); the loop ends when every row's relative residual ‖b − M x‖/‖b‖ is below ``tol``
or after ``iters`` iterations. A row with b = 0 has x = 0.

Used for the implicit gradient of the iterative baselines, (I − J*)u = g with J the
Jacobian of one solver step at its fixed point: J is not symmetric (a proximal map's
Jacobian times a gradient step, or a primal–dual rotation), so conjugate gradients do
not apply; its eigenvalues lie in the unit disc, and GMRES reaches in tens of
iterations what the Neumann series Σ (J*)^k needs hundreds of terms for.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch


class GMRESResult(NamedTuple):
    """The solution (B, N), the iterations run, and each row's relative residual ‖b − Mx‖/‖b‖, shape (B,)."""

    x: torch.Tensor
    iterations: int
    relative_residual: torch.Tensor


def gmres_solve(
    apply_M: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iters: int = 30,
    tol: float = 1e-3,
) -> GMRESResult:
    """GMRES for M x = b with b real (B, N) and M = ``apply_M`` acting row by row; see the module doc."""
    if b.ndim != 2 or b.is_complex():
        raise ValueError(f"b: expected real vectors (B, N), got {tuple(b.shape)} {b.dtype}")
    if iters < 1:
        raise ValueError(f"iters: must be ≥ 1, got {iters}")
    rows, size = b.shape
    beta = torch.linalg.vector_norm(b.double(), dim=1)
    nonzero = beta > 0
    basis = torch.zeros(rows, iters + 1, size, dtype=b.dtype, device=b.device)
    basis[:, 0] = b / torch.where(nonzero, beta, 1.0).to(b.dtype)[:, None]
    hessenberg = torch.zeros(rows, iters + 1, iters, dtype=torch.float64, device=b.device)
    coefficients = torch.zeros(rows, 0, dtype=torch.float64, device=b.device)
    residual = torch.where(nonzero, 1.0, 0.0).to(torch.float64)
    done = 0
    for j in range(iters):
        w = apply_M(basis[:, j])
        known = basis[:, : j + 1]
        for _ in range(2):  # classical Gram–Schmidt, twice (CGS2)
            h = torch.bmm(known, w[:, :, None])[:, :, 0]  # (B, j + 1): ⟨v_i, w⟩
            hessenberg[:, : j + 1, j] += h.double()
            w = w - torch.bmm(h[:, None, :], known)[:, 0]
        norm = torch.linalg.vector_norm(w.double(), dim=1)
        hessenberg[:, j + 1, j] = norm
        basis[:, j + 1] = w / torch.where(norm > 0, norm, 1.0).to(w.dtype)[:, None]
        done = j + 1
        coefficients, residual = _least_squares(hessenberg[:, : j + 2, : j + 1], beta)
        if bool((residual <= tol).all()) or bool((norm == 0).all()):
            break
    x = torch.bmm(coefficients.to(b.dtype)[:, None, :], basis[:, :done])[:, 0]
    return GMRESResult(x=torch.where(nonzero[:, None], x, 0.0), iterations=done, relative_residual=residual.float())


def _least_squares(h: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """y = argmin ‖β e₁ − H y‖ per row and the relative residual ‖β e₁ − H y‖/β (0 where β = 0)."""
    rhs = torch.zeros(h.shape[0], h.shape[1], dtype=h.dtype, device=h.device)
    rhs[:, 0] = beta
    q, r = torch.linalg.qr(h)
    diag = torch.diagonal(r, dim1=1, dim2=2)
    safe = r + torch.diag_embed((diag == 0).to(r.dtype))  # a zero pivot (lucky breakdown) solves as 0
    coeff = torch.linalg.solve_triangular(safe, (q.transpose(1, 2) @ rhs[:, :, None]), upper=True)[:, :, 0]
    left = torch.linalg.vector_norm(rhs - (h @ coeff[:, :, None])[:, :, 0], dim=1)
    return coeff, torch.where(beta > 0, left / torch.where(beta > 0, beta, 1.0), 0.0)
