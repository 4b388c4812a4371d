"""Stop requests: SIGINT and SIGTERM become ``StopRequested``, told apart from a raised KeyboardInterrupt."""

from __future__ import annotations

import os
import signal

import pytest

from auditkit import interrupts


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stop_signal_raises_stop_requested_with_the_shells_exit_code(signum, code):
    with pytest.raises(interrupts.StopRequested) as stop:
        with interrupts.stop_on_signals():
            os.kill(os.getpid(), signum)
    assert stop.value.signum is signum and stop.value.exit_code == code


def test_a_keyboard_interrupt_without_a_signal_is_not_a_stop_request():
    with interrupts.stop_on_signals():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            assert interrupts.requested() is None
        interrupts.raise_if_requested()  # nothing to raise


def test_previous_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    with interrupts.stop_on_signals():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
