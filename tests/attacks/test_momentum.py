import pytest
import torch

from auditkit.attacks import ladder_ascent, plain
from auditkit.manifest.models import ImageDomainAttack
from auditkit.operators.base import batch_norm2
from auditkit.operators.mri import MRISingleCoil

from .toys import SHAPE, Dense, Linear, gaussian, generators, power_sigma

BUDGETS = (0.01, 0.02, 0.04)
#: the search's settings as the manifest sets them by default (the evaluation budget is each test's).
SEARCH = ImageDomainAttack().model_dump(include={"lam", "step", "momentum", "init_scale"})


def _ladder(f, op, x, seed=0, **kw):
    kw = {**SEARCH, "max_iter": 200, **kw}
    return ladder_ascent(plain(f), op, x, BUDGETS, generators=generators(x.shape[0], seed), **kw)


def _gain(f, op, x, r):
    """‖f(A(x + r)) − f(Ax)‖ / ‖r‖ and the same over ‖A r‖, per (image, budget)."""
    n, j = r.shape[:2]
    rr = r.reshape(n * j, *x.shape[1:])
    xs = x.repeat_interleave(j, 0)
    diff = batch_norm2(f(op.forward(xs + rr)) - f(op.forward(xs)))
    return diff / batch_norm2(rr), diff / batch_norm2(op.forward(rr))


def test_linear_map_reaches_the_ceiling_and_never_exceeds_it(dense_setup):
    op, x, f = dense_setup
    ladder = _ladder(f, op, x)
    gain, amplification = _gain(f, op, x, ladder.perturbations)
    composite = f.matrix @ op.matrix  # r real: σ over real inputs is that of [Re BA; Im BA]
    real_form = torch.cat([composite.real, composite.imag]) if composite.is_complex() else composite
    ceiling = float(torch.linalg.eigvalsh(real_form.T @ real_form)[-1]) ** 0.5
    assert float(gain.min()) >= 0.95 * ceiling
    assert float(gain.max()) <= ceiling * (1 + 1e-6)
    # the reported amplification ‖BAr‖/‖Ar‖ is bounded by σ_max(B)
    assert float(amplification.max()) <= float(torch.linalg.matrix_norm(f.matrix, ord=2)) * (1 + 1e-6)
    # the change the search reports is the one it found
    assert torch.allclose(ladder.change, gain.reshape(2, 3) * torch.tensor(BUDGETS, dtype=torch.float64), rtol=1e-6)


def test_mri_composite_reaches_the_ceiling_over_real_perturbations():
    op = MRISingleCoil.from_pattern("cartesian_random", SHAPE, 0.3, 0.08, 0, dtype=torch.float64)
    g = torch.Generator().manual_seed(3)
    gains = 0.5 + 1.5 * torch.rand(op.measurement_shape, generator=g, dtype=torch.float64)
    gains[7] = 3.0  # a clear top, so that the power-iteration ceiling is exact
    f = Linear(op, torch.diag(gains).to(torch.complex128))

    def zero_filled_gain(y):  # f(y) = A*(D y): complex image
        return op.adjoint(f.matrix.diagonal() * y)

    class Map:
        name, operator = "A*D", op

        def __call__(self, y):
            return zero_filled_gain(y)

    x = torch.rand((1, *SHAPE), generator=g, dtype=torch.float64)
    ladder = _ladder(Map(), op, x, max_iter=150)
    gain, _ = _gain(Map(), op, x, ladder.perturbations)
    ceiling = power_sigma(lambda r: zero_filled_gain(op.forward(r)), SHAPE, torch.float64, iters=300)
    assert 0.95 * ceiling <= float(gain.min()) and float(gain.max()) <= ceiling * (1 + 1e-6)


def test_ladder_budgets_are_exact_and_monotone(dense_setup):
    op, x, f = dense_setup
    ladder = _ladder(f, op, x, max_iter=181)
    sizes = batch_norm2(ladder.perturbations.reshape(-1, *SHAPE)).reshape(2, 3) / batch_norm2(x)[:, None]
    assert torch.allclose(sizes, torch.tensor(BUDGETS, dtype=torch.float64).expand(2, 3), rtol=1e-10)
    assert bool((ladder.change[:, 1:] > ladder.change[:, :-1]).all())
    crossed = ladder.crossed_at
    assert bool((crossed >= 0).all()) and bool((crossed[:, 1:] >= crossed[:, :-1]).all())
    assert bool((ladder.change >= ladder.path_change - 1e-12).all())  # refinement never loses ground
    assert bool((ladder.evaluations == 181).all())  # path and refinement use the whole budget


def test_same_seed_same_ladder_and_other_seed_other_start(dense_setup):
    op, x, f = dense_setup
    a, b = _ladder(f, op, x, max_iter=60), _ladder(f, op, x, max_iter=60)
    assert torch.equal(a.perturbations, b.perturbations) and torch.equal(a.change, b.change)
    c = _ladder(f, op, x, seed=1, max_iter=60)
    assert not torch.equal(a.perturbations, c.perturbations)


def test_batched_equals_per_image_and_grouped(dense_setup):
    op, x, f = dense_setup
    gens = generators(2)
    together = ladder_ascent(plain(f), op, x, BUDGETS, generators=gens, max_iter=50, **SEARCH)
    grouped = ladder_ascent(plain(f), op, x, BUDGETS, generators=generators(2), max_iter=50, max_rows=1, **SEARCH)
    for i in range(2):
        alone = ladder_ascent(plain(f), op, x[i : i + 1], BUDGETS, generators=[generators(2)[i]], max_iter=50, **SEARCH)
        assert torch.allclose(alone.perturbations[0], together.perturbations[i], rtol=1e-6, atol=1e-9)
        assert torch.equal(alone.crossed_at[0], together.crossed_at[i])
    assert torch.allclose(grouped.perturbations, together.perturbations, rtol=1e-6, atol=1e-9)


def test_a_shrinking_map_falls_back_to_the_rescaled_last_iterate():
    g = torch.Generator().manual_seed(5)
    op = Dense(gaussian(128, SHAPE[0] * SHAPE[1], g, False))
    f = Linear(op, 0.01 * gaussian(SHAPE[0] * SHAPE[1], 128, g, False))  # σ² ≪ λ: the path shrinks
    x = torch.rand((1, *SHAPE), generator=g, dtype=torch.float64)
    ladder = _ladder(f, op, x, max_iter=40, lam=1.0)
    assert bool(ladder.fallback.all())
    sizes = batch_norm2(ladder.perturbations[0]) / batch_norm2(x)
    assert torch.allclose(sizes, torch.tensor(BUDGETS, dtype=torch.float64), rtol=1e-10)
    assert bool((ladder.change > 0).all())


@pytest.mark.parametrize(
    "kw, message",
    [({"init_scale": 0.0}, "init_scale"), ({"step": 0.0}, "step"), ({"momentum": 1.0}, "momentum"),
     ({"max_iter": 0}, "max_iter")],
)
def test_bad_parameters_are_named(dense_setup, kw, message):
    op, x, f = dense_setup
    with pytest.raises(ValueError, match=message):
        _ladder(f, op, x, **kw)


def test_bad_budgets_and_generators_are_named(dense_setup):
    op, x, f = dense_setup
    with pytest.raises(ValueError, match="budgets"):
        ladder_ascent(plain(f), op, x, (0.02, 0.01), generators=generators(2), max_iter=200, **SEARCH)
    with pytest.raises(ValueError, match="generators"):
        ladder_ascent(plain(f), op, x, BUDGETS, generators=generators(1), max_iter=200, **SEARCH)
