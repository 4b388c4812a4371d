"""Progress bars on the terminal (rich), behind the ``auditkit.progress.Progress`` interface."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class _RichTask:
    def __init__(self, bar: Progress, task_id: int):
        self._bar = bar
        self._id = task_id

    def advance(self, steps: int = 1) -> None:
        self._bar.advance(self._id, steps)


class RichProgress:
    """One live progress display; each ``task`` adds a bar that is removed when the task ends.

    Descriptions are data (check names, image ids, file names): shown as written, never
    read as markup (``[bold]``) or emoji codes (``:x:``). The bars are drawn only on a
    terminal: in a log they would add nothing but an empty line before the messages.
    """

    def __init__(self, console: Console):
        self.bar = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> "RichProgress":
        """Start drawing the bars (on a terminal only)."""
        if self.bar.console.is_terminal:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop drawing; the transient bars vanish (``Progress.stop`` would print an empty line off a terminal)."""
        if self.bar.live.is_started:
            self.bar.stop()

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[_RichTask]:
        task_id = self.bar.add_task(description, total=total)
        try:
            yield _RichTask(self.bar, task_id)
        finally:
            self.bar.remove_task(task_id)
