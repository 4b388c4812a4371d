"""The audit trail: an append-only, hash-chained log of what an audit did, when, and by whom.

Each event is one line of canonical JSON (sorted keys, no spaces) with the
fields ``seq`` (1-based line number), ``time`` (UTC, ISO 8601), ``user``,
``host``, ``event``, ``data`` and ``prev``, where ``prev`` is the SHA-256 (hex)
of the previous line's bytes without its newline, and 64 zeros on the first
line. Changing, removing, inserting or reordering any line except the last
breaks the chain at a line :func:`verify_chain` names.

What the chain does not show on its own: where the log ends. Lines appended
after the end, or a whole log rewritten from the first line, chain correctly.
So sealing a dossier records the chain's head (:class:`ChainHead`: how many
entries, the SHA-256 of the last line) inside the signature over SHA256SUMS,
and ``auditkit verify`` compares the log with that signed head
(:func:`compare_head`). Appending to a sealed log (``auditkit sign`` does)
is followed by sealing again, which signs the new head.

Events, in the order a run writes them: ``start``, ``inputs``, ``check`` (one
per check), ``evidence``, ``render`` (figures, then documents), ``sign``, ``finish``;
``auditkit sign`` appends ``sign`` after ``finish``.
"""

from __future__ import annotations

import datetime as _dt
import enum
import getpass
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from auditkit.fileio import sha256_bytes

#: ``prev`` of the first line.
GENESIS = "0" * 64

#: Event names, in the order a run writes them.
EVENTS = ("start", "inputs", "check", "evidence", "render", "sign", "finish")

FIELDS = frozenset({"seq", "time", "user", "host", "event", "data", "prev"})

_TAIL_CHUNK = 1 << 16


def line_hash(line: bytes) -> str:
    """SHA-256 (hex) of one log line's bytes, newline excluded: the next line's ``prev``."""
    return sha256_bytes(line.rstrip(b"\n"))


def operating_user() -> str:
    """The login name of the operating user, or ``uid:<n>`` where no name can be found."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises various errors in containers without a passwd entry
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class AuditLog:
    """Appends events to a hash-chained JSON-lines file; reopening an existing log continues its chain."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def append(self, event: str, **data: Any) -> dict[str, Any]:
        """Write one event line (flushed and fsynced) and return the entry written.

        ``data`` must be JSON-serialisable; paths and other objects are written
        as their ``str``. The previous line is read back from the file each time,
        so two ``AuditLog`` objects on the same path still form one chain.
        """
        if not event or not event.replace("_", "").isalnum():
            raise ValueError(f"event must be a non-empty identifier, not {event!r}")
        seq, prev = self._next()
        entry = {
            "seq": seq,
            "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
            "user": operating_user(),
            "host": socket.gethostname(),
            "event": event,
            "data": data,
            "prev": prev,
        }
        line = canonical_line(entry)
        with open(self.path, "ab") as fh:
            fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        return json.loads(line)

    def entries(self) -> list[dict[str, Any]]:
        """Every entry written so far, parsed (see :func:`read_entries`)."""
        return read_entries(self.path)

    def _next(self) -> tuple[int, str]:
        """``seq`` and ``prev`` for the line about to be written."""
        last = _last_line(self.path)
        if last is None:
            return 1, GENESIS
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{self.path}: the last line is not a log entry; refusing to extend a damaged log") from None
        return seq + 1, line_hash(last)


def canonical_line(entry: dict[str, Any]) -> bytes:
    """One entry as UTF-8 canonical JSON: sorted keys, no insignificant spaces, no newline."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


def _last_line(path: Path) -> bytes | None:
    """The last line of the file (without newline), or None for a missing or empty file.

    A file not ending in a newline holds a partly written line; extending it would hide that.
    """
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return None
    with fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None
        fh.seek(size - 1)
        if fh.read(1) != b"\n":
            raise ValueError(f"{path}: the last line is incomplete; refusing to extend a damaged log")
        tail = b""
        position = size
        while position > 0 and b"\n" not in tail[:-1]:
            step = min(_TAIL_CHUNK, position)
            position -= step
            fh.seek(position)
            tail = fh.read(step) + tail
        return tail[:-1].rsplit(b"\n", 1)[-1]


def read_entries(path: Path | str) -> list[dict[str, Any]]:
    """Every entry of a log, parsed (no chain check; see :func:`verify_chain`)."""
    return [json.loads(line) for line in Path(path).read_bytes().splitlines()]


class ChainCheck(NamedTuple):
    """The outcome of :func:`verify_chain`: whether the chain holds, the line to blame (numbered from 1), and why."""

    ok: bool
    bad_line: int | None
    message: str


def verify_chain(path: Path | str) -> ChainCheck:
    """Check the chain of the log at ``path``; the line to blame is numbered from 1.

    Per line, in order: it is a JSON object with exactly the log's fields and a
    canonical encoding; its ``seq`` equals its line number (a removed, inserted
    or moved line shows here); its ``prev`` equals the hash of the line before
    (when it does not, the line before was changed, and that line is named).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return ChainCheck(False, None, f"cannot read: {exc.strerror}")
    if not data:
        return ChainCheck(False, None, "empty log")
    if not data.endswith(b"\n"):
        return ChainCheck(False, data.count(b"\n") + 1, "the last line is incomplete (no newline)")
    prev = GENESIS
    for number, line in enumerate(data[:-1].split(b"\n"), start=1):
        problem = _line_problem(line, number, prev)
        if problem is not None:
            bad_line, message = problem
            return ChainCheck(False, bad_line, message)
        prev = line_hash(line)
    return ChainCheck(True, None, f"{number} entries, chain intact")


