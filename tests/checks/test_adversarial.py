import json

import numpy as np
import pytest
import torch

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.adversarial import AdversarialCheck
from auditkit.checks.base import setting_key
from auditkit.data.phantoms import random_ellipses
from auditkit.checks.result import Verdict
from auditkit.manifest.models import AdversarialConfig, ImageDomainAttack, MeasurementDomainAttack
from auditkit.operators.base import batch_norm2
from auditkit.operators.mri import MRISingleCoil

from tests.checks.context import audit_context
from tests.checks.networks import Map, Planted, ZeroFilled

N = 32
BUDGETS = [0.01, 0.02, 0.04]
ETAS = [0.01, 0.04]


@pytest.fixture(scope="module")
def mri():
    op = MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.3, 0.08, 0)
    baseline = build_baseline("l1_wavelet", op, max_iter=10, checkpoint_segment=0)
    images = random_ellipses((N, N), count=2, seed=4)
    return op, baseline, images


def _config(**kw):
    return AdversarialConfig(
        image_domain=ImageDomainAttack(budgets=BUDGETS, max_iter=12, init_scale=0.01),
        measurement_domain=MeasurementDomainAttack(etas=ETAS, restarts=1, iterations=3),
        **kw,
    )


def _failed(result):
    return {c.name for c in result.criteria if not c.passed}


def _assert_met(result):
    """No criterion on the network failed; INCONCLUSIVE exactly when this module's short searches found too little
    of the control's known worst case (``adversarial.search_power``), else PASS."""
    weak = {n for n in _failed(result) if n.startswith("adversarial.search_power")}
    assert _failed(result) == weak, result.reason or _failed(result)
    assert result.verdict is (Verdict.INCONCLUSIVE if weak else Verdict.PASS), result.reason


@pytest.fixture(scope="module")
def baseline_as_network(mri, tmp_path_factory):
    op, baseline, images = mri
    root = tmp_path_factory.mktemp("adv")
    result = AdversarialCheck().run(audit_context(op, baseline, baseline, images, arrays=ArraySink(root)), _config())
    return result, root


def test_the_baseline_submitted_as_the_network_passes(baseline_as_network):
    result, _ = baseline_as_network
    _assert_met(result)
    names = [c.name for c in result.criteria]
    assert names == [
        *(f"adversarial.{kind}[eps={setting_key(b)}]" for b in BUDGETS for kind in ("change_vs_baseline", "change_vs_budget")),
        *(f"adversarial.local_change_vs_baseline[eps={setting_key(b)}]" for b in BUDGETS),
        *(f"adversarial.measurement_change_vs_baseline[eta={setting_key(e)}]" for e in ETAS),
        "adversarial.search_power[image_domain]", "adversarial.search_power[measurement_domain]",
    ]
    assert all(c.compares_to_baseline == ("baseline" in c.name) for c in result.criteria)
    assert all(c.setup == c.name.startswith("adversarial.search_power") for c in result.criteria)
    net, base = result.subjects["network"].summary, result.subjects["baseline"].summary
    for key in ("worst_case_amplification", "worst_case_change", "worst_case_relative_error", "relative_error_unperturbed"):
        assert net[key] == base[key]  # the same map, the same seeds: the same numbers
        assert list(net[key]) == ["0.01", "0.02", "0.04"]
        assert list(net["measurement_domain"][key]) == ["0.01", "0.04"]
    # the network's own perturbation is the baseline's: it changes the baseline exactly as much
    assert base["change_under_network_perturbation"] == base["worst_case_change"]


def test_evidence_is_plain_json_with_one_row_per_image(baseline_as_network):
    result, _ = baseline_as_network
    text = json.dumps(result.model_dump(mode="json"), allow_nan=False)
    assert "worst_case_amplification" in text
    rows = result.subjects["network"].per_image
    assert [r["image"] for r in rows] == ["img0", "img1"]
    entry = rows[0]["image_domain"]["0.02"]
    assert set(entry) >= {"change", "amplification", "gain", "relative_error", "crossed_at_iteration"}
    assert entry["gain"] == pytest.approx(entry["change"] / 0.02)
    assert rows[0]["gradient_evaluations"]["image_domain"] <= 12
    assert "change_under_network_perturbation" in result.subjects["baseline"].per_image[0]["measurement_domain"]["0.04"]
    assert result.parameters["effective"]["image_domain"]["max_iter"] == 12


