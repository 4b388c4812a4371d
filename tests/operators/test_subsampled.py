"""Masked sampling P_Ω shared by the MRI and Walsh–Hadamard operators."""

from __future__ import annotations

import pytest
import torch

from auditkit.operators.base import real_float_dtype
from auditkit.operators.masks import make_mask
from auditkit.operators.mri import MRISingleCoil


def test_real_float_dtype() -> None:
    assert real_float_dtype(torch.complex64) == torch.float32
    assert real_float_dtype(torch.float64) == torch.float64
    with pytest.raises(ValueError, match="dtype"):
        real_float_dtype(torch.float16)


def test_embed_extract_over_leading_axes() -> None:
    op = MRISingleCoil(make_mask("random_points", (8, 6), 0.5, seed=1))
    grid = torch.randn(2, 3, 8, 6, dtype=torch.complex64)
    values = op.extract(grid)
    assert tuple(values.shape) == (2, 3, op.measurement_shape[0])
    assert torch.equal(op.embed(values), grid * op.mask)
    with pytest.raises(ValueError, match="values"):
        op.embed(values[..., :-1])
    with pytest.raises(ValueError, match="grid"):
        op.extract(grid[..., :-1])
    assert op.sampling_ratio == pytest.approx(float(op.mask.float().mean()))
    assert "MRISingleCoil(explicit mask" in repr(op)