def _line_problem(line: bytes, number: int, prev: str) -> tuple[int, str] | None:
    """Why line ``number`` breaks the chain, as ``(line to blame, message)``, or None."""
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return number, f"line {number}: not valid JSON"
    if not isinstance(entry, dict) or set(entry) != FIELDS:
        return number, f"line {number}: not a log entry (fields must be {', '.join(sorted(FIELDS))})"
    if canonical_line(entry) != line:
        return number, f"line {number}: not in canonical form (edited by hand?)"
    if entry["seq"] != number:
        return number, f"line {number}: seq is {entry['seq']}, expected {number} (a line was removed, inserted or moved)"
    if entry["prev"] != prev:
        if number == 1:
            return 1, "line 1: prev must be 64 zeros (the log does not start here)"
        return number - 1, (
            f"line {number - 1}: changed (its sha256 differs from prev recorded in line {number}; "
            f"or entries after it were removed)"
        )
    return None


@dataclass(frozen=True)
class ChainHead:
    """Where a log ends: its number of entries and the SHA-256 of its last line (``GENESIS`` when empty).

    Given an intact chain, the head fixes every line before it: each line holds the
    hash of the one before."""

    entries: int
    last_line_sha256: str


@enum.unique
class HeadStatus(enum.Enum):
    """How a log on disk relates to a recorded head."""

    MATCHES = "matches"  # the log ends exactly at the head
    APPENDED = "appended"  # the log holds the head's entry and more entries after it
    DIFFERS = "differs"  # the head's entry is missing or changed


@dataclass(frozen=True)
class HeadComparison:
    """The outcome of :func:`compare_head`: the status, the recorded head and how many entries are on disk."""

    status: HeadStatus
    head: ChainHead
    entries: int

    @property
    def ok(self) -> bool:
        """The log ends where the head says."""
        return self.status is HeadStatus.MATCHES

    def describe(self) -> str:
        """One line for the verify table."""
        if self.status is HeadStatus.MATCHES:
            return f"ends at the signed head ({self.entries} entries)"
        if self.status is HeadStatus.APPENDED:
            extra = self.entries - self.head.entries
            return (
                f"{extra} {'entry' if extra == 1 else 'entries'} after the signed head "
                f"(entry {self.head.entries}): added after the dossier was sealed"
            )
        fate = "missing" if self.entries < self.head.entries else "changed"
        return (
            f"does not match the signed head ({self.head.entries} entries, the last with sha256 "
            f"{self.head.last_line_sha256[:16]}…): {self.entries} entries on disk, entry {self.head.entries} {fate}"
        )


def _lines(data: bytes) -> list[bytes]:
    """The log's lines without newlines (a last line without its newline counts as a line)."""
    if not data:
        return []
    return (data[:-1] if data.endswith(b"\n") else data).split(b"\n")


def chain_head(path: Path | str) -> ChainHead:
    """The head of the log at ``path`` as it stands: what sealing records and signs."""
    lines = _lines(Path(path).read_bytes())
    return ChainHead(len(lines), line_hash(lines[-1]) if lines else GENESIS)


def compare_head(path: Path | str, head: ChainHead) -> HeadComparison:
    """Compare the log at ``path`` with a recorded ``head``: does it end there, go on past it, or not reach it?"""
    lines = _lines(Path(path).read_bytes())
    count = len(lines)
    if head.entries == 0:
        reached = head.last_line_sha256 == GENESIS
    else:
        reached = count >= head.entries and line_hash(lines[head.entries - 1]) == head.last_line_sha256
    if not reached:
        status = HeadStatus.DIFFERS
    else:
        status = HeadStatus.MATCHES if count == head.entries else HeadStatus.APPENDED
    return HeadComparison(status, head, count)
