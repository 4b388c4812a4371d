"""Re-run an archived audit from its own inputs and compare every number with the dossier's.

The archived manifest under ``inputs/`` is audited again into a temporary folder with the same
checks and options (never signed). Every number of every check in ``evidence.json`` and every
array under ``arrays/`` is compared: exactly when the software and machine are the same as the
dossier's (the same seed then gives the same bits), otherwise within a stated tolerance
|a − b| ≤ atol + rtol·|b|. Before the numbers, the archived environment record is compared with
this machine's, and every entry that differs (packages, lock file, CPU, BLAS, threads, device) is
listed in the report.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from auditkit.arrays import load_npz
from auditkit.dossier import layout
from auditkit.errors import InputError, Problem
from auditkit.environment import EnvironmentChange, environment, environment_differences
from auditkit.evidence import Evidence
from auditkit.pipeline import RunOptions, run_audit
from auditkit.progress import Progress

#: Default tolerance across machines or software versions (relative, absolute).
DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-6
#: Evidence fields that legitimately differ between runs (timings, clocks, where it ran), and the attached
#: qualification record: an input of the dossier (protected by SHA256SUMS and its own signature), not a number
#: the audit computes, and one that qualifies only the auditkit that made it.
IGNORED_KEYS = frozenset({"wall_time_s", "started_at", "environment", "files", "archived_manifest", "qualification"})
#: Fields of a check's work-unit records (``units[i]``) that differ between runs: computed here or reused
#: from the baseline cache, the cache key (None when a run used no cache, as a reproduction does), and the
#: unit's seconds.
IGNORED_UNIT_KEYS = frozenset({"source", "cache_key", "seconds"})
#: Environment entries that must agree for an exact comparison: every package, the CPU (model, flags and the
#: kernels torch dispatches to), the BLAS, the intra-op thread count (it sets the order of summation) and the device.
#: The lock file's hash and the interop thread count are reported when they differ but do not change the bits.
SAME_MACHINE_KEYS = frozenset(
    {
        "auditkit", "python", "platform", "machine", "cpu_model", "cpu_flags", "torch", "torch_cpu_capability",
        "blas", "torch_threads", "device", "device_name", "deterministic_algorithms", "packages",
    }
)


@dataclass(frozen=True)
class Difference:
    """One value that did not reproduce."""

    where: str
    archived: Any
    reproduced: Any

    def format(self) -> str:
        return f"{self.where}: archived {self.archived!r}, reproduced {self.reproduced!r}"


@dataclass
class ReproduceReport:
    """Outcome of ``reproduce_dossier``."""

    exact: bool
    rtol: float
    atol: float
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    environment: list[EnvironmentChange] = field(default_factory=list)
    """Entries of the environment that differ between the archived run and this one."""

    @property
    def ok(self) -> bool:
        return not self.differences


def same_machine(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when the recorded software and machine agree on every key that affects the bits."""
    return _same_machine(environment_differences(a, b))


def _same_machine(changes: list[EnvironmentChange]) -> bool:
    """True when none of these environment differences affects the bits."""
    return not any(change.key in SAME_MACHINE_KEYS for change in changes)


def comparable(evidence: dict[str, Any]) -> dict[str, Any]:
    """Every leaf of an evidence file that two runs of the same audit must agree on, by dotted path."""
    return dict(_leaves(evidence, ""))


