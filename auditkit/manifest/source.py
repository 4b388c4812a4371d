"""A manifest file read into plain data, with the line of every key and list item.

Pydantic reports an error at a location such as ``("modality", "sampling",
"ratio")``; to print ``FILE:LINE:`` the loader needs the line where that key is
written. YAML is composed into nodes (each carries its start mark) before it is
turned into data; JSON is walked with the standard decoder's own scanners,
recording character offsets. Both give a ``lines`` table: location tuple →
1-based line of the key (mapping entries) or of the item (list entries).
Duplicate keys, which both parsers would silently collapse, are problems here.

Before parsing, the file is bounded (``MAX_MANIFEST_BYTES``), must be UTF-8 (a UTF-8
byte-order mark is skipped; UTF-16 and UTF-32 are named as such) and may hold printable
characters only; after parsing, the document may not expand (through YAML aliases) to
more than ``MAX_DOCUMENT_VALUES`` values nor nest deeper than ``MAX_DOCUMENT_DEPTH``. Each
such finding is one problem at the line (and column) where it is.
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditkit.errors import InputError, Problem
from auditkit.manifest.limits import MAX_DOCUMENT_VALUES, MAX_MANIFEST_BYTES

Loc = tuple[Any, ...]

#: Deepest nesting of mappings and lists (a manifest needs 5; YAML and JSON readers recurse per level).
MAX_DOCUMENT_DEPTH = 32
#: Byte-order marks of encodings other than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
_FOREIGN_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)
#: Characters a manifest may not hold: those YAML calls non-printable (C0 controls other than tab and
#: line breaks, DEL, C1 controls other than NEL, surrogates, U+FFFE and U+FFFF), for YAML and JSON alike.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


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
    that is not a mapping is a problem at line 1; so are a file over the size limit,
    text that is not UTF-8 or not printable, and a document that expands too far (see
    the module doc). Duplicate keys are recorded in ``problems`` (not raised), so that
    they are reported with the schema's findings.
    """
    file = Path(path)
    text = _decode(file, _read_bytes(file))
    _check_characters(file, text)
    try:
        source = _read_json(file, text) if file.suffix.lower() == ".json" else _read_yaml(file, text)
    except RecursionError:
        raise InputError(Problem(file, "", f"nested too deeply to read (at most {MAX_DOCUMENT_DEPTH} levels)")) from None
    if not isinstance(source.data, dict):
        found = "an empty document" if source.data is None else kind_of(source.data)
        raise InputError(Problem(file, "", f"the manifest must be a mapping of sections, found {found}", 1))
    _check_expansion(source)
    return source


