"""Regenerate schemas/manifest.schema.json from the manifest models.

Run after changing auditkit/manifest/models.py:
    .venv/bin/python scripts/write_schema.py
The output is deterministic, so an unchanged model gives an unchanged file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from auditkit.manifest.schema import schema_text

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schemas" / "manifest.schema.json"


def main() -> int:
    """Write the schema file and say where."""
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
