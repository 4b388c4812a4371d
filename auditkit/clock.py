"""The one clock of auditkit's records: UTC, to the second, ISO 8601 (e.g. 2026-12-06T17:50:12+00:00)."""

from __future__ import annotations

import datetime as _dt


def utc_now() -> str:
    """The time now, as every record writes it."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
