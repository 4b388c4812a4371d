import pytest
import torch

from auditkit.checks.base import Check, guarded_call, hash_seed
from auditkit.errors import NetworkRuntimeError
from auditkit.evidence import CheckResult, Verdict


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

    def run(self, ctx, config) -> CheckResult:
        raise self.exc


def test_execute_turns_failures_into_error_verdicts():
    r = _Boom(NetworkRuntimeError("boom: network output contains NaN")).execute(None, None)
    assert r.verdict is Verdict.ERROR and not r.internal_error and "NaN" in r.reason
    r = _Boom(ZeroDivisionError("x")).execute(None, None)
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