def test_arrays_hold_every_reconstruction_for_the_figures(baseline_as_network):
    result, root = baseline_as_network
    assert result.arrays == ["arrays/adversarial_image_domain.npz", "arrays/adversarial_measurement_domain.npz"]
    image = load_npz(root / result.arrays[0])
    assert image["network_perturbation"].shape == (2, 3, N, N)
    for key in ("perturbed_image", "network_perturbed", "baseline_on_network_perturbation", "baseline_perturbed"):
        assert image[key].shape == (2, 3, N, N), key
    sizes = np.linalg.norm(image["network_perturbation"].reshape(2, 3, -1), axis=2) / np.linalg.norm(
        image["x"].reshape(2, 1, -1), axis=2)
    assert np.allclose(sizes, np.array(BUDGETS)[None], rtol=1e-5)
    assert list(image["image_ids"]) == ["img0", "img1"]
    noise = load_npz(root / result.arrays[1])
    assert noise["network_worst"].shape == (2, 2, N, N) and noise["baseline_on_network_noise"].shape == (2, 2, N, N)
    # the searches' convergence records: worst case so far, ending at the reported worst case
    assert noise["network_progress"].shape == (2, 2, 3 + 1)
    assert image["network_progress"].shape[:2] == (2, 3)
    rows = result.subjects["network"].per_image
    for i in range(2):
        for j, b in enumerate(BUDGETS):
            record = image["network_progress"][i, j]
            assert record[~np.isnan(record)][-1] == pytest.approx(rows[i]["image_domain"][setting_key(b)]["change"],
                                                                  rel=1e-5)


def test_each_search_reports_how_far_it_had_levelled_off(baseline_as_network):
    result, _ = baseline_as_network
    summary = result.subjects["network"].summary
    for shares in (summary["share_at_half_budget"], summary["measurement_domain"]["share_at_half_budget"]):
        assert all(0 < v <= 1 for v in shares.values())
    climbing = [n for n in result.notes if "still climbing" in n]
    assert bool(climbing) == any(v < 0.95 for v in (*summary["share_at_half_budget"].values(),
                                                   *summary["measurement_domain"]["share_at_half_budget"].values()))


def test_reported_reconstructions_are_the_maps_own_values(mri, baseline_as_network):
    """What is reported for the baseline is f itself, a fresh solve, whatever the searches did before."""
    op, baseline, _ = mri
    result, root = baseline_as_network
    image = load_npz(root / result.arrays[0])
    x, r = torch.from_numpy(image["x"]), torch.from_numpy(image["baseline_perturbation"])
    with torch.no_grad():
        clean = baseline(op.forward(x))
        perturbed = baseline(op.forward((x[:, None] + r).reshape(-1, N, N))).reshape(2, 3, N, N)
    saved = torch.from_numpy(image["baseline_perturbed"])
    assert float((perturbed.to(saved.dtype) - saved).abs().max()) <= 1e-4 * float(saved.abs().max()), float((perturbed.to(saved.dtype) - saved).abs().max())
    change = batch_norm2((perturbed - clean[:, None]).reshape(6, N, N)) / batch_norm2(x).repeat_interleave(3)
    summary = result.subjects["baseline"].summary["worst_case_change"]
    assert [summary[setting_key(b)] for b in BUDGETS] == pytest.approx(change.reshape(2, 3).amax(0).tolist(), rel=1e-5)


def test_zero_filled_reconstruction_passes(mri):
    op, baseline, images = mri
    result = AdversarialCheck().run(audit_context(op, ZeroFilled(op), baseline, images[:1]), _config())
    _assert_met(result)
    change = result.subjects["network"].summary["worst_case_change"]
    assert all(change[setting_key(b)] <= b * (1 + 1e-5) for b in BUDGETS)  # A*A is a projection: Δ ≤ ε


