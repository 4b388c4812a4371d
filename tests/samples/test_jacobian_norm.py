"""``scripts/jacobian_norm.py``, the samples' direct stability measurement, on maps whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from jacobian_norm import top_singular_value  # noqa: E402


def test_a_linear_maps_jacobian_norm_is_its_top_singular_value():
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(40, 40, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(30, 30, generator=g, dtype=torch.float64))
    sigma = torch.tensor([7.0, 3.0] + [1.0] * 28, dtype=torch.float64)
    m = u[:, :30] @ torch.diag(sigma) @ v.T
    found = top_singular_value(lambda x: x.reshape(1, 30) @ m.T, torch.zeros(1, 30, dtype=torch.float64), iterations=40)
    assert found == pytest.approx(7.0, rel=1e-6)


def test_a_complex_input_and_a_nonlinear_map_use_the_derivative_at_the_point():
    """|z|² on C: at z₀ the derivative of the real output 2 Re(z̄₀ dz) has norm 2|z₀|."""
    z0 = torch.tensor([[3.0 + 4.0j]], dtype=torch.complex128)
    assert top_singular_value(lambda z: z.abs() ** 2, z0, iterations=5) == pytest.approx(10.0, rel=1e-9)
