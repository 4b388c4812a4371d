"""SHA256SUMS: the hash of every file in a dossier, in the format ``sha256sum -c`` reads.

One line per file, ``<64 hex>  <relative/path>`` (two spaces, ``/`` separators),
sorted by path so the file is deterministic. Only SHA256SUMS itself and its
signature are left out, so every byte of every other artifact is covered;
checking reports changed and missing files and also files that are on disk but
not listed (something added after sealing). Folders, links and other entries that
are not files are ``auditkit.dossier_layout``'s business.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from auditkit import dossier_layout

SUMS_NAME = dossier_layout.SUMS
SUMS_SIGNATURE_NAME = dossier_layout.SUMS_SIGNATURE
DEFAULT_EXCLUDE = (SUMS_NAME, SUMS_SIGNATURE_NAME)

#: Statuses :func:`check_sums` reports.
OK, CHANGED, MISSING, UNLISTED = "ok", "changed", "missing", "unlisted"

_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_CHUNK = 1 << 20


def file_sha256(path: Path | str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


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
    return "".join(f"{file_sha256(Path(root) / p)}  {p}\n" for p in paths)


def write_sums(root: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> Path:
    """Write ``root/SHA256SUMS`` listing every file under ``root`` except ``exclude``; returns its path."""
    target = Path(root) / SUMS_NAME
    text = format_sums(root, dossier_files(root, exclude))
    with open(target, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return target


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


def check_sums(root: Path | str, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> list[tuple[str, str]]:
    """Compare ``root/SHA256SUMS`` with the disk: ``[(path, ok|changed|missing|unlisted)]`` sorted by path.

    Symbolic links are not files of the dossier: one in place of a listed file shows as missing."""
    listed = read_sums(Path(root) / SUMS_NAME)
    on_disk = set(dossier_files(root, exclude, refuse_links=False))
    result: list[tuple[str, str]] = []
    for name in sorted(set(listed) | on_disk):
        if name not in on_disk:
            status = MISSING
        elif name not in listed:
            status = UNLISTED
        else:
            status = OK if file_sha256(Path(root) / name) == listed[name] else CHANGED
        result.append((name, status))
    return result
