"""BaselineMap: batching, determinism, stopping rules, the fixed unroll and its exact gradients."""

from __future__ import annotations

import json

import pytest
import torch

from auditkit.baselines import build_baseline
from auditkit.reconstruction import ReconstructionMap

from .conftest import DenseMatrix, RowSampledFFT, blocks_image

METHOD_ARGS = {
    "l1_wavelet": {"lam": 0.01, "wavelet": "haar", "levels": 2},
    "sqrt_lasso": {"lam": 0.05, "wavelet": "haar", "levels": 2, "primal_scale": 0.1},
    "tv": {"lam": 0.01, "tau": 1.0},
}


def _measure(op, batch: int, seed: int) -> torch.Tensor:
    return op.forward(blocks_image(op.image_shape, batch=batch, seed=seed))


@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_batch_equals_per_image_results(method: str, fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 3, seed=1)
    f = build_baseline(method, fft_op, max_iter=150, **METHOD_ARGS[method])
    batch = f(y)
    iters = f.last_info.iterations
    for i in range(3):
        single = f(y[i : i + 1])
        assert f.last_info.iterations == [iters[i]]
        assert (batch[i] - single[0]).abs().max() < 1e-12


@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_same_input_gives_bitwise_identical_output(method: str, dense_op: DenseMatrix) -> None:
    y = _measure(dense_op, 2, seed=2)
    f = build_baseline(method, dense_op, max_iter=100, **METHOD_ARGS[method])
    first = f(y)
    assert torch.equal(first, f(y))
    g = build_baseline(method, dense_op, max_iter=100, **METHOD_ARGS[method])
    assert torch.equal(first, g(y.clone()))


def test_each_image_stops_on_its_own(fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 2, seed=3)
    y[1] = 0.0  # A†0 = 0 is already the solution: converged after one iteration
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, tol=1e-6, max_iter=500)
    out = f(y)
    info = f.last_info
    assert info.iterations[1] == 1 and info.iterations[0] > 10
    assert info.converged == [True, True] and not info.fixed_iterations
    assert torch.equal(out[1], torch.zeros_like(out[1]))
    assert len(info.objective) == 2 and info.objective[1] == 0.0
    record = info.as_dict()
    assert record["iterations"] == info.iterations and record["tol"] == 1e-6 and json.dumps(record)


def test_max_iter_caps_and_reports_not_converged(fft_op: RowSampledFFT) -> None:
    f = build_baseline("tv", fft_op, lam=0.01, tau=1.0, tol=1e-12, max_iter=7)
    f(_measure(fft_op, 1, seed=4))
    assert f.last_info.iterations == [7] and f.last_info.converged == [False]


def test_gradient_request_runs_the_fixed_unroll(fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 2, seed=5)
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=500, unrolled_iters=12, gradient="unrolled")
    out = f(y.clone().requires_grad_(True))
    assert out.requires_grad
    assert f.last_info.fixed_iterations and f.last_info.iterations == [12, 12]
    fixed = f(y, fixed=True)
    assert not fixed.requires_grad and torch.equal(fixed, out.detach())


