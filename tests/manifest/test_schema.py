"""The checked-in JSON Schema equals the one the models generate, and describes every field."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from auditkit.manifest.schema import SCHEMA_ID, manifest_schema, schema_text
from auditkit.manifest.source import read_source

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "manifest.schema.json"


def test_checked_in_schema_matches_the_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "schemas/manifest.schema.json is out of date with auditkit/manifest/models.py; "
        "regenerate it with: .venv/bin/python scripts/write_schema.py"
    )


def test_schema_text_is_deterministic():
    assert schema_text() == schema_text()
    assert schema_text().endswith("}\n")
    assert json.loads(schema_text())["$id"] == SCHEMA_ID


def test_every_property_has_a_description():
    schema = manifest_schema()
    undescribed = [
        f"{model}.{name}"
        for model, definition in [("Manifest", schema), *schema["$defs"].items()]
        for name, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []


def test_every_optional_property_states_its_default():
    schema = manifest_schema()
    silent = [
        f"{model}.{name}"
        for model, definition in [("Manifest", schema), *schema["$defs"].items()]
        for name, prop in definition.get("properties", {}).items()
        if name not in definition.get("required", []) and "Default:" not in prop["description"]
    ]
    assert silent == []


@pytest.mark.parametrize("name", ["valid.yaml", "valid.json", "valid_full.yaml"])
def test_valid_fixtures_satisfy_the_schema(fixtures, name):
    jsonschema.Draft202012Validator(manifest_schema()).validate(read_source(fixtures / name).data)


@pytest.mark.parametrize("name", ["bad_unknown_field.yaml", "bad_password.yaml", "bad_wrong_type.yaml",
                                  "bad_ratio_range.yaml", "bad_missing_field.yaml"])
def test_schema_rejects_what_validate_rejects_field_by_field(fixtures, name):
    errors = list(jsonschema.Draft202012Validator(manifest_schema()).iter_errors(read_source(fixtures / name).data))
    assert errors
