"""Small reconstruction maps made to pass or fail the checks, shared by the check tests.

Each is a ``ReconstructionMap`` (``name``, ``operator``, ``__call__(y)``). The ones
that change a method rather than replace it wrap an ``inner`` map, so a test can
rebuild the same construction at another operator (``Subject.at``) by rebuilding
``inner`` there: see ``subject``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from auditkit.checks.base import Subject
from auditkit.operators.base import ForwardOperator, inner
from auditkit.operators.subsampled import SubsampledTransform
from auditkit.reconstruction import ReconstructionMap

#: builds a reconstruction map for an operator (what ``Subject.at`` does).
Make = Callable[[ForwardOperator], ReconstructionMap]


def subject(key: str, make: Make, operator: ForwardOperator) -> Subject:
    """The ``Subject`` whose map is ``make(operator)`` and which ``make`` rebuilds at any other operator."""
    return Subject(key, make(operator), make)


class Map:
    """A ReconstructionMap from a function of y."""

    def __init__(self, name: str, operator: ForwardOperator, fn: Callable[[torch.Tensor], torch.Tensor]):
        self.name, self.operator, self.fn = name, operator, fn

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return self.fn(y)


class ZeroFilled:
    """x̂ = A* y (zero-filled inverse FFT for MRI): a contraction, and more samples only bring it closer to x."""

    name = "zero-filled"

    def __init__(self, operator: ForwardOperator):
        self.operator = operator

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return self.operator.adjoint(y)


class NegateOutside:
    """x̂ = inner(P_Ω S P_Ω* y), S = +1 on the ``trained`` mask and −1 off it: the samples the map was
    not trained on are negated, so it gets worse the more is added outside that mask.

    At an operator whose mask is ``trained`` (or inside it) it is ``inner`` exactly.
    """

    def __init__(self, inner_map: ReconstructionMap, trained: torch.Tensor):
        self.inner, self.operator = inner_map, inner_map.operator
        self.name = f"{inner_map.name}, negating samples outside the training mask"
        self.sign = torch.where(trained, 1.0, -1.0)

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        op = self.operator
        return self.inner(op.extract(op.embed(y) * self.sign))  # type: ignore[attr-defined]


class OnlyTrainedSamples:
    """x̂ = inner_t(P_t P_Ω* y): only the samples of the training mask reach ``inner_t`` (a map at the training
    operator), so samples added beyond it change nothing: it stagnates above the training ratio."""

    def __init__(self, operator: ForwardOperator, inner_trained: ReconstructionMap):
        self.operator, self.inner = operator, inner_trained
        self.name = f"{inner_trained.name}, using the training mask's samples only"

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        trained = self.inner.operator
        return self.inner(trained.extract(self.operator.embed(y)))  # type: ignore[attr-defined]


class ByMean:
    """``bright`` for measurements whose zero-filled image has a mean above ``level``, ``dark`` otherwise: two maps
    chosen per image by content the sampled centre fixes at every ratio (the DC sample)."""

    def __init__(self, bright: ReconstructionMap, dark: ReconstructionMap, level: float):
        self.bright, self.dark, self.level, self.operator = bright, dark, level, bright.operator
        self.name = f"{bright.name} on bright images, {dark.name} on dark ones"

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        mean = self.operator.adjoint(y).real.mean(dim=(-2, -1))
        pick = (mean > self.level)[:, None, None]
        return torch.where(pick, self.bright(y), self.dark(y))


def gaussian_transfer(shape: tuple[int, int], sigma: float) -> torch.Tensor:
    """Ĝ(k) = exp(−2π²σ²(k₁² + k₂²)) on the unshifted DFT grid (k in cycles per pixel), shape (H, W).

    Multiplying a DFT by Ĝ is the circular convolution with a Gaussian of standard
    deviation σ pixels; 0 < Ĝ ≤ 1, so the blur is a contraction: ‖G a − G b‖ ≤ ‖a − b‖.
    """
    k1 = torch.fft.fftfreq(shape[0], dtype=torch.float64)[:, None]
    k2 = torch.fft.fftfreq(shape[1], dtype=torch.float64)[None, :]
    return torch.exp(-2.0 * math.pi**2 * sigma**2 * (k1**2 + k2**2))


class Blurred:
    """x̂ = G inner(y): ``inner``'s image blurred by a circular Gaussian of ``sigma`` pixels (``gaussian_transfer``).

    A contraction after ``inner``, so it never changes more than ``inner`` under a
    perturbation, but it smears small details out.
    """

    def __init__(self, inner_map: ReconstructionMap, sigma: float):
        self.inner, self.operator, self.sigma = inner_map, inner_map.operator, sigma
        self.name = f"{inner_map.name}, blurred (σ = {sigma:g} px)"
        self.transfer = gaussian_transfer(tuple(inner_map.operator.image_shape), sigma)  # type: ignore[arg-type]

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        out = self.inner(y)
        blurred = torch.fft.ifft2(torch.fft.fft2(out) * self.transfer.to(out.real.dtype))
        return blurred if out.is_complex() else blurred.real


class Planted:
    """x̂ = inner(y) + g · Re⟨u, y⟩ · v: ``inner`` with one planted direction of gain g.

    u = P_Ω U is the k-space grid U (zero off its support) read at the operator's
    samples, v a unit image. Along u a change of y of size s changes x̂ by g·s; at
    measurements orthogonal to u (see ``planted_direction``) x̂ is ``inner``'s.
    """

    def __init__(self, inner_map: ReconstructionMap, direction: torch.Tensor, v: torch.Tensor, gain: float):
        self.inner, self.operator = inner_map, inner_map.operator
        self.direction, self.v, self.gain = direction, v, gain
        self.name = f"{inner_map.name} with a planted direction of gain {gain:g}"
        self.u = self.operator.extract(direction)  # type: ignore[attr-defined]

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        along = inner(self.u.to(y.dtype).expand_as(y), y)
        return self.inner(y) + self.gain * along[:, None, None] * self.v.to(along.dtype)


def planted_direction(
    support: SubsampledTransform, protected: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """A unit k-space grid U on ``support``'s samples, orthogonal to the measurements of every ``protected`` image.

    u is random (complex Gaussian), then projected (in complex128) onto the
    orthogonal complement of span{A_s x : x in protected}, A_s = ``support``. For any
    operator A whose mask contains the support's, Re⟨P_Ω U, A x⟩ = Re⟨u, A_s x⟩ = 0
    for every protected x, so a ``Planted`` map leaves those images alone at every such operator.
    """
    m = support.measurement_shape[0]
    u = torch.complex(torch.randn(m, generator=generator, dtype=torch.float64),
                      torch.randn(m, generator=generator, dtype=torch.float64))
    basis, _ = torch.linalg.qr(support.forward(protected).to(torch.complex128).T)  # (m, P), orthonormal columns
    u = u - basis @ (basis.conj().T @ u)
    u = u / torch.linalg.vector_norm(u)
    return support.embed(u.to(support.image_dtype))
