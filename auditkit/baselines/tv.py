"""Total-variation reconstruction by primal–dual: min_z ½‖Az − y‖² + λ TV(z).

TV(z) = Σ_ij √(|∂₁z_ij|² + |∂₂z_ij|²) (isotropic; complex modulus for MRI), with
forward differences and a Neumann boundary (the difference leaving the image
is 0), so ‖∇‖² ≤ 8. Chambolle–Pock on K = [A; ∇], G = 0,
F(u, v) = ½‖u − y‖² + λ‖v‖_{2,1}:

    p_{k+1} = (p_k + σ_A(A z̄_k − y)) / (1 + σ_A)
    q_{k+1} = Π_λ(q_k + σ_∇ ∇z̄_k)              (pixelwise projection on |q_ij| ≤ λ)
    z_{k+1} = z_k − τ(A*p_{k+1} − div q_{k+1})  (∇* = −div)
    z̄_{k+1} = 2z_{k+1} − z_k

One dual step per block (the diagonally preconditioned form of the method):
σ_A = ρ/(2τ‖A‖²), σ_∇ = ρ/(2τ·8), so τ(σ_A‖A‖² + σ_∇‖∇‖²) = ρ < 1, which is the
convergence condition τσ‖K‖² < 1 after rescaling each block to unit norm; this
keeps the method well balanced for CT, whose ‖A‖² is far from ‖∇‖². The
primal step τ is the free parameter. Warm start z_0 = A†y, duals 0.

When A A* = I (single-coil MRI, Hadamard), A*A = P is an orthogonal projector
and the data term has the closed-form prox (I + τP)⁻¹ = I − τ/(1 + τ)·P, so the
data term goes into G instead (K = ∇ only, σ = ρ/(8τ)):

    q_{k+1} = Π_λ(q_k + σ∇z̄_k)
    u       = z_k + τ(div q_{k+1} + A*y)
    z_{k+1} = u − τ/(1 + τ)·A*A u

which enforces the data exactly in each step and reaches the same tolerance in
fewer iterations, at the same cost per iteration (one A*A).
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf

from auditkit.baselines.base import Scheme, State, operator_norm_sq, sq_norms
from auditkit.baselines.proximal import project_pixel_vectors
from auditkit.operators.base import ForwardOperator

#: ρ = τ(σ_A‖A‖² + σ_∇‖∇‖²) < 1
STEP_PRODUCT = 0.95
GRADIENT_NORM_SQ = 8.0


def gradient(z: torch.Tensor) -> torch.Tensor:
    """∇z: forward differences along H and W, zero across the far edge; (B, H, W) → (B, 2, H, W)."""
    d_h = nnf.pad(z[..., 1:, :] - z[..., :-1, :], (0, 0, 0, 1))
    d_w = nnf.pad(z[..., :, 1:] - z[..., :, :-1], (0, 1))
    return torch.stack([d_h, d_w], dim=1)


def divergence(q: torch.Tensor) -> torch.Tensor:
    """div q = −∇*q, the exact negative adjoint of ``gradient``; (B, 2, H, W) → (B, H, W)."""
    q_h = q[:, 0, :-1, :]
    q_w = q[:, 1, :, :-1]
    return nnf.pad(q_h, (0, 0, 0, 1)) - nnf.pad(q_h, (0, 0, 1, 0)) + nnf.pad(q_w, (0, 1)) - nnf.pad(q_w, (1, 0))


def total_variation(z: torch.Tensor) -> torch.Tensor:
    """Isotropic TV(z) = Σ |∇z|_2 per image, shape (B,)."""
    g = gradient(z)
    sq = (g.real**2 + g.imag**2) if g.is_complex() else g**2
    return torch.sqrt(sq.sum(dim=1)).reshape(z.shape[0], -1).sum(dim=1)


class TVPrimalDual(Scheme):
    """Chambolle–Pock for ½‖Az − y‖² + λTV(z); state (z_k, z̄_k, q_k[, p_k]) (p_k unless A A* = I)."""

    def __init__(
        self,
        operator: ForwardOperator,
        lam: float,
        tau: float = 1.0,
        lipschitz: float | None = None,
        warm_start: str = "pinv",
    ):
        if not lam >= 0:
            raise ValueError(f"lam: must be ≥ 0, got {lam}")
        if not tau > 0:
            raise ValueError(f"tau: must be > 0, got {tau}")
        self.operator = operator
        self._set_warm_start(warm_start)
        self.lam = float(lam)
        norm_sq = operator_norm_sq(operator) if lipschitz is None else float(lipschitz)
        if not norm_sq > 0:
            raise ValueError(f"lipschitz: must be > 0, got {lipschitz}")
        self.tau = float(tau)
        #: data term in G with its exact prox (A A* = I), else a dual block of K
        self.exact_data = bool(operator.has_orthonormal_rows)
        if self.exact_data:
            self.sigma_g = STEP_PRODUCT / (self.tau * GRADIENT_NORM_SQ)
        else:
            self.sigma_a = STEP_PRODUCT / (2.0 * self.tau * norm_sq)
            self.sigma_g = STEP_PRODUCT / (2.0 * self.tau * GRADIENT_NORM_SQ)

    def init(self, y: torch.Tensor, start: torch.Tensor | None = None) -> tuple[State, State]:
        z0 = self.initial_image(y, start)
        q0 = torch.zeros((z0.shape[0], 2, *z0.shape[1:]), dtype=z0.dtype, device=z0.device)
        if self.exact_data:
            return (z0, z0, q0), self.context(y)
        return (z0, z0, q0, torch.zeros_like(y)), self.context(y)

    def context(self, y: torch.Tensor) -> State:
        """(y, A*y) when the data term is in G (A A* = I), else (y,)."""
        return (y, self.operator.adjoint(y)) if self.exact_data else (y,)

    def step(self, state: State, context: State, k: int) -> State:
        op = self.operator
        if self.exact_data:
            z, z_bar, q = state
            _, aty = context
            q_new = project_pixel_vectors(q + self.sigma_g * gradient(z_bar), self.lam)
            u = z + self.tau * (divergence(q_new) + aty)
            z_new = u - (self.tau / (1.0 + self.tau)) * op.normal(u)
            return (z_new, 2.0 * z_new - z, q_new)
        z, z_bar, q, p = state
        (y,) = context
        p_new = (p + self.sigma_a * (op.forward(z_bar) - y)) / (1.0 + self.sigma_a)
        q_new = project_pixel_vectors(q + self.sigma_g * gradient(z_bar), self.lam)
        z_new = z - self.tau * (op.adjoint(p_new) - divergence(q_new))
        return (z_new, 2.0 * z_new - z, q_new, p_new)

    def objective(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """½‖Az − y‖² + λ TV(z) per image."""
        return 0.5 * sq_norms(self.operator.forward(z) - y) + self.lam * total_variation(z)
