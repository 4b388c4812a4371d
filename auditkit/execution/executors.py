"""Who runs the units: this process (``local``) or Ray workers (``ray``), behind one small interface.

An executor takes units with the encoded outcomes of the units they need (``submit``) and
hands back finished ones, one at a time, in whatever order they finish (``next``). Results
do not depend on the executor: each unit is a pure function of its inputs (``auditkit.checks.units``),
and each runs with the same torch thread count wherever it runs (``threads``).

``RayExecutor`` starts a local Ray instance with ``workers`` CPUs, or joins the cluster at
``address`` (``ray start --head`` on one machine, ``ray start --address`` on the others).
Each unit asks Ray for ``threads`` CPUs and, when the network runs on CUDA, one GPU. A worker
that dies is retried by Ray (``RETRIES`` times); a unit that still cannot finish stops the run
with ``ExecutionError``, and ``--resume`` continues from the units that finished.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from typing import Any, Iterator, Protocol

from auditkit import activity
from auditkit.activity import CHANNEL_ENV
from auditkit.checks.base import AuditContext
from auditkit.checks.units import Unit
from auditkit.execution.job import Job, compute_unit, run_unit
from auditkit.manifest import Manifest
from auditkit.payload import decode

#: The executors ``auditkit run --executor`` offers.
EXECUTORS = ("local", "ray")
#: How many times Ray runs a unit again after its worker process died.
RETRIES = 2


class ExecutionError(RuntimeError):
    """A unit could not be run (its worker died more than ``RETRIES`` times, the cluster went away)."""


class Executor(Protocol):
    """Runs units; see the module doc."""

    def submit(self, unit: Unit, inputs: dict[Unit, bytes]) -> None: ...

    def next(self) -> tuple[Unit, bytes, float]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Units run in this process, one after another, in the order they were submitted."""

    def __init__(self, ctx: AuditContext, manifest: Manifest):
        self.ctx, self.manifest = ctx, manifest
        self.queue: deque[tuple[Unit, dict[Unit, bytes]]] = deque()

    def submit(self, unit: Unit, inputs: dict[Unit, bytes]) -> None:
        self.queue.append((unit, inputs))

    def next(self) -> tuple[Unit, bytes, float]:
        unit, inputs = self.queue.popleft()
        activity.tell("check", name=unit.check)  # a supervisor blames a crash on the check that was running
        t0 = time.perf_counter()
        data = compute_unit(self.ctx, self.manifest, unit, {u: decode(d) for u, d in inputs.items()})
        return unit, data, time.perf_counter() - t0

    def close(self) -> None:
        self.queue.clear()


@contextlib.contextmanager
def _without_channel() -> Iterator[None]:
    """The supervisor's pipe hidden from processes started here (Ray's): its fd number means nothing there."""
    saved = os.environ.pop(CHANNEL_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[CHANNEL_ENV] = saved


class RayExecutor:
    """Units run as Ray tasks (see the module doc)."""

    def __init__(self, job: Job, *, workers: int | None, address: str | None, gpus: float = 0.0):
        import ray

        self.ray = ray
        self.started_here = address is None
        with _without_channel():
            if address is None:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            else:
                ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        self.job = ray.put(job)
        self.task = ray.remote(run_unit).options(num_cpus=job.threads, num_gpus=gpus, max_retries=RETRIES)
        self.pending: dict[Any, Unit] = {}

    def submit(self, unit: Unit, inputs: dict[Unit, bytes]) -> None:
        self.pending[self.task.remote(self.job, unit, inputs)] = unit

    def next(self) -> tuple[Unit, bytes, float]:
        ready, _ = self.ray.wait(list(self.pending), num_returns=1)
        unit = self.pending.pop(ready[0])
        try:
            data, seconds = self.ray.get(ready[0])
        except self.ray.exceptions.RayError as exc:
            raise ExecutionError(
                f"unit {unit.id} could not be run: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
                "the finished units are kept: run again with --resume"
            ) from None
        return unit, data, seconds

    def close(self) -> None:
        """Cancel what is still running and leave the cluster (a local instance is shut down)."""
        for ref in list(self.pending):
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self.pending.clear()
        with contextlib.suppress(Exception):
            self.ray.shutdown()
