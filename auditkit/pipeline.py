"""The audit run: manifest → operator, network, baseline, images → checks → evidence on disk.

Outputs are built in a staging folder beside the target (``.<name>.partial``,
``auditkit.dossier.staging``) and moved into place only when complete
(``auditkit.dossier.publish``), so a crash never leaves a half-written dossier; one run at a
time holds the target's lock (``auditkit.dossier.outlock``). The checks run as work units
(``auditkit.execution``: in this process or on Ray workers, the baseline's units from the cache
when it holds them); each finished unit and each finished check is kept there, and
``resume=True`` reuses those of a run with the same fingerprint (manifest and input hashes,
options, auditkit version).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

import auditkit
from auditkit.clock import utc_now
from auditkit import activity
from auditkit.activity import read_crash
from auditkit.arrays import ArraySink
from auditkit.checks import registry
from auditkit.checks.base import DISABLED, Check
from auditkit.checks.result import CheckResult, Verdict
from auditkit.data.collect import TestImages
from auditkit.dossier import layout
from auditkit.dossier.auditlog import AuditLog
from auditkit.dossier.credentials import load_credentials
from auditkit.dossier.outfolder import check_out_folder
from auditkit.dossier.outlock import OutFolderLock
from auditkit.dossier.publish import publish
from auditkit.dossier.signing import seal_dossier, sign_dossier, signature_block
from auditkit.dossier.staging import clear_run_state, open_stage
from auditkit.environment import environment
from auditkit.errors import InputError, Problem
from auditkit.evidence import Evidence
from auditkit.execution.cache import UnitCache
from auditkit.execution.driver import run_units
from auditkit.execution.executors import EXECUTORS, Executor, LocalExecutor, RayExecutor
from auditkit.execution.job import Job
from auditkit.execution.store import UnitStore
from auditkit.fileio import sha256_bytes, sha256_file, write_atomic
from auditkit.manifest import Manifest
from auditkit.networks.adapter import precision_note
from auditkit.networks.summary import describe
from auditkit.preparation import Prepared, input_tree, prepare
from auditkit.progress import Progress
from auditkit.qualification import attachment as qualification


def load_check(name: str) -> type[Check]:
    """The Check class implementing ``name`` (``auditkit.checks.registry``)."""
    return registry.entry(name).check


@dataclass
class RunOptions:
    """What to run and where to put it."""

    out: Path
    checks: list[str] | None = None  # None: every check enabled in the manifest
    quick: bool = False
    resume: bool = False
    sign: bool = True  # sign when the manifest has a signing block (reproduce sets False)
    executor: str = "local"  # who runs the units: "local" (this process) or "ray" (auditkit.execution.executors)
    workers: int | None = None  # ray: CPUs of the local instance it starts (None: every core)
    ray_address: str | None = None  # ray: join this cluster instead of starting a local instance
    threads: int = 1  # torch threads per unit, in every executor (and Ray CPUs per unit): the bits depend on it
    cache: Path | None = None  # the baseline cache's folder (None: no cache; the CLI defaults to the user's)
    qualification: Path | None = None  # a record of ``auditkit selftest`` to attach (auditkit.qualification.attachment)


def archive_inputs(prepared: Prepared, stage: Path) -> str:
    """Copy every input under ``stage/inputs/`` in the layout of ``input_tree``, so the archived manifest's
    relative paths still resolve; returns the manifest's path there."""
    tree, manifest = input_tree(prepared.manifest, prepared.manifest_path)
    for rel, src in tree.items():
        dst = stage / layout.INPUTS / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return f"{layout.INPUTS}/{manifest}"


def file_hashes(stage: Path, folders: tuple[str, ...] = (layout.ARRAYS, layout.INPUTS)) -> dict[str, str]:
    """sha256 of every file under ``folders`` of ``stage``, keyed by POSIX relative path."""
    return {
        p.relative_to(stage).as_posix(): sha256_file(p)
        for folder in folders
        for p in sorted((stage / folder).rglob("*"))
        if p.is_file()
    }


