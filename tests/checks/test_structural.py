import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.structural import StructuralCheck, detail_recovery, details_from_config, recovered_fraction
from auditkit.data.details import default_details
from auditkit.data.phantoms import shepp_logan
from auditkit.checks.result import Verdict
from auditkit.manifest.models import Detail, StructuralConfig
from auditkit.operators.mri import MRISingleCoil

# one_thread is an autouse fixture: importing it applies it to this module.
from tests.checks.context import audit_context, one_thread  # noqa: F401
from tests.checks.networks import Map

N = 64
NAMES = ["spade", "heart", "diamond", "club", "can_u_see_it"]


class _Memo:
    """The baseline, remembering its last answer: network and baseline subjects share the same y."""

    def __init__(self, inner):
        self.inner, self.name, self.operator = inner, inner.name, inner.operator
        self._cache: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __call__(self, y):
        for yy, out in self._cache:
            if yy.shape == y.shape and torch.equal(yy, y):
                return out
        out = self.inner(y)
        self._cache.append((y.clone(), out))
        return out


def _gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    r = int(3 * sigma + 0.5)
    t = torch.arange(-r, r + 1, dtype=img.dtype)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    padded = F.pad(img[:, None], (r, r, r, r), mode="reflect")
    return F.conv2d(padded, (g[:, None] * g[None, :])[None, None])[:, 0]


@pytest.fixture(scope="module")
def mri():
    op = MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.3, 0.08, 0)
    baseline = _Memo(build_baseline("l1_wavelet", op, max_iter=40))
    return op, baseline


def _q(result, subject="network"):
    return {k: v["recovered_fraction"] for k, v in result.subjects[subject].summary["detail_recovery"].items()}


# -- the measure -------------------------------------------------------------------------------


def test_recovery_of_perfect_and_empty_changes():
    d = torch.zeros(2, 8, 8, dtype=torch.float64)
    d[:, 2:5, 3:6] = 0.5
    region = d[0] != 0
    rho, eps = detail_recovery(d, d, region)
    assert rho.tolist() == [1.0, 1.0] and eps.tolist() == [0.0, 0.0]
    rho, eps = detail_recovery(torch.zeros_like(d), d, region)
    assert rho.tolist() == [0.0, 0.0] and eps.tolist() == [1.0, 1.0]
    rho, eps = detail_recovery(d, torch.zeros_like(d), region)  # nothing to recover: not measured
    assert all(math.isnan(v) for v in rho.tolist() + eps.tolist())


def test_correlation_is_blind_to_contrast_but_recovered_fraction_is_not():
    d = torch.zeros(1, 8, 8, dtype=torch.float64)
    d[:, 2:5, 3:6] = 0.5
    rho, eps = detail_recovery(0.1 * d, d, d[0] != 0)
    assert float(rho) == pytest.approx(1.0) and float(recovered_fraction(eps)) == pytest.approx(0.19)


def test_recovery_rejects_complex_changes():
    d = torch.ones(1, 4, 4)
    with pytest.raises(ValueError, match="real"):
        detail_recovery(d.to(torch.complex64), d, d[0] > 0)


_finite = st.floats(-10, 10, allow_nan=False, width=64)


@settings(max_examples=60, deadline=None)
@given(
    delta=st.lists(_finite, min_size=12, max_size=12),
    d=st.lists(_finite, min_size=12, max_size=12),
    scale=st.floats(1e-3, 1e3),
)
def test_correlation_bounded_scale_invariant_and_bounds_recovered_fraction(delta, d, scale):
    a = torch.tensor(delta, dtype=torch.float64).reshape(1, 3, 4)
    b = torch.tensor(d, dtype=torch.float64).reshape(1, 3, 4)
    region = torch.ones(3, 4, dtype=torch.bool)
    rho, eps = detail_recovery(a, b, region)
    if b.abs().sum() == 0:
        assert math.isnan(float(rho))
        return
    assert -1.0 <= float(rho) <= 1.0
    assert float(detail_recovery(scale * a, b, region)[0]) == pytest.approx(float(rho), abs=1e-9)
    assert float(detail_recovery(a, scale * b, region)[0]) == pytest.approx(float(rho), abs=1e-9)
    assert float(recovered_fraction(eps)) <= float(rho) ** 2 + 1e-9  # q ≤ ρ², equality at the right amplitude


# -- configuration -----------------------------------------------------------------------------


