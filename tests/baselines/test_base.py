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
    assert torch.equal(out.detach(), solved)  # the same cold solve: the value is the solution itself


@pytest.mark.parametrize("method", ["l1_wavelet", "tv", "sqrt_lasso"])
def test_fixed_point_gradient_matches_finite_differences_of_the_converged_map(method: str) -> None:
    """With tight tolerances the implicit gradient is the derivative of the solution map:
    ⟨w, (f(y + hd) − f(y − hd))/2h⟩ (each side solved to convergence) equals ⟨∇_y⟨w, f(y)⟩, d⟩."""
    op = DenseMatrix((8, 8), 40, seed=8)
    y = op.forward(blocks_image((8, 8), batch=1, seed=9))
    gen = torch.Generator().manual_seed(12)
    d = torch.randn(y.shape, dtype=y.dtype, generator=gen)
    args = dict(METHOD_ARGS[method], levels=1) if "levels" in METHOD_ARGS[method] else METHOD_ARGS[method]
    f = build_baseline(method, op, max_iter=100000, tol=1e-13, gradient_iters=500, gradient_tol=1e-10, **args)
    w = torch.randn(f(y).shape, dtype=y.dtype, generator=gen)
    h = 1e-5
    numeric = float(((f(y + h * d) - f(y - h * d)) * w).sum()) / (2 * h)
    yy = y.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((f(yy) * w).sum(), yy)
    assert max(f.last_gradient.relative_residual) <= 1e-10
    analytic = float((grad * d).sum())
    assert analytic == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_implicit_gradient_stops_at_its_tolerance_or_iteration_cap(fft_op: RowSampledFFT) -> None:
    y = _measure(fft_op, 2, seed=5).requires_grad_(True)
    loose = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, gradient_iters=200, gradient_tol=1e-2)
    loose(y).abs().sum().backward()
    assert max(loose.last_gradient.relative_residual) <= 1e-2 and loose.last_gradient.iterations < 200
    capped = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, gradient_iters=2, gradient_tol=1e-12)
    capped(y).abs().sum().backward()
    assert capped.last_gradient.iterations == 2 and max(capped.last_gradient.relative_residual) > 1e-12


def test_solves_started_near_the_solution_agree_with_cold_solves(fft_op: RowSampledFFT) -> None:
    """Noise draws start at f(y): fewer iterations, the same solution to the stopping tolerance."""
    y = _measure(fft_op, 1, seed=5)
    noisy = y + 0.02 * y.norm() / y.numel() ** 0.5 * _measure(fft_op, 4, seed=6) / _measure(fft_op, 4, seed=6).std()
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=3000, tol=1e-5)
    clean = f(y)[0]
    cold = f(noisy)
    cold_iters = f.last_info.iterations
    with f.starting_at(clean, y[0]):
        warm = f(noisy)
    warm_iters = f.last_info.iterations
    assert sum(warm_iters) < 0.8 * sum(cold_iters)
    truth = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=100000, tol=1e-11)(noisy)
    error = lambda z: float((z - truth).norm() / truth.norm())  # noqa: E731
    assert error(warm) <= max(2 * error(cold), 1e-4)  # as close to the solution as a cold solve
    f(noisy)
    assert f.last_info.iterations == cold_iters  # outside the block solves start cold again


def test_gradient_calls_evaluate_the_map_that_is_reported(fft_op: RowSampledFFT) -> None:
    """No state is kept between calls: with or without a gradient, after any other call, f(y) is the same solve."""
    y = _measure(fft_op, 2, seed=5)
    other = y + 1e-2 * _measure(fft_op, 2, seed=6)
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=2000, tol=1e-4)
    reported = f(y)
    f(other.clone().requires_grad_(True))
    searched = f(y.clone().requires_grad_(True)).detach()
    assert torch.equal(searched, reported)


def test_a_start_that_is_not_a_solution_is_not_used(fft_op: RowSampledFFT) -> None:
    """When max_iter cut f(y) short, starting the draws there would add its distance from the solution to them."""
    y = _measure(fft_op, 1, seed=5)
    noisy = y + 1e-2 * _measure(fft_op, 3, seed=6)
    f = build_baseline("l1_wavelet", fft_op, lam=0.01, levels=2, max_iter=20, tol=1e-5)
    clean = f(y)[0]
    assert not f.last_info.all_converged
    cold = f(noisy)
    with f.starting_at(clean, y[0]):
        assert torch.equal(f(noisy), cold)