def fingerprint(prepared: Prepared, options: RunOptions) -> str:
    """sha256 of everything that determines the numbers: inputs, options and auditkit version."""
    payload = {
        "inputs": [r.model_dump() for r in prepared.inputs],
        "quick": options.quick,
        "checks": sorted(options.checks) if options.checks else None,
        "auditkit": auditkit.__version__,
        "torch": torch.__version__,
    }
    return sha256_bytes(json.dumps(payload, sort_keys=True).encode())


def selected_checks(manifest: Manifest | None, requested: list[str] | None) -> list[str]:
    """Check names to consider, in the canonical order (``registry.names()``): every check for None, else the
    named ones (blanks ignored, duplicates merged). Naming no check, or a name that is not a check, is an
    input error; ``run_audit`` and the CLI ask before anything is written."""
    known = registry.names()
    if requested is None:
        return list(known)
    names = [name.strip() for name in requested if name.strip()]
    if not names:
        raise InputError(Problem("--checks", "", f"no check named; name one or more of {', '.join(known)}"))
    unknown = [name for name in dict.fromkeys(names) if name not in known]
    if unknown:
        raise InputError(Problem(
            "--checks", "", f"unknown check(s) {', '.join(unknown)}; the checks are {', '.join(known)}"))
    return [c for c in known if c in names]


def check_options(options: RunOptions) -> None:
    """Refuse executor options that do not fit together, one problem per line (exit 2 from the CLI)."""
    problems = []
    if options.executor not in EXECUTORS:
        problems.append(Problem("--executor", "", f"must be one of {', '.join(EXECUTORS)}, not {options.executor!r}"))
    if options.executor != "ray":
        problems += [Problem(flag, "", "only with --executor ray")
                     for flag, value in (("--workers", options.workers), ("--ray-address", options.ray_address))
                     if value is not None]
    if options.workers is not None and options.ray_address is not None:
        problems.append(Problem("--workers", "", "give --workers (start a local Ray instance) or --ray-address "
                                                 "(join a cluster), not both"))
    if options.workers is not None and options.workers < 1:
        problems.append(Problem("--workers", "", f"must be at least 1, not {options.workers}"))
    if options.threads < 1:
        problems.append(Problem("--threads", "", f"must be at least 1, not {options.threads}"))
    if problems:
        raise InputError(problems)


def parse_checks(text: str | None) -> list[str] | None:
    """The ``--checks`` option (comma-separated names) as ``selected_checks`` validates it; None when not given."""
    return None if text is None else selected_checks(None, text.split(","))


def save_test_data(sink: ArraySink, images: TestImages) -> None:
    """The raw slices' reference images and coil-map magnitudes, for the dossier's test-data figure
    (``arrays/test_data.npz``; nothing when no test image came from raw data)."""
    arrays: dict[str, np.ndarray] = {}
    for n, ref in enumerate(images.measured):
        if ref is not None:
            arrays[f"image_{n}"] = ref.image.astype(np.float32)
            if ref.maps is not None:
                arrays[f"maps_{n}"] = np.abs(ref.maps).astype(np.float32)
    if arrays:
        sink.save(layout.TEST_DATA_ARRAYS, **arrays)


