"""The JSON Schema of the manifest, generated from the models and checked in as schemas/manifest.schema.json.

Editors use it to complete and check manifests as they are typed (YAML through
yaml-language-server). The text is deterministic (sorted keys, 2-space indent,
trailing newline) so that a test can compare the checked-in file byte for byte.
Cross-field rules are not expressed in the schema; ``auditkit validate`` checks them.
"""

from __future__ import annotations

import json
from typing import Any

from auditkit.manifest.models import SCHEMA_VERSION, Manifest

SCHEMA_ID = f"urn:auditkit:manifest:v{SCHEMA_VERSION}"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12) as a dict."""
    schema = Manifest.model_json_schema(mode="validation")
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    schema["title"] = "auditkit submission manifest"
    return schema


def schema_text() -> str:
    """The schema as the checked-in file holds it: sorted keys, indent 2, UTF-8, trailing newline."""
    return json.dumps(manifest_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
