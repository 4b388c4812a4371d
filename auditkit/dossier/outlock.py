"""One audit at a time per ``--out``: an exclusive operating-system lock beside the staging folder.

Two runs writing the same ``--out`` would share one staging folder: the second would
clean it under the first, and the first would publish a dossier mixing both runs'
files and audit-log entries. So a run holds ``.<name>.lock`` (beside ``--out``, next
to the staging folder ``.<name>.partial``) locked with ``flock`` from before it
touches the staging folder until after it published the dossier; a second run that
finds the lock held refuses at once, naming the holder's run id, process id, host and
start time (which the holder writes into the lock file).

The operating system releases an ``flock`` when its holder's process ends in any way
(a crash, ``kill -9``, the out-of-memory killer), so a supervisor that relaunches a
crashed audit with ``--resume`` gets the lock; a lock file left behind by a dead
process is simply taken over. A process forked while the lock is held (a network's
worker processes) closes its inherited copy at once, so a worker that outlives a
crashed audit does not keep the lock. The lock file lives beside the staging folder, not in
it, because cleaning the staging folder must not remove the lock. It is removed on
release. Locks are advisory: they bind auditkit processes, not other programs.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from auditkit.clock import utc_now
from auditkit.dossier.layout import lock_path
from auditkit.errors import InputError, Problem

#: How often to retry when the lock file is replaced between opening and locking it.
_ATTEMPTS = 5


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: the run's id, its process, host and when it took the lock (UTC, ISO 8601)."""

    run_id: str
    pid: int
    host: str
    started_at: str

    @classmethod
    def now(cls, run_id: str) -> "LockHolder":
        """This process, taking the lock now for run ``run_id``."""
        started = utc_now()
        return cls(run_id=run_id, pid=os.getpid(), host=socket.gethostname(), started_at=started)

    def to_bytes(self) -> bytes:
        """The lock file's content: one JSON object."""
        return (json.dumps(asdict(self), sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "LockHolder | None":
        """The holder written in a lock file, or None when it is empty or unreadable (being written)."""
        try:
            raw = json.loads(data.decode("utf-8"))
            return cls(
                run_id=str(raw["run_id"]), pid=int(raw["pid"]), host=str(raw["host"]), started_at=str(raw["started_at"])
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


class OutFolderBusy(InputError):
    """Another audit holds the lock of this ``--out``."""

    def __init__(self, out: Path, holder: LockHolder | None):
        """The refusal for ``out``, naming ``holder`` (None when its lock file could not be read yet)."""
        self.out = out
        self.holder = holder
        if holder is None:
            who = "(run id unknown, pid unknown)"
            when = "just now"
        else:
            who = f"(run id {holder.run_id}, pid {holder.pid} on {holder.host})"
            when = holder.started_at
        super().__init__(
            Problem(out, "--out", f"is in use by another audit {who} started at {when}; wait for it or choose another --out")
        )


class OutFolderLock:
    """The exclusive lock of one ``--out``, as a context manager: ``with OutFolderLock(out, run_id): ...``.

    Entering takes the lock without waiting (``OutFolderBusy`` when another process
    holds it) and creates the folders above ``out`` when missing; leaving removes the
    lock file, releases the lock and removes those folders again when still empty.
    """

    def __init__(self, out: Path | str, run_id: str):
        """The lock of ``out`` for run ``run_id``, not yet taken."""
        self.out = Path(out)
        self.path = lock_path(self.out)
        self.run_id = run_id
        self._fd: int | None = None
        self._created: list[Path] = []

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> "OutFolderLock":
        """Take the lock and write this run into the lock file; refuse (``OutFolderBusy``) when it is held."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: already held by this object")
        self._created = _make_folders(self.path.parent)
        try:
            self._fd = self._lock()
        except BaseException:
            self._remove_created()
            raise
        _HELD.add(self)
        holder = LockHolder.now(self.run_id)
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, holder.to_bytes(), 0)
        return self

    def release(self) -> None:
        """Remove the lock file and release the lock (closing its descriptor); no-op when not held."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: a waiting process then retries on a new file
        finally:
            os.close(self._fd)
            self._fd = None
            _HELD.discard(self)
            self._remove_created()

    def _forget_in_child(self) -> None:
        """In a forked child: close the inherited descriptor, so the lock lives only as long as its holder."""
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None
        self._created = []

    def __enter__(self) -> "OutFolderLock":
        """Take the lock (see :meth:`acquire`)."""
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        """Release the lock, however the block ended."""
        self.release()

    def _lock(self) -> int:
        """An open descriptor of the lock file, ``flock``-ed exclusively, that is still the file at ``self.path``."""
        for _ in range(_ATTEMPTS):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                problem = Problem(self.out, "--out", f"cannot create the lock file {self.path}: {exc.strerror}")
                raise InputError(problem) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = LockHolder.from_bytes(os.pread(fd, 4096, 0))
                os.close(fd)
                raise OutFolderBusy(self.out, holder) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                return fd
            os.close(fd)  # the holder removed the file between our open and our lock: try the new one
        raise InputError(Problem(self.out, "--out", f"cannot take the lock {self.path}: it keeps being replaced"))

    def _remove_created(self) -> None:
        """Remove the folders ``acquire`` created, deepest first, as long as they are empty."""
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:
                break
        self._created = []


#: Locks this process holds, until released (a forked child forgets them).
_HELD: set[OutFolderLock] = set()


def _forget_held_locks() -> None:
    """After ``fork``, in the child: drop every inherited lock (see :meth:`OutFolderLock._forget_in_child`)."""
    for lock in list(_HELD):
        lock._forget_in_child()
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_held_locks)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns the ones created, outermost first."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            for done in reversed(created):
                done.rmdir()
            raise InputError(Problem(path, "--out", f"cannot create the folder: {exc.strerror}")) from None
        created.append(path)
    return created
