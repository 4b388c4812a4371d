import torch

from auditkit.attacks.geometry import normalised_ascent_step, scale_items, to_ball, to_sphere, unit
from auditkit.operators.base import batch_norm2


def _batch(complex_: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
    if complex_:
        t = torch.complex(t, torch.randn(3, 4, 5, generator=g, dtype=torch.float64))
    t[1] = 0
    return t


def test_unit_has_norm_one_and_keeps_zero_items():
    for complex_ in (False, True):
        u = unit(_batch(complex_))
        assert torch.allclose(batch_norm2(u), torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64))
        assert torch.isfinite(torch.view_as_real(u) if u.is_complex() else u).all()


def test_to_sphere_and_to_ball_reach_their_radius():
    t = _batch()
    radius = torch.tensor([0.5, 2.0, 100.0], dtype=torch.float64)
    assert torch.allclose(batch_norm2(to_sphere(t, radius)), torch.tensor([0.5, 0.0, 100.0], dtype=torch.float64))
    inside = to_ball(t, radius)
    norms = batch_norm2(t)
    assert torch.allclose(batch_norm2(inside), torch.minimum(norms, radius))
    assert torch.equal(inside[2], t[2])  # already inside: unchanged


def test_scale_items_broadcasts_per_item():
    t = torch.ones(2, 3, 3, dtype=torch.complex128)
    out = scale_items(t, torch.tensor([2.0, -1.0], dtype=torch.float64))
    assert torch.equal(out[0], 2 * t[0]) and torch.equal(out[1], -t[1])


def test_normalised_step_lands_on_the_sphere_and_follows_the_gradient():
    g = torch.Generator().manual_seed(1)
    u = unit(torch.randn(4, 10, generator=g, dtype=torch.float64))
    grad = torch.randn(4, 10, generator=g, dtype=torch.float64) * torch.tensor([1e-8, 1.0, 1e8, 5.0])[:, None].double()
    new, d = normalised_ascent_step(u, grad, torch.zeros_like(u), momentum=0.5, step=4.0)
    assert torch.allclose(batch_norm2(new), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(d, unit(grad))  # the first direction is the normalised gradient, whatever its scale
    assert bool(((new * grad).sum(dim=1) > (u * grad).sum(dim=1)).all())