def test_a_planted_high_gain_direction_fails(mri):
    op, baseline, images = mri
    g = torch.Generator().manual_seed(2)
    w = torch.rand((1, N, N), generator=g)
    u = op.forward(w) / batch_norm2(op.forward(w))
    v = torch.rand((1, N, N), generator=g)
    v = v / batch_norm2(v)

    planted = Planted(baseline, op.embed(u), v, 100.0)  # the baseline plus g·Re⟨u, y⟩·v: a gain of 100 along u
    result = AdversarialCheck().run(audit_context(op, planted, baseline, images[:1]), _config())
    assert result.verdict is Verdict.FAIL
    failed = _failed(result)
    assert {"adversarial.change_vs_budget[eps=0.01]", "adversarial.change_vs_baseline[eps=0.01]",
            "adversarial.measurement_change_vs_baseline[eta=0.01]"} <= failed
    assert result.subjects["network"].summary["worst_case_change"]["0.01"] > 10 * 0.01


def test_a_network_returning_nan_is_an_error_naming_check_and_image(mri):
    op, baseline, images = mri
    x = torch.stack([images[0], 0.3 * images[0]])
    threshold = float(batch_norm2(op.forward(x)).mean())

    def nan_on_bright(y):
        out = op.adjoint(y)
        bright = batch_norm2(y) > threshold
        return torch.where(bright[:, None, None], torch.full_like(out, float("nan")), out)

    result = AdversarialCheck().run(audit_context(op, Map("nan", op, nan_on_bright), baseline, x), _config())
    assert result.verdict is Verdict.ERROR and not result.internal_error
    assert "adversarial" in result.reason and "img0" in result.reason and "img1" not in result.reason


def test_quick_mode_attacks_one_image_with_capped_iterations(mri):
    op, _, images = mri
    zf = ZeroFilled(op)
    x = torch.cat([images, images[:1]])
    cfg = AdversarialConfig(measurement_domain=MeasurementDomainAttack(etas=ETAS, iterations=10))
    result = AdversarialCheck().run(audit_context(op, zf, zf, x, quick=True), cfg)
    effective = result.parameters["effective"]
    assert effective["images"] == ["img0"] and effective["image_domain"]["max_iter"] == 50
    assert effective["measurement_domain"] == {"etas": ETAS, "restarts": 1, "iterations": 10, "lr": 5.0}
    assert any(n.startswith("quick mode") for n in result.notes)
    again = AdversarialCheck().run(audit_context(op, zf, zf, x, quick=True), cfg)
    assert again.subjects["network"].summary == result.subjects["network"].summary


def test_selected_images_and_disabled(mri):
    op, baseline, images = mri
    zf = ZeroFilled(op)
    with pytest.raises(ValueError, match="images: index 5"):
        AdversarialCheck().plan(audit_context(op, zf, baseline, images), _config(images=[0, 5]))
    result = AdversarialCheck().run(audit_context(op, zf, baseline, images), _config(enabled=False))
    assert result.verdict is Verdict.NOT_RUN and "disabled" in result.reason


def test_runs_on_ct_with_real_measurements():
    from auditkit.operators.ct import RadonCT

    op = RadonCT((N, N), 12)
    baseline = build_baseline("l1_wavelet", op, max_iter=10, checkpoint_segment=0)
    fbp = Map("FBP", op, op.pinv)
    images = random_ellipses((N, N), count=1, seed=4)
    result = AdversarialCheck().run(audit_context(op, fbp, baseline, images), _config())
    assert result.verdict in (Verdict.PASS, Verdict.FAIL), result.reason
    noise = result.subjects["network"].per_image[0]["measurement_domain"]["0.04"]
    assert noise["amplification"] > 0 and noise["change"] > 0
    # the baseline, given the network's own worst perturbations, was measured too
    assert "change_under_network_perturbation" in result.subjects["baseline"].summary



def test_a_search_too_short_for_the_known_worst_case_makes_the_check_inconclusive(baseline_as_network):
    """The module's searches are short: on the control map they find less than 0.95 of its worst case in the image
    domain, so the baseline submitted as the network, which fails nothing, is INCONCLUSIVE, not PASS."""
    result, _ = baseline_as_network
    power = {c.name: c for c in result.criteria if c.name.startswith("adversarial.search_power")}
    assert power["adversarial.search_power[image_domain]"].measured < 0.95
    assert result.verdict is Verdict.INCONCLUSIVE and "known worst case" in result.reason
