"""Reading a manifest file into a validated ``Manifest``, reporting every problem at once.

Each pydantic error becomes one ``Problem`` at the line where its field is
written; cross-field rules (``FieldIssues``) become one problem per broken
rule. Messages are reworded where pydantic's wording would puzzle a vendor
(unknown fields get a "did you mean", numbers written where text is expected
get a hint to quote them).

``parse_manifest`` keeps going where ``load_manifest`` stops: when the schema fails, it also
validates each root section on its own, so that the files of the sections that are valid can
still be checked in the same pass (``auditkit.preflight.validate_manifest``).
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from auditkit.errors import InputError, Problem
from auditkit.manifest.models import CROSS_FIELD_ERROR, Manifest
from auditkit.manifest.paths import MANIFEST_DIR
from auditkit.manifest.source import Loc, ManifestSource, kind_of, read_source


@dataclass
class ParsedManifest:
    """A manifest read and validated as far as it goes.

    ``manifest`` is set when the whole document passed the schema; ``sections`` holds every root
    section that is valid on its own (all of them when ``manifest`` is set; a section left out
    that has a default holds its default); ``problems`` lists every problem found, unsorted.
    """

    source: ManifestSource
    manifest: Manifest | None
    sections: dict[str, BaseModel] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def parse_manifest(path: Path | str) -> ParsedManifest:
    """Read and validate the manifest at ``path`` without raising for schema problems.

    Raises ``InputError`` only when the file cannot be read as a document at all (see
    ``read_source``); relative paths become absolute against the manifest's folder.
    """
    source = read_source(path)
    problems = list(source.problems)
    try:
        manifest = Manifest.model_validate(source.data, context={MANIFEST_DIR: source.folder})
    except ValidationError as exc:
        problems.extend(schema_problems(exc, source))
        return ParsedManifest(source, None, valid_sections(source), problems)
    manifest._source = source
    sections = {name: getattr(manifest, name) for name in Manifest.model_fields}
    return ParsedManifest(source, manifest, {k: v for k, v in sections.items() if isinstance(v, BaseModel)}, problems)


def load_manifest(path: Path | str) -> Manifest:
    """Parse and validate the manifest at ``path``; relative paths become absolute against its folder.

    Raises ``InputError`` carrying every problem found (malformed text, duplicate
    keys, missing, unknown or ill-typed fields, broken cross-field rules), sorted
    by line. The files the manifest names are not touched here (see ``auditkit.preflight.check_files``).
    """
    parsed = parse_manifest(path)
    if parsed.problems or parsed.manifest is None:
        raise InputError(sorted(parsed.problems, key=lambda p: p.line or 0))
    return parsed.manifest


def valid_sections(source: ManifestSource) -> dict[str, BaseModel]:
    """The root sections of ``source`` that pass their own model (cross-section rules aside).

    A section that is left out and has a default (baseline, checks) counts as valid with it;
    one that is written but invalid, or required and missing, is left out.
    """
    sections: dict[str, BaseModel] = {}
    data = source.data if isinstance(source.data, dict) else {}
    for name, info in Manifest.model_fields.items():
        models = _models_in(info.annotation)
        if len(models) != 1:
            continue  # schema_version: not a section
        if name not in data:
            default = None if info.is_required() else info.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                sections[name] = default
            continue
        try:
            sections[name] = models[0].model_validate(data[name], context={MANIFEST_DIR: source.folder})
        except ValidationError:
            pass
    return sections


def source_of(manifest: Manifest) -> ManifestSource:
    """Where ``manifest`` was read from; an empty stand-in (no lines) for one built in code."""
    source = manifest._source
    if isinstance(source, ManifestSource):
        return source
    return ManifestSource(manifest.folder / "<manifest>", {})


def schema_problems(exc: ValidationError, source: ManifestSource) -> list[Problem]:
    """One problem per pydantic error (one per issue for cross-field errors), located in the document."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = document_loc(error["loc"], source.data)
        if error["type"] == CROSS_FIELD_ERROR:
            for field, message in error["ctx"]["issues"]:
                problems.append(source.problem(loc + tuple(field.split(".")), message))
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            tag = str(error["ctx"]["discriminator"]).strip("'")
            problems.append(source.problem(loc + (tag,), error["msg"]))
        elif error["type"] == "missing" and loc and isinstance(loc[-1], int):  # a fixed-length list too short
            problems.append(source.problem(loc[:-1], f"too few items (item {loc[-1]} is missing)"))
        else:
            problems.append(source.problem(loc, _message(error, loc)))
    return problems


def document_loc(loc: Loc, data: Any) -> Loc:
    """Pydantic's error location reduced to keys and indices that exist in the document.

    Pydantic inserts union member names (e.g. the discriminator value ``ellipses``)
    and ``[key]`` markers that are not written in the file; they are dropped. The last element is kept
    even when absent, since it names a missing field.
    """
    out: list[Any] = []
    current = data
    for i, part in enumerate(loc):
        if part == "[key]":  # pydantic's marker for an error in a mapping's key: the key is already in loc
            continue
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif i < len(loc) - 1:
            continue
        out.append(part)
    return tuple(out)


def _message(error: dict[str, Any], loc: Loc) -> str:
    """A vendor-readable message for one pydantic error."""
    kind, value = error["type"], error.get("input")
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        return _unknown_field_message(loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, found {_describe(value)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, found {_describe(value)}"
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif _is_scalar(value):
        message += f" (got {value!r})"
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        message += "; put the value in quotes"
    return message


def _is_scalar(value: Any) -> bool:
    """Values short enough to quote in a message."""
    return value is None or isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 60


def _describe(value: Any) -> str:
    """``a list``, ``a string 'abc'``, ``nothing (null)`` … for messages about the wrong kind of value."""
    return f"{kind_of(value)} {value!r}" if value is not None and _is_scalar(value) else kind_of(value)


def _unknown_field_message(loc: Loc) -> str:
    """``unknown field`` with the closest allowed name, or the allowed names."""
    name = str(loc[-1]) if loc else ""
    if "password" in name.lower():
        return ("unknown field: a password never goes into the manifest; put the name of the environment "
                "variable that holds it in signing.password_env")
    allowed = sorted(_allowed_fields(loc[:-1]))
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown field (did you mean '{close[0]}'?)"
    return f"unknown field (allowed here: {', '.join(allowed)})" if allowed else "unknown field"


def _allowed_fields(parent: Loc) -> set[str]:
    """Field names of the model(s) found at ``parent`` (several for a union of models)."""
    models: list[type[BaseModel]] = [Manifest]
    for part in parent:
        if isinstance(part, int):
            continue
        models = [m for model in models if part in model.model_fields
                  for m in _models_in(model.model_fields[part].annotation)]
    return {name for model in models for name in model.model_fields}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Model classes inside a field annotation (through Optional, unions, lists, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
