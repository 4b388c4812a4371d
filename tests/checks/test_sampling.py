"""The sampling-ratio check on maps whose behaviour with more samples is known in advance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.base import AuditContext, Subject
from auditkit.checks.sampling import (
    SamplingCheck,
    build_settings,
    ladder_angles,
    ladder_ratios,
    largest_drop,
    quick_subset,
    requested_settings,
)
from auditkit.data.phantoms import random_ellipses, shepp_logan
from auditkit.checks.result import Verdict
from auditkit.manifest.models import SamplingConfig
from auditkit.operators.ct import RadonCT
from auditkit.operators.mri import MRISingleCoil

from tests.checks.networks import ByMean, NegateOutside, OnlyTrainedSamples, ZeroFilled

SIZE = 32
IDS = ["shepp_logan", "ellipses"]
RATIOS = [0.125, 0.25, 0.5]


@pytest.fixture(autouse=True)
def one_thread():
    """The tiny problems here run fastest single-threaded on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Filtered:
    """x̂ = A† y (filtered back-projection for CT)."""

    name = "FBP"

    def __init__(self, op):
        self.operator = op

    def __call__(self, y):
        return self.operator.pinv(y)


class NaNAt:
    """A* y, with NaN in the last image of the batch whenever the ratio exceeds ``above``."""

    name = "nan"

    def __init__(self, op, above: float):
        self.operator, self.above = op, above

    def __call__(self, y):
        out = self.operator.adjoint(y)
        if self.operator.sampling_ratio > self.above:
            out = out.clone()
            out[-1, 0, 0] = float("nan")
        return out


def subject(key: str, make) -> Subject:
    return Subject(key, make(OP), make)


def baseline_map(op):
    return build_baseline("l1_wavelet", op, max_iter=60)


OP = MRISingleCoil.from_pattern("cartesian_random", (SIZE, SIZE), 0.25, seed=0)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.stack([shepp_logan((SIZE, SIZE)), random_ellipses((SIZE, SIZE), 1, seed=1)[0]])


def context(images, network: Subject, baseline: Subject | None = None, op=OP, **kw) -> AuditContext:
    baseline = baseline or Subject("baseline", baseline_map(op), baseline_map)
    return AuditContext(operator=op, network=network, baseline=baseline, images=images, image_ids=IDS, **kw)


def means(result, key: str = "network") -> list[float]:
    return [v["mean"] for v in result.subjects[key].summary["psnr_by_ratio"].values()]


# -- pieces -------------------------------------------------------------------------------------


def test_largest_drop_over_any_pair():
    assert largest_drop([1.0, 3.0, 2.0, 5.0, 0.5]) == (4.5, 3, 4)
    assert largest_drop([1.0, 2.0, 3.0]) == (0.0, None, None)
    assert largest_drop([3.0, 2.8, 2.6, 2.4]) == (pytest.approx(0.6), 0, 3)  # a slow slide, not one step


def test_default_ladder_includes_audit_and_trained():
    assert ladder_ratios(0.6) == [0.3, 0.45, 0.6, 0.9, 1.0]
    assert ladder_angles(50) == [25, 38, 50, 75, 100]
    values = requested_settings(OP, SamplingConfig(), trained_ratio=0.3, quick=False)
    assert values == [0.125, 0.1875, 0.25, 0.3, 0.375, 0.5]
    assert requested_settings(OP, SamplingConfig(), trained_ratio=0.3, quick=True) == [0.125, 0.25, 0.5]
    assert quick_subset([0.1, 0.2, 0.3, 0.4], anchor=0.1) == [0.1, 0.2, 0.4]


def test_manifest_ratios_are_used_and_the_audit_ratio_added():
    assert requested_settings(OP, SamplingConfig(ratios=[0.1, 0.5]), None, False) == [0.1, 0.25, 0.5]


def test_same_mask_is_measured_once_at_its_achieved_ratio():
    settings, notes = build_settings(OP, [0.25, 0.26, 0.5])
    assert [s.ratio for s in settings] == [0.25, 0.5] and settings[0].operator is OP
    assert "0.26" in notes[0] and "measured once" in notes[0]


# -- verdicts -----------------------------------------------------------------------------------


