"""The submission manifest: models, loading with line numbers, and JSON Schema.

``load_manifest(path)`` parses and validates (every problem at once, as
``FILE:LINE: field.path: message``). Sizes are bounded by ``auditkit.manifest.limits``;
``auditkit.manifest.memory`` estimates an audit's peak memory. What the manifest names
on this machine (files, network, memory) is checked by ``auditkit.preflight``, a layer
above the operators and networks it builds.
"""

from auditkit.manifest.load import load_manifest
from auditkit.manifest.models import CHECK_NAMES, SCHEMA_VERSION, Manifest
from auditkit.manifest.paths import ManifestPath
from auditkit.manifest.schema import manifest_schema, schema_text

__all__ = [
    "CHECK_NAMES",
    "SCHEMA_VERSION",
    "Manifest",
    "ManifestPath",
    "load_manifest",
    "manifest_schema",
    "schema_text",
]
