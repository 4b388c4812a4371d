"""Stop requests from the user (Ctrl-C, SIGTERM), told apart from a network's own exceptions.

While ``stop_on_signals()`` is active, SIGINT, SIGTERM and SIGHUP record which signal
arrived and raise ``StopRequested`` (a ``KeyboardInterrupt``) in the main thread.
A ``KeyboardInterrupt`` that a network raises itself is therefore recognisable:
``requested()`` is None when no signal arrived, and the caller treats it as the
network's misbehaviour, not as the user's wish to stop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals that ask an audit to stop, keeping what it finished (Ctrl-C, kill, a closed terminal).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_requested: signal.Signals | None = None


class StopRequested(KeyboardInterrupt):
    """The user asked the process to stop (a signal arrived)."""

    def __init__(self, signum: signal.Signals):
        super().__init__(signum.name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + int(self.signum)


def requested() -> signal.Signals | None:
    """The stop signal that arrived while ``stop_on_signals`` was active, or None."""
    return _requested


def raise_if_requested() -> None:
    """Raise ``StopRequested`` again when a stop was requested (e.g. a network swallowed it)."""
    if _requested is not None:
        raise StopRequested(_requested)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _requested
    _requested = signal.Signals(signum)
    raise StopRequested(_requested)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the stop signals raise ``StopRequested``; the previous handlers come back after,
    and ``requested()`` is None again (the raised ``StopRequested`` carries the signal).

    Outside the main thread (where signal handlers cannot be set) the block runs unchanged.
    """
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested = None
    previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _requested = None
