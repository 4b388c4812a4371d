"""ManifestPath: resolved against the manifest's folder, remembering the text as written."""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from auditkit.manifest.paths import MANIFEST_DIR, ManifestPath


class Holder(BaseModel):
    path: ManifestPath


def test_resolves_against_the_context_folder_and_folds_dots():
    h = Holder.model_validate({"path": "../models/./net.py"}, context={MANIFEST_DIR: Path("/sub/dir")})
    assert h.path == Path("/sub/models/net.py")
    assert h.path.given == "../models/./net.py"
    assert h.model_dump() == {"path": "../models/./net.py"}


def test_without_context_resolves_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Holder.model_validate({"path": "a.npy"}).path == tmp_path / "a.npy"


def test_absolute_paths_stay_as_they_are():
    h = Holder.model_validate({"path": "/data/a.png"}, context={MANIFEST_DIR: Path("/sub")})
    assert h.path == Path("/data/a.png") and h.path.given == "/data/a.png"


def test_pickle_and_deepcopy_keep_the_text():
    p = ManifestPath.resolve_against("x/../y.pt", Path("/sub"))
    for q in (pickle.loads(pickle.dumps(p)), copy.deepcopy(p)):
        assert q == Path("/sub/y.pt") and q.given == "x/../y.pt" and isinstance(q, ManifestPath)


@pytest.mark.parametrize("value,message", [(3, "Input should be a file path (a string)"),
                                           ("  ", "Input should be a non-empty file path"),
                                           ("a" * 4097, "File path should have at most 4096 characters")])
def test_rejects_non_paths(value, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Holder.model_validate({"path": value})


def test_schema_is_a_string():
    assert Holder.model_json_schema()["properties"]["path"] == {
        "maxLength": 4096, "minLength": 1, "title": "Path", "type": "string"}
