import pytest
import torch

from auditkit.checks.base import Check, guarded_call, hash_seed
from auditkit.errors import NetworkRuntimeError
from auditkit.checks.result import CheckResult, Verdict
from auditkit.manifest.models import CheckConfig


class _Op:
    image_shape = (4, 4)


class _Map:
    name = "net"
    operator = _Op()

    def __init__(self, out):
        self.out = out

    def __call__(self, y):
        return self.out


def test_guarded_call_names_check_and_image():
    out = torch.zeros(2, 4, 4)
    out[1, 0, 0] = float("nan")
    with pytest.raises(NetworkRuntimeError, match=r"adversarial: network output contains NaN or Inf for image\(s\) brain"):
        guarded_call(_Map(out), torch.zeros(2, 3), check="adversarial", image_ids=["phantom", "brain"])


def test_guarded_call_rejects_wrong_shape():
    with pytest.raises(NetworkRuntimeError, match=r"returned shape \(2, 4, 5\), expected \(2, 4, 4\)"):
        guarded_call(_Map(torch.zeros(2, 4, 5)), torch.zeros(2, 3), check="c", image_ids=["a", "b"])


class _Boom(Check):
    name = "boom"
    title = "Boom"

    def __init__(self, exc):
        self.exc = exc

    def precondition(self, ctx, config):
        raise self.exc

    def measure(self, ctx, config, subject, images):
        raise AssertionError("not reached")

    def decide(self, ctx, config, images, measured, compared) -> CheckResult:
        raise AssertionError("not reached")


def test_execute_turns_failures_into_error_verdicts():
    r = _Boom(NetworkRuntimeError("boom: network output contains NaN")).run(None, CheckConfig())
    assert r.verdict is Verdict.ERROR and not r.internal_error and "NaN" in r.reason
    r = _Boom(ZeroDivisionError("x")).run(None, CheckConfig())
    assert r.verdict is Verdict.ERROR and r.internal_error and "ZeroDivisionError" in r.reason


def test_hash_seed_is_stable_and_spreads():
    assert hash_seed(0, 1) == hash_seed(0, 1)
    assert len({hash_seed(0, i) for i in range(100)}) == 100
    assert hash_seed(3) == 1570728435472657285  # pinned: the same in every process (no salted hash)


def test_guarded_recon_names_the_image_of_each_row_and_can_return_the_modulus():
    from auditkit.checks.base import guarded_recon

    out = torch.zeros(3, 4, 4, dtype=torch.complex64) - 1j
    out[2, 1, 1] = float("nan")
    recon = guarded_recon(_Map(out), check="tradeoff", image_ids=["a", "b"], modulus=True)
    with pytest.raises(NetworkRuntimeError, match=r"tradeoff: network output contains NaN or Inf for image\(s\) b"):
        recon(torch.zeros(3, 2), torch.tensor([0, 0, 1]))
    ok = guarded_recon(_Map(out[:2]), check="tradeoff", image_ids=["a", "b"], modulus=True)
    got = ok(torch.zeros(2, 2), torch.tensor([0, 1]))
    assert not got.is_complex() and torch.equal(got, torch.ones(2, 4, 4))


# --- a misbehaving network: ERROR naming check and image, never auditkit's crash ---------------


class _RaisingMap(_Map):
    """A map whose call raises ``exc`` (what the adapter raises for a bad output or a failing network)."""

    def __init__(self, exc):
        self.exc = exc

    def __call__(self, y):
        raise self.exc


@pytest.mark.parametrize("message", [
    "network returned a tuple, expected a tensor",
    "network output (output 'real') should be a real tensor (B, 1, H, W) or (B, H, W), got complex64 of shape (2, 4, 4)",
    "network raised MemoryError: boom",
])
def test_guarded_call_names_the_images_whatever_the_network_got_wrong(message):
    from auditkit.errors import NetworkRaised

    for exc in (NetworkRuntimeError(message), NetworkRaised(message)):
        with pytest.raises(type(exc), match=r"^structural: network on image\(s\) phantom, brain: ") as err:
            guarded_call(_RaisingMap(exc), torch.zeros(2, 3), check="structural", image_ids=["phantom", "brain"])
        assert message in str(err.value)


def test_guarded_call_refuses_an_output_too_large_to_measure():
    """Beyond √(finfo.max / pixels) / 100 the squared norms of float32 overflow: ERROR, not inf judged."""
    from auditkit.checks.base import measurable_limit

    out = torch.zeros(2, 4, 4)
    assert measurable_limit(out) == pytest.approx((torch.finfo(torch.float32).max / 16) ** 0.5 / 100)
    out[1] = 1e30
    with pytest.raises(NetworkRuntimeError, match=r"too large to measure for image\(s\) brain \(peak 1e\+30\)"):
        guarded_call(_Map(out), torch.zeros(2, 3), check="c", image_ids=["phantom", "brain"])
    out[1] = 1e6  # large, measurable: judged by the criteria
    guarded_call(_Map(out), torch.zeros(2, 3), check="c", image_ids=["phantom", "brain"])


