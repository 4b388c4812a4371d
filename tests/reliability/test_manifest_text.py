"""Manifest text that is not clean UTF-8, or that expands without limit, is bad input at its line
(issue 12, section 3, item 2): exit 2 with line and column, never an internal error.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest


from .manifest_edits import FIXTURES, validate
YAML = (FIXTURES / "valid.yaml").read_text(encoding="utf-8")
JSON = (FIXTURES / "valid.json").read_text(encoding="utf-8")




def written(tmp_path: Path, name: str, data: bytes) -> Path:
    """``data`` as the file ``name`` in a copy of the fixture folder (so the manifest's files resolve)."""
    folder = tmp_path / "sub"
    if not folder.exists():
        import shutil

        shutil.copytree(FIXTURES, folder)
    path = folder / name
    path.write_bytes(data)
    return path


def position(text: str, snippet: str) -> tuple[int, int]:
    """1-based line and column where ``snippet`` starts in ``text``."""
    offset = text.index(snippet)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


@pytest.mark.parametrize("name,text,vendor", [
    ("m.yaml", YAML, "vendor: Example Imaging"),
    ("m.json", JSON, '"vendor": "Example Imaging"'),
])
def test_a_nul_byte_is_located_by_line_and_column(tmp_path, name, text, vendor):
    """A NUL in the YAML raised yaml.reader.ReaderError: exit 3."""
    bad = text.replace(vendor, vendor.replace("Imaging", "Ima\0ging"))
    path = written(tmp_path, name, bad.encode("utf-8"))
    result = validate(path)
    assert result.exit_code == 2, result.output
    line, column = position(bad, "\0")
    assert result.stderr == f"{path}:{line}:{column}: character U+0000 is not allowed: a manifest holds printable text only\n"


def test_other_control_characters_too(tmp_path):
    path = written(tmp_path, "m.yaml", YAML.replace("Example Recon", "Example\x1bRecon").encode())
    result = validate(path)
    assert result.exit_code == 2
    assert "character U+001B is not allowed" in result.stderr


@pytest.mark.parametrize("name,text,old", [
    ("m.yaml", YAML, '"1.0"'),
    ("m.json", JSON, '"1.0"'),
])
def test_an_escaped_nul_in_a_value_is_located_by_line(tmp_path, name, text, old):
    """``"\\0"`` (YAML) and ``"\\u0000"`` (JSON) put a NUL into a value without one in the file."""
    escape = r'"1\0"' if name.endswith("yaml") else r'"1\u0000"'
    path = written(tmp_path, name, text.replace(old, escape, 1).encode())
    result = validate(path)
    assert result.exit_code == 2
    line, _ = position(text, old)
    assert result.stderr == (f"{path}:{line}: submission.version: holds character U+0000, which is not allowed: "
                             "a manifest holds printable text only\n")


@pytest.mark.parametrize("name,text", [("m.yaml", YAML), ("m.json", JSON)])
def test_a_byte_that_is_not_utf8_is_located_by_line_and_column_not_offset(tmp_path, name, text):
    bad = text.replace("Example Imaging", "Exémple Imaging")
    path = written(tmp_path, name, bad.encode("latin-1"))
    result = validate(path)
    assert result.exit_code == 2
    line, column = position(bad, "é")
    assert result.stderr == (f"{path}:{line}:{column}: not UTF-8 text: byte 0xE9 cannot be decoded (invalid "
                             "continuation byte); save the file as UTF-8\n")


@pytest.mark.parametrize("name,text", [("m.yaml", YAML), ("m.json", JSON)])
@pytest.mark.parametrize("bom,encoding,named", [(codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
                                                (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
                                                (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32")])
def test_utf16_and_utf32_files_are_named_at_line_1(tmp_path, name, text, bom, encoding, named):
    """They were reported by byte offset (``not UTF-8 text (invalid start byte at byte 0)``), the same for any cause."""
    path = written(tmp_path, name, bom + text.encode(encoding))
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:1: not UTF-8: the file is encoded as {named}; save it as UTF-8\n"


@pytest.mark.parametrize("name,text", [("m.yaml", YAML), ("m.json", JSON)])
def test_a_utf8_byte_order_mark_is_accepted(tmp_path, name, text):
    path = written(tmp_path, name, codecs.BOM_UTF8 + text.encode())
    result = validate(path)
    assert result.exit_code == 0, result.output


def test_aliases_that_expand_without_limit(tmp_path):
    """Ten aliases of ten aliases… nine deep: 10⁹ values in a few hundred bytes."""
    lines = ["x0: &x0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]" for i in range(1, 10)]
    path = written(tmp_path, "m.yaml", (YAML + "\n".join(lines) + "\n").encode())
    result = validate(path)
    assert result.exit_code == 2
    line = YAML.count("\n") + 5  # x4 holds 10⁵ values
    assert result.stderr == (f"{path}:{line}: x4: the manifest expands to more than 100000 values (YAML aliases "
                             "repeat what they refer to); a manifest needs a few hundred\n")


def test_an_alias_inside_its_own_anchor(tmp_path):
    path = written(tmp_path, "m.yaml", YAML.replace("    - kind: shepp_logan", "    - &p [1, *p]").encode())
    result = validate(path)
    assert result.exit_code == 2
    assert "data.phantoms.0.1: contains itself (a YAML alias inside its own anchor)" in result.stderr


@pytest.mark.parametrize("name,depth,located", [("m.yaml", 40, True), ("m.yaml", 20_000, False),
                                                 ("m.json", 40, True), ("m.json", 20_000, False)])
def test_deep_nesting(tmp_path, name, depth, located):
    """Nesting a reader can follow is refused at its line; nesting deeper than Python can follow, without one."""
    nested = "[" * depth + "]" * depth
    text = YAML + f"deep: {nested}\n" if name.endswith("yaml") else JSON.rstrip().removesuffix("}") + f', "deep": {nested}}}\n'
    path = written(tmp_path, name, text.encode())
    result = validate(path)
    assert result.exit_code == 2, result.output
    if located:
        assert result.stderr.endswith(": deep.0: nested more than 32 levels deep\n")
    else:
        assert result.stderr == f"{path}: nested too deeply to read (at most 32 levels)\n"
