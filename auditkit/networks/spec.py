"""The ``network`` section of a manifest, as the loader reads it.

A structural type, so the loader works with the validated manifest model and
with any object carrying the same attributes (tests use a plain dataclass).
Members are read-only properties so that ``Literal``-typed model fields match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

NetworkFormat = Literal["torchscript", "python"]
InputConvention = Literal["kspace", "measurements", "zero_filled"]
ComplexConvention = Literal["complex", "channels"]
OutputConvention = Literal["magnitude", "real", "complex", "channels"]
DeviceChoice = Literal["auto", "cpu", "cuda"]


class NetworkSpecLike(Protocol):
    """What the loader needs from ``manifest.network``."""

    @property
    def format(self) -> str:
        """``torchscript`` or ``python``."""

    @property
    def path(self) -> Path:
        """The archive (torchscript) or a ``.py`` file / a folder of modules (python)."""

    @property
    def entrypoint(self) -> str | None:
        """``module:function`` building the network (python only)."""

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments passed to the entry point."""

    @property
    def weights(self) -> Path | None:
        """A ``.safetensors`` or ``.pt`` state dict, or None."""

    @property
    def sha256(self) -> dict[str, str]:
        """Manifest-folder-relative path → hex SHA-256 of every file read or executed."""

    @property
    def input(self) -> str:
        """Input convention: ``kspace``, ``measurements`` or ``zero_filled``."""

    @property
    def complex_as(self) -> str:
        """How complex values reach the network: ``complex`` dtype or two real ``channels``."""

    @property
    def output(self) -> str:
        """Output convention: ``magnitude``, ``real``, ``complex`` or ``channels``."""

    @property
    def device(self) -> str:
        """``auto``, ``cpu`` or ``cuda``."""
