import json

import numpy as np
import pytest
import torch

from auditkit.arrays import ArraySink, load_npz
from auditkit.baselines import build_baseline
from auditkit.checks.base import setting_key
from auditkit.attacks.projected import running_max
from auditkit.checks.tradeoff import TradeoffCheck, lipschitz_slopes, quick_levels
from auditkit.data.phantoms import random_ellipses
from auditkit.checks.result import Verdict
from auditkit.manifest.models import TradeoffConfig
from auditkit.operators.base import batch_norm2, inner
from auditkit.operators.mri import MRISingleCoil

from tests.checks.context import audit_context
from tests.checks.networks import Map, ZeroFilled

N = 32
ETAS = [0.0, 0.02, 0.04]


@pytest.fixture(scope="module")
def mri():
    op = MRISingleCoil.from_pattern("cartesian_random", (N, N), 0.3, 0.08, 0)
    baseline = build_baseline("l1_wavelet", op, max_iter=30, checkpoint_segment=0)
    images = random_ellipses((N, N), count=2, seed=4)
    return op, baseline, images


def _config(**kw):
    return TradeoffConfig(**{"etas": ETAS, "restarts": 1, "iterations": 4, **kw})


def _failed(result):
    return {c.name for c in result.criteria if not c.passed}


def _means(result, subject):
    by_eta = result.subjects[subject].summary["worst_case_error_by_eta"]
    return [by_eta[setting_key(e)]["mean"] for e in ETAS]


@pytest.fixture(scope="module")
def zero_filled_run(mri, tmp_path_factory):
    op, baseline, images = mri
    root = tmp_path_factory.mktemp("tradeoff")
    result = TradeoffCheck().run(audit_context(op, ZeroFilled(op), baseline, images, arrays=ArraySink(root)), _config())
    return result, root


def test_zero_filled_reconstruction_passes_with_one_criterion_per_level(zero_filled_run):
    result, _ = zero_filled_run
    assert result.verdict is Verdict.PASS, result.reason or _failed(result)
    assert [c.name for c in result.criteria] == [
        f"tradeoff.{kind}[eta={setting_key(e)}]" for e in ETAS for kind in ("error_vs_baseline", "local_error_vs_baseline")
    ]
    assert all(c.compares_to_baseline for c in result.criteria)
    assert [c.threshold for c in result.criteria[::2]] == pytest.approx([2.0 * m for m in _means(result, "baseline")])


def test_zero_filled_error_stays_under_its_hypotenuse(mri, zero_filled_run):
    """A*(y + e) − x = (A*y − x) + A*e with A*e ⟂ ker A ∋ A*y − x, so ‖A*(y + e) − x‖² = ‖A*y − x‖² + ‖e‖²;
    the reported error compares the modulus, ‖|z| − x‖ ≤ ‖z − x‖, so it lies under that ceiling."""
    op, _, images = mri
    result, _ = zero_filled_run
    y = op.forward(images)
    ratio = (batch_norm2(y) / batch_norm2(images)).double()
    complex_error = (batch_norm2(op.adjoint(y) - images) / batch_norm2(images)).double()
    for i, row in enumerate(result.subjects["network"].per_image):
        e0 = row["relative_error_unperturbed"]
        for eta in ETAS[1:]:
            ceiling = float(torch.sqrt(complex_error[i] ** 2 + (eta * ratio[i]) ** 2))
            found = row["worst_case_error"][setting_key(eta)]["relative_error"]
            assert e0 < found <= ceiling * (1 + 1e-5)


def test_summary_statistics_and_slopes(zero_filled_run):
    result, _ = zero_filled_run
    for subject in ("network", "baseline"):
        summary = result.subjects[subject].summary
        rows = result.subjects[subject].per_image
        for eta in ETAS:
            values = np.array([r["worst_case_error"][setting_key(eta)]["relative_error"] for r in rows])
            stats = summary["worst_case_error_by_eta"][setting_key(eta)]
            assert stats == pytest.approx({"mean": values.mean(), "std": values.std(), "min": values.min(),
                                           "max": values.max()})
        means = _means(result, subject)
        assert means == sorted(means)  # nested balls: non-decreasing
        assert summary["local_lipschitz"] == pytest.approx((means[1] - means[0]) / ETAS[1])
        assert summary["local_lipschitz_fit"] == pytest.approx(np.polyfit(ETAS, means, 1)[0])
        assert summary["local_lipschitz_etas"] == ETAS
        assert summary["relative_error_unperturbed"]["mean"] == pytest.approx(means[0])
    # the projection A*A is the most stable map there is: its error barely moves
    assert result.subjects["network"].summary["local_lipschitz"] < result.subjects["baseline"].summary["local_lipschitz"]