def _read_bytes(file: Path) -> bytes:
    """The file's bytes; larger than ``MAX_MANIFEST_BYTES`` is a problem, found before the bytes are read.

    At most one byte over the limit is ever read, so a device or a growing file cannot fill memory.
    """
    try:
        size = file.stat().st_size
        if size <= MAX_MANIFEST_BYTES:
            with file.open("rb") as fh:
                data = fh.read(MAX_MANIFEST_BYTES + 1)
            size = len(data)
    except FileNotFoundError:
        raise InputError(Problem(file, "", "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(file, "", "is a folder, expected a manifest file")) from None
    except OSError as exc:
        raise InputError(Problem(file, "", f"cannot read: {exc.strerror}")) from None
    if size > MAX_MANIFEST_BYTES:
        raise InputError(Problem(file, "", (
            f"the file is larger than a manifest may be ({_mebibytes(size)} > {_mebibytes(MAX_MANIFEST_BYTES)}); "
            "a manifest holds settings and file names, the data go in files it names")))
    return data


def _mebibytes(size: int) -> str:
    """``1 MiB``, ``10.5 MiB``: a size in MiB, as short as exact allows (one decimal)."""
    return f"{size / 2**20:.1f}".removesuffix(".0") + " MiB"


def _decode(file: Path, data: bytes) -> str:
    """UTF-8 text of ``data`` (a UTF-8 byte-order mark dropped); any other encoding is a problem.

    A UTF-16 or UTF-32 byte-order mark is named at line 1; an invalid byte is located by the
    line and column (in characters) where an editor shows it, not by its byte offset.
    """
    for bom, encoding in _FOREIGN_BOMS:
        if data.startswith(bom):
            raise InputError(Problem(file, "", f"not UTF-8: the file is encoded as {encoding}; save it as UTF-8", 1))
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8")) + 1  # everything before exc.start decoded
        message = f"not UTF-8 text: byte 0x{data[exc.start]:02X} cannot be decoded ({exc.reason}); save the file as UTF-8"
        raise InputError(Problem(file, "", message, line, column)) from None


def _check_characters(file: Path, text: str) -> None:
    """Refuse the first non-printable character (NUL, other control characters), at its line and column."""
    match = _NON_PRINTABLE.search(text)
    if match is not None:
        raise InputError(_character_problem(file, text, match.start()))


def _character_problem(file: Path, text: str, pos: int) -> Problem:
    """``control character U+0000 is not allowed`` at the line and column of ``text[pos]``."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    message = f"character U+{ord(text[pos]):04X} is not allowed: a manifest holds printable text only"
    return Problem(file, "", message, line, column)


def _check_expansion(source: ManifestSource) -> None:
    """Refuse a document that expands to more than ``MAX_DOCUMENT_VALUES`` values, nests deeper than
    ``MAX_DOCUMENT_DEPTH``, contains itself (all three possible with YAML aliases) or holds a
    non-printable character in a value written as an escape (``"\\0"``, ``"\\u0000"``).

    Values are counted as the data holds them (an alias counts as a full copy of its anchor, since
    validation and the evidence would expand it), in time linear in the written document. The
    problem is located at the value concerned (for the count, at the section that crosses the limit).
    """
    walk = _ValueWalk()
    total = 0
    for key, value in source.data.items():
        try:
            total += walk.count(key, (), at=(key,)) + walk.count(value, (key,))
        except _DocumentShapeError as exc:
            raise InputError(Problem(source.file, _dotted(exc.loc), exc.message, source.line_of(exc.at))) from None
        if total > MAX_DOCUMENT_VALUES:
            raise InputError(source.problem((key,), (
                f"the manifest expands to more than {MAX_DOCUMENT_VALUES} values (YAML aliases repeat "
                "what they refer to); a manifest needs a few hundred")))


class _DocumentShapeError(Exception):
    """A value that nests too deeply, contains itself or holds a non-printable character.

    ``loc`` names the field (a bad key is named by its parent); ``at`` is where it is written.
    """

    def __init__(self, loc: Loc, message: str, at: Loc):
        super().__init__(message)
        self.loc, self.message, self.at = loc, message, at


class _ValueWalk:
    """Counts values with aliases expanded, memoised by identity so that shared values are walked once."""

    def __init__(self) -> None:
        self.counted: dict[int, int] = {}
        self.active: set[int] = set()

    def count(self, value: Any, loc: Loc, at: Loc | None = None) -> int:
        """Number of values in ``value`` at ``loc`` (1 for a scalar); raise ``_DocumentShapeError`` on a bad
        shape or character. ``at`` is where the value is written when that is not ``loc`` (a key)."""
        at = loc if at is None else at
        if isinstance(value, str):
            bad = _NON_PRINTABLE.search(value)
            if bad is not None:
                raise _DocumentShapeError(loc, f"holds character U+{ord(bad.group()):04X}, which is not allowed: "
                                               "a manifest holds printable text only", at)
            return 1
        if not isinstance(value, (dict, list)):
            return 1
        if id(value) in self.counted:
            return self.counted[id(value)]
        if id(value) in self.active:
            raise _DocumentShapeError(loc, "contains itself (a YAML alias inside its own anchor)", at)
        if len(loc) > MAX_DOCUMENT_DEPTH:
            raise _DocumentShapeError(loc[:2], f"nested more than {MAX_DOCUMENT_DEPTH} levels deep", at)
        self.active.add(id(value))
        if isinstance(value, dict):
            n = 1 + sum(self.count(k, loc, at=loc + (k,)) + self.count(v, loc + (k,)) for k, v in value.items())
        else:
            n = 1 + sum(self.count(v, loc + (i,)) for i, v in enumerate(value))
        self.active.discard(id(value))
        self.counted[id(value)] = n
        return n


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
    except yaml.reader.ReaderError as exc:  # not a MarkedYAMLError; a character _check_characters let through
        raise InputError(_character_problem(file, text, min(exc.position, len(text) - 1))) from None
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
