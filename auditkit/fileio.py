"""The file operations every layer needs: the SHA-256 of a file, and writing a file atomically.

This module depends on nothing else in auditkit, so the lowest layers (manifest,
networks) and the dossier alike use the same hashing and the same atomic write.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20
#: What ``write_atomic``'s temporary files are called: ``.<name>.<12 hex digits>.tmp`` beside the target.
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks so large files (weights, arrays) do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of bytes already in memory."""
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path | str, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` so that the path holds the old file or the whole new one, never part.

    The bytes go to a new temporary file beside ``path``, are fsynced, and the file is
    renamed onto ``path``; a failure removes the temporary file. The file gets the
    permissions an ordinary write would (0666 less the umask). Returns ``path``.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = _temporary_beside(target)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def _temporary_beside(target: Path) -> Path:
    """A fresh temporary name beside ``target`` that ``stale_temporaries`` recognises."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")


def stale_temporaries(folder: Path | str) -> Iterator[Path]:
    """The temporary files under ``folder`` that a ``write_atomic`` killed mid-write left behind.

    A write that fails removes its own; only a killed process leaves one, so once no
    writer runs they are debris (never a complete file) and safe to delete.
    """
    for path in sorted(Path(folder).rglob(".*.tmp")):
        if path.is_file() and not path.is_symlink() and _TEMPORARY.match(path.name):
            yield path


def unwritable_parent(path: Path | str) -> str | None:
    """Why a new file could not be created beside ``path`` — in the folder that holds it, or the nearest one that
    exists (folders on the way are made later) — found by creating and removing a probe; None when it can."""
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    probe = folder / f".auditkit-probe-{secrets.token_hex(6)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror}"
    return None