def test_an_exception_from_submitted_code_outside_a_guarded_call_is_the_networks_error(tmp_path):
    """E.g. raised while back-propagating through the network: ERROR, not internal."""
    from auditkit.networks.python_source import call_entrypoint

    src = tmp_path / "sub_backward_net.py"
    src.write_bytes(b"def build():\n    return lambda: 1 / 0\n")
    boom = call_entrypoint(src, {src: src.read_bytes()}, "sub_backward_net:build", {})
    try:
        boom()
    except ZeroDivisionError as exc:
        raised = exc
    result = _Boom(raised).run(None, CheckConfig())
    assert result.verdict is Verdict.ERROR and not result.internal_error
    assert "the network's code raised ZeroDivisionError" in result.reason


@pytest.mark.parametrize("exc", [SystemExit(0), KeyboardInterrupt()], ids=lambda e: type(e).__name__)
def test_a_base_exception_from_auditkit_itself_is_not_swallowed(exc):
    with pytest.raises(type(exc)):
        _Boom(exc).run(None, CheckConfig())


def _raw_slice(coils: int, maps_seed: int = 0):
    """A noise-free raw slice of Shepp–Logan (32×32 shown, 2× readout oversampling), its reference with the true
    maps (cropped to the shown rows), and the real image it was made from."""
    import numpy as np

    from auditkit.data.phantoms import shepp_logan
    from auditkit.data.raw import RawSlice, reference
    from auditkit.data.synthetic_raw import multicoil_kspace

    x = shepp_logan((32, 32), dtype=torch.float64).numpy()
    k, maps = multicoil_kspace(x[None], coils=coils, seed=maps_seed)
    raw = RawSlice(k[0], (64, 32), (32, 32), {"file": "scan.h5", "slice": 0})
    return reference(raw, maps[:, 16:48] if coils > 1 else None), x


@pytest.mark.parametrize("coils", [1, 4])
def test_raw_images_are_measured_as_acquired_and_others_simulated(coils):
    """y = P_Ω k for a raw slice (at the audit's mask and at another ratio), A x for a simulated image: with
    noise-free data and the true maps the two agree, which ties the raw path to the operator."""
    from auditkit.checks.base import AuditContext, Selection, Subject
    from auditkit.operators.coils import synthetic_coil_maps
    from auditkit.operators.mri import MRISingleCoil
    from auditkit.operators.mri_multicoil import MRIMultiCoil

    ref, x = _raw_slice(coils)
    if coils == 1:
        op = MRISingleCoil.from_pattern("cartesian_random", (32, 32), 0.3, 0.08, 0, dtype=torch.float64)
    else:
        maps = synthetic_coil_maps(coils, (32, 32), seed=5, dtype=torch.complex128)  # the audit's own, not the slice's
        op = MRIMultiCoil.from_pattern("cartesian_random", (32, 32), 0.3, 0.08, 0, maps=maps, dtype=torch.float64)
    images = torch.stack([torch.from_numpy(ref.image), torch.from_numpy(x)])
    seen = []
    ctx = AuditContext(operator=op, network=Subject("network", lambda y: y, lambda o: seen.append(o) or (lambda y: y)),
                       baseline=Subject("baseline", lambda y: y, lambda o: (lambda y: y)), images=images,
                       image_ids=["raw", "sim"], measured=(ref, None))
    assert ctx.for_image(1) is ctx
    own = ctx.for_image(0)
    if coils == 1:
        assert own is ctx and ref.maps is None
    else:
        assert torch.allclose(own.operator.maps, torch.from_numpy(ref.maps)) and seen == [own.operator]
    for a in (own.operator, own.operator.with_ratio(0.6)):
        y = own.measurements(a, Selection([0, 1], ["raw", "sim"], images))
        assert torch.equal(y[1], a.forward(images[1:2])[0])
        assert torch.allclose(y[0], a.extract(torch.from_numpy(ref.kspace).reshape(*a.measurement_shape[:-1], 32, 32)))
        # exact maps, no noise: the acquired data are A x_c for the coil-combined reference x_c (|x_c| the image)
        assert torch.allclose(y[0], a.forward(torch.from_numpy(ref.complex_image)[None])[0], atol=1e-10)
