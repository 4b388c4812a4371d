import pytest
import torch

from auditkit.attacks import plain, projected_ascent
from auditkit.manifest.models import MeasurementDomainAttack
from auditkit.operators.base import batch_norm2

from .toys import generators

ETAS = (0.01, 0.04)
#: the step as the manifest sets it by default.
LR = MeasurementDomainAttack().lr


def _search(f, op, x, seed=0, **kw):
    kw.setdefault("restarts", 2)
    kw.setdefault("iterations", 60)
    kw.setdefault("lr", LR)
    return projected_ascent(plain(f), op, x, ETAS, generators=generators(x.shape[0], seed), **kw)


def test_linear_map_reaches_sigma_max_and_never_exceeds_it(dense_setup):
    op, x, f = dense_setup  # B A x = x, so ‖f(Ax + e) − x‖ = ‖B e‖
    noise = _search(f, op, x)
    e = noise.perturbations.reshape(-1, *op.measurement_shape)
    y = op.forward(x).repeat_interleave(len(ETAS), 0)
    amplification = batch_norm2(f(y + e) - f(y)) / batch_norm2(e)
    sigma = float(torch.linalg.matrix_norm(f.matrix, ord=2))
    assert float(amplification.min()) >= 0.95 * sigma
    assert float(amplification.max()) <= sigma * (1 + 1e-6)
    radius = torch.tensor(ETAS, dtype=torch.float64)[None, :] * batch_norm2(op.forward(x))[:, None]
    assert torch.allclose(batch_norm2(e).reshape(2, 2), radius, rtol=1e-9)  # lr 5 ≥ 2: on the sphere
    # the error it reports is the one it found
    assert torch.allclose(noise.error.reshape(-1), batch_norm2(f(y + e) - x.repeat_interleave(2, 0)) / batch_norm2(
        x.repeat_interleave(2, 0)), rtol=1e-6)


def test_the_search_maximises_the_distance_to_its_target(dense_setup):
    op, x, f = dense_setup
    offset = 10.0 * torch.ones_like(x[0])  # f + offset: its error is dominated by the offset, its change is not
    def g(y):
        return f(y) + offset
    y = op.forward(x)
    clean = g(y)
    noise = _search(g, op, x, target=clean)
    e = noise.perturbations.reshape(-1, *op.measurement_shape)
    rows = y.repeat_interleave(len(ETAS), 0)
    change = batch_norm2(g(rows + e) - g(rows))
    sigma = float(torch.linalg.matrix_norm(f.matrix, ord=2))
    assert float((change / batch_norm2(e)).min()) >= 0.95 * sigma  # the worst change of an affine map: σ_max ‖e‖
    # what it reports is the distance to the target, relative to ‖x‖
    assert torch.allclose(noise.error.reshape(-1), change / batch_norm2(x.repeat_interleave(2, 0)), rtol=1e-6)
    with pytest.raises(ValueError, match="target"):
        _search(g, op, x, target=clean[:1])


def test_small_steps_stay_inside_the_ball(dense_setup):
    op, x, f = dense_setup
    noise = _search(f, op, x, lr=0.05, iterations=5)
    radius = torch.tensor(ETAS, dtype=torch.float64)[None, :] * batch_norm2(op.forward(x))[:, None]
    sizes = batch_norm2(noise.perturbations.reshape(-1, *op.measurement_shape)).reshape(2, 2)
    assert bool((sizes <= radius * (1 + 1e-9)).all())


def test_worst_restart_is_kept(dense_setup):
    op, x, f = dense_setup
    many = _search(f, op, x, restarts=4, iterations=3)
    assert many.restart.shape == (2, 2) and bool(((many.restart >= 0) & (many.restart < 4)).all())
    assert bool((many.evaluations == 4 * 3 * len(ETAS)).all())
    one = _search(f, op, x, restarts=1, iterations=3)  # the first restart draws the same start
    assert bool((many.error >= one.error - 1e-12).all())


