"""The orthogonal wavelet transform: exact orthogonality, ptwt and PyWavelets layouts, complex inputs, level limits."""

from __future__ import annotations

import numpy as np
import ptwt
import pytest
import pywt
import torch

from auditkit.baselines.wavelets import OrthoWavelet2d, max_levels, wavelet_transform


def _matrix(w: OrthoWavelet2d) -> torch.Tensor:
    """The dense matrix of W, column j = W e_j."""
    n = w.shape[0] * w.shape[1]
    basis = torch.eye(n, dtype=w.dtype).reshape(n, *w.shape)
    return w.forward(basis).reshape(n, n).T


@pytest.mark.parametrize("boundary", ["periodization", "qr"])
@pytest.mark.parametrize("wavelet,levels,shape", [("db4", 1, (16, 16)), ("db2", 2, (16, 24)), ("haar", 3, (8, 16))])
def test_matrix_is_orthogonal(wavelet: str, levels: int, shape: tuple[int, int], boundary: str) -> None:
    w = OrthoWavelet2d(shape, wavelet, levels, dtype=torch.float64, boundary=boundary)
    m = _matrix(w)
    eye = torch.eye(m.shape[0], dtype=torch.float64)
    assert torch.allclose(m @ m.T, eye, atol=1e-12)
    assert torch.allclose(m.T @ m, eye, atol=1e-12)


def test_norm_and_inverse_float64_default_db4() -> None:
    w = wavelet_transform((128, 96), "db4", 4, torch.float64)
    x = torch.randn(3, 128, 96, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    c = w.forward(x)
    assert torch.allclose(torch.linalg.vector_norm(c, dim=(1, 2)), torch.linalg.vector_norm(x, dim=(1, 2)), rtol=1e-10)
    assert (w.adjoint(c) - x).abs().max() < 1e-10
    assert (w.forward(w.adjoint(x)) - x).abs().max() < 1e-10


def test_float32_inverse() -> None:
    w = wavelet_transform((64, 64), "db4", 3, torch.float32)
    x = torch.rand(2, 64, 64, generator=torch.Generator().manual_seed(1))
    assert w.forward(x).dtype == torch.float32
    assert (w.adjoint(w.forward(x)) - x).abs().max() < 1e-5


def test_same_coefficients_as_ptwt_matrix_transform() -> None:
    # Two implementations of the same float64 transform: equal up to rounding (the order of the sums
    # may differ by CPU and library build), so a tolerance of a few thousand ulps of coefficients of
    # size ~1; a misplaced band or boundary treatment differs by O(1).
    close = dict(rtol=1e-12, atol=1e-12)
    x = torch.randn(2, 64, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    ours = wavelet_transform((64, 32), "db4", 2, torch.float64, boundary="qr").forward(x)
    ref = ptwt.MatrixWavedec2("db4", level=2, orthogonalization="qr")(x)
    torch.testing.assert_close(ours[:, :16, :8], ref[0], **close)
    lh, hl, hh = ref[1]
    torch.testing.assert_close(ours[:, :16, 8:16], lh, **close)
    torch.testing.assert_close(ours[:, 16:32, :8], hl, **close)
    torch.testing.assert_close(ours[:, 16:32, 8:16], hh, **close)
    lh, hl, hh = ref[2]
    torch.testing.assert_close(ours[:, :32, 16:], lh, **close)
    torch.testing.assert_close(ours[:, 32:, :16], hl, **close)
    torch.testing.assert_close(ours[:, 32:, 16:], hh, **close)


def test_complex_is_transformed_part_by_part() -> None:
    w = wavelet_transform((32, 32), "db4", 2, torch.float64)
    g = torch.Generator().manual_seed(3)
    re, im = torch.randn(2, 32, 32, dtype=torch.float64, generator=g), torch.randn(2, 32, 32, dtype=torch.float64, generator=g)
    c = w.forward(torch.complex(re, im))
    assert c.dtype == torch.complex128
    assert torch.allclose(c.real, w.forward(re)) and torch.allclose(c.imag, w.forward(im))
    assert (w.adjoint(c) - torch.complex(re, im)).abs().max() < 1e-12


def test_level_limits_and_errors() -> None:
    assert max_levels((128, 128), "db4") == 5
    assert max_levels((32, 32), "db4") == 3
    assert max_levels((100, 100), "db4") == 2  # 100 → 50 → 25 (odd)
    with pytest.raises(ValueError, match="levels: 3 levels of db4 do not fit.*at most 2"):
        OrthoWavelet2d((16, 16), "db4", 3)
    with pytest.raises(ValueError, match="wavelet: .*not orthogonal"):
        OrthoWavelet2d((32, 32), "bior2.2", 1)
    with pytest.raises(ValueError, match="wavelet: unknown"):
        OrthoWavelet2d((32, 32), "nope", 1)
    with pytest.raises(ValueError, match="x: expected trailing shape"):
        wavelet_transform((32, 32), "db4", 1, torch.float64).forward(torch.zeros(1, 16, 16, dtype=torch.float64))


def test_transform_is_cached() -> None:
    assert wavelet_transform((32, 32), "db4", 2, torch.float32) is wavelet_transform((32, 32), "db4", 2, torch.float32)
    assert wavelet_transform((32, 32), "db4", 2, torch.float32) is not wavelet_transform((32, 32), "db4", 2, torch.float64)


def test_periodization_is_pywavelets_periodic_transform() -> None:
    # the default boundary: PyWavelets' "periodization" mode, laid out as pywt.coeffs_to_array lays it out
    x = np.random.default_rng(3).standard_normal((64, 32))
    ours = wavelet_transform((64, 32), "db4", 2, torch.float64).forward(torch.from_numpy(x)[None])[0].numpy()
    ref, _ = pywt.coeffs_to_array(pywt.wavedec2(x, "db4", mode="periodization", level=2))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_periodization_has_no_edge() -> None:
    # a circular shift by 2^levels pixels shifts every band: the image's border is not special
    w = wavelet_transform((32, 32), "db4", 2, torch.float64)
    x = torch.randn(1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    shifted = w.forward(torch.roll(x, shifts=(4, 8), dims=(1, 2)))
    c = w.forward(x)
    torch.testing.assert_close(shifted[:, 16:, 16:], torch.roll(c[:, 16:, 16:], shifts=(2, 4), dims=(1, 2)))
    torch.testing.assert_close(shifted[:, :8, :8], torch.roll(c[:, :8, :8], shifts=(1, 2), dims=(1, 2)))
