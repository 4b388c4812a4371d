"""The submission manifest: models, loading with line numbers, file checks and JSON Schema.

``load_manifest(path)`` parses and validates (every problem at once, as
``FILE:LINE: field.path: message``); ``check_files(manifest)`` checks the files
it names, loads the network and checks this machine (memory, device, signing
password); ``validate_manifest(path)`` does both, and when the schema fails still
checks the files of the sections that passed it. Sizes are bounded by
``auditkit.manifest.limits``; ``auditkit.manifest.memory`` estimates an audit's peak memory.
"""

from auditkit.manifest.files import check_files, validate_manifest
from auditkit.manifest.load import load_manifest
from auditkit.manifest.models import CHECK_NAMES, SCHEMA_VERSION, Manifest
from auditkit.manifest.paths import ManifestPath
from auditkit.manifest.schema import manifest_schema, schema_text

__all__ = [
    "CHECK_NAMES",
    "SCHEMA_VERSION",
    "Manifest",
    "ManifestPath",
    "check_files",
    "load_manifest",
    "manifest_schema",
    "schema_text",
    "validate_manifest",
]
