"""What a supervised audit process is doing, told to the process that supervises it.

The ``auditkit`` console script runs every command that executes submitted code
(``validate``, ``run``, ``reproduce``) in a child process (``auditkit.supervisor``),
so that a network which ends the process (``os._exit``, a crash in native code, the
out-of-memory killer) cannot end the auditor's process or pass for success. The
child reports on an inherited pipe, one JSON object per line, what it is doing:

- ``{"event": "loading", "file": F}``: importing, building or probing the network file F;
- ``{"event": "run", "stage": S, "fingerprint": P}``: an audit writes into staging folder S;
- ``{"event": "check", "name": N}``: check N starts;
- ``{"event": "network", "images": [...]}`` / ``{"event": "network", "images": null}``:
  the network is called on these images / has returned;
- ``{"event": "exit", "code": C}``: the command ends normally with exit code C.

A child that ends without its ``exit`` event ended abruptly; the supervisor then
knows from the last events whose code was running. Outside a supervised child
(library use, tests) every function here does nothing.

A ``CrashRecord`` is the supervisor's answer: written into the staging folder when
the network ended the process during a check, it makes the resumed run record that
check as ERROR instead of running it again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditkit.fileio import write_atomic

#: Environment variable holding the file descriptor of the pipe to the supervisor.
CHANNEL_ENV = "AUDITKIT_ACTIVITY_FD"

_channel: Any = None  # the open pipe, once opened; False when there is none


def supervised() -> bool:
    """True in a child process started by the supervisor."""
    return _pipe() is not None


def _pipe() -> Any:
    """The pipe to the supervisor, opened on first use, or None outside a supervised child."""
    global _channel
    if _channel is None:
        fd = os.environ.get(CHANNEL_ENV)
        try:
            _channel = os.fdopen(int(fd), "w", buffering=1, encoding="utf-8") if fd else False
        except (OSError, ValueError):
            _channel = False
    return _channel or None


def tell(event: str, **fields: Any) -> None:
    """Send one event to the supervisor (nothing outside a supervised child)."""
    pipe = _pipe()
    if pipe is None:
        return
    try:
        pipe.write(json.dumps({"event": event, **fields}, default=str) + "\n")
    except (OSError, ValueError):  # the supervisor is gone: there is no one left to tell
        pass


@contextmanager
def network_call(images: Sequence[str]) -> Iterator[None]:
    """Mark the block as the network's code running on ``images``."""
    tell("network", images=list(images))
    try:
        yield
    finally:
        tell("network", images=None)


def finish(code: object) -> None:
    """Tell the supervisor the command ends normally with exit code ``code`` (SystemExit's code)."""
    tell("exit", code=0 if code is None else code if isinstance(code, int) else 1)


# --- the supervisor's answer ------------------------------------------------------------------

#: Folder, inside the staging folder, of the crash records (beside the checks' checkpoints).
CRASH_FOLDER = "crashes"


@dataclass(frozen=True)
class CrashRecord:
    """The network ended the audit process while check ``check`` ran it on ``images``."""

    fingerprint: str
    check: str
    images: tuple[str, ...]
    ending: str  # how the process ended, e.g. "exit status 0" or "signal 9 (SIGKILL)"

    @property
    def reason(self) -> str:
        """The ERROR message the check is recorded with."""
        what = f"image(s) {', '.join(self.images)}" if self.images else "an image"
        return (f"{self.check}: the network's code ended the audit process ({self.ending}) while "
                f"reconstructing {what}: a call such as os._exit, a crash in native code, or the "
                "out-of-memory killer")

    def write(self, stage: Path) -> None:
        """Store the record in ``stage`` (atomically)."""
        path = crash_path(stage, self.check)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(asdict(self)))


def crash_path(stage: Path, check: str) -> Path:
    """Where the crash record of ``check`` lives in the staging folder."""
    return Path(stage) / CRASH_FOLDER / f"{check}.json"


def read_crash(stage: Path, check: str, fingerprint: str) -> CrashRecord | None:
    """The crash record of ``check`` written for the run ``fingerprint``, or None."""
    path = crash_path(stage, check)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = CrashRecord(data["fingerprint"], data["check"], tuple(data["images"]), data["ending"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if record.fingerprint == fingerprint and record.check == check else None
