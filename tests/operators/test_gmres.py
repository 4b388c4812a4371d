"""Batched GMRES: solves non-symmetric systems row by row, exactly in N steps, and says how far it got."""

from __future__ import annotations

import pytest
import torch

from auditkit.operators.gmres import gmres_solve


def _systems(rows: int, n: int, seed: int) -> torch.Tensor:
    """Non-symmetric, well-conditioned matrices I + 0.3·G/√n, one per row, float64."""
    g = torch.randn(rows, n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.eye(n, dtype=torch.float64) + 0.3 * g / n**0.5


def test_solves_each_row_s_own_system():
    m = _systems(3, 20, seed=0)
    b = torch.randn(3, 20, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    result = gmres_solve(lambda v: torch.einsum("bij,bj->bi", m, v), b, iters=40, tol=1e-12)
    expected = torch.linalg.solve(m, b)
    assert torch.allclose(result.x, expected, atol=1e-9)
    assert bool((result.relative_residual <= 1e-9).all())


def test_reaches_the_exact_solution_within_n_iterations():
    """In exact arithmetic the Krylov space of an n-dimensional system is complete after n steps."""
    m = _systems(1, 6, seed=2)
    b = torch.randn(1, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    result = gmres_solve(lambda v: torch.einsum("bij,bj->bi", m, v), b, iters=50, tol=1e-10)
    assert result.iterations <= 6
    assert torch.allclose(result.x, torch.linalg.solve(m, b), atol=1e-9)


def test_stops_at_the_tolerance_and_reports_the_residual():
    m = _systems(2, 200, seed=4)
    b = torch.randn(2, 200, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    apply = lambda v: torch.einsum("bij,bj->bi", m, v)  # noqa: E731
    result = gmres_solve(apply, b, iters=100, tol=1e-3)
    assert result.iterations < 100
    true_residual = torch.linalg.vector_norm(b - apply(result.x), dim=1) / torch.linalg.vector_norm(b, dim=1)
    assert torch.allclose(result.relative_residual.double(), true_residual, rtol=1e-3)
    assert bool((true_residual <= 1e-3).all())


def test_a_zero_right_hand_side_gives_zero():
    m = _systems(2, 5, seed=6)
    b = torch.zeros(2, 5, dtype=torch.float64)
    b[1] = 1.0
    result = gmres_solve(lambda v: torch.einsum("bij,bj->bi", m, v), b, iters=10, tol=1e-12)
    assert torch.equal(result.x[0], torch.zeros(5, dtype=torch.float64))
    assert float(result.relative_residual[0]) == 0.0
    assert torch.allclose(result.x[1], torch.linalg.solve(m[1], b[1]), atol=1e-9)


def test_float32_vectors_keep_a_usable_accuracy():
    m = _systems(2, 300, seed=7)
    b = torch.randn(2, 300, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    m32, b32 = m.float(), b.float()
    result = gmres_solve(lambda v: torch.einsum("bij,bj->bi", m32, v), b32, iters=60, tol=1e-5)
    assert result.x.dtype == torch.float32
    assert torch.allclose(result.x.double(), torch.linalg.solve(m, b), atol=1e-4)


@pytest.mark.parametrize("b,iters,match", [
    (torch.zeros(4), 5, "b: expected real vectors"),
    (torch.zeros(2, 3, dtype=torch.complex64), 5, "b: expected real vectors"),
    (torch.zeros(2, 3), 0, "iters"),
])
def test_bad_arguments_are_refused(b, iters, match):
    with pytest.raises(ValueError, match=match):
        gmres_solve(lambda v: v, b, iters=iters)