def test_evidence_is_plain_json_and_arrays_hold_the_figure_data(zero_filled_run):
    result, root = zero_filled_run
    json.dumps(result.model_dump(mode="json"), allow_nan=False)
    row = result.subjects["baseline"].per_image[0]
    assert row["image"] == "img0" and row["worst_case_error"]["0"] == {
        "relative_error": row["relative_error_unperturbed"], "found_at_eta": 0.0, "restart": None,
        "local_error": row["worst_case_error"]["0"]["local_error"]}
    assert row["worst_case_error"]["0.04"]["restart"] == 0
    assert result.parameters["effective"] == {
        "images": ["img0", "img1"], "quick": False, "etas": ETAS, "restarts": 1, "iterations": 4, "lr": 5.0,
        "k_baseline": 2.0,
    }
    assert result.arrays == ["arrays/tradeoff.npz"]
    data = load_npz(root / result.arrays[0])
    assert list(data["etas"]) == ETAS and list(data["image_ids"]) == ["img0", "img1"]
    assert data["network_error"].shape == data["baseline_error"].shape == (2, 3)
    assert data["network_error"][0, -1] == pytest.approx(row_error(result, "network", 0, ETAS[-1]))
    for key in ("x", "network_clean", "network_worst", "baseline_clean", "baseline_worst"):
        assert data[key].shape == (N, N), key
    assert not np.iscomplexobj(data["network_worst"])  # moduli, what the error compares
    worst = np.linalg.norm(data["network_worst"] - data["x"]) / np.linalg.norm(data["x"])
    assert worst == pytest.approx(data["network_error"][0, -1], rel=1e-5)


def row_error(result, subject, i, eta):
    return result.subjects[subject].per_image[i]["worst_case_error"][setting_key(eta)]["relative_error"]


def test_accurate_but_unstable_network_fails_under_noise_only(mri):
    """The baseline plus 100·Re⟨u, y⟩·v with u ⟂ every test measurement: exact at η = 0, explosive along u."""
    op, baseline, images = mri
    y = op.forward(images)
    u = op.forward(torch.rand((1, N, N), generator=torch.Generator().manual_seed(2)))
    basis = []  # Gram–Schmidt: an orthonormal basis of the test measurements, then u minus its projection
    for yi in [*y[:, None], u]:
        for q in basis:
            yi = yi - inner(q, yi)[:, None] * q
        basis.append(yi / batch_norm2(yi))
    u = basis[-1]
    v = torch.rand((1, N, N), generator=torch.Generator().manual_seed(3))
    v = v / batch_norm2(v) * float(batch_norm2(images).mean())

    def planted(y):
        return baseline(y) + 100.0 * inner(u.expand_as(y), y)[:, None, None] * v

    result = TradeoffCheck().run(audit_context(op, Map("planted", op, planted), baseline, images), _config())
    assert result.verdict is Verdict.FAIL
    assert _failed(result) == {f"tradeoff.{kind}[eta={e}]" for e in ("0.02", "0.04")
                               for kind in ("error_vs_baseline", "local_error_vs_baseline")}
    net, base = _means(result, "network"), _means(result, "baseline")
    assert net[0] == pytest.approx(base[0], rel=1e-4)  # as accurate as the baseline without noise
    assert net[2] > 10 * base[2]
    assert result.subjects["network"].summary["local_lipschitz"] > 50


def test_inaccurate_network_fails_already_without_noise(mri):
    op, baseline, images = mri
    zeros = Map("zeros", op, lambda y: 0.0 * op.adjoint(y))  # through y, so that the attack has a (zero) gradient
    result = TradeoffCheck().run(audit_context(op, zeros, baseline, images), _config())
    assert result.verdict is Verdict.FAIL
    assert "tradeoff.error_vs_baseline[eta=0]" in _failed(result)
    assert _means(result, "network") == pytest.approx([1.0] * len(ETAS))
    assert result.subjects["network"].summary["local_lipschitz"] == pytest.approx(0.0)
    row = result.subjects["network"].per_image[0]["worst_case_error"]
    assert [row[setting_key(e)]["found_at_eta"] for e in ETAS] == ETAS  # ties: each level's own search is credited
    assert not any("smaller error" in n for n in result.notes)


def test_same_seed_same_numbers_and_the_baseline_against_itself_passes(mri):
    op, baseline, images = mri
    cfg = _config(iterations=2)
    first = TradeoffCheck().run(audit_context(op, baseline, baseline, images[:1]), cfg)
    again = TradeoffCheck().run(audit_context(op, baseline, baseline, images[:1]), cfg)
    assert first.verdict is Verdict.PASS
    assert first.subjects["network"].summary == again.subjects["network"].summary
    assert first.subjects["network"].summary == first.subjects["baseline"].summary
    zf = ZeroFilled(op)
    seeded = [TradeoffCheck().run(audit_context(op, zf, zf, images[:1], seed=seed), cfg) for seed in (0, 1)]
    assert seeded[0].subjects["network"].summary != seeded[1].subjects["network"].summary


