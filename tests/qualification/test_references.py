"""The reference networks of the self-test: their known worst cases are what their construction says."""

import pytest
import torch

from auditkit.attacks.control import top_singular_value
from auditkit.operators.base import power_norm
from auditkit.operators.ct import RadonCT
from auditkit.operators.mri import MRISingleCoil
from auditkit.qualification.references import Adjoint, Blur, Expect, known_worst_cases, planted, references

N = 32


@pytest.fixture(scope="module")
def mri():
    return MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.3, 0.08, 0)


def test_the_adjoint_of_a_single_coil_mri_operator_has_gain_one(mri):
    image, measurement = known_worst_cases(Adjoint(mri), mri)
    assert image == pytest.approx(1.0, rel=1e-4)  # A*A is a projection; the centre lines hold real images
    assert measurement == pytest.approx(1.0, rel=1e-4)  # A A* = I: A* is an isometry


def test_the_planted_map_reaches_its_target_and_the_adjoint_adds_at_most_one(mri):
    f = planted(mri, 50.0)
    image, _ = known_worst_cases(f, mri)
    assert 50.0 - 1e-3 <= image <= 51.0


def test_the_blur_is_a_contraction(mri):
    blur = Blur(mri, 3.0)
    like = torch.zeros((1, *mri.measurement_shape), dtype=mri.image_dtype)
    assert top_singular_value(blur, like) <= 1.0 + 1e-4
    y = mri.forward(torch.rand(2, N, N))
    assert blur(y).dtype == torch.float32 and blur(y).shape == (2, N, N)


def test_on_ct_the_adjoint_is_normalised_by_the_operator_norm():
    op = RadonCT((N, N), 24)
    f = Adjoint(op)
    assert f.scale == pytest.approx(1.0 / power_norm(op) ** 2)
    image, _ = known_worst_cases(f, op)
    assert image == pytest.approx(1.0, rel=1e-3)  # A*A/‖A‖² has top eigenvalue 1


def test_every_reference_states_what_it_must_show():
    refs = references(10.0, 10.0)
    assert [r.key for r in refs] == ["adjoint", "planted", "blur"]
    wanted = {r.key: {(e.prefix, e.expect) for e in r.expectations} for r in refs}
    assert ("adversarial.change_vs_budget", Expect.FAIL) in wanted["planted"]
    assert ("adversarial.change_vs_budget", Expect.PASS) in wanted["adjoint"]
    assert ("structural.recovery[", Expect.FAIL) in wanted["blur"]
