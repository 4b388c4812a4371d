"""A manifest file read into plain data, with the line of every key and list item.

Pydantic reports an error at a location such as ``("modality", "sampling",
"ratio")``; to print ``FILE:LINE:`` the loader needs the line where that key is
written. YAML is composed into nodes (each carries its start mark) before it is
turned into data; JSON is walked with the standard decoder's own scanners,
recording character offsets. Both give a ``lines`` table: location tuple →
1-based line of the key (mapping entries) or of the item (list entries).
Duplicate keys, which both parsers would silently collapse, are problems here.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditkit.errors import InputError, Problem

Loc = tuple[Any, ...]


class ManifestYamlLoader(yaml.SafeLoader):
    """Safe YAML loader whose floats follow YAML 1.2: ``1e-4`` is a number, not a string."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


ManifestYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@dataclass
class ManifestSource:
    """The parsed manifest: its data, where each entry is written, and problems found while reading."""

    file: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        """Absolute folder of the manifest, against which its relative paths are resolved."""
        return self.file.absolute().parent

    def line_of(self, loc: Loc) -> int | None:
        """Line of ``loc``, or of its nearest written ancestor (a missing field points at its parent)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem at ``loc``, printed as ``FILE:LINE: a.b.c: message``."""
        return Problem(self.file, _dotted(loc), message, self.line_of(loc))


def read_source(path: Path | str) -> ManifestSource:
    """Parse a ``.json`` file as JSON and anything else as YAML; raise ``InputError`` when it cannot be read.

    Malformed text is one problem with line and column; an empty file or a root
    that is not a mapping is a problem at line 1. Duplicate keys are recorded in
    ``problems`` (not raised), so that they are reported with the schema's findings.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Problem(file, "", "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(file, "", "is a folder, expected a manifest file")) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(file, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")) from None
    except OSError as exc:
        raise InputError(Problem(file, "", f"cannot read: {exc.strerror}")) from None
    source = _read_json(file, text) if file.suffix.lower() == ".json" else _read_yaml(file, text)
    if not isinstance(source.data, dict):
        found = "an empty document" if source.data is None else kind_of(source.data)
        raise InputError(Problem(file, "", f"the manifest must be a mapping of sections, found {found}", 1))
    return source


def kind_of(value: Any) -> str:
    """Plain-language name of a parsed value's type, with its article: ``a list``, ``a number``…"""
    names = {type(None): "nothing (null)", list: "a list", dict: "a mapping", str: "a string",
             bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")


# --- YAML -----------------------------------------------------------------------------------


def _read_yaml(file: Path, text: str) -> ManifestSource:
    """Compose the YAML into nodes, record lines, then construct the data."""
    loader = ManifestYamlLoader(text)
    try:
        node = loader.get_single_node()
        source = ManifestSource(file, None)
        if node is not None:
            _walk_yaml(loader, node, (), source, set())
            source.data = loader.construct_document(node)
        return source
    except yaml.MarkedYAMLError as exc:
        raise InputError(_yaml_problem(file, exc)) from None
    except yaml.YAMLError as exc:
        raise InputError(Problem(file, "", f"malformed YAML: {exc}")) from None
    finally:
        loader.dispose()


def _yaml_problem(file: Path, exc: yaml.MarkedYAMLError) -> Problem:
    """``malformed YAML: <problem> (<context> at line N)`` at the problem's line and column."""
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "cannot parse"
    if exc.problem and exc.context:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
        message += f" ({exc.context}{where})"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    return Problem(file, "", f"malformed YAML: {message}", line, column)


def _walk_yaml(loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, source: ManifestSource, seen: set[int]) -> None:
    """Record the line of every mapping key and sequence item under ``node``; flag duplicate keys."""
    if id(node) in seen:  # an alias: already walked where its anchor is
        return
    seen.add(id(node))
    source.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue  # merged keys keep their anchor's lines; complex keys fail on construction
            key = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                source.problems.append(Problem(source.file, _dotted(loc + (key,)),
                                               f"duplicate key (first given at line {first_line[key]})", line))
                continue
            first_line[key] = line
            source.lines[loc + (key,)] = line
            _walk_yaml(loader, value_node, loc + (key,), source, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            source.lines[loc + (i,)] = item.start_mark.line + 1
            _walk_yaml(loader, item, loc + (i,), source, seen)


def _dotted(loc: Loc) -> str:
    """``("a", 0, "b")`` → ``a.0.b``."""
    return ".".join(str(part) for part in loc)


# --- JSON -----------------------------------------------------------------------------------


def _read_json(file: Path, text: str) -> ManifestSource:
    """Decode strictly with ``json`` (for its error position), then walk the text again for lines."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(file, "", f"malformed JSON: {exc.msg}", exc.lineno, exc.colno)) from None
    source = ManifestSource(file, data)
    _JsonLines(text, source).value(_JsonLines.skip_space(text, 0), ())
    return source


class _JsonLines:
    """Walks valid JSON text recording the line of each key and item (the data comes from ``json.loads``)."""

    _decoder = json.JSONDecoder()
    _space = re.compile(r"[ \t\n\r]*")

    def __init__(self, text: str, source: ManifestSource):
        self.text, self.source = text, source
        self.newlines = [m.start() for m in re.finditer("\n", text)]

    @classmethod
    def skip_space(cls, text: str, pos: int) -> int:
        """Position of the next non-blank character."""
        return cls._space.match(text, pos).end()

    def line(self, pos: int) -> int:
        """1-based line of character offset ``pos``."""
        return bisect.bisect_left(self.newlines, pos) + 1

    def value(self, pos: int, loc: Loc) -> int:
        """Walk the value starting at ``pos``; return the offset just after it."""
        self.source.lines.setdefault(loc, self.line(pos))
        char = self.text[pos]
        if char == "{":
            return self.members(pos + 1, loc)
        if char == "[":
            return self.items(pos + 1, loc)
        return self._decoder.raw_decode(self.text, pos)[1]

    def members(self, pos: int, loc: Loc) -> int:
        """Walk ``"key": value`` pairs after ``{``; flag duplicate keys."""
        first_line: dict[str, int] = {}
        pos = self.skip_space(self.text, pos)
        while self.text[pos] != "}":
            key, end = json.decoder.scanstring(self.text, pos + 1)
            line = self.line(pos)
            pos = self.skip_space(self.text, self.skip_space(self.text, end) + 1)  # past ':'
            if key in first_line:
                self.source.problems.append(Problem(self.source.file, _dotted(loc + (key,)),
                                                    f"duplicate key (first given at line {first_line[key]})", line))
                pos = self._decoder.raw_decode(self.text, pos)[1]  # skip it: only the first is mapped
            else:
                first_line[key] = line
                self.source.lines[loc + (key,)] = line
                pos = self.value(pos, loc + (key,))
            pos = self.after_item(pos)
        return pos + 1

    def items(self, pos: int, loc: Loc) -> int:
        """Walk the items after ``[``."""
        pos = self.skip_space(self.text, pos)
        i = 0
        while self.text[pos] != "]":
            self.source.lines[loc + (i,)] = self.line(pos)
            pos = self.after_item(self.value(pos, loc + (i,)))
            i += 1
        return pos + 1

    def after_item(self, pos: int) -> int:
        """Skip blanks and one separating comma."""
        pos = self.skip_space(self.text, pos)
        if self.text[pos] == ",":
            pos = self.skip_space(self.text, pos + 1)
        return pos