def test_same_seed_same_noise_and_batched_equals_per_image(dense_setup):
    op, x, f = dense_setup
    a, b = _search(f, op, x, iterations=20), _search(f, op, x, iterations=20)
    assert torch.equal(a.perturbations, b.perturbations) and torch.equal(a.error, b.error)
    grouped = _search(f, op, x, iterations=20, max_rows=1)
    assert torch.allclose(grouped.perturbations, a.perturbations, rtol=1e-6, atol=1e-12)
    for i in range(2):
        alone = projected_ascent(plain(f), op, x[i : i + 1], ETAS, generators=[generators(2)[i]], restarts=2, iterations=20, lr=LR)
        assert torch.allclose(alone.perturbations[0], a.perturbations[i], rtol=1e-6, atol=1e-12)
    assert a.perturbations.is_complex() == op.is_complex


@pytest.mark.parametrize("kw, message", [({"restarts": 0}, "restarts"), ({"iterations": 0}, "iterations"),
                                         ({"lr": 0.0}, "lr")])
def test_bad_parameters_are_named(dense_setup, kw, message):
    op, x, f = dense_setup
    with pytest.raises(ValueError, match=message):
        _search(f, op, x, **kw)
    with pytest.raises(ValueError, match="etas"):
        projected_ascent(plain(f), op, x, (0.0,), generators=generators(2), restarts=2, iterations=60, lr=LR)


def test_nested_levels_keep_a_smaller_levels_worse_perturbation():
    """‖e‖ ≤ η‖Ax‖ balls are nested: the level-0.02 search found less than the level-0.01 one, so it reports that."""
    from auditkit.attacks.projected import WorstNoise, nested

    e = torch.arange(2 * 3 * 4, dtype=torch.float64).reshape(2, 3, 4)
    worst = WorstNoise(
        etas=(0.01, 0.02, 0.04),
        perturbations=e,
        error=torch.tensor([[0.3, 0.2, 0.5], [0.1, 0.2, 0.3]], dtype=torch.float64),
        restart=torch.tensor([[0, 1, 1], [1, 0, 1]]),
        evaluations=torch.tensor([6, 6]),
        progress=torch.zeros(2, 3, 2, dtype=torch.float64),
    )
    kept = nested(worst)
    assert kept.error.tolist() == [[0.3, 0.3, 0.5], [0.1, 0.2, 0.3]]
    assert torch.equal(kept.perturbations[0, 1], e[0, 0]) and torch.equal(kept.perturbations[1], e[1])
    assert kept.restart.tolist() == [[0, 0, 1], [1, 0, 1]]
    assert kept.found_at.tolist() == [[0.01, 0.01, 0.04], [0.01, 0.02, 0.04]]
    with pytest.raises(ValueError, match="increasing"):
        nested(WorstNoise(etas=(0.02, 0.01), perturbations=e[:, :2], error=worst.error[:, :2],
                          restart=worst.restart[:, :2], evaluations=worst.evaluations, progress=worst.progress[:, :2]))


def test_given_measurements_replace_a_x(dense_setup):
    op, x, f = dense_setup
    y = op.forward(x)
    plain_run, given = _search(f, op, x, iterations=5), _search(f, op, x, iterations=5, y=y.clone())
    assert torch.equal(plain_run.perturbations, given.perturbations)  # y = A x: the same search, bit for bit
    shifted = _search(f, op, x, iterations=5, y=2 * y)  # acquired data on another scale: the ball is ‖e‖ ≤ η‖y‖
    radius = torch.tensor(ETAS, dtype=torch.float64)[None, :] * batch_norm2(2 * y)[:, None]
    assert bool((batch_norm2(shifted.perturbations.reshape(-1, *op.measurement_shape)).reshape(2, 2)
                 <= radius * (1 + 1e-9)).all())
    with pytest.raises(ValueError, match="y: expected shape"):
        _search(f, op, x, y=y[:1])