def test_defaults_are_laid_out_for_the_image_and_explicit_details_are_kept():
    assert details_from_config(StructuralConfig(), (N, N)) == default_details((N, N))
    cfg = StructuralConfig(details=[Detail(text="★", size=0.2, position=(0.5, 0.5)), Detail(text="★", size=0.1)])
    specs = details_from_config(cfg, (N, N))
    assert [s.name for s in specs] == ["black_star", "black_star_2"] and specs[0].size == 0.2


# -- the check on toy maps (exact answers) -----------------------------------------------------


def test_perfect_map_recovers_every_detail_exactly():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)  # A*A = I: f(Ax) = x
    result = StructuralCheck().run(audit_context(full, perfect, perfect), StructuralConfig())
    assert result.verdict is Verdict.PASS, result.reason
    for row in result.subjects["network"].summary["detail_recovery"].values():
        assert row["correlation"] == pytest.approx(1.0, abs=1e-5)
        assert row["relative_error"] == pytest.approx(0.0, abs=1e-5)
        assert row["recovered_fraction"] == pytest.approx(1.0, abs=1e-5)


def test_map_that_ignores_the_measurements_fails():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)
    blind = Map("blind", full, lambda y: torch.full((y.shape[0], N, N), 0.3))
    result = StructuralCheck().run(audit_context(full, blind, perfect), StructuralConfig())
    assert result.verdict is Verdict.FAIL
    assert all(q == 0.0 for q in _q(result).values())
    assert all(row["correlation"] == 0.0 for row in result.subjects["network"].summary["detail_recovery"].values())
    assert {c.name for c in result.criteria if not c.passed} == {
        f"structural.{kind}[{n}]" for n in NAMES for kind in ("recovery", "recovery_vs_baseline")
    }


def test_nan_network_is_an_error_naming_the_image(mri):
    op, baseline = mri
    nan = Map("nan", op, lambda y: torch.full((y.shape[0], N, N), float("nan")))
    result = StructuralCheck().run(audit_context(op, nan, baseline, ids=["brain_07"]), StructuralConfig())
    assert result.verdict is Verdict.ERROR
    assert "structural" in result.reason and "brain_07" in result.reason and "NaN" in result.reason


def test_details_clipped_away_are_noted_and_not_judged():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)
    white = torch.ones(1, N, N)
    result = StructuralCheck().run(audit_context(full, perfect, perfect, images=white, ids=["white"]), StructuralConfig())
    assert result.verdict is Verdict.NOT_RUN and "clipped" in result.reason
    assert sum("clipped away entirely on image white" in n for n in result.notes) == len(NAMES)


def test_manifest_details_are_judged_where_measurable():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)
    images = torch.stack([torch.ones(N, N), shepp_logan((N, N))])
    cfg = StructuralConfig(details=[Detail(text="★", size=0.2, position=(0.4, 0.5), intensity=0.4)])
    result = StructuralCheck().run(audit_context(full, perfect, perfect, images=images, ids=["white", "phantom"]), cfg)
    assert result.verdict is Verdict.PASS
    assert [c.name for c in result.criteria] == [
        "structural.recovery[black_star]", "structural.recovery_vs_baseline[black_star]",
        "structural.ghosts_vs_baseline[black_star]",
    ]
    assert result.notes == [
        "detail 'black_star' is clipped away entirely on image white (the image is already at the end of [0, 1] "
        "there); it is not measured on that image"
    ]
    rows = {r["image"]: r["details"]["black_star"] for r in result.subjects["network"].per_image}
    assert rows["white"]["recovered_fraction"] is None and rows["white"]["kept_fraction"] == 0.0
    assert rows["phantom"]["recovered_fraction"] == pytest.approx(1.0, abs=1e-5)
    assert result.parameters["effective"]["details"][0]["name"] == "black_star"


def test_quick_mode_uses_the_first_image_only():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)
    images = torch.stack([shepp_logan((N, N)), 0.5 * shepp_logan((N, N))])
    result = StructuralCheck().run(audit_context(full, perfect, perfect, images=images, quick=True), StructuralConfig())
    assert [r["image"] for r in result.subjects["network"].per_image] == ["img0"]
    assert result.parameters["effective"]["images"] == ["img0"]


# -- the check with the real MRI operator and baseline -----------------------------------------


