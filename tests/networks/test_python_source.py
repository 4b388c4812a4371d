"""Importing submission source from verified bytes, in isolation from other submissions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from auditkit.networks.python_source import (SubmissionImportError, call_entrypoint, module_table,
                                             parse_entrypoint)


def sources(root: Path, files: dict[str, str]) -> dict[Path, bytes]:
    """Write files (as the hash check would have read them) and return path → bytes."""
    out = {}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out[path] = text.encode()
    return out


PACKAGE = {
    "model.py": "from layers import double\nfrom pkg.sub import triple\nfrom ns.deep import add_one\n"
                "def build(x):\n    return add_one(triple(double(x)))\n",
    "layers.py": "def double(x):\n    return 2 * x\n",
    "pkg/__init__.py": "",
    "pkg/sub.py": "from . import helper\ndef triple(x):\n    return helper.THREE * x\n",
    "pkg/helper.py": "THREE = 3\n",
    "ns/deep.py": "def add_one(x):\n    return x + 1\n",
    "not-a-module.py": "raise SystemExit('never imported')\n",
}


def test_module_table_names(tmp_path: Path) -> None:
    table = module_table(tmp_path, sources(tmp_path, PACKAGE))
    assert sorted(table) == ["layers", "model", "ns", "ns.deep", "pkg", "pkg.helper", "pkg.sub"]
    assert table["ns"].source is None and table["pkg"].is_package and table["pkg"].source == b""


def test_sibling_modules_packages_and_namespace_packages_import(tmp_path: Path) -> None:
    meta_path = list(sys.meta_path)
    assert call_entrypoint(tmp_path, sources(tmp_path, PACKAGE), "model:build", {"x": 5}) == 31
    assert sys.meta_path == meta_path
    assert not {"model", "layers", "pkg", "pkg.sub", "ns"} & set(sys.modules)


def test_two_submissions_with_the_same_module_names_do_not_collide(tmp_path: Path) -> None:
    first = sources(tmp_path / "a", {"model.py": "from layers import K\ndef build():\n    return K\n",
                                     "layers.py": "K = 'a'\n"})
    second = sources(tmp_path / "b", {"model.py": "from layers import K\ndef build():\n    return K\n",
                                      "layers.py": "K = 'b'\n"})
    assert call_entrypoint(tmp_path / "a", first, "model:build", {}) == "a"
    assert call_entrypoint(tmp_path / "b", second, "model:build", {}) == "b"
    assert call_entrypoint(tmp_path / "a", first, "model:build", {}) == "a"


def test_code_is_taken_from_the_verified_bytes_not_the_disk(tmp_path: Path) -> None:
    verified = sources(tmp_path, {"model.py": "def build():\n    return 'verified'\n"})
    (tmp_path / "model.py").write_text("def build():\n    return 'swapped after the check'\n")
    assert call_entrypoint(tmp_path / "model.py", verified, "model:build", {}) == "verified"


def test_a_single_file_submission_cannot_import_its_unlisted_neighbours(tmp_path: Path) -> None:
    files = sources(tmp_path, {"model.py": "import helper\ndef build():\n    return 1\n"})
    sources(tmp_path, {"helper.py": "X = 1\n"})
    with pytest.raises(SubmissionImportError, match="ModuleNotFoundError: No module named 'helper'"):
        call_entrypoint(tmp_path / "model.py", files, "model:build", {})


def test_source_is_visible_to_inspect_while_building(tmp_path: Path) -> None:
    files = sources(tmp_path, {"model.py": "import inspect\nclass Net:\n    pass\n"
                                           "def build():\n    return inspect.getsource(Net)\n"})
    assert call_entrypoint(tmp_path, files, "model:build", {}).startswith("class Net:")


@pytest.mark.parametrize("name", ["json", "torch"])
def test_shadowing_standard_or_imported_modules_is_refused(tmp_path: Path, name: str) -> None:
    files = sources(tmp_path, {f"{name}.py": "def build():\n    return 1\n"})
    with pytest.raises(SubmissionImportError, match=f"{name} would shadow") as info:
        call_entrypoint(tmp_path, files, f"{name}:build", {})
    assert info.value.field == "network.path"


def test_cleanup_after_a_failing_import(tmp_path: Path) -> None:
    meta_path = list(sys.meta_path)
    files = sources(tmp_path, {"model.py": "import layers\nraise ImportError('nope')\n", "layers.py": ""})
    with pytest.raises(SubmissionImportError, match="ImportError: nope"):
        call_entrypoint(tmp_path, files, "model:build", {})
    assert sys.meta_path == meta_path and "layers" not in sys.modules


def test_dotted_attribute_entry_points_and_non_callables(tmp_path: Path) -> None:
    files = sources(tmp_path, {"model.py": "class Factory:\n    @staticmethod\n    def make():\n        return 7\n"
                                           "VALUE = 3\n"})
    assert call_entrypoint(tmp_path, files, "model:Factory.make", {}) == 7
    with pytest.raises(SubmissionImportError, match=r"'model:VALUE' is not callable \(type int\)"):
        call_entrypoint(tmp_path, files, "model:VALUE", {})


@pytest.mark.parametrize("text", [None, "", "model", "a:b:c", "mo-del:build", "model:"])
def test_parse_entrypoint_rejects_malformed(text: str | None) -> None:
    with pytest.raises(SubmissionImportError, match="expected 'module:function'"):
        parse_entrypoint(text)


def test_parse_entrypoint() -> None:
    assert parse_entrypoint("pkg.model : Net.create") == ("pkg.model", "Net.create")