def _leaves(value: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON value with its dotted path; ignored keys are skipped at any depth, ignored
    unit keys inside a ``units`` list."""
    if isinstance(value, dict):
        in_unit = where.rpartition(".")[2].startswith("units[")
        for key in sorted(value):
            if key not in IGNORED_KEYS and not (in_unit and key in IGNORED_UNIT_KEYS):
                yield from _leaves(value[key], f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{where}[{i}]")
    else:
        yield where, value


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    if math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= atol + rtol * abs(b)


def compare_evidence(archived: Evidence, reproduced: Evidence, rtol: float, atol: float) -> tuple[int, list[Difference]]:
    """Compare every leaf of the two records (timings and environment excluded); (count, differences)."""
    old = comparable(archived.model_dump(mode="json"))
    new = comparable(reproduced.model_dump(mode="json"))
    diffs = [
        Difference(k, old.get(k), new.get(k))
        for k in sorted(old.keys() | new.keys())
        if k not in old or k not in new or not _close(new[k], old[k], rtol, atol)
    ]
    return len(old), diffs


def compare_arrays(old_root: Path, new_root: Path, names: list[str], rtol: float, atol: float) -> tuple[int, list[Difference]]:
    """Compare the arrays of each listed .npz file element by element; (count, differences)."""
    diffs: list[Difference] = []
    count = 0
    for name in names:
        old, new = load_npz(old_root / name), load_npz(new_root / name)
        for key in sorted(old.keys() | new.keys()):
            where = f"{name}:{key}"
            count += 1
            if key not in old or key not in new:
                diffs.append(Difference(where, key in old, key in new))
                continue
            a, b = old[key], new[key]
            if a.shape != b.shape or a.dtype != b.dtype:
                diffs.append(Difference(where, f"{a.dtype}{a.shape}", f"{b.dtype}{b.shape}"))
            elif a.dtype.kind in "fc" and not np.allclose(b, a, rtol=rtol, atol=atol, equal_nan=True):
                worst = float(np.max(np.abs(b - a)))
                diffs.append(Difference(where, "array", f"differs by up to {worst:.3g}"))
            elif a.dtype.kind not in "fc" and not np.array_equal(a, b):
                diffs.append(Difference(where, "array", "differs"))
    return count, diffs


def reproduce_dossier(
    root: Path,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    progress: Progress | None = None,
    on_environment: Callable[[list[EnvironmentChange]], None] | None = None,
) -> ReproduceReport:
    """Re-run the audit archived in ``root`` and compare; exact on the same machine unless a tolerance is given.

    ``on_environment`` receives the environment differences before the audit is re-run."""
    root = Path(root)
    evidence_path = root / layout.EVIDENCE
    if not evidence_path.is_file():
        raise InputError(Problem(root, layout.EVIDENCE, "not found: not an auditkit dossier folder"))
    archived = Evidence.read(evidence_path)
    if not archived.archived_manifest or not (root / archived.archived_manifest).is_file():
        raise InputError(Problem(evidence_path, "archived_manifest", f"the archived manifest is missing from {layout.INPUTS}/"))
    changes = environment_differences(archived.environment, environment_now(archived))
    exact = rtol is None and atol is None and _same_machine(changes)
    report = ReproduceReport(
        exact=exact,
        rtol=0.0 if exact else (DEFAULT_RTOL if rtol is None else rtol),
        atol=0.0 if exact else (DEFAULT_ATOL if atol is None else atol),
        environment=changes,
    )
    if on_environment is not None:
        on_environment(changes)
    with tempfile.TemporaryDirectory(prefix="auditkit-reproduce-") as tmp:
        out = Path(tmp) / "out"
        options = RunOptions(out=out, checks=[c.name for c in archived.checks], quick=archived.quick, sign=False)
        reproduced = run_audit(root / archived.archived_manifest, options, progress=progress, render=False)
        n_ev, d_ev = compare_evidence(archived, reproduced, report.rtol, report.atol)
        names = sorted({a for c in archived.checks for a in c.arrays} | {a for c in reproduced.checks for a in c.arrays})
        present = [n for n in names if (root / n).is_file() and (out / n).is_file()]
        missing = [Difference(n, (root / n).is_file(), (out / n).is_file()) for n in names if n not in present]
        n_ar, d_ar = compare_arrays(root, out, present, report.rtol, report.atol)
    report.compared = n_ev + n_ar
    report.differences = d_ev + missing + d_ar
    return report


def environment_now(archived: Evidence) -> dict[str, Any]:
    """This machine's environment record as the audit will run: on the dossier's device, with
    deterministic algorithms (``run_audit`` switches them on; the archived record was taken after)."""
    import torch

    torch.use_deterministic_algorithms(True)
    return environment(torch.device(archived.environment.get("device", "cpu")))
