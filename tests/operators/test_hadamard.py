"""Walsh–Hadamard sampling: sequency order, orthonormality, exact adjoint, nested masks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from auditkit.operators.base import adjoint_mismatch, batch_norm2, inner, power_norm
from auditkit.operators.hadamard import HadamardSubsampled, walsh_matrix


def operator(ratio: float = 0.25, shape=(32, 16), seed: int = 0) -> HadamardSubsampled:
    return HadamardSubsampled.from_pattern("variable_density", shape, ratio, 0.08, seed).to(dtype=torch.float64)


@pytest.mark.parametrize("size", [1, 2, 8, 64])
def test_walsh_matrix_is_orthonormal_and_sequency_ordered(size: int) -> None:
    w = walsh_matrix(size)
    assert torch.allclose(w @ w.T, torch.eye(size, dtype=torch.float64), atol=1e-12)
    changes = (torch.diff(torch.sign(w), dim=1) != 0).sum(dim=1)
    assert torch.equal(changes, torch.arange(size))
    natural = {tuple(row) for row in scipy.linalg.hadamard(size)}
    assert {tuple(int(v) for v in row) for row in torch.round(w * np.sqrt(size))} == natural


def test_non_power_of_two_raises() -> None:
    with pytest.raises(ValueError, match="power"):
        walsh_matrix(12)
    with pytest.raises(ValueError, match="power-of-two"):
        HadamardSubsampled(torch.ones(24, 32, dtype=torch.bool))


@pytest.mark.parametrize("pattern", ["variable_density", "random_points", "cartesian_random"])
def test_adjoint_is_exact_and_rows_orthonormal(pattern: str) -> None:
    op = HadamardSubsampled.from_pattern(pattern, (32, 32), 0.3, seed=1).to(dtype=torch.float64)
    assert not op.is_complex and op.has_orthonormal_rows
    assert adjoint_mismatch(op, batch=3) < 1e-10
    y = torch.randn(2, *op.measurement_shape, dtype=torch.float64)
    assert torch.allclose(op.forward(op.adjoint(y)), y, atol=1e-10, rtol=0)
    assert abs(power_norm(op, iters=20) - 1.0) < 1e-10


def test_transform_of_constants_and_inverse() -> None:
    op = operator(ratio=1.0, shape=(16, 8))
    c = op.transform(torch.full((1, 16, 8), 2.0, dtype=torch.float64))
    assert float(c[0, 0, 0]) == pytest.approx(2.0 * np.sqrt(16 * 8))
    assert float(c.abs().sum()) == pytest.approx(2.0 * np.sqrt(16 * 8))
    x = torch.randn(3, 16, 8, dtype=torch.float64)
    assert torch.allclose(op.inverse_transform(op.transform(x)), x, atol=1e-12)


def test_null_projector_is_exact() -> None:
    op = operator()
    x = torch.randn(2, 32, 16, dtype=torch.float64)
    px = op.null_project(x)
    assert torch.allclose(op.null_project(px), px, atol=1e-12)
    assert float(batch_norm2(op.forward(px)).max()) < 1e-12
    assert float(inner(px, op.adjoint(torch.randn(2, *op.measurement_shape, dtype=torch.float64))).abs().max()) < 1e-10


def test_masks_are_nested_and_low_sequency_first() -> None:
    op = operator(0.1, (64, 64), seed=4)
    assert bool(op.mask[0, 0]) and bool(op.mask[:4, :4].all())
    for ratio in (0.2, 0.33, 0.5):
        more = op.with_ratio(ratio)
        assert bool((op.mask & ~more.mask).sum() == 0)
        assert abs(more.sampling_ratio - ratio) <= 0.5 / 64**2 + 1e-12
        op = more


def test_coefficients_and_float32() -> None:
    op = operator().to(dtype=torch.float32)
    x = torch.rand(2, 32, 16)
    y = op.forward(x)
    assert y.dtype == torch.float32
    assert torch.equal(op.coefficients(x), op.embed(y))
    assert adjoint_mismatch(op) < 1e-5
    with pytest.raises(ValueError, match="real"):
        op.forward(torch.zeros(1, 32, 16, dtype=torch.complex64))


def test_gradients_flow() -> None:
    op = operator(0.4, (8, 8))
    x = torch.randn(1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op.forward, (x,))
    assert torch.autograd.gradcheck(op.null_project, (x,), fast_mode=True)
