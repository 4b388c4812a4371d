"""Toy operators and linear reconstruction maps with known norms, for the attack tests."""

from __future__ import annotations

import torch

from auditkit.operators.base import ForwardOperator

SHAPE = (32, 32)


class Dense(ForwardOperator):
    """A = M (m × H·W), real or complex, acting on flattened images; A* = Mᴴ."""

    def __init__(self, matrix: torch.Tensor, image_shape: tuple[int, int] = SHAPE):
        self.matrix = matrix
        self.is_complex = matrix.is_complex()
        super().__init__(image_shape, (matrix.shape[0],), dtype=matrix.real.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1).to(self.matrix.dtype) @ self.matrix.T

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.matrix.conj()).reshape(y.shape[0], *self.image_shape)

    def with_ratio(self, ratio: float) -> "Dense":
        raise NotImplementedError

    @property
    def sampling_ratio(self) -> float:
        return self.matrix.shape[0] / self.matrix.shape[1]

    def to(self, device=None, dtype=None) -> "Dense":
        return self


class Linear:
    """f(y) = B y reshaped to an image: a ReconstructionMap with known singular values."""

    name = "linear"

    def __init__(self, operator: ForwardOperator, matrix: torch.Tensor):
        self.operator, self.matrix = operator, matrix

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        return (y.to(self.matrix.dtype) @ self.matrix.T).reshape(y.shape[0], *self.operator.image_shape)


def power_sigma(fn, shape: tuple[int, ...], dtype: torch.dtype, iters: int = 3000, seed: int = 0) -> float:
    """σ_max of a linear map by power iteration on its normal operator, the adjoint taken by autograd:
    ∇_v ½‖fn(v)‖² = JᵀJ v (real inner product, so complex maps of real inputs are handled)."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn((1, *shape), generator=g, dtype=torch.float64)
    if dtype.is_complex:
        v = torch.complex(v, torch.randn((1, *shape), generator=g, dtype=torch.float64))
    v = v.to(dtype)
    sigma2 = 0.0
    for _ in range(iters):
        v = (v / torch.linalg.vector_norm(v)).detach().requires_grad_(True)
        (w,) = torch.autograd.grad(0.5 * torch.linalg.vector_norm(fn(v)) ** 2, v)
        sigma2 = float(torch.linalg.vector_norm(w))
        v = w
    return sigma2**0.5


def gaussian(rows: int, cols: int, g: torch.Generator, complex_: bool) -> torch.Tensor:
    m = torch.randn(rows, cols, generator=g, dtype=torch.float64)
    if complex_:
        m = torch.complex(m, torch.randn(rows, cols, generator=g, dtype=torch.float64)) / 2**0.5
    return m / cols**0.5


def consistent_map(op: Dense, x: torch.Tensor, g: torch.Generator) -> Linear:
    """A Gaussian B corrected so that B A x_i = x_i for the given images (so f(Ax) − x = 0 and the error
    ‖f(Ax + e) − x‖ = ‖B e‖: the worst e is B's top right singular vector)."""
    n_pix = x.shape[1] * x.shape[2]
    b0 = gaussian(n_pix, op.measurement_shape[0], g, op.is_complex)
    y = op.forward(x).T  # (m, N)
    X = x.reshape(x.shape[0], -1).T.to(b0.dtype)  # (n_pix, N)
    fix = (X - b0 @ y) @ torch.linalg.solve(y.conj().T @ y, y.conj().T)
    return Linear(op, b0 + fix)


def generators(n: int, seed: int = 0) -> list[torch.Generator]:
    """One generator per image, as the attacks take them."""
    return [torch.Generator().manual_seed(1000 * seed + i) for i in range(n)]