def test_an_error_that_noise_reduces_keeps_the_unperturbed_one(mri):
    """f(y) = x + w·(1 − c‖y − y₀‖²): every perturbation lowers the error, so E(η) = E(0), found at η = 0."""
    op, baseline, images = mri
    x, y0 = images[:1], op.forward(images[:1])
    w = 0.1 * x.flip(-1)
    c = 0.5 / float(0.04 * batch_norm2(y0)) ** 2

    def shrinking(y):
        return x + w * (1 - c * batch_norm2(y - y0) ** 2)[:, None, None]

    result = TradeoffCheck().run(audit_context(op, Map("shrinking", op, shrinking), baseline, x), _config())
    row = result.subjects["network"].per_image[0]
    for eta in ETAS:
        kept = row["worst_case_error"][setting_key(eta)]
        assert kept == {"relative_error": row["relative_error_unperturbed"], "found_at_eta": 0.0, "restart": None,
                        "local_error": row["worst_case_error"]["0"]["local_error"]}  # e = 0 kept: its local error too
    assert any(n.startswith("network: the search at a level found a smaller error") for n in result.notes)


def test_nan_output_is_an_error_naming_check_and_image(mri):
    op, baseline, images = mri
    x = torch.stack([images[0], 0.3 * images[0]])
    threshold = float(batch_norm2(op.forward(x)).mean())

    def nan_on_bright(y):
        out = op.adjoint(y)
        return torch.where((batch_norm2(y) > threshold)[:, None, None], torch.full_like(out, float("nan")), out)

    result = TradeoffCheck().run(audit_context(op, Map("nan", op, nan_on_bright), baseline, x), _config())
    assert result.verdict is Verdict.ERROR and not result.internal_error
    assert "tradeoff" in result.reason and "img0" in result.reason and "img1" not in result.reason


def test_quick_mode_reduces_images_levels_restarts_and_iterations(mri):
    op, _, images = mri
    zf = ZeroFilled(op)
    x = torch.cat([images, images[:1]])
    result = TradeoffCheck().run(audit_context(op, zf, zf, x, quick=True), TradeoffConfig(iterations=40))
    assert result.parameters["effective"] == {
        "images": ["img0"], "quick": True, "etas": [0.0, 0.04, 0.08], "restarts": 1, "iterations": 30,
        "lr": 5.0, "k_baseline": 2.0,
    }
    assert [c.name for c in result.criteria][-2:] == [
        "tradeoff.error_vs_baseline[eta=0.08]", "tradeoff.local_error_vs_baseline[eta=0.08]"
    ]
    assert any(n.startswith("quick mode") for n in result.notes)


def test_disabled_is_not_run(mri):
    op, baseline, images = mri
    result = TradeoffCheck().run(audit_context(op, ZeroFilled(op), baseline, images), _config(enabled=False))
    assert result.verdict is Verdict.NOT_RUN and "disabled" in result.reason


def test_quick_levels_and_slopes():
    assert quick_levels([0, 0.02, 0.04, 0.06, 0.08]) == (0.0, 0.04, 0.08)
    assert quick_levels([0.01, 0.02]) == (0.01, 0.02)
    assert quick_levels([0, 1, 2, 3]) == (0.0, 2.0, 3.0)
    line = lipschitz_slopes([0.0, 0.1, 0.2, 0.3], [1.0, 1.3, 1.6, 5.0], 1.0)
    assert line["local_lipschitz"] == pytest.approx(3.0) and line["local_lipschitz_fit"] == pytest.approx(3.0)
    assert line["local_lipschitz_etas"] == [0.0, 0.1, 0.2]  # the outlier at 0.3 is not used
    no_zero = lipschitz_slopes([0.05], [0.6], 0.5)  # η = 0 not configured: the unperturbed error is the anchor
    assert no_zero["local_lipschitz"] == pytest.approx(2.0) and no_zero["local_lipschitz_fit"] == pytest.approx(2.0)
    assert lipschitz_slopes([0.0], [0.3], 0.3)["local_lipschitz"] is None


def test_runs_on_ct_with_real_measurements():
    from auditkit.operators.ct import RadonCT

    op = RadonCT((N, N), 12)
    baseline = build_baseline("l1_wavelet", op, max_iter=10, checkpoint_segment=0)
    fbp = Map("FBP", op, op.pinv)
    result = TradeoffCheck().run(audit_context(op, fbp, baseline, random_ellipses((N, N), count=1, seed=4)), _config())
    assert result.verdict in (Verdict.PASS, Verdict.FAIL), result.reason
    means = _means(result, "network")
    assert means == sorted(means) and means[-1] > means[0]


def test_running_max_credits_the_latest_column_on_ties():
    values, source = running_max(torch.tensor([[1.0, 1.0, 0.5, 2.0], [0.3, 0.2, 0.4, 0.4]], dtype=torch.float64))
    assert values.tolist() == [[1.0, 1.0, 1.0, 2.0], [0.3, 0.3, 0.4, 0.4]]
    assert source.tolist() == [[0, 1, 1, 3], [0, 0, 2, 3]]
