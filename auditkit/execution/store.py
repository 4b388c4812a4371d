"""The units' results of one run, kept in the staging folder as they finish (``units/<unit id>.safetensors``).

Each result is written atomically, then a small record beside it (``<unit id>.json``: whether the
unit was computed or reused from the baseline cache, its cache key, its seconds), so a run
killed at any moment loses only the units in flight, and ``--resume`` finds the others.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditkit.checks.units import Unit
from auditkit.dossier import layout
from auditkit.fileio import write_atomic
from auditkit.payload import PayloadError, decode

#: How a unit's result came to be: computed by this run (or the run it resumes), or read from the cache.
COMPUTED, REUSED = "computed", "reused"


@dataclass(frozen=True)
class Entry:
    """What the store knows of a finished unit besides its result."""

    source: str
    cache_key: str | None
    seconds: float


class UnitStore:
    """Finished units' results under ``stage/units/``."""

    def __init__(self, stage: Path):
        self.folder = Path(stage) / layout.UNITS
        self.folder.mkdir(parents=True, exist_ok=True)

    def _data(self, unit: Unit) -> Path:
        return self.folder / f"{unit.id}.safetensors"

    def _record(self, unit: Unit) -> Path:
        return self.folder / f"{unit.id}.json"

    def put(self, unit: Unit, data: bytes, entry: Entry) -> None:
        """Keep ``data`` (an encoded result) for ``unit``; the record is written last, so it marks completion."""
        write_atomic(self._data(unit), data)
        write_atomic(self._record(unit), json.dumps(asdict(entry)))

    def has(self, unit: Unit) -> bool:
        """True when ``unit`` finished (its record exists and its result decodes)."""
        return self.entry(unit) is not None and self.data(unit) is not None

    def entry(self, unit: Unit) -> Entry | None:
        """The record of a finished unit, or None."""
        try:
            return Entry(**json.loads(self._record(unit).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def data(self, unit: Unit) -> bytes | None:
        """The encoded result of a finished unit, or None when missing or unreadable."""
        try:
            data = self._data(unit).read_bytes()
            decode(data)
        except (OSError, PayloadError):
            return None
        return data

    def outcome(self, unit: Unit) -> Any:
        """The decoded result of a finished unit (KeyError when it has none)."""
        data = self.data(unit)
        if data is None:
            raise KeyError(unit.id)
        return decode(data)
