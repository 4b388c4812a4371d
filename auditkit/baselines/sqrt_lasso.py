"""Square-root LASSO by primal–dual: min_z λ‖Wz‖₁ + ‖Az − y‖₂.

Relation to quadratically-constrained basis pursuit (QCBP), min ‖Wz‖₁ subject
to ‖Az − y‖₂ ≤ η: if ẑ solves the square-root LASSO with residual
η̂ = ‖Aẑ − y‖ > 0, then ẑ solves QCBP with η = η̂ (the optimality condition
0 ∈ λ∂‖W·‖₁(ẑ) + A*(Aẑ − y)/η̂ is QCBP's KKT condition with multiplier
1/(λη̂)); as λ → 0 the solutions approach basis pursuit (η = 0). Unlike the
LASSO's λ, a good λ for the square-root form does not scale with the noise
level, which is why it is the stable, tuning-robust choice of the papers.

Solved by Chambolle–Pock with K = A, G(z) = λ‖Wz‖₁ (exact prox, W orthogonal)
and F(u) = ‖u − y‖₂, whose conjugate's prox is a projection onto the unit ball:

    p_{k+1} = Π_{‖·‖≤1}(p_k + σ(A z̄_k − y))
    z_{k+1} = W* soft(W(z_k − τA*p_{k+1}), τλ)
    z̄_{k+1} = 2z_{k+1} − z_k

with τσ‖A‖² < 1. The ratio τ/σ = (``primal_scale``·√N)² balances the primal
(image, norm ≈ √N for [0,1] images of N pixels) against the dual (norm ≤ 1).
Warm start z_0 = A†y, p_0 = 0.
"""

from __future__ import annotations

import math

import torch

from auditkit.baselines.base import Scheme, State, operator_norm_sq, sq_norms
from auditkit.baselines.proximal import project_item_ball, wavelet_soft_threshold
from auditkit.baselines.wavelets import DEFAULT_BOUNDARY, DEFAULT_LEVELS, DEFAULT_WAVELET, wavelet_transform
from auditkit.operators.base import ForwardOperator

#: τσ‖A‖² = STEP_PRODUCT < 1 (with ‖A‖² from power iteration, kept a little below 1)
STEP_PRODUCT = 0.95


class SqrtLassoPrimalDual(Scheme):
    """Chambolle–Pock for the square-root LASSO; state (z_k, z̄_k, p_k)."""

    def __init__(
        self,
        operator: ForwardOperator,
        lam: float,
        wavelet: str = DEFAULT_WAVELET,
        levels: int = DEFAULT_LEVELS,
        boundary: str = DEFAULT_BOUNDARY,
        primal_scale: float = 0.5,
        lipschitz: float | None = None,
        warm_start: str = "pinv",
    ):
        if not lam >= 0:
            raise ValueError(f"lam: must be ≥ 0, got {lam}")
        if not primal_scale > 0:
            raise ValueError(f"primal_scale: must be > 0, got {primal_scale}")
        self.operator = operator
        self._set_warm_start(warm_start)
        self.lam = float(lam)
        self.wavelet = wavelet_transform(
            operator.image_shape, wavelet, levels, operator.real_dtype, operator.device, boundary
        )
        norm_sq = operator_norm_sq(operator) if lipschitz is None else float(lipschitz)
        if not norm_sq > 0:
            raise ValueError(f"lipschitz: must be > 0, got {lipschitz}")
        ratio = primal_scale * math.sqrt(operator.image_shape[0] * operator.image_shape[1])
        base = math.sqrt(STEP_PRODUCT / norm_sq)
        self.tau = base * ratio
        self.sigma = base / ratio

    def init(self, y: torch.Tensor, start: torch.Tensor | None = None) -> tuple[State, State]:
        z0 = self.initial_image(y, start)
        return (z0, z0, torch.zeros_like(y)), self.context(y)

    def context(self, y: torch.Tensor) -> State:
        """(y,)."""
        return (y,)

    def step(self, state: State, context: State, k: int) -> State:
        z, z_bar, p = state
        (y,) = context
        op = self.operator
        p_new = project_item_ball(p + self.sigma * (op.forward(z_bar) - y))
        z_new = wavelet_soft_threshold(self.wavelet, z - self.tau * op.adjoint(p_new), self.tau * self.lam)
        return (z_new, 2.0 * z_new - z, p_new)

    def objective(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """λ‖Wz‖₁ + ‖Az − y‖₂ per image."""
        l1 = self.wavelet.forward(z).abs().reshape(z.shape[0], -1).sum(dim=1)
        return self.lam * l1 + torch.sqrt(sq_norms(self.operator.forward(z) - y))
