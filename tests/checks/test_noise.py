import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.noise import NoiseCheck, noise_scale, relative_changes, standard_noise
from auditkit.data.phantoms import shepp_logan
from auditkit.checks.result import Verdict
from auditkit.manifest.models import NoiseConfig
from auditkit.operators.base import inner
from auditkit.operators.mri import MRISingleCoil

# one_thread is an autouse fixture: importing it applies it to this module.
from tests.checks.context import audit_context, one_thread  # noqa: F401
from tests.checks.networks import Map, ZeroFilled

N = 32


class _RankTwo:
    """f(y) = Re⟨v, y⟩ z + κ Re⟨u, y⟩ w: linear, singular values 1 and κ.

    v = Ax/‖Ax‖, u ⟂ v (real inner product), z = x/‖x‖ ⟂ w, all unit vectors. Then f(Ax) = ‖Ax‖ z and
    ‖f(Ax + e) − f(Ax)‖² / ‖f(Ax)‖² = (Re⟨v, e⟩² + κ² Re⟨u, e⟩²) / ‖Ax‖², with Re⟨v, e⟩, Re⟨u, e⟩
    independent N(0, σ²/2) for the check's complex noise of entry variance σ² = (η‖Ax‖)²/m.
    """

    name = "rank-two linear map"

    def __init__(self, operator, x, kappa):
        self.operator, self.kappa = operator, kappa
        g = torch.Generator().manual_seed(7)
        y0 = operator.forward(x[None])
        self.v = y0 / torch.linalg.vector_norm(y0)
        u = torch.complex(*(torch.randn(y0.shape, generator=g) for _ in range(2)))
        u = u - inner(self.v, u)[:, None] * self.v
        self.u = u / torch.linalg.vector_norm(u)
        self.z = (x / torch.linalg.vector_norm(x))[None]
        w = torch.randn(self.z.shape, generator=g)
        w = w - (w * self.z).sum() * self.z
        self.w = w / torch.linalg.vector_norm(w)

    def __call__(self, y):
        a = inner(self.v.expand_as(y), y)[:, None, None]
        b = inner(self.u.expand_as(y), y)[:, None, None]
        return a * self.z + self.kappa * b * self.w


def exceedance_probability(level, threshold, m, kappa):
    """P(Z₁² + κ² Z₂² > T), T = 2m t²/η², for independent standard normals (the rank-two map's exact answer)."""
    big_t = 2 * m * threshold**2 / level**2
    root = math.sqrt(big_t)

    def inside(z):
        return norm.pdf(z) * 2 * norm.sf(math.sqrt(max(big_t - z * z, 0.0)) / kappa)

    body, _ = integrate.quad(inside, -root, root, epsabs=1e-13, limit=200)
    return body + 2 * norm.sf(root)


@pytest.fixture(scope="module")
def mri():
    op = MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.3, 0.1, 0)
    return op, build_baseline("l1_wavelet", op, max_iter=30)


# -- the noise model ---------------------------------------------------------------------------


def test_complex_noise_has_unit_entry_power_split_evenly(mri):
    op, _ = mri
    g = standard_noise(op, 400, torch.Generator().manual_seed(1), torch.float64)
    assert g.shape == (400, *op.measurement_shape) and g.is_complex()
    assert float(g.real.var()) == pytest.approx(0.5, rel=0.02)
    assert float(g.imag.var()) == pytest.approx(0.5, rel=0.02)
    assert float((g.abs() ** 2).mean()) == pytest.approx(1.0, rel=0.02)
    again = standard_noise(op, 400, torch.Generator().manual_seed(1), torch.float64)
    assert torch.equal(g, again)


def test_noise_scale_gives_the_level_in_mean_square():
    y = torch.ones(100, dtype=torch.complex64) * 2  # ‖y‖ = 20, m = 100
    assert noise_scale(0.05, y) == pytest.approx(0.05 * 20 / 10)


def test_relative_changes_do_not_depend_on_the_batch_size(mri):
    op, baseline = mri
    y = op.forward(shepp_logan((N, N))[None])[0]
    g = standard_noise(op, 6, torch.Generator().manual_seed(3))
    scales = [noise_scale(0.05, y)]

    def call(ys, labels):
        return baseline(ys)

    one, f0, _ = relative_changes(call, y, g, scales, batch_size=1)
    many, _, _ = relative_changes(call, y, g, scales, batch_size=4)
    assert torch.allclose(one, many, rtol=1e-4, atol=1e-7)
    assert f0.shape == (N, N)
    with pytest.raises(ValueError, match="batch_size"):
        relative_changes(call, y, g, scales, batch_size=0)


# -- exact answers -----------------------------------------------------------------------------


