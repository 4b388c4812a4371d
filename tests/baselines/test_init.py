"""build_baseline and DEFAULT_PARAMS: defaults per modality, parameter validation, level fallback."""

from __future__ import annotations

import pytest
import torch

from auditkit.baselines import DEFAULT_PARAMS, METHODS, MODALITIES, build_baseline, modality_of
from auditkit.operators.ct import RadonCT
from auditkit.operators.mri import MRISingleCoil

from .conftest import DenseMatrix, RowSampledFFT


def test_defaults_cover_every_method_and_modality() -> None:
    assert set(DEFAULT_PARAMS) == set(METHODS)
    for method in METHODS:
        assert set(DEFAULT_PARAMS[method]) == set(MODALITIES)
        for params in DEFAULT_PARAMS[method].values():
            assert params["lam"] > 0 and params["max_iter"] >= 1 and params["tol"] > 0


def test_defaults_are_used_and_overridable(fft_op: RowSampledFFT) -> None:
    f = build_baseline("l1_wavelet", fft_op, modality="hadamard")
    assert f.params["lam"] == DEFAULT_PARAMS["l1_wavelet"]["hadamard"]["lam"]
    assert f.params["modality"] == "hadamard" and f.max_iter == DEFAULT_PARAMS["l1_wavelet"]["hadamard"]["max_iter"]
    g = build_baseline("l1_wavelet", fft_op, modality="hadamard", lam=0.5, max_iter=7)
    assert g.params["lam"] == 0.5 and g.max_iter == 7 and g.unrolled_iters == 7


def test_tv_step_follows_lambda_unless_given(fft_op: RowSampledFFT) -> None:
    base = DEFAULT_PARAMS["tv"]["mri_singlecoil"]
    f = build_baseline("tv", fft_op, modality="mri_singlecoil", lam=base["lam"] * 10)
    assert f.params["tau"] == pytest.approx(base["tau"] / 10)
    assert build_baseline("tv", fft_op, modality="mri_singlecoil", lam=1.0, tau=0.5).params["tau"] == 0.5


def test_levels_fall_back_to_what_fits_unless_requested(fft_op: RowSampledFFT) -> None:
    f = build_baseline("l1_wavelet", fft_op, lam=0.01)  # 32×32: db4 fits 3 levels
    assert f.params["levels"] == 3
    with pytest.raises(ValueError, match="levels: 4 levels of db4 do not fit"):
        build_baseline("l1_wavelet", fft_op, lam=0.01, levels=4)
    with pytest.raises(ValueError, match="levels: image shape .* too small"):
        build_baseline("l1_wavelet", RowSampledFFT((6, 6), 0.5), lam=0.01)


def test_unknown_names_are_rejected(fft_op: RowSampledFFT, dense_op: DenseMatrix) -> None:
    with pytest.raises(ValueError, match="method: unknown baseline 'admm'"):
        build_baseline("admm", fft_op)
    with pytest.raises(ValueError, match="params: unknown parameter.*levels.*for tv"):
        build_baseline("tv", fft_op, lam=0.1, levels=3)
    with pytest.raises(ValueError, match="modality: unknown modality 'pet'"):
        build_baseline("tv", fft_op, modality="pet")
    with pytest.raises(ValueError, match="modality: cannot tell the modality of DenseMatrix"):
        build_baseline("tv", dense_op)


def test_modality_is_read_from_the_operator() -> None:
    class Scanner(RowSampledFFT):
        modality = "ct_parallel"

    assert modality_of(MRISingleCoil.from_pattern("cartesian_random", (16, 16), ratio=0.5)) == "mri_singlecoil"
    assert modality_of(RadonCT((16, 16), 8)) == "ct_parallel"
    assert modality_of(Scanner((8, 8), 0.5)) == "ct_parallel"
    assert modality_of(RowSampledFFT((8, 8), 0.5)) is None


def test_warm_start_choice(dense_op: DenseMatrix) -> None:
    y = dense_op.forward(torch.rand(1, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    start_adj = build_baseline("tv", dense_op, lam=0.1, warm_start="adjoint").scheme.initial_image(y)
    start_pinv = build_baseline("tv", dense_op, lam=0.1).scheme.initial_image(y)
    assert torch.equal(start_adj, dense_op.adjoint(y)) and torch.equal(start_pinv, dense_op.pinv(y))
    with pytest.raises(ValueError, match="warm_start: must be one of"):
        build_baseline("l1_wavelet", dense_op, lam=0.1, levels=1, warm_start="zero")
