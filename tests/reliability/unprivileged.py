"""Run a piece of a test as an ordinary user, so that file permissions bind even when the suite runs as root.

Root may write into a read-only folder and rename anything, so a permission problem
a user meets cannot happen to root. As root, ``as_user`` forks, drops to ``nobody``
in the child and runs the function there (the child inherits the test's monkeypatches);
as anyone else it just calls the function. Folders the child must reach come from
``world_folder``: under the system's temporary folder, readable by everyone.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: uid and gid of ``nobody`` on Linux.
NOBODY = 65534


def is_root() -> bool:
    """Whether this process runs as root (permissions do not bind it)."""
    return os.geteuid() == 0


def as_user(action: Callable[[], T]) -> T:
    """``action()`` run as an ordinary user; its result (or exception, re-raised here as RuntimeError) comes back pickled."""
    if not is_root():
        return action()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read_end)
        try:
            try:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            except OSError as exc:  # root without CAP_SETUID (some containers): the test cannot run here
                payload = pickle.dumps(("skip", f"cannot become an ordinary user: {exc}"))
            else:
                payload = pickle.dumps(("ok", action()))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        with os.fdopen(write_end, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    if status == "skip":
        import pytest

        pytest.skip(value)
    if status == "error":
        raise RuntimeError(f"as an ordinary user: {value}")
    return value


@contextmanager
def world_folder() -> Iterator[Path]:
    """A fresh folder that every user can reach (mode 0755), removed afterwards whatever its modes became."""
    folder = Path(tempfile.mkdtemp(prefix="auditkit-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
