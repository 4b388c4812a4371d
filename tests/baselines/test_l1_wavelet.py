"""ℓ1-wavelet FISTA: closed form for A = I, optimality conditions, agreement with a slow reference."""

from __future__ import annotations

import math

import torch

from auditkit.baselines import build_baseline
from auditkit.baselines.proximal import soft_threshold
from auditkit.baselines.wavelets import wavelet_transform

from .conftest import DenseMatrix, Identity, RowSampledFFT, blocks_image


def _ista_reference(op: DenseMatrix, y: torch.Tensor, lam: float, wavelet: str, levels: int, iters: int) -> torch.Tensor:
    """Plain ISTA (no momentum) with step 1/‖A‖², run long: an independent, slow reference."""
    w = wavelet_transform(op.image_shape, wavelet, levels, torch.float64)
    lip = float(torch.linalg.matrix_norm(op.matrix, ord=2)) ** 2
    z = op.pinv(y)
    aty = op.adjoint(y)
    for _ in range(iters):
        z = w.adjoint(soft_threshold(w.forward(z - (op.normal(z) - aty) / lip), lam / lip))
    return z


def test_identity_gives_closed_form_real_and_complex() -> None:
    for is_complex in (False, True):
        op = Identity((32, 32), is_complex=is_complex)
        g = torch.Generator().manual_seed(0)
        y = torch.randn(2, 32, 32, dtype=torch.float64, generator=g)
        if is_complex:
            y = torch.complex(y, torch.randn(2, 32, 32, dtype=torch.float64, generator=g))
        f = build_baseline("l1_wavelet", op, lam=0.3, levels=2, tol=1e-12, max_iter=50)
        w = wavelet_transform((32, 32), "db4", 2, torch.float64)
        expected = w.adjoint(soft_threshold(w.forward(y), 0.3))
        assert (f(y) - expected).abs().max() < 1e-12
        assert f.last_info.all_converged


def test_matches_slow_ista_reference_and_objective(dense_op: DenseMatrix) -> None:
    x = blocks_image((16, 16), batch=1, seed=3)
    y = dense_op.forward(x)
    lam = 0.05
    f = build_baseline("l1_wavelet", dense_op, lam=lam, wavelet="haar", levels=3, tol=1e-9, max_iter=5000)
    z = f(y)
    ref = _ista_reference(dense_op, y, lam, "haar", 3, 4000)
    obj_ref = float(f.scheme.objective(ref, y))
    assert f.last_info.converged == [True]
    assert f.last_info.objective[0] <= obj_ref * (1 + 1e-8)
    assert (z - ref).abs().max() < 1e-4


def test_optimality_conditions_on_subsampled_fft(fft_op: RowSampledFFT) -> None:
    """0 ∈ W A*(Az − y) + λ ∂‖·‖₁(Wz): on the support g = −λ c/|c|, elsewhere |g| ≤ λ."""
    x = blocks_image((32, 32), batch=1, seed=4)
    y = fft_op.forward(x)
    lam = 0.01
    f = build_baseline("l1_wavelet", fft_op, lam=lam, levels=2, tol=1e-10, max_iter=20000)
    z = f(y)
    w = f.scheme.wavelet
    c = w.forward(z)
    g = w.forward(fft_op.adjoint(fft_op.forward(z) - y))
    support = c.abs() > 1e-6
    assert torch.allclose(g[support], -lam * c[support] / c[support].abs(), atol=1e-6)
    assert g[~support].abs().max() <= lam * (1 + 1e-5)


def test_objective_decreases_to_a_plateau(fft_op: RowSampledFFT) -> None:
    x = blocks_image((32, 32), batch=1, seed=5)
    y = fft_op.forward(x)
    values = []
    for n in (1, 5, 20, 80, 320, 1280):
        f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, unrolled_iters=n)
        f(y, fixed=True)
        values.append(f.last_info.objective[0])
    assert all(b <= a * (1 + 1e-6) for a, b in zip(values, values[1:]))
    assert (values[-2] - values[-1]) < 1e-6 * values[-1]
    assert values[0] > values[-1]


def test_recovers_wavelet_sparse_image_far_better_than_pseudo_inverse(dense_op: DenseMatrix) -> None:
    """A 20-sparse Haar image from 160 Gaussian measurements of 256 pixels: ℓ1 recovers it."""
    g = torch.Generator().manual_seed(6)
    w = wavelet_transform((16, 16), "haar", 3, torch.float64)
    c = torch.zeros(2, 256, dtype=torch.float64)
    for b in range(2):
        c[b, torch.randperm(256, generator=g)[:20]] = torch.randn(20, dtype=torch.float64, generator=g)
    x = w.adjoint(c.reshape(2, 16, 16))
    y = dense_op.forward(x)
    f = build_baseline("l1_wavelet", dense_op, lam=1e-2, wavelet="haar", levels=3, max_iter=2000, tol=1e-6)
    err = torch.linalg.vector_norm(f(y) - x) / torch.linalg.vector_norm(x)
    err_pinv = torch.linalg.vector_norm(dense_op.pinv(y) - x) / torch.linalg.vector_norm(x)
    assert err < 0.01 * err_pinv, (float(err), float(err_pinv))
    assert not math.isnan(f.last_info.objective[0])