def run_checks(
    prepared: Prepared, options: RunOptions, stage: Path, fp: str, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run each selected check unit by unit (``auditkit.execution``), checkpointing each as it finishes; when
    resuming, reload the checks and units that finished with the same fingerprint."""
    manifest, ctx = prepared.manifest, prepared.context
    ctx.arrays = ArraySink(stage)
    save_test_data(ctx.arrays, prepared.images)
    ckpt_dir = stage / layout.CHECKPOINTS
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    names = selected_checks(manifest, options.checks)
    results: dict[str, CheckResult] = {}
    pending: list[Check] = []
    for name in names:
        config = getattr(manifest.checks, name)
        saved = _checkpoint(ckpt_dir / f"{name}.json", fp) if options.resume else None
        crash = read_crash(stage, name, fp) if options.resume and saved is None else None
        if saved is not None:
            results[name] = saved
        elif not config.enabled:
            results[name] = load_check(name).not_run(DISABLED, config)
        elif crash is not None:  # the network ended the process during this check (auditkit.supervisor)
            results[name] = load_check(name)().error(crash.reason, config)
            results[name].seed = ctx.seed
        else:
            pending.append(load_check(name)())
    ordered: list[CheckResult] = []

    def flush() -> None:
        """Checkpoint and report every result that is next in the canonical order."""
        while len(ordered) < len(names) and names[len(ordered)] in results:
            done = results[names[len(ordered)]]
            write_atomic(ckpt_dir / f"{done.name}.json",
                         json.dumps({"fingerprint": fp, "result": done.model_dump(mode="json")}, indent=1))
            ordered.append(done)
            if on_result:
                on_result(done)

    def finished(result: CheckResult) -> None:
        result.seed = ctx.seed
        results[result.name] = result
        flush()

    flush()  # the checks settled before any unit ran, as far as they come first
    if pending:
        run_units(
            ctx, manifest, pending, UnitStore(stage),
            cache=UnitCache(options.cache) if options.cache is not None else None,
            executor=lambda: make_executor(prepared, options, fp),
            progress=ctx.progress, on_result=finished,
        )
    return ordered


def _checkpoint(path: Path, fp: str) -> CheckResult | None:
    """A check's checkpoint written by a run with fingerprint ``fp``, or None."""
    if not path.exists():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    return CheckResult.model_validate(saved["result"]) if saved.get("fingerprint") == fp else None


def make_executor(prepared: Prepared, options: RunOptions, fp: str) -> Executor:
    """The executor ``options`` name: this process, or Ray (a local instance of ``workers`` CPUs, or the
    cluster at ``ray_address``), each unit with ``threads`` torch threads and, on CUDA, one GPU."""
    if options.executor == "local":
        return LocalExecutor(prepared.context, prepared.manifest)
    job = Job.of(prepared, quick=options.quick, threads=options.threads, fingerprint=fp)
    gpus = 1.0 if prepared.device.type == "cuda" else 0.0
    return RayExecutor(job, workers=options.workers, address=options.ray_address, gpus=gpus)


def build_evidence(prepared: Prepared, options: RunOptions, results: list[CheckResult], started: str, wall: float) -> Evidence:
    """Assemble the evidence record from the prepared audit and the check results."""
    m = prepared.manifest
    op = prepared.operator
    modality: dict[str, Any] = {
        "kind": m.modality.kind,
        "image_shape": list(op.image_shape),
        "pattern": m.modality.sampling.pattern,
        "sampling_ratio": float(op.sampling_ratio),
        "measurement_shape": list(op.measurement_shape),
        "seed": m.modality.sampling.seed,
    }
    if op.n_angles is not None:
        modality["n_angles"] = int(op.n_angles)
    if m.modality.coils is not None:
        modality["coils"] = m.modality.coils.count
    baseline_map = prepared.context.baseline.fmap
    ev = Evidence(
        tool={"name": "auditkit", "version": auditkit.__version__},
        submission=m.submission.model_dump(mode="json"),
        modality=modality,
        baseline={"method": m.baseline.method, "name": baseline_map.name, "params": _jsonable(getattr(baseline_map, "params", {}))},
        network=_network_record(prepared),
        images=[{"id": i, **s} for i, s in zip(prepared.images.ids, prepared.images.sources)],
        inputs=prepared.inputs,
        environment=environment(prepared.device),
        seed=m.checks.seed,
        quick=options.quick,
        checks=results,
        started_at=started,
        wall_time_s=round(wall, 3),
    )
    ev.overall_verdict = ev.decide()
    return ev


def _network_record(prepared: Prepared) -> dict[str, Any]:
    """The network as loaded and probed: its class, parameters and layers (measured), its input and output
    conventions, the ratio it was trained at and the manifest's statement of its training data; the output
    dtype and, for half precision, what that means."""
    spec = prepared.manifest.network
    dtype = prepared.network.output_dtype
    record: dict[str, Any] = {
        "format": spec.format,
        **describe(prepared.network.module),
        "input": spec.input,
        "complex_as": spec.complex_as,
        "output": spec.output,
        "output_dtype": dtype,
        "trained_ratio": prepared.context.trained_ratio,
        "training_data": spec.training_data or "not stated in the manifest (network.training_data)",
    }
    if spec.trained_n_angles is not None:
        record["trained_n_angles"] = spec.trained_n_angles
    note = precision_note(dtype)
    if note is not None:
        record["precision"] = note
    return record


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=str))


