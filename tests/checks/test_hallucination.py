import numpy as np
import pytest
import torch

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.hallucination import (
    ENERGY_FLOOR,
    KernelDetail,
    HallucinationCheck,
    invented_energy,
    kernel_detail_spec,
    largest_patches,
    patch_ratios,
    shown_fraction,
)
from auditkit.data.phantoms import shepp_logan
from auditkit.metrics import largest_patch_rms, patch_grid, window_energy
from auditkit.checks.result import Verdict
from auditkit.manifest.models import HallucinationConfig
from auditkit.operators.mri import MRISingleCoil

# one_thread is an autouse fixture: importing it applies it to this module.
from tests.checks.context import audit_context, one_thread  # noqa: F401
from tests.checks.networks import Map

N = 64


@pytest.fixture(scope="module")
def mri():
    op = MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.33, 0.08, 0)
    # A weaker λ than the MRI default keeps the baseline close to the data, so the planted
    # pattern stands far above anything the baseline itself leaves in the kernel.
    return op, build_baseline("l1_wavelet", op, lam=1e-3, max_iter=30)


def _disc(op, centre=(20, 40), radius=4, value=0.8):
    rows, cols = torch.meshgrid(torch.arange(N), torch.arange(N), indexing="ij")
    return (((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) <= radius**2).to(op.real_dtype) * value


# -- patches and energies ----------------------------------------------------------------------


def test_patch_grid_covers_every_pixel_with_half_overlap():
    stride, padded, corners = patch_grid((10, 16), 8)
    assert stride == 4 and padded == (12, 16)
    assert corners == [(r, c) for r in (0, 4) for c in (0, 4, 8)]
    covered = np.zeros((12, 16), bool)
    for r, c in corners:
        covered[r : r + 8, c : c + 8] = True
    assert covered[:10].all()


def test_window_energy_sums_to_the_covered_energy():
    t = torch.randn(2, 16, 16, dtype=torch.complex128)
    e = window_energy(t, 8)  # stride 4: interior pixels are counted 4 times, edges fewer
    weights = torch.zeros(16, 16, dtype=torch.float64)
    for r, c in patch_grid((16, 16), 8)[2]:
        weights[r : r + 8, c : c + 8] += 1
    assert torch.allclose(e.sum(dim=1), ((t.abs() ** 2) * weights).sum(dim=(1, 2)))


def test_invented_energy_ignores_missing_and_shrunken_truth_but_counts_added_content():
    g = torch.Generator().manual_seed(0)
    b = torch.randn(1, 16, 16, generator=g, dtype=torch.float64)
    p = torch.zeros_like(b)
    p[0, 2:6, 2:6] = 1.0
    assert float(invented_energy(torch.zeros_like(b), b, 8).max()) == 0.0  # zero-filled: nothing invented
    assert float(invented_energy(b, b, 8).max()) == pytest.approx(0.0, abs=1e-24)  # perfect
    assert float(invented_energy(0.3 * b, b, 8).max()) == pytest.approx(0.0, abs=1e-24)  # shrunken copy
    assert float(invented_energy(-b, b, 8).max()) > 0  # wrong sign counts (β clipped at 0)
    e = invented_energy(p, torch.zeros_like(b), 8)  # nothing to explain it: all of p is invented
    assert torch.allclose(e, window_energy(p, 8))
    assert float(e.max()) == pytest.approx(16.0)


def test_largest_patches_do_not_overlap():
    corners = patch_grid((16, 16), 8)[2]
    energy = torch.tensor([9.0, 8.0, 1.0, 7.0, 6.0, 1.0, 1.0, 1.0, 5.0])
    # (0,0) first; (0,4), (4,0), (4,4) overlap it; then (8,8); then the first of the ties that fits, (0,8)
    assert largest_patches(energy, corners, 8, k=3) == [0, 8, 2]
    assert largest_patches(energy, corners, 8, k=1) == [0]


def test_patches_are_compared_with_the_same_patch_of_the_baseline():
    """A baseline inventing faintly everywhere does not excuse a network inventing on a patch where it invents nothing:
    largest against largest the ratio below would be 3e-3 / 2e-3 = 1.5, patch by patch it is 3e-3 / 1e-4 = 30."""
    base = torch.tensor([[2e-3, 2e-3, 0.0, 2e-3]], dtype=torch.float64)
    net = torch.tensor([[1e-3, 1e-3, 3e-3, 1e-3]], dtype=torch.float64)
    ratios = patch_ratios(net, base)
    assert float(ratios.amax()) == pytest.approx(3e-3 / ENERGY_FLOOR)
    assert float(net.amax() / base.amax()) == pytest.approx(1.5)


def test_shown_fraction_separates_the_detail_from_the_truth():
    g = torch.Generator().manual_seed(1)
    b = torch.randn(1, 8, 8, generator=g, dtype=torch.float64)
    d = torch.randn(8, 8, generator=g, dtype=torch.float64)
    region = torch.ones(8, 8, dtype=torch.bool)
    c = torch.cat([torch.zeros_like(b), 0.4 * b, 0.4 * b + 0.7 * d])
    shown = shown_fraction(c, b.expand_as(c), d, region)
    assert shown[0] == pytest.approx(0.0, abs=1e-12)
    assert shown[1] == pytest.approx(0.0, abs=1e-12)
    assert shown[2] == pytest.approx(0.7, abs=1e-12)
    assert shown_fraction(b, b, b[0], region) == [None]  # collinear: not separable


# -- the check with the real MRI operator and baseline -----------------------------------------


def test_zero_filled_passes_it_invents_nothing(mri, tmp_path):
    op, baseline = mri
    zf = Map("zero-filled", op, op.adjoint)
    result = HallucinationCheck().run(audit_context(op, zf, baseline, ids=["phantom"], arrays=ArraySink(tmp_path)), HallucinationConfig())
    assert result.verdict is Verdict.PASS, result.criteria
    (criterion,) = result.criteria
    assert criterion.name == "hallucination.largest_patch_vs_baseline" and criterion.compares_to_baseline
    assert criterion.measured == pytest.approx(0.0, abs=1e-6)
    net, base = result.subjects["network"], result.subjects["baseline"]
    # its kernel error is exactly −P_N x: everything unmeasured is missing, nothing is added
    row = net.per_image[0]
    assert row["kernel_content_relative"] == pytest.approx(0.0, abs=1e-5)
    assert row["kernel_error_relative"] == pytest.approx(row["image_kernel_share"], rel=1e-5)
    assert net.summary["kernel_detail_shown"] == pytest.approx(0.0, abs=1e-4)
    assert base.summary["largest_patch_energy"] > ENERGY_FLOOR
    assert len(base.per_image[0]["largest_patches"]) == 3
    arrays = load_npz(tmp_path / "arrays" / "hallucination.npz")
    assert result.arrays == ["arrays/hallucination.npz"]
    for key in ("network", "baseline"):
        for name in ("fx", "kernel_error", "kernel_content", "f_detail"):
            assert arrays[f"{key}_{name}"].shape == (1, N, N)
        assert arrays[f"{key}_patches"].shape == (1, 3, 4)
    np.testing.assert_allclose(arrays["network_kernel_error"], -arrays["truth_kernel"], atol=1e-5)
    assert arrays["detail_region"].dtype == bool and np.iscomplexobj(arrays["kernel_detail"])


def test_network_adding_a_kernel_pattern_fails_and_the_patch_is_found(mri):
    op, baseline = mri
    pattern = op.null_project(_disc(op).to(op.image_dtype)[None])[0]
    net = Map("adds a pattern", op, lambda y: op.adjoint(y) + pattern)
    result = HallucinationCheck().run(audit_context(op, net, baseline, ids=["phantom"]), HallucinationConfig())
    assert result.verdict is Verdict.FAIL
    (criterion,) = result.criteria
    assert criterion.measured > 10 * criterion.threshold
    top = result.subjects["network"].per_image[0]["largest_patches"][0]
    assert top["row"] <= 20 < top["row"] + top["height"] and top["col"] <= 40 < top["col"] + top["width"]
    # the pattern is invisible to A: the network's output agrees with the data as well as zero-filling does
    assert float(torch.linalg.vector_norm(op.forward(pattern[None]))) < 1e-5 * float(torch.linalg.vector_norm(pattern))


def test_network_transferring_the_kernel_detail_shows_it(mri):
    op, baseline = mri
    detail = KernelDetail.build(op, kernel_detail_spec(HallucinationConfig().kernel_detail), 0.01, torch.device("cpu"))
    assert detail.measured_fraction < 1e-5  # exact projector: A d = 0 up to rounding
    net = Map("transfers the detail", op, lambda y: op.adjoint(y) + detail.d)
    result = HallucinationCheck().run(audit_context(op, net, baseline, ids=["phantom"]), HallucinationConfig())
    assert result.subjects["network"].summary["kernel_detail_shown"] == pytest.approx(1.0, abs=1e-3)
    assert abs(result.subjects["baseline"].summary["kernel_detail_shown"]) < 0.2
    assert any("shows the kernel detail" in n and "network" in n for n in result.notes)
    assert result.parameters["effective"]["kernel_detail"]["text"] == "♥"


def test_baseline_against_itself_is_at_ratio_one(mri):
    op, baseline = mri
    result = HallucinationCheck().run(audit_context(op, baseline, baseline), HallucinationConfig())
    assert result.verdict is Verdict.PASS
    assert result.criteria[0].measured == pytest.approx(1.0)


def test_magnitude_output_is_noted(mri):
    op, baseline = mri
    mag = Map("magnitude", op, lambda y: op.adjoint(y).abs())
    result = HallucinationCheck().run(audit_context(op, mag, baseline), HallucinationConfig())
    assert any("magnitude" in n for n in result.notes)


def test_nan_network_is_an_error_naming_the_image(mri):
    op, baseline = mri
    nan = Map("nan", op, lambda y: torch.full((y.shape[0], N, N), float("nan")))
    result = HallucinationCheck().run(audit_context(op, nan, baseline, ids=["brain_07"]), HallucinationConfig())
    assert result.verdict is Verdict.ERROR
    assert "hallucination" in result.reason and "brain_07" in result.reason and "NaN" in result.reason


def test_quick_mode_and_disabled(mri):
    op, _ = mri
    zf = Map("zero-filled", op, op.adjoint)
    images = torch.stack([shepp_logan((N, N)), 0.5 * shepp_logan((N, N))])
    result = HallucinationCheck().run(audit_context(op, zf, zf, images=images, quick=True), HallucinationConfig())
    assert [r["image"] for r in result.subjects["network"].per_image] == ["img0"]
    off = HallucinationCheck().run(audit_context(op, zf, zf), HallucinationConfig(enabled=False))
    assert off.verdict is Verdict.NOT_RUN


def test_fully_sampled_has_nothing_unmeasured():
    full = MRISingleCoil(torch.ones(N, N, dtype=torch.bool))
    pattern = _disc(full).to(full.image_dtype)
    net = Map("adds a measured pattern", full, lambda y: full.adjoint(y) + pattern)
    result = HallucinationCheck().run(audit_context(full, net, Map("inverse", full, full.adjoint)), HallucinationConfig())
    assert result.verdict is Verdict.PASS  # the disc is measured: wrong, but not a kernel hallucination
    assert result.criteria[0].measured == pytest.approx(0.0, abs=1e-6)
    assert "kernel of A is empty" in result.notes[0]
    assert result.subjects["network"].summary["kernel_detail_shown"] is None


def test_ct_uses_the_tikhonov_projector():
    from auditkit.operators.ct import RadonCT

    op = RadonCT((32, 32), 12)
    fbp = Map("FBP", op, op.pinv)
    images = shepp_logan((32, 32))[None]
    pattern = op.null_project(_disc(op, centre=(10, 20), radius=3)[:32, :32][None], alpha=0.01)[0]
    net = Map("FBP + pattern", op, lambda y: op.pinv(y) + pattern)
    result = HallucinationCheck().run(audit_context(op, net, fbp, images=images), HallucinationConfig())
    assert result.verdict is Verdict.FAIL
    assert result.parameters["effective"]["projector"] == "tikhonov" and "Tikhonov" in result.notes[0]
    top = result.subjects["network"].per_image[0]["largest_patches"][0]
    assert top["row"] <= 10 < top["row"] + top["height"] and top["col"] <= 20 < top["col"] + top["width"]


def test_content_invented_in_the_border_frame_is_reported_not_judged(mri):
    op, baseline = mri
    pattern = op.null_project(_disc(op, centre=(2, 32), radius=3).to(op.image_dtype)[None])[0]
    net = Map("adds a pattern at the edge", op, lambda y: op.adjoint(y) + pattern)
    ctx = audit_context(op, net, baseline, ids=["phantom"])
    framed = HallucinationCheck().run(ctx, HallucinationConfig())
    judged_everywhere = HallucinationCheck().run(ctx, HallucinationConfig(border=0))
    assert judged_everywhere.verdict is Verdict.FAIL
    assert framed.criteria[0].measured < judged_everywhere.criteria[0].measured / 5
    row = framed.subjects["network"].per_image[0]
    assert row["largest_border_patch_energy"] > 5 * row["largest_patch_energy"]
    assert all(p["row"] >= 8 for p in row["largest_patches"])  # the listed patches are the judged ones
    assert any("frame along the image's edges" in n and n.startswith("network") for n in framed.notes)
    assert "8 px from the image's edges" in framed.criteria[0].description


def test_largest_patch_rms_is_the_contrast_of_a_structure_filling_a_patch():
    t = torch.zeros(2, 32, 32)
    t[0, 8:16, 12:20] = 0.3  # one full patch of contrast 0.3 (on the stride-4 grid)
    t[1, 0, 0] = 1.0  # one pixel: RMS 1/8 over the patch holding it
    assert torch.allclose(largest_patch_rms(t, 8), torch.tensor([0.3, 0.125]))
    assert torch.allclose(largest_patch_rms(torch.complex(t, t), 8), torch.sqrt(torch.tensor(2.0)) * torch.tensor([0.3, 0.125]))


def test_on_raw_data_a_complex_reconstruction_is_scored_against_the_complex_reference(mri):
    """Acquired k-space keeps the object's phase: a method that returns the phased object exactly invents nothing,
    so its truth is x_c (the magnitude |x_c| would count the phase as invented content); a magnitude output is
    scored against |x_c|."""
    from auditkit.data.raw import RawReference
    from auditkit.operators.mri import fft2c

    op, baseline = mri
    x = shepp_logan((N, N), dtype=torch.float64)
    phase = torch.exp(1j * torch.linspace(0, 1.5, N, dtype=torch.float64))[None, :]
    x_c = x * phase
    ref = RawReference(x.numpy(), x_c.numpy(), fft2c(x_c)[None].numpy(), None, 1.0, np.ones((N, N), dtype=bool))
    truth = Map("knows the object", op, lambda y: x_c.to(op.image_dtype).expand(y.shape[0], N, N))
    ctx = audit_context(op, truth, truth, images=x[None].float(), ids=["raw"], measured=(ref,))
    result = HallucinationCheck().run(ctx, HallucinationConfig())
    assert result.subjects["network"].summary["largest_patch_energy"] == pytest.approx(0.0, abs=1e-9)
    magnitude = Map("magnitude", op, lambda y: x.to(op.real_dtype).expand(y.shape[0], N, N))
    ctx = audit_context(op, magnitude, truth, images=x[None].float(), ids=["raw"], measured=(ref,))
    result = HallucinationCheck().run(ctx, HallucinationConfig())
    assert result.subjects["network"].summary["largest_patch_energy"] == pytest.approx(0.0, abs=1e-9)
    simulated = audit_context(op, truth, truth, images=x[None].float(), ids=["sim"])  # the same map on y = A x
    result = HallucinationCheck().run(simulated, HallucinationConfig())
    assert result.subjects["network"].summary["largest_patch_energy"] > 1e-4  # the phase counts as invented there
