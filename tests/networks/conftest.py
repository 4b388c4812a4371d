"""Small self-contained operators and submission writers for the network tests.

The operators are deliberately tiny and independent of auditkit's MRI/CT
modules: a masked orthonormal FFT (single-coil MRI), a two-coil variant and a
real dense matrix (CT/Hadamard-like), each with an exact adjoint.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch

from auditkit.operators.base import ForwardOperator


class MaskedFFT(ForwardOperator):
    """A = P_Ω F with the orthonormal 2-D DFT; y is the vector of sampled entries (B, m)."""

    is_complex = True
    has_orthonormal_rows = True
    has_grid = True

    def __init__(self, shape: tuple[int, int] = (16, 16), ratio: float = 0.4, seed: int = 0,
                 dtype: torch.dtype = torch.float32):
        g = torch.Generator().manual_seed(seed)
        self.mask = torch.rand(shape, generator=g) < ratio
        self.index = self.mask.flatten().nonzero().flatten()
        super().__init__(shape, (int(self.index.numel()),), dtype=dtype)
        self._ratio, self._seed = ratio, seed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fft.fft2(x, norm="ortho").flatten(-2)[..., self.index]

    def embed(self, y: torch.Tensor) -> torch.Tensor:
        """Zero-filled k-space (B, H, W) holding y at the sampled positions."""
        flat = y.new_zeros((*y.shape[:-1], self.mask.numel())).index_copy(-1, self.index, y)
        return flat.reshape(*y.shape[:-1], *self.image_shape)

    def extract(self, k: torch.Tensor) -> torch.Tensor:
        return k.flatten(-2)[..., self.index]

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return torch.fft.ifft2(self.embed(y), norm="ortho")

    def with_ratio(self, ratio: float) -> "MaskedFFT":
        return MaskedFFT(self.image_shape, ratio, self._seed, self.real_dtype)

    @property
    def sampling_ratio(self) -> float:
        return self.measurement_shape[0] / self.mask.numel()

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> "MaskedFFT":
        return MaskedFFT(self.image_shape, self._ratio, self._seed, dtype or self.real_dtype)


class TwoCoilFFT(MaskedFFT):
    """A = [P_Ω F S_1; P_Ω F S_2] with Σ|S_j|² = 1; y has shape (B, 2, m).

    A A* ≠ I, and A† (an iterative solve in the real operator) is left undefined
    here: the adapter's zero-filled image for MRI is A*y, not A†y.
    """

    has_orthonormal_rows = False
    coils = 2

    def __init__(self, shape: tuple[int, int] = (16, 16), ratio: float = 0.4, seed: int = 0,
                 dtype: torch.dtype = torch.float32):
        super().__init__(shape, ratio, seed, dtype)
        g = torch.Generator().manual_seed(seed + 1)
        raw = torch.complex(torch.rand((2, *shape), generator=g), torch.rand((2, *shape), generator=g))
        self.sens = raw / raw.abs().pow(2).sum(0).sqrt()
        self.measurement_shape = (2, int(self.index.numel()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.sens * x.unsqueeze(1))

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return (self.sens.conj() * torch.fft.ifft2(self.embed(y), norm="ortho")).sum(1)

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> "TwoCoilFFT":
        return TwoCoilFFT(self.image_shape, self._ratio, self._seed, dtype or self.real_dtype)


class DenseReal(ForwardOperator):
    """A real m × HW Gaussian matrix (no k-space); A† by the matrix pseudo-inverse."""

    is_complex = False

    def __init__(self, shape: tuple[int, int] = (8, 8), m: int = 24, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.matrix = torch.randn((m, shape[0] * shape[1]), generator=g) / shape[0]
        self.pinv_matrix = torch.linalg.pinv(self.matrix)
        super().__init__(shape, (m,), dtype=torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.matrix.T

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.matrix).reshape(-1, *self.image_shape)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        return (y @ self.pinv_matrix.T).reshape(-1, *self.image_shape)

    def with_ratio(self, ratio: float) -> "DenseReal":
        return DenseReal(self.image_shape, round(ratio * self.matrix.shape[1]))

    @property
    def sampling_ratio(self) -> float:
        return self.matrix.shape[0] / self.matrix.shape[1]

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> "DenseReal":
        return self


@dataclass
class Spec:
    """Stands in for the manifest's NetworkSpec (same attribute names)."""

    format: str = "python"
    path: Path = Path("net")
    entrypoint: str | None = "model:build"
    kwargs: dict[str, Any] = field(default_factory=dict)
    weights: Path | None = None
    sha256: dict[str, str] = field(default_factory=dict)
    input: str = "zero_filled"
    complex_as: str = "complex"
    output: str = "complex"
    device: str = "cpu"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_files(root: Path, files: dict[str, str | bytes]) -> dict[str, str]:
    """Write files under ``root`` and return their sha256 table keyed by relative path."""
    table = {}
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        table[rel] = digest(path)
    return table


def save_torchscript(module: torch.nn.Module, path: Path) -> None:
    """Script and save a module, without the deprecation noise of the jit API."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))


@pytest.fixture
def fft_op() -> MaskedFFT:
    return MaskedFFT()


@pytest.fixture
def coil_op() -> TwoCoilFFT:
    return TwoCoilFFT()


@pytest.fixture
def dense_op() -> DenseReal:
    return DenseReal()