def test_rank_two_map_fails_where_the_exact_probability_is_high(mri):
    op, _ = mri
    x = shepp_logan((N, N))
    m = op.measurement_shape[0]
    threshold, high_level = 0.1, 0.05
    # κ puts the exact exceedance probability near 0.3 at the high level (Z₁ ignored for the choice)
    kappa = math.sqrt(2 * m * threshold**2 / high_level**2) / norm.isf(0.15)
    net = _RankTwo(op, x, kappa)
    cfg = NoiseConfig(levels=[0.01, high_level], draws=400, threshold=threshold, survival_ratios=[])
    result = NoiseCheck().run(audit_context(op, net, ZeroFilled(op), ids=["phantom"]), cfg)
    assert result.verdict is Verdict.FAIL, result.reason
    crit = {c.name: c for c in result.criteria}
    assert crit["noise.exceedance_upper_bound[level=0.01]"].passed
    assert not crit["noise.exceedance_upper_bound[level=0.05]"].passed
    by_level = result.subjects["network"].summary["exceedance_by_level"]
    for level in (0.01, high_level):
        exact = exceedance_probability(level, threshold, m, kappa)
        row = by_level[f"{level:g}"]
        assert row["ci_low"] <= exact <= row["ci_high"], (level, exact, row)
        assert row["trials"] == 400
    assert exceedance_probability(0.01, threshold, m, kappa) < 1e-6
    assert 0.25 < exceedance_probability(high_level, threshold, m, kappa) < 0.35
    assert by_level["0.01"]["events"] == 0


@pytest.mark.parametrize("amplified", [True, False])
def test_baseline_relative_threshold_fails_a_map_that_amplifies_noise_far_beyond_the_baseline(mri, amplified):
    """Default τ = 2·max(median baseline change, η). The baseline here is the zero-filled image, whose change is
    ‖e‖/‖Ax‖ ≈ η: τ ≈ 2η at every level, and the rank-two map's exact exceedance probability at τ is known."""
    op, _ = mri
    x = shepp_logan((N, N))
    m = op.measurement_shape[0]
    kappa = math.sqrt(2 * m * 4.0) / norm.isf(0.15) if amplified else 0.5  # P ≈ 0.3 at τ = 2η, or ≈ 0
    net = _RankTwo(op, x, kappa)
    cfg = NoiseConfig(levels=[0.01, 0.05], draws=400, survival_ratios=[])
    result = NoiseCheck().run(audit_context(op, net, ZeroFilled(op), ids=["phantom"]), cfg)
    assert result.verdict is (Verdict.FAIL if amplified else Verdict.PASS), result.criteria
    for level in (0.01, 0.05):
        row = result.subjects["network"].per_image[0]["levels"][f"{level:g}"]
        tau = row["threshold"]
        assert tau == pytest.approx(2 * level, rel=0.02)  # twice the zero-filled median change
        exact = exceedance_probability(level, tau, m, kappa)
        assert row["ci_low"] <= exact <= row["ci_high"], (level, exact, row)
        assert "2 × max(the baseline's median change" in result.criteria[0].description


def test_zero_filled_change_is_the_noise_size_and_passes(mri, tmp_path):
    """A* is an isometry on the measurements and ‖A*Ax‖ = ‖Ax‖, so the relative change is exactly ‖e‖/‖Ax‖."""
    op, baseline = mri
    zf = ZeroFilled(op)
    cfg = NoiseConfig(levels=[0.02, 0.05], draws=80, survival_ratios=[])
    result = NoiseCheck().run(audit_context(op, zf, baseline, ids=["phantom"], arrays=ArraySink(tmp_path)), cfg)
    assert result.verdict is Verdict.PASS, [c for c in result.criteria if not c.passed]
    (note,) = result.notes  # only the smallest probability 80 draws can certify
    assert "0.0451, the smallest harmful-draw probability this run can certify" in note
    arrays = load_npz(tmp_path / "arrays" / "noise.npz")
    np.testing.assert_allclose(arrays["network_relative_change"], arrays["noise_size"], rtol=1e-5)
    assert arrays["threshold"].shape == (1, 2) and bool((arrays["threshold"] >= 2 * np.array([0.02, 0.05])).all())
    m = op.measurement_shape[0]
    for li, level in enumerate(cfg.levels):  # realised sizes: mean η, relative spread ≈ 1/(2√m)
        sizes = arrays["noise_size"][0, li] / level
        assert abs(sizes.mean() - 1) < 5 / (2 * math.sqrt(m * sizes.size))
        assert sizes.std() == pytest.approx(1 / (2 * math.sqrt(m)), rel=0.3)
    assert result.arrays == ["arrays/noise.npz"]
    assert list(arrays["image_ids"]) == ["phantom"] and list(arrays["levels"]) == [0.02, 0.05]
    for key in ("network", "baseline"):
        assert arrays[f"{key}_relative_change"].shape == (1, 2, 80)
        assert arrays[f"{key}_f0"].shape == arrays[f"{key}_worst_draw"].shape == (1, N, N)
    base = result.subjects["baseline"].summary["relative_change_by_level"]["0.05"]
    assert base["max"] < 0.1  # the ℓ1 baseline is no less stable than the zero-filled image here


