"""Reference networks whose audit outcomes are known by construction, and what is known about each.

Three real-linear or contracting maps y ↦ x̂, each defined for any operator A (the sampling
check rebuilds a network at other sampling ratios, so each is a factory of the operator):

- ``adjoint``: f(y) = A*y / ‖A‖², the adjoint normalised by the operator norm (for single-coil
  MRI, A A* = I and ‖A‖ = 1: the zero-filled reconstruction). Linear with ‖f A‖ ≤ 1, so no
  image perturbation can change it by more than its own size: every
  ``adversarial.change_vs_budget`` criterion (change ≤ c·ε, c ≥ 1) must PASS.
- ``planted``: F(y) = A*y/‖A‖² + g·Re⟨u, y⟩·v (``auditkit.attacks.control.PlantedControl``)
  with g set so that the planted term alone has σ_max = ``PLANTED_GAIN_OVER_C`` × c: one direction is amplified far beyond
  the budget bound, so every ``adversarial.change_vs_budget`` criterion must FAIL, and with it
  the adversarial check.
- ``blur``: f(y) = G_σ ∗ Re(A*y / ‖A‖²), a Gaussian blur after the adjoint whose width σ is
  ``BLUR_OVER_DETAIL`` × the height of the structural check's largest detail: it spreads every
  detail over several times its own area, so every ``structural.recovery`` criterion must FAIL;
  it is a contraction after a map of norm ≤ 1, so ``adversarial.change_vs_budget`` must PASS.

For the two linear maps the worst case is also known as a number: the largest image-domain
gain ‖f(A(x + r)) − f(Ax)‖/‖r‖ is σ_max(f A) and the largest measurement-domain
amplification ‖f(y + e) − f(y)‖/‖e‖ is σ_max(f), both by power iteration
(``auditkit.attacks.control.image_ceiling`` and ``measurement_ceiling``, the search control's
own ceilings); the searches must find at least
``MIN_FOUND`` of each.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable

import torch

from auditkit.attacks.control import PlantedControl, image_ceiling, measurement_ceiling
from auditkit.operators.base import ForwardOperator, power_norm

#: σ_max of the planted term alone (on images) as a multiple of the budget factor c; the adjoint adds at most 1.
PLANTED_GAIN_OVER_C = 5.0
#: width (standard deviation) of the reference blur, as a fraction of the largest detail's height.
BLUR_OVER_DETAIL = 0.5
#: the least share of a linear map's known worst case a search must find.
MIN_FOUND = 0.95
#: seed of the planted direction (fixed: the reference maps are part of the tool, not of the audit).
PLANTED_SEED = 20260


class Expect(enum.Enum):
    """What a criterion family must do on a reference map."""

    PASS = "PASS"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Expectation:
    """Every criterion whose name starts with ``prefix`` must end ``expect`` (and there must be at least one)."""

    prefix: str
    expect: Expect
    why: str


class Adjoint:
    """f(y) = A*y / ‖A‖²."""

    name = "reference: normalised adjoint A*y/‖A‖²"

    def __init__(self, operator: ForwardOperator):
        self.operator = operator
        self.scale = 1.0 / power_norm(operator) ** 2

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return self.operator.adjoint(y) * self.scale


class Blur:
    """f(y) = G_σ ∗ Re(A*y / ‖A‖²), a separable Gaussian, periodic like the DFT (norm ≤ 1: a circular convolution with a kernel of sum 1)."""

    def __init__(self, operator: ForwardOperator, sigma: float):
        self.name = f"reference: Gaussian blur (σ = {sigma:.3g} px) of the normalised adjoint"
        self.operator, self.adjoint = operator, Adjoint(operator)
        radius = min(int(math.ceil(3 * sigma)), (min(operator.image_shape) - 1) // 2)  # periodic padding: < a side
        t = torch.arange(-radius, radius + 1, dtype=operator.real_dtype)
        kernel = torch.exp(-0.5 * (t / sigma) ** 2)
        self.kernel = (kernel / kernel.sum()).to(operator.device)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        image = self.adjoint(y)
        image = image.real if image.is_complex() else image
        k = self.kernel.to(image.dtype)
        pad = k.numel() // 2
        out = image[:, None]
        out = torch.nn.functional.conv2d(torch.nn.functional.pad(out, (pad, pad, 0, 0), mode="circular"), k.view(1, 1, 1, -1))
        out = torch.nn.functional.conv2d(torch.nn.functional.pad(out, (0, 0, pad, pad), mode="circular"), k.view(1, 1, -1, 1))
        return out[:, 0]


def planted(operator: ForwardOperator, target: float) -> PlantedControl:
    """F(y) = A*y/‖A‖² + g·Re⟨u, y⟩·v with g such that the planted term alone has σ_max = ``target`` on images
    (the adjoint term adds at most 1)."""
    def draw(gain: float, adjoint_scale: float) -> PlantedControl:
        return PlantedControl(operator, torch.Generator().manual_seed(PLANTED_SEED), gain=gain,
                              adjoint_scale=adjoint_scale)

    alone = draw(1.0, 0.0)
    along = image_ceiling(alone, operator)
    f = draw(target / along, 1.0 / power_norm(operator) ** 2)
    f.name = "reference: linear map with a planted top singular value"
    return f


@dataclass(frozen=True)
class Reference:
    """A reference network: how to build it for an operator, and what its audit must show."""

    key: str
    title: str
    build: Callable[[ForwardOperator], Callable[[torch.Tensor], torch.Tensor]]
    expectations: tuple[Expectation, ...]
    #: whether its worst cases are known numbers (a linear map)
    linear: bool


def references(c_budget: float, detail_px: float) -> tuple[Reference, ...]:
    """The reference networks for a manifest whose adversarial budget factor is ``c_budget`` and whose largest
    structural detail is ``detail_px`` pixels tall."""
    sigma = BLUR_OVER_DETAIL * detail_px
    budget = "adversarial.change_vs_budget"
    return (
        Reference(
            "adjoint", "normalised adjoint A*y/‖A‖² (zero-filled for single-coil MRI)", Adjoint,
            (Expectation(budget, Expect.PASS, "linear with ‖f A‖ ≤ 1: a change never exceeds the perturbation"),),
            linear=True,
        ),
        Reference(
            "planted", f"linear map with a planted direction of gain {PLANTED_GAIN_OVER_C:g} c (σ_max(F A) within 1 of it)",
            lambda op: planted(op, PLANTED_GAIN_OVER_C * c_budget),
            (Expectation(budget, Expect.FAIL, f"one direction is amplified {PLANTED_GAIN_OVER_C:g}× beyond the bound"),),
            linear=True,
        ),
        Reference(
            "blur", f"Gaussian blur (σ = {sigma:.3g} px, half the largest detail's height) of the normalised adjoint",
            lambda op: Blur(op, sigma),
            (Expectation("structural.recovery[", Expect.FAIL, "the blur spreads each detail over several times its area"),
             Expectation(budget, Expect.PASS, "a contraction after a map of norm ≤ 1")),
            linear=False,
        ),
    )


def known_worst_cases(fmap: Callable[[torch.Tensor], torch.Tensor], op: ForwardOperator) -> tuple[float, float]:
    """(σ_max(f A) over real images, σ_max(f) over measurements) of a linear map, by power iteration."""
    return image_ceiling(fmap, op), measurement_ceiling(fmap, op)
