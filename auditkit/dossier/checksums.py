"""SHA256SUMS: the hash of every file in a dossier, in the format ``sha256sum -c`` reads.

One line per file, ``<64 hex>  <relative/path>`` (two spaces, ``/`` separators),
sorted by path so the file is deterministic. Only SHA256SUMS itself and its
signature are left out, so every byte of every other artifact is covered;
checking reports changed and missing files and also files that are on disk but
not listed (something added after sealing). Folders, links and other entries that
are not files are ``auditkit.dossier.layout``'s business.
"""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path
from typing import NamedTuple

from auditkit.dossier import layout
from auditkit.fileio import sha256_file, write_atomic

DEFAULT_EXCLUDE = (layout.SUMS, layout.SUMS_SIGNATURE)

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


@enum.unique
class FileStatus(enum.Enum):
    """How one file on disk compares with SHA256SUMS."""

    OK = "ok"  # listed, and the sha256 matches
    CHANGED = "changed"  # listed, but the sha256 differs
    MISSING = "missing"  # listed, but not on disk (or a symbolic link in its place)
    UNLISTED = "unlisted"  # on disk, but not listed (added after sealing)


class SumsFinding(NamedTuple):
    """One file's outcome of :func:`check_sums`: its ``/``-separated path and its status."""

    path: str
    status: FileStatus


def dossier_files(
    root: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE, *, refuse_links: bool = True
) -> list[str]:
    """Relative ``/``-separated paths of every regular file under ``root``, sorted, minus ``exclude``.

    Symbolic links are refused (a dossier must hold its own bytes), or with
    ``refuse_links=False`` skipped (verification names them as strays instead);
    names that ``sha256sum`` would have to escape (newline, backslash) are refused.
    """
    base = Path(root)
    found: list[str] = []
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        links = {name for name in [*dirs, *files] if (Path(folder) / name).is_symlink()}
        if links and refuse_links:
            raise ValueError(f"{Path(folder) / sorted(links)[0]}: symbolic links are not allowed in a dossier")
        for name in files:
            if name in links:
                continue
            relative = (Path(folder) / name).relative_to(base).as_posix()
            if "\n" in relative or "\\" in relative:
                raise ValueError(f"{relative!r}: file names with newlines or backslashes are not allowed")
            if relative not in exclude:
                found.append(relative)
    return sorted(found)


def format_sums(root: Path | str, paths: list[str]) -> str:
    """The SHA256SUMS text for ``paths`` (relative to ``root``), in the given order."""
    return "".join(f"{sha256_file(Path(root) / p)}  {p}\n" for p in paths)


def write_sums(root: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> Path:
    """Write ``root/SHA256SUMS`` listing every file under ``root`` except ``exclude``; returns its path."""
    text = format_sums(root, dossier_files(root, exclude))
    return write_atomic(Path(root) / layout.SUMS, text)


def read_sums(path: Path | str) -> dict[str, str]:
    """Parse a SHA256SUMS file into ``{relative path: sha256}``; a malformed line raises ValueError naming it."""
    listed: dict[str, str] = {}
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{Path(path).name} line {number}: not '<sha256>  <path>'")
        digest, name = match.groups()
        if name in listed:
            raise ValueError(f"{Path(path).name} line {number}: '{name}' listed twice")
        if name.startswith("/") or ".." in Path(name).parts:
            raise ValueError(f"{Path(path).name} line {number}: '{name}' is not a path inside the dossier")
        listed[name] = digest
    return listed


def check_sums(root: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> list[SumsFinding]:
    """Compare ``root/SHA256SUMS`` with the disk: one finding per file listed or on disk, sorted by path.

    Symbolic links are not files of the dossier: one in place of a listed file shows as missing."""
    listed = read_sums(Path(root) / layout.SUMS)
    on_disk = set(dossier_files(root, exclude, refuse_links=False))
    result: list[SumsFinding] = []
    for name in sorted(set(listed) | on_disk):
        if name not in on_disk:
            status = FileStatus.MISSING
        elif name not in listed:
            status = FileStatus.UNLISTED
        else:
            status = FileStatus.OK if sha256_file(Path(root) / name) == listed[name] else FileStatus.CHANGED
        result.append(SumsFinding(name, status))
    return result
