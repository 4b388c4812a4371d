"""Error types shared by every layer, and the exit codes they map to.

Bad input (a manifest, a file, a network that cannot be loaded) is an
``InputError`` carrying one ``Problem`` per finding, so that every problem is
reported at once as ``FILE:LINE: field.path: message`` and the process exits 2.
Anything else that goes wrong inside auditkit is an internal error (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


@dataclass(frozen=True)
class Problem:
    """One finding about the input: where it is and what is wrong."""

    file: Path | str
    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def format(self) -> str:
        """``FILE:LINE: field.path: message`` (``FILE:LINE:COL`` when the column is known)."""
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class AuditkitError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = EXIT_INTERNAL


class InputError(AuditkitError):
    """The user's input is wrong; carries every problem found, one per line."""

    exit_code = EXIT_INPUT

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))


class NetworkLoadError(InputError):
    """The submitted network file cannot be used (hash, format, entry point, probe)."""


class NetworkRuntimeError(AuditkitError):
    """The network misbehaved while a check ran (NaN/Inf output, wrong shape).

    Checks catch it and record an ERROR verdict naming the check and the image.
    """


class NetworkRaised(NetworkRuntimeError):
    """The network's own code raised (any exception, ``MemoryError``, ``SystemExit`` or a
    ``KeyboardInterrupt`` that the user did not cause) while it reconstructed."""
