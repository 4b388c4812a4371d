"""A network that misbehaves is the network's failure, told apart from the user's stop and from auditkit's own.

Every case here was found by a probe of hostile submissions: before, the first four
ended the auditor's process or passed for its own crash, and the output cases were
cast and judged without a word.
"""

from __future__ import annotations

import os
import signal

import pytest
import torch

from auditkit import interrupts
from auditkit.errors import NetworkLoadError, NetworkRaised, NetworkRuntimeError
from auditkit.networks.adapter import PROBE_OUTPUT_LIMIT, NetworkAdapter, precision_note

from .conftest import MaskedFFT


class Raises(torch.nn.Module):
    """Raises ``exc`` when called."""

    def __init__(self, exc: BaseException):
        super().__init__()
        self.exc = exc

    def forward(self, u):
        raise self.exc


class Returns(torch.nn.Module):
    """Returns ``make(u)``: an output of the kind under test."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def forward(self, u):
        return self.make(u)


def adapter(module: torch.nn.Module, output: str = "real") -> NetworkAdapter:
    return NetworkAdapter(module, MaskedFFT((8, 8)), input="zero_filled", complex_as="complex", output=output)


def y(batch: int = 2) -> torch.Tensor:
    op = MaskedFFT((8, 8))
    return op(torch.rand(batch, 8, 8).to(torch.complex64))


@pytest.mark.parametrize("exc", [RuntimeError("bad"), MemoryError("boom"), SystemExit(0), KeyboardInterrupt(),
                                 GeneratorExit()], ids=lambda e: type(e).__name__)
def test_whatever_the_network_raises_is_network_raised(exc):
    with pytest.raises(NetworkRaised, match=type(exc).__name__):
        adapter(Raises(exc))(y())


def test_a_stop_the_user_asked_for_passes_through_the_network():
    """A signal during the network's call stops the run, even when the network swallows the interrupt."""

    class Swallows(torch.nn.Module):
        def forward(self, u):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            except BaseException:  # noqa: BLE001 - what a careless network does
                pass
            return u[:, 0].abs()

    with interrupts.stop_on_signals():
        with pytest.raises(interrupts.StopRequested) as stop:
            adapter(Swallows())(y())
    assert stop.value.signum is signal.SIGTERM and stop.value.exit_code == 143
    assert interrupts.requested() is None  # reset once the block is left


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.uint8])
def test_integer_and_boolean_outputs_are_refused_not_cast(dtype):
    with pytest.raises(NetworkRuntimeError, match="floating-point or complex"):
        adapter(Returns(lambda u: u[:, 0].abs().to(dtype)))(y())


def test_half_precision_is_read_widened_and_recorded():
    net = adapter(Returns(lambda u: u[:, 0].abs().to(torch.float16)))
    assert net(y()).dtype == torch.float32
    net.probe()
    assert net.output_dtype == "float16"
    assert "float16" in precision_note("float16") and "0.00098" in precision_note("float16")
    assert precision_note("float32") is None


def test_a_network_whose_output_ignores_its_input_is_refused_at_the_probe():
    with pytest.raises(NetworkLoadError, match="does not depend on its input") as err:
        adapter(Returns(lambda u: torch.full((u.shape[0], 8, 8), 0.5))).probe()
    assert err.value.problems[0].field == "network.path"


def test_an_output_off_the_image_scale_is_refused_at_the_probe():
    with pytest.raises(NetworkLoadError, match=r"peaks at \d\.\de\+37") as err:
        adapter(Returns(lambda u: u[:, 0].abs() * 1e38)).probe()
    assert err.value.problems[0].field == "network.output"
    adapter(Returns(lambda u: u[:, 0].abs() * (PROBE_OUTPUT_LIMIT / 2))).probe()  # large but on scale: fine


def test_the_probe_names_the_network_input_when_the_network_raises_system_exit():
    with pytest.raises(NetworkLoadError, match="SystemExit") as err:
        adapter(Raises(SystemExit(0))).probe()
    assert err.value.problems[0].field == "network.input"
