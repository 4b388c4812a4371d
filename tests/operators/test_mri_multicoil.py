"""Multi-coil MRI operator: exact adjoint, ‖A‖ ≤ 1, CG pseudo-inverse, Tikhonov null projector."""

from __future__ import annotations

import pytest
import torch

from auditkit.operators.base import adjoint_mismatch, batch_norm2, power_norm
from auditkit.operators.coils import synthetic_coil_maps
from auditkit.operators.mri import MRISingleCoil, fft2c
from auditkit.operators.mri_multicoil import MRIMultiCoil

PATTERNS = ["cartesian_random", "cartesian_equispaced", "random_points", "radial"]
SHAPE = (32, 32)


def operator(pattern: str = "cartesian_random", ratio: float = 0.3, coils: int = 4) -> MRIMultiCoil:
    maps = synthetic_coil_maps(coils, SHAPE, seed=1, dtype=torch.complex128)
    return MRIMultiCoil.from_pattern(pattern, SHAPE, ratio, 0.08, 0, maps=maps).to(dtype=torch.float64)


def crandn(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.complex(torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("pattern", PATTERNS)
def test_adjoint_is_exact(pattern: str) -> None:
    op = operator(pattern)
    assert op.measurement_shape == (4, int(op.mask.sum()))
    assert adjoint_mismatch(op, batch=3) < 1e-10


@pytest.mark.parametrize("pattern", PATTERNS)
def test_norm_is_at_most_one(pattern: str) -> None:
    """⟨x, A*A x⟩ = Σ_j ‖P_Ω F S_j x‖² ≤ Σ_j ‖S_j x‖² = ‖x‖² because Σ|S_j|² = 1 (equality when fully sampled)."""
    assert power_norm(operator(pattern), iters=30) <= 1 + 1e-6


def test_fully_sampled_is_an_isometry() -> None:
    op = operator(ratio=1.0)
    x = crandn(2, *SHAPE)
    assert torch.allclose(op.normal(x), x, atol=1e-12)
    assert abs(power_norm(op, iters=5) - 1) < 1e-10
    assert torch.allclose(op.pinv(op.forward(x)), x, atol=1e-10)


def test_one_coil_reduces_to_single_coil() -> None:
    phase = torch.exp(1j * torch.linspace(0, 3, SHAPE[0] * SHAPE[1], dtype=torch.float64)).reshape(1, *SHAPE)
    multi = MRIMultiCoil.from_pattern("random_points", SHAPE, 0.3, maps=phase).to(dtype=torch.float64)
    single = MRISingleCoil.from_pattern("random_points", SHAPE, 0.3).to(dtype=torch.float64)
    x = crandn(2, *SHAPE)
    assert multi.has_orthonormal_rows
    assert torch.allclose(multi.forward(x)[:, 0], single.forward(phase * x), atol=1e-12)
    px = multi.null_project(x)
    assert torch.allclose(multi.null_project(px), px, atol=1e-12)


def test_tikhonov_null_projector_removes_what_a_sees() -> None:
    op = operator("cartesian_random", 0.3)
    alpha = 0.01
    x = crandn(2, *SHAPE, seed=3)
    px = op.null_project(x, alpha)
    reduction = batch_norm2(op.forward(px)) / batch_norm2(op.forward(x))
    assert float(reduction.max()) < 0.1
    residual = op.normal(px) + alpha * px - alpha * x
    assert float((batch_norm2(residual) / batch_norm2(alpha * x)).max()) < 1e-5
    with pytest.raises(ValueError, match="alpha"):
        op.null_project(x, alpha=0.0)


def test_pinv_fits_consistent_data() -> None:
    op = operator("random_points", 0.5)
    x = crandn(2, *SHAPE, seed=4)
    y = op.forward(x)
    x_hat = op.pinv(y)
    # A*A has many tiny eigenvalues (smooth maps), so 100 CG steps fit the data to ~0.1 %, not exactly.
    assert float((batch_norm2(op.forward(x_hat) - y) / batch_norm2(y)).max()) < 5e-3
    assert float((batch_norm2(x_hat) / batch_norm2(x)).max()) <= 1 + 1e-6, "minimum-norm solution"


def test_kspace_embed_extract() -> None:
    op = operator()
    x = crandn(2, *SHAPE, seed=5)
    k = op.kspace(x)
    assert tuple(k.shape) == (2, 4, *SHAPE)
    assert torch.allclose(k, fft2c(op.maps * x[:, None]) * op.mask, atol=1e-12)
    assert torch.equal(op.extract(k), op.forward(x))


def test_with_ratio_keeps_maps_and_nests() -> None:
    op = operator(ratio=0.2)
    more = op.with_ratio(0.45)
    assert isinstance(more, MRIMultiCoil) and torch.equal(more.maps, op.maps)
    assert bool((op.mask & ~more.mask).sum() == 0)
    assert more.cg_iters == op.cg_iters


def test_float32_works() -> None:
    base = operator()
    op = MRIMultiCoil(base.mask, base.maps, dtype=torch.float32, cg_iters=15)
    assert op.maps.dtype == torch.complex64 and base.to(dtype=torch.float32).maps.dtype == torch.complex64
    x = torch.rand(2, *SHAPE)
    assert op.forward(x).dtype == torch.complex64
    assert adjoint_mismatch(op) < 1e-5
    assert torch.isfinite(op.null_project(x)).all()


def test_maps_are_checked() -> None:
    mask = torch.ones(SHAPE, dtype=torch.bool)
    with pytest.raises(ValueError, match="maps"):
        MRIMultiCoil(mask, 2 * synthetic_coil_maps(2, SHAPE))
    with pytest.raises(ValueError, match="maps"):
        MRIMultiCoil(mask, synthetic_coil_maps(2, (16, 16)))


def test_gradients_flow_through_cg() -> None:
    base = operator(ratio=0.3)
    op = MRIMultiCoil(base.mask, base.maps, dtype=torch.float64, cg_iters=15)
    x = crandn(1, *SHAPE, seed=6).requires_grad_(True)
    loss = op.null_project(x).abs().pow(2).sum() + op.pinv(op.forward(x)).abs().pow(2).sum()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_with_maps_keeps_mask_pattern_and_precision_and_uses_the_new_maps() -> None:
    op = operator(coils=4)
    maps = synthetic_coil_maps(3, SHAPE, seed=7, dtype=torch.complex128)
    other = op.with_maps(maps)
    assert torch.equal(other.mask, op.mask) and other.pattern_spec == op.pattern_spec
    assert other.real_dtype == op.real_dtype and other.coil_count == 3
    x = crandn(1, *SHAPE, seed=2)
    assert torch.allclose(other.forward(x), other.extract(fft2c(maps * x)), atol=1e-12)
    assert torch.equal(other.with_ratio(0.5).maps, other.maps)  # another ratio keeps the slice's maps