def test_artefact_of_a_linear_map_always_survives(mri, tmp_path):
    """For A*A (a projection): ‖A*A(r₁ + v)‖ ≥ ‖A*A r₁‖ − ‖v‖ with ‖A*A r₁‖ = ‖r₁‖ at the worst case, so ≥ 0.75‖r₁‖."""
    op, _ = mri
    zf = ZeroFilled(op)
    cfg = NoiseConfig(levels=[0.01], draws=30, max_probability=0.2, survival_ratios=[0.25, 1.5])
    result = NoiseCheck().run(audit_context(op, zf, zf, ids=["phantom"], arrays=ArraySink(tmp_path)), cfg)
    survival = result.subjects["network"].summary["survival"]
    assert survival["0.25"]["events"] == survival["0.25"]["trials"] == 30
    assert survival["1.5"]["trials"] == 30
    row = result.subjects["network"].per_image[0]["survival"]
    x = shepp_logan((N, N))[None]
    ratio = float(torch.linalg.vector_norm(x) / torch.linalg.vector_norm(op.forward(x)))
    assert row["worst_change"] == pytest.approx(0.01 * ratio, rel=1e-3)  # ‖A*A r₁‖/‖A*Ax‖ = ‖r₁‖/‖Ax‖, r₁ in the range
    assert any("survives Gaussian noise of size 0.25‖r1‖ in 30 of 30 draws" in n for n in result.notes)
    arrays = load_npz(tmp_path / "arrays" / "noise.npz")
    assert arrays["network_r1"].shape == (1, N, N) and arrays["network_survival_change"].shape == (1, 2, 30)
    x = arrays["x"][0]
    assert np.linalg.norm(arrays["network_r1"][0]) == pytest.approx(0.01 * np.linalg.norm(x), rel=1e-4)
    assert list(arrays["survival_ratios"]) == [0.25, 1.5]


def test_baseline_is_reported_beside_with_the_same_draws(mri):
    op, baseline = mri
    cfg = NoiseConfig(levels=[0.05], draws=10, max_probability=0.4, survival_ratios=[])
    result = NoiseCheck().run(audit_context(op, baseline, baseline), cfg)
    net, base = (result.subjects[k].summary for k in ("network", "baseline"))
    assert net == base  # same method, same noise: identical numbers
    assert set(base["relative_change_by_level"]["0.05"]) == {"p5", "p50", "p95", "mean", "max"}
    assert base["survival"] is None
    assert result.parameters["effective"]["draws"] == 10 and result.parameters["effective"]["batch_size"] == 50


def test_same_seed_same_numbers_other_seed_other_numbers(mri):
    op, _ = mri
    zf = ZeroFilled(op)
    cfg = NoiseConfig(levels=[0.02], draws=20, max_probability=0.2, survival_ratios=[])

    def run(seed):
        r = NoiseCheck().run(audit_context(op, zf, zf, seed=seed), cfg)
        return r.subjects["network"].summary["relative_change_by_level"]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_nan_network_is_an_error_naming_the_image(mri):
    op, baseline = mri
    nan = Map("nan", op, lambda y: torch.full((y.shape[0], N, N), float("nan")))
    result = NoiseCheck().run(audit_context(op, nan, baseline, ids=["knee_03"]), NoiseConfig(draws=5, max_probability=0.6, survival_ratios=[]))
    assert result.verdict is Verdict.ERROR
    assert "noise" in result.reason and "knee_03" in result.reason and "NaN" in result.reason


def test_quick_mode_uses_one_image_and_fewer_draws(mri):
    op, _ = mri
    zf = ZeroFilled(op)
    images = torch.stack([shepp_logan((N, N)), 0.5 * shepp_logan((N, N))])
    result = NoiseCheck().run(audit_context(op, zf, zf, images=images, quick=True), NoiseConfig(survival_ratios=[]))
    assert [r["image"] for r in result.subjects["network"].per_image] == ["img0"]
    assert result.parameters["effective"]["draws"] == 72  # the fewest that can pass at 0.05 / 95 %
    assert result.subjects["network"].summary["exceedance_by_level"]["0.01"]["trials"] == 72


def test_too_few_draws_are_noted(mri):
    op, _ = mri
    zf = ZeroFilled(op)
    # the manifest refuses such a block; the check guards programmatic use too
    cfg = NoiseConfig.model_construct(**{**NoiseConfig().model_dump(), "levels": [0.01], "draws": 20, "survival_ratios": []})
    result = NoiseCheck().run(audit_context(op, zf, zf), cfg)
    assert result.verdict is Verdict.FAIL
    assert any("at least 72 draws are needed" in n for n in result.notes)


def test_disabled_is_not_run(mri):
    op, _ = mri
    zf = ZeroFilled(op)
    result = NoiseCheck().run(audit_context(op, zf, zf), NoiseConfig(enabled=False))
    assert result.verdict is Verdict.NOT_RUN and "disabled" in result.reason


def test_baseline_beyond_the_bound_is_noted(mri):
    op, _ = mri
    zf = ZeroFilled(op)
    cfg = NoiseConfig(levels=[0.2], draws=20, threshold=0.1, max_probability=0.2, survival_ratios=[])
    result = NoiseCheck().run(audit_context(op, zf, zf), cfg)
    assert result.verdict is Verdict.FAIL  # ‖e‖/‖Ax‖ ≈ 0.2 > 0.1 on every draw
    assert any("baseline also exceeds" in n for n in result.notes)
