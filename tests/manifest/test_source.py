"""Reading manifest text into data plus the line of every key and item (YAML and JSON)."""

from __future__ import annotations

import pytest

from auditkit.errors import InputError
from auditkit.manifest.source import read_source

YAML = """\
# comment
a:
  b: 1
  c:
    - x: 1e-4
    - y: 2
d: [1, 2,
    3]
"""

JSON = """{
\t"a": {
\t\t"b": 1,
\t\t"c": [{"x": 1e-4}, {"y": 2}]
\t},
\t"d": [1, 2,
\t      3]
}
"""


def test_yaml_lines_of_keys_and_items(write):
    src = read_source(write("m.yaml", YAML))
    assert src.data == {"a": {"b": 1, "c": [{"x": 1e-4}, {"y": 2}]}, "d": [1, 2, 3]}
    assert src.lines[("a",)] == 2
    assert src.lines[("a", "b")] == 3
    assert src.lines[("a", "c", 0)] == 5
    assert src.lines[("a", "c", 1, "y")] == 6
    assert src.lines[("d", 2)] == 8


def test_json_lines_match_yaml_lines_for_the_same_layout(write):
    src = read_source(write("m.json", JSON))
    assert src.data == {"a": {"b": 1, "c": [{"x": 1e-4}, {"y": 2}]}, "d": [1, 2, 3]}
    assert src.lines[("a", "b")] == 3
    assert src.lines[("a", "c", 1, "y")] == 4
    assert src.lines[("d", 2)] == 7


def test_yaml_floats_follow_yaml_1_2(write):
    src = read_source(write("m.yaml", "a: 1e-4\nb: -2E+3\nc: .5\nd: 1\ne: '1e-4'\n"))
    assert src.data == {"a": 1e-4, "b": -2e3, "c": 0.5, "d": 1, "e": "1e-4"}
    assert isinstance(src.data["d"], int)


def test_missing_key_points_at_parent_line(write):
    src = read_source(write("m.yaml", YAML))
    assert src.line_of(("a", "c", 1, "missing")) == 6
    assert src.line_of(("a", "nothing", "deeper")) == 2
    assert src.line_of(("absent",)) == 2  # root mapping starts at line 2


@pytest.mark.parametrize("name,text", [
    ("m.yaml", "a: 1\nb:\n  c: 1\n  c: 2\n"),
    ("m.json", '{"a": 1,\n "b": {"c": 1,\n  "c": 2}}'),
])
def test_duplicate_keys_are_problems(write, name, text):
    src = read_source(write(name, text))
    assert [p.format() for p in src.problems] == [
        f"{src.file}:{3 if name.endswith('json') else 4}: b.c: duplicate key (first given at line {2 if name.endswith('json') else 3})"
    ]


@pytest.mark.parametrize("text,line,column", [
    ("a: [1, 2\nb: 3\n", 2, 2),
    ("a: 1\n  b: 2\n", 2, 4),
    ("a: 'unterminated\n", 2, 1),
])
def test_malformed_yaml_gives_line_and_column(write, text, line, column):
    path = write("m.yaml", text)
    with pytest.raises(InputError) as info:
        read_source(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert problem.format().startswith(f"{path}:{line}:{column}: malformed YAML: ")


def test_malformed_json_gives_line_and_column(write):
    path = write("m.json", '{\n  "a": 1,\n  "b" 2\n}\n')
    with pytest.raises(InputError) as info:
        read_source(path)
    assert info.value.problems[0].format() == f"{path}:3:7: malformed JSON: Expecting ':' delimiter"


@pytest.mark.parametrize("text,found", [("", "an empty document"), ("- 1\n- 2\n", "a list"), ("just text\n", "a string")])
def test_root_must_be_a_mapping(write, text, found):
    path = write("m.yaml", text)
    with pytest.raises(InputError) as info:
        read_source(path)
    assert info.value.problems[0].format() == f"{path}:1: the manifest must be a mapping of sections, found {found}"


def test_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_source(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="is a folder"):
        read_source(tmp_path)
    binary = tmp_path / "m.yaml"
    binary.write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(InputError, match="not UTF-8"):
        read_source(binary)


def test_unsafe_tags_are_refused(write):
    path = write("m.yaml", "a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(InputError, match=r":1:4: malformed YAML: could not determine a constructor"):
        read_source(path)
