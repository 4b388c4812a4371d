"""What every operator declares through the base: shapes, precision, device, modality and CT angle counts."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from auditkit.operators.base import ForwardOperator
from auditkit.operators.coils import synthetic_coil_maps
from auditkit.operators.ct import RadonCT
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.operators.mri import MRISingleCoil
from auditkit.operators.mri_multicoil import MRIMultiCoil

CPU = torch.device("cpu")


@dataclass(frozen=True)
class Declared:
    """The attributes one operator must report."""

    image_shape: tuple[int, int]
    measurement_shape: tuple[int, ...]
    is_complex: bool
    modality: str
    has_grid: bool
    n_angles: int | None = None
    n_full: int | None = None


def _single(dtype: torch.dtype) -> tuple[ForwardOperator, Declared]:
    op = MRISingleCoil.from_pattern("cartesian_random", (16, 24), ratio=0.3, seed=1, dtype=dtype)
    return op, Declared((16, 24), (int(op.mask.sum()),), True, "mri_singlecoil", True)


def _multi(dtype: torch.dtype) -> tuple[ForwardOperator, Declared]:
    maps = synthetic_coil_maps(3, (16, 24), seed=0)
    op = MRIMultiCoil.from_pattern("cartesian_equispaced", (16, 24), ratio=0.3, seed=0, maps=maps, dtype=dtype)
    return op, Declared((16, 24), (3, int(op.mask.sum())), True, "mri_multicoil", True)


def _hadamard(dtype: torch.dtype) -> tuple[ForwardOperator, Declared]:
    op = HadamardSubsampled.from_pattern("variable_density", (16, 32), ratio=0.25, seed=0, dtype=dtype)
    return op, Declared((16, 32), (int(op.mask.sum()),), False, "hadamard", True)


def _ct(dtype: torch.dtype) -> tuple[ForwardOperator, Declared]:
    op = RadonCT((16, 20), 12, dtype=dtype)
    det, full = math.ceil(math.sqrt(2) * 20), math.ceil(math.pi / 2 * 20)
    return op, Declared((16, 20), (12, det), False, "ct_parallel", False, n_angles=12, n_full=full)


BUILDERS = {"mri_singlecoil": _single, "mri_multicoil": _multi, "hadamard": _hadamard, "ct_parallel": _ct}
COMPLEX_OF = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def _assert_declares(op: ForwardOperator, expected: Declared, dtype: torch.dtype, device: torch.device) -> None:
    assert op.image_shape == expected.image_shape
    assert op.measurement_shape == expected.measurement_shape
    assert op.real_dtype == dtype
    assert op.image_dtype == (COMPLEX_OF[dtype] if expected.is_complex else dtype)
    assert op.is_complex is expected.is_complex
    assert op.device == device
    assert op.modality == expected.modality
    assert op.has_grid is expected.has_grid
    assert op.n_angles == expected.n_angles and op.n_full == expected.n_full


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_operator_declares_its_shapes_dtype_device_and_angles(kind: str, dtype: torch.dtype) -> None:
    op, expected = BUILDERS[kind](dtype)
    _assert_declares(op, expected, dtype, CPU)
    x = torch.zeros((2, *op.image_shape), dtype=op.image_dtype)
    y = op.forward(x)
    assert tuple(y.shape) == (2, *op.measurement_shape) and y.dtype == op.image_dtype and y.device == op.device


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_to_carries_the_declarations_to_the_new_dtype(kind: str) -> None:
    op, expected = BUILDERS[kind](torch.float32)
    _assert_declares(op.to(dtype=torch.float64), expected, torch.float64, CPU)
    _assert_declares(op.to(device="cpu"), expected, torch.float32, CPU)


def test_with_ratio_and_with_angles_declare_the_new_angle_count() -> None:
    op = RadonCT((16, 20), 12)
    assert op.with_angles(7).n_angles == 7 and op.with_angles(7).measurement_shape[0] == 7
    assert op.with_ratio(0.5).n_angles == 16 and op.with_ratio(0.5).n_full == op.n_full


def test_only_ct_knows_its_norm_and_only_grids_embed() -> None:
    ct, _ = _ct(torch.float64)
    assert isinstance(ct.norm_squared, float) and ct.norm_squared > 0
    with pytest.raises(NotImplementedError, match="RadonCT measures no grid"):
        ct.embed(torch.zeros((1, *ct.measurement_shape), dtype=torch.float64))
    for kind in ("mri_singlecoil", "mri_multicoil", "hadamard"):
        op, _ = BUILDERS[kind](torch.float64)
        assert op.norm_squared is None
        grid = op.embed(op.forward(torch.ones((1, *op.image_shape), dtype=op.image_dtype)))
        assert tuple(grid.shape[-2:]) == op.image_shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_operator_on_cuda_declares_the_cuda_device(kind: str) -> None:
    op, expected = BUILDERS[kind](torch.float64)
    gpu = op.to(device="cuda")
    _assert_declares(gpu, expected, torch.float64, torch.device("cuda", torch.cuda.current_device()))
    y = gpu.forward(torch.zeros((1, *gpu.image_shape), dtype=gpu.image_dtype, device=gpu.device))
    assert y.device == gpu.device
