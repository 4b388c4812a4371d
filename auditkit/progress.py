"""A minimal progress interface, so checks report progress without knowing about the terminal."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol


class Task(Protocol):
    def advance(self, steps: int = 1) -> None: ...


class Progress(Protocol):
    """Opens a task with a description and a total number of steps."""

    def task(self, description: str, total: int) -> "contextmanager[Task]": ...


class _NullTask:
    def advance(self, steps: int = 1) -> None:
        return None


class NullProgress:
    """Progress that shows nothing (tests, library use)."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Task]:
        yield _NullTask()
