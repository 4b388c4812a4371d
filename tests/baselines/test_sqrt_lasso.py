"""Square-root LASSO: convergence, data consistency for small λ, and its equivalence with the LASSO."""

from __future__ import annotations

import torch

from auditkit.baselines import build_baseline
from auditkit.operators.base import batch_norm2

from .conftest import DenseMatrix, RowSampledFFT, blocks_image


def test_converges_and_reports_it(fft_op: RowSampledFFT) -> None:
    x = blocks_image((32, 32), batch=2, seed=1)
    f = build_baseline("sqrt_lasso", fft_op, lam=1e-2, levels=2, primal_scale=0.1, tol=1e-5, max_iter=5000)
    f(fft_op.forward(x))
    info = f.last_info
    assert info.all_converged and not info.fixed_iterations
    assert all(n < 5000 for n in info.iterations)
    assert all(r < 1e-5 for r in info.relative_change)


def test_small_lambda_reproduces_noiseless_data(fft_op: RowSampledFFT) -> None:
    x = blocks_image((32, 32), batch=1, seed=2)
    y = fft_op.forward(x)
    f = build_baseline("sqrt_lasso", fft_op, lam=1e-4, levels=2, primal_scale=0.1, unrolled_iters=300)
    z = f(y, fixed=True)
    assert float(batch_norm2(fft_op.forward(z) - y) / batch_norm2(y)) < 1e-3


def test_solution_is_the_lasso_solution_with_lambda_times_residual(dense_op: DenseMatrix) -> None:
    """Optimality: A*(Aẑ − y)/‖Aẑ − y‖ + λ∂‖Wẑ‖₁ ∋ 0 is the LASSO condition with λ' = λ‖Aẑ − y‖."""
    x = blocks_image((16, 16), batch=1, seed=3)
    y = dense_op.forward(x) + 0.05 * torch.randn(1, 160, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    lam = 0.3  # large enough that the residual is not 0 (else the problem is basis pursuit)
    sq = build_baseline("sqrt_lasso", dense_op, lam=lam, wavelet="haar", levels=3, primal_scale=0.1, tol=1e-10, max_iter=5000)
    z_sq = sq(y)
    residual = float(batch_norm2(dense_op.forward(z_sq) - y))
    lasso = build_baseline("l1_wavelet", dense_op, lam=lam * residual, wavelet="haar", levels=3, tol=1e-10, max_iter=5000)
    z_l1 = lasso(y)
    assert sq.last_info.converged == [True] and lasso.last_info.converged == [True]
    assert residual > 0.1
    assert (z_sq - z_l1).abs().max() < 1e-6 * z_l1.abs().max()
