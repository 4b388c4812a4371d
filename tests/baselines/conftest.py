"""Small self-contained operators for testing the baseline solvers independently of the modalities."""

from __future__ import annotations

import math

import pytest
import torch

from auditkit.operators.base import ForwardOperator


class RowSampledFFT(ForwardOperator):
    """A = P_Ω F with the orthonormal 2-D DFT and a random set Ω of entries; A A* = I."""

    is_complex = True
    has_orthonormal_rows = True

    def __init__(self, shape: tuple[int, int], ratio: float, seed: int = 0, dtype: torch.dtype = torch.float64):
        g = torch.Generator().manual_seed(seed)
        n = shape[0] * shape[1]
        m = max(1, round(ratio * n))
        self.index = torch.randperm(n, generator=g)[:m].sort().values
        super().__init__(shape, (m,), dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = torch.fft.fft2(x.to(self.image_dtype), norm="ortho")
        return k.reshape(x.shape[0], -1)[:, self.index]

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        full = y.new_zeros(y.shape[0], self.image_shape[0] * self.image_shape[1])
        full[:, self.index] = y
        return torch.fft.ifft2(full.reshape(y.shape[0], *self.image_shape), norm="ortho")

    def with_ratio(self, ratio: float) -> "RowSampledFFT":
        raise NotImplementedError

    @property
    def sampling_ratio(self) -> float:
        return self.measurement_shape[0] / (self.image_shape[0] * self.image_shape[1])

    def to(self, device=None, dtype=None) -> "RowSampledFFT":
        raise NotImplementedError


class DenseMatrix(ForwardOperator):
    """A real dense Gaussian matrix A (m × HW)/√m: not orthonormal, ‖A‖ ≠ 1; A† by least squares."""

    is_complex = False

    def __init__(self, shape: tuple[int, int], m: int, seed: int = 0, scale: float = 1.0, dtype: torch.dtype = torch.float64):
        g = torch.Generator().manual_seed(seed)
        n = shape[0] * shape[1]
        self.matrix = (scale / math.sqrt(m)) * torch.randn(m, n, generator=g, dtype=dtype)
        self._pinv = torch.linalg.pinv(self.matrix)
        super().__init__(shape, (m,), dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1) @ self.matrix.T

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.matrix).reshape(y.shape[0], *self.image_shape)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self._pinv.T).reshape(y.shape[0], *self.image_shape)

    def with_ratio(self, ratio: float) -> "DenseMatrix":
        raise NotImplementedError

    @property
    def sampling_ratio(self) -> float:
        return self.measurement_shape[0] / (self.image_shape[0] * self.image_shape[1])

    def to(self, device=None, dtype=None) -> "DenseMatrix":
        raise NotImplementedError


class Identity(ForwardOperator):
    """A = I on (H, W) images (denoising); real or complex."""

    has_orthonormal_rows = True

    def __init__(self, shape: tuple[int, int], is_complex: bool = False, dtype: torch.dtype = torch.float64):
        self.is_complex = is_complex
        super().__init__(shape, shape, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.image_dtype)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return y.to(self.image_dtype)

    def with_ratio(self, ratio: float) -> "Identity":
        return self

    @property
    def sampling_ratio(self) -> float:
        return 1.0

    def to(self, device=None, dtype=None) -> "Identity":
        return Identity(self.image_shape, self.is_complex, dtype or self.real_dtype)


def blocks_image(shape: tuple[int, int], batch: int = 1, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Piecewise-constant test images in [0, 1]: a few random rectangles on a dark background."""
    g = torch.Generator().manual_seed(seed)
    h, w = shape
    out = torch.zeros(batch, h, w, dtype=dtype)
    for b in range(batch):
        for _ in range(4):
            r0, c0 = (int(v) for v in torch.randint(0, h // 2, (2,), generator=g))
            dr, dc = (int(v) for v in torch.randint(h // 8, h // 2, (2,), generator=g))
            out[b, r0 : r0 + dr, c0 : c0 + dc] += 0.25 * float(torch.rand(1, generator=g) + 0.5)
    return out.clamp(0, 1)


@pytest.fixture(autouse=True)
def single_thread():
    """Run these small problems on one thread: tiny BLAS calls on an oversubscribed machine stall on
    thread hand-offs (milliseconds instead of microseconds)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def fft_op() -> RowSampledFFT:
    return RowSampledFFT((32, 32), 0.4, seed=1)


@pytest.fixture
def dense_op() -> DenseMatrix:
    return DenseMatrix((16, 16), 160, seed=2, scale=3.0)
