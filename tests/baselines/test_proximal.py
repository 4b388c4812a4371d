"""Proximal maps: soft-thresholding of the complex modulus, projections, and safe gradients at 0."""

from __future__ import annotations

import torch

from auditkit.baselines.proximal import (
    project_item_ball,
    project_pixel_vectors,
    soft_threshold,
    soft_threshold_parts,
    wavelet_soft_threshold,
)
from auditkit.baselines.wavelets import join_parts, split_parts, wavelet_transform


def test_soft_threshold_complex_modulus() -> None:
    r = torch.tensor([0.0, 0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    phase = torch.tensor([0.3, -1.2, 2.0, 0.0, -3.0], dtype=torch.float64)
    c = torch.polar(r, phase)
    out = soft_threshold(c, 1.0)
    expected = torch.polar(torch.clamp(r - 1.0, min=0.0), phase)
    assert torch.allclose(out, expected, atol=1e-15)
    assert torch.allclose(torch.angle(out[3:]), phase[3:])


def test_soft_threshold_real_and_tensor_threshold() -> None:
    c = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    assert torch.equal(soft_threshold(c, 1.0), torch.tensor([-2.0, 0.0, 0.0, 0.0, 2.0], dtype=torch.float64))
    assert torch.equal(soft_threshold(c, torch.tensor(1.0, dtype=torch.float64)), soft_threshold(c, 1.0))
    assert torch.equal(soft_threshold(c, 0.0), c)


def test_gradients_are_finite_at_zero() -> None:
    c = torch.zeros(4, dtype=torch.complex128, requires_grad=True)
    soft_threshold(c, 0.1).abs().sum().backward()
    assert torch.isfinite(torch.view_as_real(c.grad)).all()
    q = torch.zeros(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    project_pixel_vectors(q, 1.0).sum().backward()
    assert torch.isfinite(q.grad).all()
    p = torch.zeros(2, 5, dtype=torch.complex128, requires_grad=True)
    project_item_ball(p).abs().sum().backward()
    assert torch.isfinite(torch.view_as_real(p.grad)).all()


def test_pixel_projection() -> None:
    q = torch.tensor([3.0, 0.3, 0.0, 0.0], dtype=torch.float64).reshape(1, 1, 2, 2)
    q = torch.cat([q, torch.tensor([4.0, 0.4, 0.0, 0.0], dtype=torch.float64).reshape(1, 1, 2, 2)], dim=1)
    out = project_pixel_vectors(q, 1.0)
    assert torch.allclose(out[0, :, 0, 0], torch.tensor([0.6, 0.8], dtype=torch.float64))  # ‖(3,4)‖ = 5 → unit
    assert torch.equal(out[0, :, 0, 1], q[0, :, 0, 1])  # ‖(0.3,0.4)‖ = 0.5 kept
    assert torch.equal(project_pixel_vectors(q, 0.0), torch.zeros_like(q))


def test_item_ball_projection() -> None:
    p = torch.tensor([[3.0, 4.0], [0.3, 0.4]], dtype=torch.float64)
    out = project_item_ball(p, 1.0)
    assert torch.allclose(out[0], torch.tensor([0.6, 0.8], dtype=torch.float64))
    assert torch.equal(out[1], p[1])
    pc = torch.tensor([[3.0 + 4.0j]], dtype=torch.complex128)
    assert torch.allclose(project_item_ball(pc, 1.0).abs(), torch.ones(1, 1, dtype=torch.float64))


def test_parts_threshold_equals_complex_threshold() -> None:
    g = torch.Generator().manual_seed(5)
    c = torch.complex(torch.randn(3, 4, 4, dtype=torch.float64, generator=g), torch.randn(3, 4, 4, dtype=torch.float64, generator=g))
    c[0, 0, 0] = 0.0
    parts = split_parts(c)
    assert torch.allclose(join_parts(soft_threshold_parts(parts, 0.7)), soft_threshold(c, 0.7), atol=1e-15)
    p = parts.clone().requires_grad_(True)
    soft_threshold_parts(p, 0.7).sum().backward()
    assert torch.isfinite(p.grad).all()


def test_wavelet_soft_threshold_is_the_prox_of_the_analysis_l1() -> None:
    """For orthogonal W, W* soft(Wz, τ) minimises ½‖u − z‖² + τ‖Wu‖₁: perturbations never do better."""
    w = wavelet_transform((16, 16), "db2", 2, torch.float64)
    g = torch.Generator().manual_seed(6)
    z = torch.complex(torch.randn(1, 16, 16, dtype=torch.float64, generator=g), torch.randn(1, 16, 16, dtype=torch.float64, generator=g))
    u = wavelet_soft_threshold(w, z, 0.5)

    def energy(v: torch.Tensor) -> float:
        return float(0.5 * (v - z).abs().pow(2).sum() + 0.5 * w.forward(v).abs().sum())

    base = energy(u)
    for _ in range(20):
        d = torch.randn(1, 16, 16, dtype=torch.complex128, generator=g)
        assert energy(u + 1e-3 * d) >= base - 1e-12
