"""File paths written in a manifest: resolved against the manifest's folder, remembering the text.

A manifest names its files relative to its own folder, so that a submission
folder can be moved or archived as a whole. After validation every such field
holds an absolute ``ManifestPath``; ``given`` keeps the text as written, which
is what error messages quote and what a dumped manifest contains again.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import PydanticCustomError, core_schema

from auditkit.manifest.limits import MAX_PATH_CHARS

#: Key of the validation context that holds the manifest's folder.
MANIFEST_DIR = "manifest_dir"


class ManifestPath(type(Path())):  # type: ignore[misc]  # the concrete Path class of this OS
    """An absolute path that also remembers how the manifest wrote it (``given``)."""

    _given: str

    @property
    def given(self) -> str:
        """The path exactly as written in the manifest (the absolute path when built otherwise)."""
        return getattr(self, "_given", str(self))

    @classmethod
    def resolve_against(cls, text: str, folder: Path) -> ManifestPath:
        """``folder / text`` made absolute and normalised (``..`` folded, symlinks kept)."""
        return _with_given(os.path.normpath(Path(folder).absolute() / text), text)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickling and deep copies keep ``given``."""
        return _with_given, (str(self), self.given)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Accept a non-empty string of at most ``MAX_PATH_CHARS`` (or a path object); dump as the text the manifest had."""
        return core_schema.with_info_plain_validator_function(
            cls._validate,
            json_schema_input_schema=core_schema.str_schema(min_length=1, max_length=MAX_PATH_CHARS),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda p: p.given, when_used="always"),
        )

    @classmethod
    def _validate(cls, value: Any, info: ValidationInfo) -> ManifestPath:
        """Resolve against the folder in the validation context, else the current directory."""
        if isinstance(value, ManifestPath):
            return value
        if isinstance(value, PurePath):
            value = str(value)
        if not isinstance(value, str):
            raise PydanticCustomError("path_type", "Input should be a file path (a string)")
        if not value.strip():
            raise PydanticCustomError("path_empty", "Input should be a non-empty file path")
        if len(value) > MAX_PATH_CHARS:
            raise PydanticCustomError(
                "path_too_long", "File path should have at most {limit} characters", {"limit": MAX_PATH_CHARS})
        context = info.context if isinstance(info.context, dict) else {}
        return cls.resolve_against(value, Path(context.get(MANIFEST_DIR, Path.cwd())))


def _with_given(path: str, given: str) -> ManifestPath:
    """A ``ManifestPath`` for ``path`` that was written as ``given``."""
    result = ManifestPath(path)
    result._given = given
    return result
