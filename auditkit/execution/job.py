"""What a worker process needs to run an audit's units, and running one unit there.

A ``Job`` carries the audit's input files themselves (manifest, network, images, mask, coil
maps: ``auditkit.preparation.input_tree``, a few megabytes), so a worker on
another machine needs no shared file system: it writes them into a private folder once and
builds the same ``AuditContext`` from them with ``prepare``, keeps it for the job's further
units, and returns each unit's result encoded (``auditkit.payload``).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from auditkit.activity import CHANNEL_ENV
from auditkit.checks import registry
from auditkit.checks.base import AuditContext
from auditkit.checks.units import Unit
from auditkit.manifest import Manifest
from auditkit.payload import decode, encode
from auditkit.preparation import Prepared, input_tree, prepare


@dataclass(frozen=True)
class Job:
    """An audit as its workers see it: its input files by relative path, the manifest's path among them,
    quick mode, the torch threads each unit uses, and the run's fingerprint (which names the job)."""

    files: dict[str, bytes]
    manifest: str
    quick: bool
    threads: int
    fingerprint: str

    @classmethod
    def of(cls, prepared: Prepared, *, quick: bool, threads: int, fingerprint: str) -> "Job":
        """The job of a prepared audit: its input files read into memory, keeping their layout."""
        tree, manifest = input_tree(prepared.manifest, prepared.manifest_path)
        return cls({rel: path.read_bytes() for rel, path in tree.items()}, manifest, quick, threads, fingerprint)


#: The prepared audits of this worker process, by fingerprint (a worker runs many units of one job).
_PREPARED: dict[str, Prepared] = {}


def _prepared(job: Job) -> Prepared:
    """The job's prepared audit in this process: its files written to a private folder, then ``prepare``."""
    found = _PREPARED.get(job.fingerprint)
    if found is None:
        os.environ.pop(CHANNEL_ENV, None)  # a worker is not the supervised child: its fds mean something else
        torch.set_num_threads(job.threads)
        torch.use_deterministic_algorithms(True)
        folder = Path(tempfile.mkdtemp(prefix="auditkit-job-"))
        for rel, data in job.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        found = prepare(folder / job.manifest, quick=job.quick, signing=False)
        _PREPARED.clear()  # one job at a time per worker
        _PREPARED[job.fingerprint] = found
    return found


def compute_unit(ctx: AuditContext, manifest: Manifest, unit: Unit, inputs: dict[Unit, Any]) -> bytes:
    """One unit computed in this process, its outcome (result or ``Failure``) encoded."""
    check = registry.entry(unit.check).check()
    config = getattr(manifest.checks, unit.check)
    return encode(check.compute(ctx, config, unit, inputs))


def run_unit(job: Job, unit: Unit, inputs: dict[Unit, bytes]) -> tuple[bytes, float]:
    """A worker's task: ``unit`` of ``job`` with the encoded outcomes of the units it needs; returns its
    encoded outcome and the seconds it took."""
    prepared = _prepared(job)
    t0 = time.perf_counter()
    data = compute_unit(prepared.context, prepared.manifest, unit, {u: decode(d) for u, d in inputs.items()})
    return data, time.perf_counter() - t0