def test_baseline_submitted_as_network_passes(images):
    result = SamplingCheck().run(context(images, subject("network", baseline_map)), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.PASS, result.reason
    assert means(result) == means(result, "baseline")
    assert means(result)[-1] - means(result)[0] > 5.0


def test_zero_filled_passes(images):
    result = SamplingCheck().run(context(images, subject("network", ZeroFilled)), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.PASS, result.reason
    curve = means(result)
    assert curve == sorted(curve)
    summary = result.subjects["network"].summary
    assert summary["ratios"] == RATIOS and set(summary["ssim_by_ratio"]) == {"0.125", "0.25", "0.5"}
    assert set(summary["psnr_by_ratio"]["0.25"]) == {"mean", "std", "min", "max"}


def test_negating_samples_outside_the_training_mask_fails(images):
    network = subject("network", lambda op: NegateOutside(ZeroFilled(op), OP.mask))
    result = SamplingCheck().run(context(images, network, trained_ratio=0.25), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.FAIL
    judged = {c.name: c for c in result.criteria}
    drop = judged["sampling.no_drop_with_more_samples"]
    assert drop.passed is False and drop.measured > 3.0
    assert judged["sampling.baseline_rises"].passed and judged["sampling.baseline_no_drop"].passed
    assert judged["sampling.baseline_rises"].setup and not judged["sampling.no_drop_with_more_samples"].setup
    assert result.parameters["effective"]["trained_setting"] == "0.25"
    rows = result.subjects["network"].per_image
    assert [r["image"] for r in rows] == IDS and rows[0]["psnr"]["0.5"] < rows[0]["psnr"]["0.25"]


def test_one_image_getting_worse_fails_even_when_the_mean_rises(images):
    level = float(0.5 * (images[0].mean() + images[1].mean()))
    which = "bright" if images[0].mean() > images[1].mean() else "dark"  # Shepp–Logan gets worse, the other one better

    def make(op):
        worse, better = NegateOutside(ZeroFilled(op), OP.mask), baseline_map(op)
        return ByMean(worse, better, level) if which == "bright" else ByMean(better, worse, level)

    result = SamplingCheck().run(context(images, subject("network", make), trained_ratio=0.25), SamplingConfig(ratios=RATIOS))
    judged = {c.name: c for c in result.criteria}
    assert judged["sampling.no_drop_with_more_samples"].passed, judged["sampling.no_drop_with_more_samples"]
    per_image = judged["sampling.no_drop_on_any_image"]
    assert per_image.passed is False and per_image.measured > 3.0 and "on shepp_logan" in per_image.description
    assert result.verdict is Verdict.FAIL


@pytest.mark.parametrize("stagnates", [True, False])
def test_a_network_that_stagnates_above_the_training_ratio_fails(images, stagnates):
    trained = baseline_map(OP)

    def make(op):
        return OnlyTrainedSamples(op, trained) if stagnates else baseline_map(op)

    result = SamplingCheck().run(context(images, subject("network", make), trained_ratio=0.25), SamplingConfig(ratios=RATIOS))
    gain = {c.name: c for c in result.criteria}["sampling.gain_vs_baseline"]
    assert gain.passed is (not stagnates) and result.verdict is (Verdict.FAIL if stagnates else Verdict.PASS)
    base = means(result, "baseline")
    assert gain.threshold == pytest.approx(0.25 * (base[-1] - base[1]))  # from the training ratio 0.25 up
    if stagnates:
        assert gain.measured == pytest.approx(0.0, abs=1e-6)
        assert {c.name: c for c in result.criteria}["sampling.no_drop_with_more_samples"].passed


def test_a_baseline_that_gets_worse_flags_the_setup(images):
    def negated(op):
        return NegateOutside(ZeroFilled(op), OP.mask)

    worse = Subject("baseline", negated(OP), negated)
    result = SamplingCheck().run(context(images, subject("network", ZeroFilled), worse), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.ERROR and not result.internal_error
    assert result.reason.startswith("setup flagged: the baseline does not improve with more samples")
    assert result.reason.endswith("the network criterion is not judged")
    judged = {c.name: c for c in result.criteria}
    assert judged["sampling.no_drop_with_more_samples"].passed is None
    assert judged["sampling.baseline_rises"].passed is False


def test_nan_output_is_an_error_naming_image_and_ratio(images):
    result = SamplingCheck().run(
        context(images, subject("network", lambda op: NaNAt(op, 0.3))), SamplingConfig(ratios=RATIOS)
    )
    assert result.verdict is Verdict.ERROR and not result.internal_error
    # each image is its own unit (a batch of one), so the first image in plan order is the one named
    assert "sampling: network output contains NaN or Inf for image(s) shepp_logan (ratio 0.5)" in result.reason


def test_network_that_cannot_change_ratio_is_not_run(images):
    def fixed_size(op):
        if op.sampling_ratio != OP.sampling_ratio:
            raise RuntimeError("expects 256 measurements")
        return ZeroFilled(op)

    result = SamplingCheck().run(context(images, subject("network", fixed_size)), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.NOT_RUN and "expects 256 measurements" in result.reason


def test_operator_with_a_fixed_mask_is_not_run(images):
    fixed = MRISingleCoil(OP.mask)
    network = Subject("network", ZeroFilled(fixed), ZeroFilled)
    result = SamplingCheck().run(context(images, network, op=fixed), SamplingConfig(ratios=RATIOS))
    assert result.verdict is Verdict.NOT_RUN and "no other sampling ratios" in result.reason


def test_disabled_is_not_run(images):
    result = SamplingCheck().run(context(images, subject("network", ZeroFilled)), SamplingConfig(enabled=False))
    assert result.verdict is Verdict.NOT_RUN


def test_results_and_arrays_are_reproducible(images, tmp_path):
    def once(folder):
        ctx = context(images, subject("network", ZeroFilled), arrays=ArraySink(folder), quick=True)
        return SamplingCheck().run(ctx, SamplingConfig())

    first, second = once(tmp_path / "a"), once(tmp_path / "b")
    assert first.subjects == second.subjects and first.criteria == second.criteria
    assert first.arrays == ["arrays/sampling.npz"]
    assert (tmp_path / "a" / first.arrays[0]).read_bytes() == (tmp_path / "b" / first.arrays[0]).read_bytes()
    saved = load_npz(tmp_path / "a" / first.arrays[0])
    assert saved["network_recon"].shape == (3, SIZE, SIZE) and saved["masks"].shape == (3, SIZE, SIZE)
    assert saved["masks"][0].sum() < saved["masks"][1].sum() and np.all(saved["masks"][1] >= saved["masks"][0])
    assert saved["network_psnr"].shape == (3, 2)  # quick mode: three ratios, first two images
    np.testing.assert_allclose(saved["ratios"], [0.125, 0.25, 0.5])


def test_ct_uses_angle_counts(images):
    ct = RadonCT((SIZE, SIZE), 16)
    network = Subject("network", Filtered(ct), Filtered)
    baseline = Subject("baseline", Filtered(ct), Filtered)
    result = SamplingCheck().run(context(images, network, baseline, op=ct), SamplingConfig(n_angles=[8, 32]))
    assert result.verdict is Verdict.PASS, result.reason
    summary = result.subjects["network"].summary
    assert summary["n_angles"] == [8, 16, 32]
    assert summary["ratios"] == [n / ct.n_full for n in (8, 16, 32)]
    assert all(math.isfinite(m) for m in means(result))
    assert means(result) == sorted(means(result))


def test_ct_default_ladder_notes_non_nested_angle_sets():
    ct = RadonCT((SIZE, SIZE), 8)
    values = requested_settings(ct, SamplingConfig(), trained_ratio=None, quick=False)
    assert values == [4, 6, 8, 12, 16]
    _, notes = build_settings(ct, values)
    assert any("4 and 6 angles are not nested" in n for n in notes)


def test_trained_setting_found_when_its_request_was_merged_with_the_audit_ratio():
    """A trained ratio of 0.3 gives the same mask as the audit ratio (0.3125 at 32 px): its key is kept."""
    from auditkit.checks.sampling import Setting, settings_key
    from auditkit.operators import MRISingleCoil

    op = MRISingleCoil.from_pattern("cartesian_random", (32, 32), ratio=0.3, center_fraction=0.08, seed=0)
    settings = [Setting(op, op.sampling_ratio, op.sampling_ratio, None)]
    assert settings_key(settings, 0.3) is None  # the request itself was dropped as a duplicate
    assert settings_key(settings, 0.3, op) == f"{op.sampling_ratio:g}"
