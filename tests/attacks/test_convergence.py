import torch

from auditkit.attacks import ladder_ascent, plain, projected_ascent
from auditkit.attacks.convergence import concatenate, final, half_budget_share, record
from auditkit.manifest.models import ImageDomainAttack, MeasurementDomainAttack

from .toys import generators

BUDGETS = (0.01, 0.04)
SEARCH = ImageDomainAttack().model_dump(include={"lam", "step", "momentum", "init_scale"})


NAN = float("nan")


def test_record_ends_each_row_at_its_own_final_best():
    steps = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.0])]
    trace = record(steps, torch.tensor([4.0, 5.0]), iterations=torch.tensor([2, 1]))
    assert torch.allclose(trace, torch.tensor([[1.0, 3.0, 4.0], [2.0, 5.0, NAN]]), equal_nan=True)
    assert torch.equal(final(trace), torch.tensor([4.0, 5.0]))


def test_concatenate_pads_shorter_records_with_nan_and_each_keeps_its_own_half():
    joined = concatenate([torch.tensor([[0.1, 0.4, 0.7, 1.0]]), torch.linspace(0.1, 1.0, 31)[None]])
    assert joined.shape == (2, 31) and bool(torch.isnan(joined[0, 4:]).all())
    assert torch.equal(final(joined), torch.tensor([1.0, 1.0]))
    # the short record's half is its own (entry 1 of 4: 0.4), not an entry of the padding
    assert torch.allclose(half_budget_share(joined), torch.tensor([0.4, float(torch.linspace(0.1, 1.0, 31)[15])]))


def test_half_budget_share_says_whether_a_search_levelled_off():
    trace = torch.tensor([[0.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.2, 0.5, 0.8, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(half_budget_share(trace), torch.tensor([1.0, 0.5, 1.0]))


def test_projected_record_is_non_decreasing_and_ends_at_the_reported_worst_case(dense_setup):
    op, x, f = dense_setup
    noise = projected_ascent(plain(f), op, x, BUDGETS, generators=generators(2), restarts=2, iterations=30,
                             lr=MeasurementDomainAttack().lr)
    assert noise.progress.shape == (2, len(BUDGETS), 31)
    assert bool((noise.progress.diff(dim=-1) >= 0).all())
    assert torch.allclose(noise.progress[..., -1], noise.error)
    # power iteration on a dense map: most of the ceiling is found in the first half of the iterations
    assert float(half_budget_share(noise.progress).min()) > 0.95


def test_ladder_record_runs_from_the_rung_to_the_kept_change(dense_setup):
    op, x, f = dense_setup
    ladder = ladder_ascent(plain(f), op, x, BUDGETS, generators=generators(2), max_iter=80, max_rows=2, **SEARCH)
    assert ladder.progress.shape[:2] == (2, len(BUDGETS))
    steps = ladder.progress.diff(dim=-1)
    assert bool((steps[~torch.isnan(steps)] >= 0).all())
    assert torch.allclose(ladder.progress[..., 0], ladder.path_change)
    assert torch.allclose(final(ladder.progress), ladder.change)


def test_per_image_ladders_with_records_of_different_lengths_join(dense_setup):
    """A default audit joins one unit per image; their refinements may run different numbers of steps."""
    from auditkit.checks.units import join

    op, x, f = dense_setup
    short = ladder_ascent(plain(f), op, x[:1], BUDGETS, generators=generators(1), max_iter=40, **SEARCH)
    long = ladder_ascent(plain(f), op, x[1:], BUDGETS, generators=generators(1), max_iter=60, **SEARCH)
    assert short.progress.shape[-1] != long.progress.shape[-1]
    joined = join([short, long])
    assert joined.progress.shape == (2, len(BUDGETS), max(short.progress.shape[-1], long.progress.shape[-1]))
    assert torch.equal(final(joined.progress[:1]), final(short.progress))  # its own final value, NaN after it
