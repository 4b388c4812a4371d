"""Coil sensitivity maps: Σ|S_j|² = 1, smoothness, determinism, loading from .npy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditkit.operators.coils import load_coil_maps, normalise_coil_maps, synthetic_coil_maps


@pytest.mark.parametrize("count", [1, 4, 8])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_synthetic_maps_are_normalised(count: int, dtype: torch.dtype) -> None:
    maps = synthetic_coil_maps(count, (48, 40), seed=2, dtype=dtype)
    assert maps.dtype == dtype and tuple(maps.shape) == (count, 48, 40)
    tol = 1e-6 if dtype == torch.complex64 else 1e-12
    assert float(((maps.abs() ** 2).sum(dim=0) - 1).abs().max()) < tol


def test_synthetic_maps_are_smooth_and_distinct() -> None:
    maps = synthetic_coil_maps(8, (64, 64), dtype=torch.complex128)
    step = max(float((maps[:, 1:] - maps[:, :-1]).abs().max()), float((maps[:, :, 1:] - maps[:, :, :-1]).abs().max()))
    assert step < 0.1, "neighbouring pixels differ little"
    magnitude = maps.abs()
    peaks = {tuple(np.unravel_index(int(m.argmax()), m.shape)) for m in magnitude}
    assert len(peaks) == 8, "each coil is brightest in a different place"
    assert float(maps.angle().std()) > 0.1, "maps carry a phase"


def test_synthetic_maps_depend_only_on_the_seed() -> None:
    a = synthetic_coil_maps(4, (32, 32), seed=5)
    assert torch.equal(a, synthetic_coil_maps(4, (32, 32), seed=5))
    assert not torch.equal(a, synthetic_coil_maps(4, (32, 32), seed=6))
    assert synthetic_coil_maps(4, (32, 32), dtype=torch.float64).dtype == torch.complex128


def test_load_normalises_and_checks_shape(tmp_path) -> None:
    rng = np.random.default_rng(0)
    raw = rng.standard_normal((3, 16, 20)) + 1j * rng.standard_normal((3, 16, 20))
    path = tmp_path / "maps.npy"
    np.save(path, raw)
    maps = load_coil_maps(path, 3, (16, 20))
    assert float(((maps.abs() ** 2).sum(dim=0) - 1).abs().max()) < 1e-12
    assert torch.allclose(maps * torch.from_numpy(np.sqrt((np.abs(raw) ** 2).sum(0))), torch.from_numpy(raw))
    with pytest.raises(ValueError, match=r"maps\.npy.*\(3, 16, 20\).*\(4, 16, 20\)"):
        load_coil_maps(path, 4, (16, 20))
    with pytest.raises(ValueError, match="coil_maps"):
        load_coil_maps(tmp_path / "missing.npy", 3, (16, 20))


def test_vanishing_pixels_become_uniform() -> None:
    maps = torch.zeros(4, 3, 3, dtype=torch.complex128)
    maps[0, 0, 0] = 2.0
    normalised = normalise_coil_maps(maps)
    assert float(((normalised.abs() ** 2).sum(dim=0) - 1).abs().max()) < 1e-12
    assert torch.allclose(normalised[:, 1, 1], torch.full((4,), 0.5, dtype=torch.complex128))
    assert complex(normalised[0, 0, 0]) == 1.0


def test_bad_count_raises() -> None:
    with pytest.raises(ValueError, match="count"):
        synthetic_coil_maps(0, (8, 8))


def test_maps_estimated_from_the_calibration_centre_match_the_true_ones_inside_the_object():
    """Low-resolution estimate from 24×24 central samples of 4 coils: within 6 % of the true maps up to
    one common phase per pixel, on the object's support, and normalised (Σ|S_c|² = 1)."""
    from auditkit.data import shepp_logan
    from auditkit.operators.coils import estimate_coil_maps
    from auditkit.operators.mri import fft2c

    x = shepp_logan((48, 48), dtype=torch.float64)
    true = synthetic_coil_maps(4, (48, 48), seed=3, dtype=torch.complex128)
    estimated = estimate_coil_maps(fft2c(true * x), calibration=24)
    assert torch.allclose((estimated.abs() ** 2).sum(0), torch.ones(48, 48, dtype=torch.float64))
    inside = x > 0.1
    common = (true.conj() * estimated).sum(0)
    aligned = estimated * (common.conj() / common.abs().clamp_min(1e-12))
    error = ((aligned - true).abs() ** 2).sum(0).sqrt()
    assert float(error[inside].max()) < 0.06  # measured 0.047; 0.010 median


def test_estimating_maps_needs_complex_multicoil_kspace_and_a_calibration_side():
    from auditkit.operators.coils import estimate_coil_maps

    with pytest.raises(ValueError, match="kspace: must be complex"):
        estimate_coil_maps(torch.zeros(4, 8, 8), calibration=4)
    with pytest.raises(ValueError, match="calibration"):
        estimate_coil_maps(torch.zeros(4, 8, 8, dtype=torch.complex128), calibration=1)


def test_where_the_object_gives_no_signal_the_maps_are_extended_from_its_neighbourhood():
    """A small object in a large field of view: the low-resolution ratio L_c / r alone is noise over noise
    outside it; the extension by normalised convolution brings those maps close to the true ones, leaves the
    object's own unchanged, and ``signal_support`` marks where the data determine them."""
    from auditkit.data import shepp_logan
    from auditkit.operators.coils import calibration_image, estimate_coil_maps, signal_support
    from auditkit.operators.mri import fft2c

    x = torch.zeros(64, 64, dtype=torch.float64)
    x[16:48, 16:48] = shepp_logan((32, 32), dtype=torch.float64)
    true = synthetic_coil_maps(4, (64, 64), seed=3, dtype=torch.complex128)
    k = fft2c(true * x)
    g = torch.Generator().manual_seed(0)
    k = k + 1e-4 * float(k.abs().max()) * torch.complex(torch.randn(k.shape, generator=g, dtype=torch.float64),
                                                         torch.randn(k.shape, generator=g, dtype=torch.float64))
    known = signal_support(k, 24)
    assert bool(known[32, 32]) and not bool(known[2, 2]) and 0.1 < float(known.double().mean()) < 0.6  # 0.21

    def disagreement(maps: torch.Tensor) -> torch.Tensor:  # 1 − |Σ_c conj(S_c) Ŝ_c|: 0 up to one phase per pixel
        return 1 - (true.conj() * maps).sum(0).abs()

    plain = normalise_coil_maps(calibration_image(k, 24))
    extended = estimate_coil_maps(k, 24)
    # measured: outside 0.37 → 0.12; inside 0.0012 → 0.0019
    assert float(disagreement(extended)[~known].mean()) < 0.5 * float(disagreement(plain)[~known].mean())
    assert float(disagreement(extended)[known].mean()) < 4e-3
    assert float(((extended.abs() ** 2).sum(0) - 1).abs().max()) < 1e-12