@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_checkpointing_changes_neither_values_nor_gradients(method: str, dense_op: DenseMatrix) -> None:
    y = _measure(dense_op, 2, seed=6)
    weights = torch.randn(2, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    results = []
    for segment in (0, 4):
        f = build_baseline(method, dense_op, unrolled_iters=11, checkpoint_segment=segment, gradient="unrolled",
                           **METHOD_ARGS[method])
        yy = y.clone().requires_grad_(True)
        out = f(yy)
        (grad,) = torch.autograd.grad((out * weights).sum(), yy)
        results.append((out.detach(), grad))
    assert torch.allclose(results[0][0], results[1][0], rtol=0, atol=1e-14)
    assert torch.allclose(results[0][1], results[1][1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_gradcheck_real_operator(method: str) -> None:
    op = DenseMatrix((8, 8), 40, seed=8)
    y = op.forward(blocks_image((8, 8), batch=1, seed=9)).requires_grad_(True)
    args = dict(METHOD_ARGS[method], levels=1) if "levels" in METHOD_ARGS[method] else METHOD_ARGS[method]
    f = build_baseline(method, op, unrolled_iters=6, checkpoint_segment=2, gradient="unrolled", **args)
    assert torch.autograd.gradcheck(f, (y,), eps=1e-7, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_gradcheck_complex_operator(method: str) -> None:
    op = RowSampledFFT((8, 8), 0.3, seed=10)
    y = op.forward(blocks_image((8, 8), batch=1, seed=11)).requires_grad_(True)
    args = dict(METHOD_ARGS[method], levels=1) if "levels" in METHOD_ARGS[method] else METHOD_ARGS[method]
    f = build_baseline(method, op, unrolled_iters=5, gradient="unrolled", **args)
    assert torch.autograd.gradcheck(f, (y,), eps=1e-7, atol=1e-5, rtol=1e-4)


def test_is_a_reconstruction_map_with_metadata(fft_op: RowSampledFFT) -> None:
    f = build_baseline("tv", fft_op, lam=0.02, name="baseline (TV)")
    assert isinstance(f, ReconstructionMap)
    assert f.name == "baseline (TV)" and f.method == "tv" and f.operator is fft_op
    assert f.params["lam"] == 0.02 and f.params["max_iter"] == f.max_iter and "unrolled_iters" in f.params
    assert f.last_info is None


def test_bad_measurements_are_rejected(fft_op: RowSampledFFT, dense_op: DenseMatrix) -> None:
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2)
    with pytest.raises(ValueError, match=r"y: expected shape \(B, 410\)"):
        f(torch.zeros(410, dtype=torch.complex128))
    g = build_baseline("l1_wavelet", dense_op, lam=0.01, levels=1)
    with pytest.raises(ValueError, match="y: complex measurements given to a real operator"):
        g(torch.zeros(1, 160, dtype=torch.complex128))
    with pytest.raises(ValueError, match="max_iter"):
        build_baseline("tv", dense_op, lam=0.01, max_iter=0)


def test_fixed_point_gradient_evaluates_the_converged_solution(fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 2, seed=5)
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=2000, tol=1e-10)
    solved = f(y)
    out = f(y.clone().requires_grad_(True))
    assert out.requires_grad and not f.last_info.fixed_iterations and f.last_info.all_converged
    # K further contracting steps from z* move it by about K·tol at most
    assert float((out.detach() - solved).norm() / solved.norm()) < 30 * f.gradient_iters * 1e-10


@pytest.mark.parametrize("method", ["l1_wavelet", "tv"])
def test_fixed_point_gradient_matches_finite_differences_of_the_converged_map(method: str) -> None:
    """With a tight tolerance the K-step gradient at z* is the implicit derivative of the solution map:
    ⟨w, (f(y + hd) − f(y − hd))/2h⟩ (each side solved to convergence) equals ⟨∇_y⟨w, f(y)⟩, d⟩.

    Not asserted for the square-root LASSO: its primal–dual map contracts so slowly on this problem
    (≈ 40,000 iterations to 1e-14) that the truncated series is still oscillating at K = 5000."""
    op = DenseMatrix((8, 8), 40, seed=8)
    y = op.forward(blocks_image((8, 8), batch=1, seed=9))
    gen = torch.Generator().manual_seed(12)
    d = torch.randn(y.shape, dtype=y.dtype, generator=gen)
    args = dict(METHOD_ARGS[method], levels=1) if "levels" in METHOD_ARGS[method] else METHOD_ARGS[method]
    f = build_baseline(method, op, max_iter=20000, tol=1e-12, gradient_iters=1000, **args)
    w = torch.randn(f(y).shape, dtype=y.dtype, generator=gen)
    h = 1e-5
    numeric = float(((f(y + h * d) - f(y - h * d)) * w).sum()) / (2 * h)
    yy = y.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((f(yy) * w).sum(), yy)
    analytic = float((grad * d).sum())
    assert analytic == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_gradient_calls_start_from_the_previous_solution_until_forgotten(fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 2, seed=5)
    nearby = y + 1e-3 * _measure(fft_op, 2, seed=6)
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=2000, tol=1e-4)
    f(y.clone().requires_grad_(True))
    cold = f.last_info.iterations
    warm_out = f(nearby.clone().requires_grad_(True)).detach()
    warm = f.last_info.iterations
    assert all(w < c / 4 for w, c in zip(warm, cold))
    f.forget()
    cold_out = f(nearby.clone().requires_grad_(True)).detach()
    assert f.last_info.iterations[0] > warm[0]
    assert float((warm_out - cold_out).norm() / cold_out.norm()) < 1e-3  # the same solution, within tolerance
