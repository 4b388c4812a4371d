"""Batched conjugate gradients against direct solves."""

from __future__ import annotations

import torch

from auditkit.operators.cg import cg, cg_solve


def spd(n: int, seed: int, complex_: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    if complex_:
        a = torch.complex(a, torch.randn(n, n, generator=g, dtype=torch.float64))
    return a.mH @ a + 0.5 * torch.eye(n, dtype=a.dtype)


def test_real_batched_solve_matches_direct() -> None:
    mats = torch.stack([spd(12, 0), spd(12, 1)])
    b = torch.randn(2, 12, dtype=torch.float64)
    result = cg_solve(lambda v: (mats @ v.unsqueeze(-1)).squeeze(-1), b, iters=200, tol=1e-12)
    assert torch.allclose(result.x, torch.linalg.solve(mats, b), atol=1e-8)
    assert float(result.relative_residual.max()) <= 1e-12
    assert result.iterations <= 200


def test_complex_hermitian_image_shaped() -> None:
    m = spd(16, 2, complex_=True)
    b = torch.randn(3, 4, 4, dtype=torch.complex128)
    apply = lambda v: (v.reshape(3, 16) @ m.T).reshape(3, 4, 4)  # noqa: E731
    x = cg(apply, b, iters=200, tol=1e-12)
    assert torch.allclose(apply(x), b, atol=1e-8)


def test_zero_rhs_warm_start_and_gradient() -> None:
    m = spd(8, 3)
    apply = lambda v: v @ m.T  # noqa: E731
    b = torch.zeros(2, 8, dtype=torch.float64)
    b[1] = torch.randn(8, dtype=torch.float64)
    b.requires_grad_(True)
    x = cg(apply, b, iters=100, tol=1e-12)
    assert float(x.detach()[0].abs().max()) == 0.0
    x.sum().backward()
    assert torch.isfinite(b.grad).all()
    exact = torch.linalg.solve(m, b.detach()[1])
    warm = cg_solve(apply, b.detach(), x0=torch.stack([torch.zeros(8, dtype=torch.float64), exact]), iters=5, tol=1e-10)
    assert warm.iterations <= 1
