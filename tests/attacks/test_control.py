"""The search control: its ceilings are the true top singular values, the default searches reach them, short ones do not."""

import pytest
import torch

from auditkit.attacks.control import PlantedControl, search_power, top_singular_value
from auditkit.data.phantoms import shepp_logan
from auditkit.manifest.models import ImageDomainAttack, MeasurementDomainAttack
from auditkit.operators.mri import MRISingleCoil

N = 32


@pytest.fixture(scope="module")
def mri():
    return MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.33, 0.08, 0)


def _dense(apply, like: torch.Tensor) -> torch.Tensor:
    """The real matrix of a real-linear map on inputs shaped like ``like`` (complex parts as pairs)."""
    n = like.numel() * (2 if like.is_complex() else 1)
    columns = []
    for k in range(n):
        basis = torch.zeros(n, dtype=torch.float64)
        basis[k] = 1.0
        e = torch.view_as_complex(basis.reshape(*like.shape, 2)) if like.is_complex() else basis.reshape(like.shape)
        out = apply(e.to(like.dtype))
        columns.append((torch.view_as_real(out) if out.is_complex() else out).reshape(-1).double())
    return torch.stack(columns, dim=1)


def test_the_ceiling_is_the_top_singular_value(mri):
    f = PlantedControl(mri, torch.Generator().manual_seed(1))
    y = mri.forward(shepp_logan((N, N))[None].to(mri.real_dtype))
    exact = float(torch.linalg.matrix_norm(_dense(f, y), ord=2))
    assert top_singular_value(f, y) == pytest.approx(exact, rel=1e-3)
    assert exact > 1.2  # the planted direction stands above the rest (A* alone has norm 1)


@pytest.mark.parametrize("max_iter, iterations, strong", [(ImageDomainAttack().max_iter, 100, True), (6, 2, False)])
def test_default_searches_reach_the_known_worst_case_and_short_ones_do_not(mri, max_iter, iterations, strong):
    ia, ma = ImageDomainAttack(), MeasurementDomainAttack()
    power = search_power(
        mri, shepp_logan((N, N))[None].to(mri.real_dtype), budgets=[0.01, 0.04], etas=[0.01, 0.04],
        control=torch.Generator().manual_seed(1), image_generator=torch.Generator().manual_seed(2),
        noise_generator=torch.Generator().manual_seed(3), lam=ia.lam, step=ia.step, momentum=ia.momentum,
        max_iter=max_iter, init_scale=ia.init_scale, restarts=1, iterations=iterations, lr=ma.lr,
    )
    found = power.image_domain + power.measurement_domain
    assert all(v <= 1.0 + 1e-3 for v in found)  # never above the ceiling
    assert (min(found) >= 0.95) is strong
