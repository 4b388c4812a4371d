"""TV by Chambolle–Pock: exact ∇/div adjoint, agreement with scikit-image's TV denoiser, convergence."""

from __future__ import annotations

import math

import torch
from skimage.restoration import denoise_tv_chambolle

from auditkit.baselines import build_baseline
from auditkit.baselines.tv import divergence, gradient, total_variation
from auditkit.operators.base import inner

from .conftest import DenseMatrix, Identity, RowSampledFFT, blocks_image


def test_divergence_is_minus_adjoint_of_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float64, torch.complex128):
        z = torch.randn(2, 9, 7, dtype=dtype, generator=g)
        q = torch.randn(2, 2, 9, 7, dtype=dtype, generator=g)
        lhs = inner(gradient(z), q)
        rhs = -inner(z, divergence(q))
        assert torch.allclose(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_gradient_norm_is_below_sqrt8() -> None:
    v = torch.randn(1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for _ in range(300):
        v = -divergence(gradient(v))
        v = v / torch.linalg.vector_norm(v)
    norm_sq = float(torch.linalg.vector_norm(-divergence(gradient(v))))
    assert 7.9 < norm_sq <= 8.0


def test_neumann_boundary_and_tv_of_a_step() -> None:
    z = torch.zeros(1, 4, 5, dtype=torch.float64)
    z[:, :, 2:] = 1.0  # a vertical edge of height 4
    g = gradient(z)
    assert torch.equal(g[:, 0, -1], torch.zeros(1, 5, dtype=torch.float64))
    assert torch.equal(g[:, 1, :, -1], torch.zeros(1, 4, dtype=torch.float64))
    assert float(total_variation(z)) == 4.0


def test_denoising_matches_scikit_image() -> None:
    """With A = I the problem is ½‖z − y‖² + λTV(z), which is what denoise_tv_chambolle(weight=λ) solves."""
    x = blocks_image((32, 32), batch=1, seed=1)
    y = x + 0.1 * torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    lam = 0.05
    f = build_baseline("tv", Identity((32, 32)), lam=lam, tau=0.1, tol=1e-8, max_iter=20000)
    z = f(y)
    ref = torch.from_numpy(denoise_tv_chambolle(y[0].numpy(), weight=lam, eps=1e-12, max_num_iter=20000))[None]
    obj_ref = float(f.scheme.objective(ref, y))
    assert f.last_info.converged == [True]
    assert abs(f.last_info.objective[0] - obj_ref) < 1e-6 * obj_ref
    assert (z - ref).abs().max() < 1e-3


def test_complex_tv_is_phase_equivariant() -> None:
    """Isotropic TV of the complex modulus: a constant phase factor commutes with the solver."""
    x = blocks_image((24, 24), batch=1, seed=3)
    y = x + 0.05 * torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    phase = complex(math.cos(0.7), math.sin(0.7))
    real = build_baseline("tv", Identity((24, 24)), lam=0.05, tau=0.1, unrolled_iters=300)(y, fixed=True)
    cplx = build_baseline("tv", Identity((24, 24), is_complex=True), lam=0.05, tau=0.1, unrolled_iters=300)(y * phase, fixed=True)
    assert (cplx - real * phase).abs().max() < 1e-12


def test_primal_dual_objective_reaches_a_plateau(dense_op: DenseMatrix) -> None:
    x = blocks_image((16, 16), batch=1, seed=5)
    y = dense_op.forward(x)
    values = []
    for n in (10, 100, 1000, 3000):
        f = build_baseline("tv", dense_op, lam=0.05, tau=0.03, unrolled_iters=n)
        f(y, fixed=True)
        values.append(f.last_info.objective[0])
    assert values[0] > values[1] > values[2]
    assert abs(values[-1] - values[-2]) < 1e-5 * values[-1]
    assert min(values) >= values[-1] * (1 - 1e-6)


def test_exact_data_form_and_general_form_agree() -> None:
    """For A A* = I the data term is handled by its exact prox; the general [A; ∇] form must find the same minimiser."""

    class Opaque(RowSampledFFT):
        has_orthonormal_rows = False

    fft_op = RowSampledFFT((16, 16), 0.4, seed=1)
    general_op = Opaque((16, 16), 0.4, seed=1)
    x = blocks_image((16, 16), batch=1, seed=6)
    y = fft_op.forward(x)
    exact = build_baseline("tv", fft_op, lam=0.01, tau=0.3, tol=1e-8, max_iter=10000)
    general = build_baseline("tv", general_op, lam=0.01, tau=0.3, tol=1e-8, max_iter=10000, lipschitz=1.0, warm_start="adjoint")
    assert exact.scheme.exact_data and not general.scheme.exact_data
    z_exact, z_general = exact(y), general(y)
    assert exact.last_info.converged == [True] and general.last_info.converged == [True]
    assert abs(exact.last_info.objective[0] - general.last_info.objective[0]) < 1e-5 * exact.last_info.objective[0]
    assert (z_exact - z_general).abs().max() < 1e-3