def run_audit(
    manifest_path: Path,
    options: RunOptions,
    *,
    progress: Progress | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    render: bool = True,
) -> Evidence:
    """The whole audit: prepare, run checks (checkpointed), write evidence, render and sign the dossier, seal, publish.

    ``--out`` is checked before any work (``auditkit.dossier.outfolder.check_out_folder``: it can be
    written and replaced and holds nothing but an earlier dossier), then locked
    (``auditkit.dossier.outlock``) from before the staging folder is touched until after publishing,
    so a second audit to the same ``--out`` is refused at once instead of sharing the stage.
    ``render=False`` stops after evidence.json and arrays/ (``reproduce`` compares numbers only).
    """
    selected_checks(None, options.checks)  # unknown or no check names: bad input before anything is written
    check_options(options)
    out = Path(options.out)
    check_out_folder(out)  # before any work, not only at the end
    run_id = uuid.uuid4().hex[:12]
    with unit_threads(options.threads), OutFolderLock(out, run_id):
        return _run_locked(manifest_path, options, run_id, progress=progress, on_result=on_result, render=render)


@contextmanager
def unit_threads(threads: int) -> Iterator[None]:
    """Deterministic algorithms and ``threads`` torch threads while units run in this process — the bits depend on
    the count, and every executor and the baseline cache assume the run's — then the previous thread count again
    (deterministic algorithms stay on)."""
    before = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run_locked(
    manifest_path: Path,
    options: RunOptions,
    run_id: str,
    *,
    progress: Progress | None,
    on_result: Callable[[CheckResult], None] | None,
    render: bool,
) -> Evidence:
    """``run_audit`` once ``--out`` is checked and locked by run ``run_id``, inside ``unit_threads``."""
    t0 = time.perf_counter()
    started = utc_now()
    out = Path(options.out)
    prepared = prepare(manifest_path, quick=options.quick, progress=progress, signing=options.sign)
    signing = prepared.manifest.signing if (options.sign and render) else None
    credentials = load_credentials(signing, manifest_path) if signing is not None else None  # fail before hours of checks
    attached = (qualification.accept(options.qualification, prepared.manifest, prepared.context)
                if options.qualification is not None else None)  # refused before hours of checks
    fp = fingerprint(prepared, options)
    stage = open_stage(out, fp, resume=options.resume, started_at=started, run_id=run_id)
    activity.tell("run", stage=str(stage), fingerprint=fp)
    log = AuditLog(stage / layout.AUDIT_LOG)
    log.append("start", manifest=str(manifest_path), fingerprint=fp, quick=options.quick, checks=options.checks,
               resume=options.resume, auditkit=auditkit.__version__, run_id=run_id)
    log.append("inputs", files={r.path: r.sha256 for r in prepared.inputs})

    def logged(result: CheckResult) -> None:
        log.append("check", name=result.name, verdict=result.verdict.value, reason=result.reason, wall_time_s=result.wall_time_s)
        if on_result:
            on_result(result)

    results = run_checks(prepared, options, stage, fp, logged)
    evidence = build_evidence(prepared, options, results, started, time.perf_counter() - t0)
    evidence.archived_manifest = archive_inputs(prepared, stage)
    if attached is not None:
        evidence.qualification = qualification.summary(attached, qualification.archive(attached, stage))
    evidence.files = file_hashes(stage)
    evidence_file = write_atomic(stage / layout.EVIDENCE, evidence.to_json())
    log.append("evidence", sha256=sha256_file(evidence_file), verdict=evidence.overall_verdict.value)
    if render:
        from auditkit.report.dossier import write_dossier

        block = signature_block(signing, credentials) if signing is not None and credentials is not None else None
        write_dossier(evidence, stage, log, signature=block)
        if signing is not None:
            sign_dossier(stage, signing, log=log, manifest_file=manifest_path, credentials=credentials)
    log.append("finish", verdict=evidence.overall_verdict.value, signed=signing is not None)
    clear_run_state(stage)
    seal_dossier(stage, signing, manifest_file=manifest_path, credentials=credentials)
    publish(stage, out)
    return evidence
