"""Single-coil MRI operator A = P_Ω F: exact adjoint, orthonormal rows, projector, autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditkit.operators.base import adjoint_mismatch, batch_norm2, inner, power_norm
from auditkit.operators.masks import make_mask
from auditkit.operators.mri import MRISingleCoil, centring_phases, fft2c, ifft2c

PATTERNS = ["cartesian_random", "cartesian_equispaced", "random_points", "radial"]


def operator(pattern: str = "cartesian_random", shape=(32, 32), ratio: float = 0.3, seed: int = 0) -> MRISingleCoil:
    return MRISingleCoil.from_pattern(pattern, shape, ratio, 0.08, seed).to(dtype=torch.float64)


def crandn(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("shape", [(32, 32), (31, 34), (15, 17)])
def test_adjoint_is_exact(pattern: str, shape: tuple[int, int]) -> None:
    assert adjoint_mismatch(operator(pattern, shape), batch=3) < 1e-10


@pytest.mark.parametrize("shape", [(16, 16), (15, 18), (9, 7)])
def test_forward_and_adjoint_match_the_centred_dft(shape: tuple[int, int]) -> None:
    op = operator("random_points", shape, 0.4)
    x = crandn(2, *shape, seed=8)
    assert torch.allclose(op.forward(x), op.extract(fft2c(x)), atol=1e-12)
    y = op.forward(crandn(2, *shape, seed=9))
    assert torch.allclose(op.adjoint(y), ifft2c(op.embed(y)), atol=1e-12)


def test_adjoint_is_exact_for_file_masks(tmp_path) -> None:
    path = tmp_path / "m.npy"
    np.save(path, make_mask("random_points", (32, 32), 0.25, seed=1).numpy())
    op = MRISingleCoil.from_pattern("file", (32, 32), mask_file=path).to(dtype=torch.float64)
    assert adjoint_mismatch(op) < 1e-10


@pytest.mark.parametrize("pattern", PATTERNS)
def test_rows_are_orthonormal_and_norm_is_one(pattern: str) -> None:
    op = operator(pattern, (32, 30))
    y = crandn(2, *op.measurement_shape)
    assert torch.allclose(op.forward(op.adjoint(y)), y, atol=1e-10, rtol=0)
    assert op.has_orthonormal_rows
    assert abs(power_norm(op, iters=20) - 1.0) < 1e-10


def test_centred_dft_matches_numpy_and_puts_dc_in_the_middle() -> None:
    x = crandn(1, 9, 12, seed=3)
    reference = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(x.numpy()[0]), norm="ortho"))
    assert np.allclose(fft2c(x)[0].numpy(), reference, atol=1e-12)
    assert torch.allclose(ifft2c(fft2c(x)), x, atol=1e-12)
    pre, post = centring_phases((9, 12))
    assert torch.allclose(post * torch.fft.fft2(pre * x, norm="ortho"), fft2c(x), atol=1e-12)
    k = fft2c(torch.ones(1, 9, 12, dtype=torch.complex128))
    assert abs(float(k[0, 4, 6].abs()) - np.sqrt(9 * 12)) < 1e-10
    assert float(k.abs().sum()) == pytest.approx(np.sqrt(9 * 12))


def test_null_projector_is_exact() -> None:
    op = operator("random_points", (32, 32))
    x = crandn(3, 32, 32, seed=1)
    px = op.null_project(x)
    assert torch.allclose(op.null_project(px), px, atol=1e-12)
    assert float((batch_norm2(op.forward(px)) / batch_norm2(x)).max()) < 1e-12
    y = crandn(3, *op.measurement_shape, seed=2)
    assert float(inner(px, op.adjoint(y)).abs().max()) < 1e-10
    assert torch.allclose(px + op.pinv(op.forward(x)), x, atol=1e-12)


def test_kspace_embed_extract() -> None:
    op = operator("cartesian_random", (16, 20))
    x = crandn(2, 16, 20, seed=4)
    full = fft2c(x)
    assert torch.allclose(op.kspace(x), full * op.mask, atol=1e-12)
    y = op.forward(x)
    assert torch.equal(op.extract(op.embed(y)), y)
    assert torch.equal(op.embed(y), op.kspace(x))
    assert torch.allclose(y, full[:, op.mask], atol=1e-12), "measurements are the mask's entries in row-major order"
    assert op.measurement_shape == (int(op.mask.sum()),)


def test_real_images_are_promoted_and_float32_works() -> None:
    op = MRISingleCoil.from_pattern("radial", (32, 32), 0.25, seed=1)
    assert op.real_dtype == torch.float32 and op.image_dtype == torch.complex64
    x = torch.rand(2, 32, 32)
    y = op.forward(x)
    assert y.dtype == torch.complex64 and tuple(y.shape) == (2, *op.measurement_shape)
    assert op.adjoint(y).dtype == torch.complex64
    assert adjoint_mismatch(op) < 1e-5
    assert abs(power_norm(op, iters=10) - 1.0) < 1e-5


def test_batch_items_are_independent() -> None:
    op = operator()
    x = crandn(3, 32, 32, seed=5)
    batched = op.forward(x)
    for b in range(3):
        assert torch.allclose(batched[b], op.forward(x[b : b + 1])[0])


def test_with_ratio_is_nested_and_keeps_the_spec() -> None:
    op = MRISingleCoil.from_pattern("cartesian_random", (64, 64), 0.2, 0.08, 3).to(dtype=torch.float64)
    more = op.with_ratio(0.4)
    assert isinstance(more, MRISingleCoil) and more.real_dtype == torch.float64
    assert bool((op.mask & ~more.mask).sum() == 0)
    assert abs(more.sampling_ratio - 0.4) <= 0.5 / 64 + 1e-12
    assert torch.equal(more.with_ratio(0.2).mask, op.mask)
    radial = MRISingleCoil.from_pattern("radial", (64, 64), n_lines=10)
    assert bool((radial.mask & ~radial.with_ratio(0.5).mask).sum() == 0)


def test_with_ratio_needs_a_pattern() -> None:
    op = MRISingleCoil(make_mask("random_points", (16, 16), 0.3))
    assert op.pattern_spec is None
    with pytest.raises(ValueError, match="from_pattern"):
        op.with_ratio(0.5)


def test_to_and_device() -> None:
    op = operator()
    assert op.device == torch.device("cpu")
    single = op.to("cpu", torch.float32)
    assert single.real_dtype == torch.float32 and torch.equal(single.mask, op.mask)
    assert op.to(dtype=torch.complex128).real_dtype == torch.float64
    with pytest.raises(ValueError, match="dtype"):
        op.to(dtype=torch.int32)


def test_bad_shapes_raise() -> None:
    op = operator(shape=(16, 16))
    with pytest.raises(ValueError, match="x"):
        op.forward(torch.zeros(16, 16))
    with pytest.raises(ValueError, match="y"):
        op.adjoint(torch.zeros(1, op.measurement_shape[0] + 1, dtype=torch.complex128))
    with pytest.raises(ValueError, match="pattern_spec"):
        MRISingleCoil(torch.ones(8, 8, dtype=torch.bool), pattern_spec=operator(shape=(16, 16)).pattern_spec)


def test_gradients_flow() -> None:
    op = MRISingleCoil.from_pattern("random_points", (8, 8), 0.4, seed=1).to(dtype=torch.float64)
    x = crandn(1, 8, 8, seed=6).requires_grad_(True)
    y = crandn(2, *op.measurement_shape, seed=7).requires_grad_(True)
    assert torch.autograd.gradcheck(op.forward, (x,))
    assert torch.autograd.gradcheck(op.adjoint, (y,), fast_mode=True)
    assert torch.autograd.gradcheck(op.null_project, (x,), fast_mode=True)
    real = torch.rand(1, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op.forward, (real,), fast_mode=True)
