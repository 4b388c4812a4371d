"""A network that ignores its input cannot be moved by an attack, and must not crash it."""

import torch

from auditkit.attacks.objective import distance_gradient


def test_constant_map_has_zero_gradient():
    x = torch.rand(2, 4, 4, dtype=torch.float64)
    var = torch.zeros(2, 3, dtype=torch.float64)
    rows = torch.arange(2)
    constant = torch.ones(2, 4, 4, dtype=torch.float64)
    out, dist, grad = distance_gradient(lambda y, r: constant, lambda v: v, var, rows, x)
    assert torch.equal(out, constant)
    assert torch.equal(grad, torch.zeros_like(var))
    assert torch.allclose(dist, torch.linalg.vector_norm((constant - x).reshape(2, -1), dim=1))