def test_baseline_as_network_passes_and_saves_its_arrays(mri, tmp_path):
    op, baseline = mri
    ctx = audit_context(op, baseline, baseline, ids=["shepp_logan"], arrays=ArraySink(tmp_path))
    result = StructuralCheck().run(ctx, StructuralConfig())
    assert result.verdict is Verdict.PASS, [c for c in result.criteria if not c.passed]
    assert min(_q(result).values()) > 0.5
    assert _q(result) == _q(result, "baseline")
    row = result.subjects["network"].per_image[0]
    assert row["image"] == "shepp_logan" and set(row["details"]) == set(NAMES)
    assert result.arrays == ["arrays/structural.npz"]
    arrays = load_npz(tmp_path / "arrays" / "structural.npz")
    assert list(arrays["detail_names"]) == NAMES and list(arrays["image_ids"]) == ["shepp_logan"]
    for key in ("x", "x_d", "network_fx", "network_fxd", "baseline_fx", "baseline_fxd"):
        assert arrays[key].shape == (1, N, N) and np.isrealobj(arrays[key])
    assert arrays["masks"].shape == (5, N, N) and arrays["masks"].dtype == bool
    assert arrays["details"].shape == (5, N, N)


def test_blurred_network_fails(mri):
    op, baseline = mri
    blurred = Map("blurred", op, lambda y: _gaussian_blur(baseline(y).abs(), 3.0))
    result = StructuralCheck().run(audit_context(op, blurred, baseline), StructuralConfig())
    assert result.verdict is Verdict.FAIL
    failed = {c.name for c in result.criteria if not c.passed}
    assert {f"structural.recovery_vs_baseline[{n}]" for n in NAMES} <= failed
    assert "structural.recovery[spade]" in failed
    q_net, q_base = _q(result), _q(result, "baseline")
    assert all(q_net[n] < q_base[n] - 0.2 for n in NAMES)


@pytest.mark.parametrize("echo", [0.5, 0.0])
def test_a_network_that_echoes_details_elsewhere_fails_the_ghost_criterion(echo):
    """f(y) = A*y + echo · (A*y shifted by half the image): Δ = d + echo · shifted d, an echo of contrast ``echo``
    outside every detail's region, which q (computed on the region) cannot see."""
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)

    def echoing(y):
        image = full.adjoint(y).real
        return image + echo * torch.roll(image, shifts=(N // 2, N // 2), dims=(-2, -1))

    net = Map("echoing", full, echoing)
    images = (0.3 * shepp_logan((N, N)))[None]  # dim, so that x + d + echoes stay unclipped
    result = StructuralCheck().run(audit_context(full, net, perfect, images=images, ids=["phantom"]), StructuralConfig())
    ghosts = [c for c in result.criteria if c.name.startswith("structural.ghosts_vs_baseline[")]
    assert len(ghosts) == len(NAMES)
    recovery = [c for c in result.criteria if c.name.startswith("structural.recovery[")]
    assert all(c.passed for c in recovery)  # the region alone looks perfect either way
    if echo:
        assert not any(c.passed for c in ghosts) and result.verdict is Verdict.FAIL
        assert all(c.measured == pytest.approx(echo / 0.1, rel=1e-3) for c in ghosts)  # G = 0.5 over the floor 0.1
    else:
        assert all(c.passed for c in ghosts) and result.verdict is Verdict.PASS
    row = result.subjects["network"].per_image[0]["details"][NAMES[0]]
    assert row["ghost_contrast"] == pytest.approx(echo, abs=1e-5)


def test_details_where_a_raw_slices_maps_are_not_known_are_left_out_with_a_note():
    """On a raw slice whose estimated maps are known only where the data have signal, a detail outside that
    support is not simulated (it would test the extrapolated maps); one inside is, and a simulated image keeps all."""
    from auditkit.data.raw import RawReference
    from auditkit.operators.mri import fft2c

    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    perfect = Map("perfect", full, full.adjoint)
    x = shepp_logan((N, N), dtype=torch.float64)
    regions = torch.stack([torch.from_numpy(np.asarray(s.render((N, N)))) != 0
                           for s in details_from_config(StructuralConfig(), (N, N))])
    first = regions[0]
    known = np.ones((N, N), dtype=bool)
    known[first.numpy()] = False  # the first detail's support lies where there is no signal
    ref = RawReference(x.numpy(), x.numpy().astype(complex), fft2c(x.to(torch.complex128))[None].numpy(), None, 1.0,
                       known)
    ctx = audit_context(full, perfect, perfect, images=torch.stack([x, x]), ids=["raw", "sim"], measured=(ref, None))
    result = StructuralCheck().run(ctx, StructuralConfig())
    assert result.verdict is Verdict.PASS, result.reason
    name = NAMES[0]
    assert any(f"detail '{name}' lies where raw image raw has no signal" in n for n in result.notes)
    assert not any("image sim has no signal" in n for n in result.notes)
    assert len([n for n in result.notes if "has no signal" in n]) == 1
