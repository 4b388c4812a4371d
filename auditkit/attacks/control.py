"""A control for the searches: a linear map with a planted top singular vector, whose worst case is known.

The instability study checks its own attack on a map whose answer is known. Here the map is

    F(y) = A*y + g · Re⟨u, y⟩ · v

with u a unit vector of the measurement space and v a unit image (both drawn from a seeded
generator) and g = ``GAIN``: A*y gives every direction some gain and the planted direction u
more, so a search must single it out. F is real-linear, so the worst change under ‖e‖ ≤ η‖y‖ is
exactly σ_max(F)·η‖y‖ and under image perturbations ‖r‖ = ε‖x‖ exactly σ_max(F A)·ε‖x‖; both
σ_max are computed by power iteration on FᵀF (``top_singular_value``, to ``POWER_ITERATIONS``
steps). ``search_power`` runs the adversarial check's two searches on F with the audit's
operator, image and budgets, and returns the fraction of the ceiling each found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from auditkit.attacks.momentum import ladder_ascent
from auditkit.attacks.objective import plain
from auditkit.attacks.projected import projected_ascent
from auditkit.operators.base import ForwardOperator, batch_norm2, inner

#: gain of the planted direction.
GAIN = 1.0
#: power iterations for the ceilings (the gap σ₁/σ₂ of the control map makes them converge fast).
POWER_ITERATIONS = 300


class PlantedControl:
    """F(y) = A*y + g · Re⟨u, y⟩ · v, a ReconstructionMap whose top singular vector is planted (see the module doc)."""

    name = "search control (linear map with a planted top singular vector)"

    def __init__(self, operator: ForwardOperator, generator: torch.Generator, gain: float = GAIN,
                 adjoint_scale: float = 1.0):
        """``adjoint_scale`` s weighs the first term, F(y) = s·A*y + g·Re⟨u, y⟩·v (s = 1 for the control)."""
        self.operator, self.gain, self.adjoint_scale = operator, float(gain), float(adjoint_scale)
        shape = tuple(operator.measurement_shape)
        real = operator.real_dtype
        u = torch.randn((*shape, 2) if operator.is_complex else shape, generator=generator, dtype=real)
        u = torch.view_as_complex(u) if operator.is_complex else u
        self.u = (u / torch.linalg.vector_norm(u)).to(operator.device)
        v = torch.randn(tuple(operator.image_shape), generator=generator, dtype=real)
        self.v = (v / torch.linalg.vector_norm(v)).to(operator.device)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        along = inner(self.u.expand_as(y), y)
        image = self.operator.adjoint(y) * self.adjoint_scale
        return image + self.gain * along[:, None, None] * self.v.to(image.dtype)


def top_singular_value(apply: Callable[[torch.Tensor], torch.Tensor], like: torch.Tensor,
                       iterations: int = POWER_ITERATIONS) -> float:
    """σ_max of the real-linear map ``apply`` on inputs shaped like ``like`` (1, ...): power iteration on FᵀF,
    FᵀF w = ∇_w ½‖F w‖², from a fixed start."""
    w = torch.randn(like.shape, dtype=like.dtype, generator=torch.Generator().manual_seed(0)).to(like.device)
    for _ in range(iterations):
        w = (w / batch_norm2(w)[0]).detach().requires_grad_(True)
        with torch.enable_grad():
            (w,) = torch.autograd.grad(0.5 * batch_norm2(apply(w)).square().sum(), w)
    w = (w / batch_norm2(w)[0]).detach()
    return float(batch_norm2(apply(w))[0])


def image_ceiling(f: Callable[[torch.Tensor], torch.Tensor], operator: ForwardOperator) -> float:
    """σ_max(F A) over real images for a real-linear F: the largest change ‖F(A(x + r)) − F(Ax)‖ / ‖r‖."""
    like = torch.zeros((1, *operator.image_shape), dtype=operator.real_dtype, device=operator.device)
    return top_singular_value(lambda r: f(operator.forward(r)), like)


def measurement_ceiling(f: Callable[[torch.Tensor], torch.Tensor], operator: ForwardOperator) -> float:
    """σ_max(F) over measurements for a real-linear F: the largest change ‖F(y + e) − F(y)‖ / ‖e‖."""
    dtype = operator.image_dtype if operator.is_complex else operator.real_dtype
    like = torch.zeros((1, *operator.measurement_shape), dtype=dtype, device=operator.device)
    return top_singular_value(f, like)


@dataclass(frozen=True)
class SearchPower:
    """The fraction of the control's known worst case each search found, per budget (ε) and noise level (η)."""

    image_domain: tuple[float, ...]
    measurement_domain: tuple[float, ...]


def search_power(
    operator: ForwardOperator, x: torch.Tensor, *, budgets: Sequence[float], etas: Sequence[float],
    control: torch.Generator, image_generator: torch.Generator, noise_generator: torch.Generator,
    lam: float, step: float, momentum: float, max_iter: int, init_scale: float,
    restarts: int, iterations: int, lr: float,
) -> SearchPower:
    """Both of the adversarial check's searches on ``PlantedControl`` for one image x (1, H, W), with the check's
    settings: found change / (σ_max · budget · ‖·‖) at each budget and level."""
    f = PlantedControl(operator, control)
    recon = plain(f)
    y = operator.forward(x).detach()
    sigma_image, sigma_noise = image_ceiling(f, operator), measurement_ceiling(f, operator)
    ladder = ladder_ascent(recon, operator, x, budgets, generators=[image_generator], lam=lam, step=step,
                           momentum=momentum, max_iter=max_iter, init_scale=init_scale)
    image = [float(ladder.change[0, j]) / (sigma_image * b) for j, b in enumerate(budgets)]
    noise = projected_ascent(recon, operator, x, etas, generators=[noise_generator], restarts=restarts,
                             iterations=iterations, lr=lr, target=f(y).detach())
    scale = float(batch_norm2(x)[0] / batch_norm2(y)[0])
    measurement = [float(noise.error[0, k]) * scale / (sigma_noise * eta) for k, eta in enumerate(etas)]
    return SearchPower(tuple(image), tuple(measurement))
