"""The audit run: manifest → operator, network, baseline, images → checks → evidence on disk.

Outputs are built in a staging folder beside the target (``.<name>.partial``,
``auditkit.dossier.staging``) and moved into place only when complete
(``auditkit.dossier.publish``), so a crash never leaves a half-written dossier; one run at a
time holds the target's lock (``auditkit.dossier.outlock``). Each
finished check is checkpointed there; ``resume=True`` reuses the checkpoints of a run
with the same fingerprint (manifest and input hashes, options, auditkit version).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

import auditkit
from auditkit import activity
from auditkit.activity import read_crash
from auditkit.arrays import ArraySink
from auditkit.baselines import DEFAULT_PARAMS, build_baseline
from auditkit.checks import registry
from auditkit.checks.base import DISABLED, AuditContext, Check, Subject, start_fresh
from auditkit.checks.result import CheckResult
from auditkit.data.collect import TestImages, collect_images
from auditkit.dossier import layout
from auditkit.dossier.auditlog import AuditLog
from auditkit.dossier.credentials import load_credentials
from auditkit.dossier.outfolder import check_out_folder
from auditkit.dossier.outlock import OutFolderLock
from auditkit.dossier.publish import publish
from auditkit.dossier.signing import seal_dossier, sign_dossier
from auditkit.dossier.staging import clear_run_state, open_stage
from auditkit.environment import environment
from auditkit.errors import InputError, Problem
from auditkit.evidence import Evidence, InputRecord
from auditkit.fileio import sha256_bytes, sha256_file, write_atomic
from auditkit.manifest import Manifest
from auditkit.networks.adapter import NetworkAdapter, precision_note
from auditkit.networks.loader import load_network, resolve_device
from auditkit.operators.base import ForwardOperator
from auditkit.operators.factory import build_operator
from auditkit.preflight import validate_manifest
from auditkit.progress import NullProgress, Progress

#: The real dtype every audit computes in (networks are float32 models).
AUDIT_DTYPE = torch.float32
#: In --quick runs the baseline stops after at most this many iterations (it is solved at every attack step).
QUICK_BASELINE_ITERATIONS = 100


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


@dataclass
class Prepared:
    """Everything built from the manifest before any check runs."""

    manifest: Manifest
    manifest_path: Path
    operator: ForwardOperator
    network: NetworkAdapter
    baseline_params: dict[str, Any]
    images: TestImages
    inputs: list[InputRecord]
    device: torch.device
    context: AuditContext = field(init=False)


def prepare(
    manifest_path: Path, *, quick: bool = False, progress: Progress | None = None, signing: bool = True
) -> Prepared:
    """Validate the manifest and its files, then build the operator, network, baseline and images.

    ``signing=False`` ignores the signing block's files (for ``reproduce``)."""
    manifest_path = Path(manifest_path)
    manifest = validate_manifest(manifest_path, signing=signing)
    folder = manifest_path.parent.resolve()
    device = resolve_device(manifest.network.device, file=str(manifest_path))
    operator = build_operator(manifest.modality, dtype=AUDIT_DTYPE, device=device)
    network = load_network(manifest.network, folder, operator, device=device)
    try:
        images = collect_images(manifest.data, manifest.modality.image_shape)
    except ValueError as exc:
        raise InputError(Problem(manifest_path, "data", str(exc))) from None
    baseline_params = {
        k: v
        for k, v in manifest.baseline.model_dump().items()
        if k != "method" and v is not None
    }
    method = manifest.baseline.method
    if quick:  # a first look: the baseline (solved at every attack step) is capped too
        default_iters = DEFAULT_PARAMS[method][manifest.modality.kind]["max_iter"]
        baseline_params["max_iter"] = min(baseline_params.get("max_iter", default_iters), QUICK_BASELINE_ITERATIONS)

    def baseline_at(op: ForwardOperator):
        return build_baseline(method, op, modality=manifest.modality.kind, **baseline_params)

    def network_at(op: ForwardOperator) -> NetworkAdapter:
        return NetworkAdapter(
            network.module, op, input=manifest.network.input, complex_as=manifest.network.complex_as,
            output=manifest.network.output, name="network", check_finite=False,
        )

    prepared = Prepared(
        manifest=manifest,
        manifest_path=manifest_path,
        operator=operator,
        network=network,
        baseline_params=baseline_params,
        images=images,
        inputs=_input_records(manifest, manifest_path),
        device=device,
    )
    baseline = baseline_at(operator)
    prepared.context = AuditContext(
        operator=operator,
        network=Subject("network", network_at(operator), network_at),
        baseline=Subject("baseline", baseline, baseline_at),
        images=images.images.to(device=device, dtype=AUDIT_DTYPE),
        image_ids=list(images.ids),
        seed=manifest.checks.seed,
        quick=quick,
        progress=progress or NullProgress(),
        trained_ratio=_trained_ratio(manifest, operator),
    )
    return prepared


def _trained_ratio(manifest: Manifest, operator: ForwardOperator) -> float | None:
    """The training setting in ``sampling_ratio`` units (for CT: trained angles / the operator's n_full)."""
    if manifest.network.trained_n_angles is not None and operator.n_full is not None:
        return manifest.network.trained_n_angles / operator.n_full
    return manifest.network.trained_ratio


def _input_paths(manifest: Manifest, manifest_path: Path) -> list[tuple[str, Path]]:
    """(role, absolute path) of every file the audit reads, manifest first (never the signing key)."""
    folder = manifest_path.parent.resolve()
    paths: list[tuple[str, Path]] = [("manifest", manifest_path.resolve())]
    paths += [("network", (folder / rel).resolve()) for rel in sorted(manifest.network.sha256)]
    paths += [("data", Path(img.file).resolve()) for img in manifest.data.images]
    if manifest.modality.sampling.mask_file is not None:
        paths.append(("mask", Path(manifest.modality.sampling.mask_file).resolve()))
    if manifest.modality.coils is not None and manifest.modality.coils.maps_file is not None:
        paths.append(("coil_maps", Path(manifest.modality.coils.maps_file).resolve()))
    return paths


def archive_inputs(prepared: Prepared, stage: Path) -> str:
    """Copy every input under ``stage/inputs/``, keeping their layout relative to a common folder,
    so the archived manifest's relative paths still resolve; returns the manifest's path there."""
    paths = _input_paths(prepared.manifest, prepared.manifest_path)
    common = Path(os.path.commonpath([str(p.parent) for _, p in paths]))
    for _, src in paths:
        dst = stage / layout.INPUTS / src.relative_to(common)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return (Path(layout.INPUTS) / prepared.manifest_path.resolve().relative_to(common)).as_posix()


def file_hashes(stage: Path, folders: tuple[str, ...] = (layout.ARRAYS, layout.INPUTS)) -> dict[str, str]:
    """sha256 of every file under ``folders`` of ``stage``, keyed by POSIX relative path."""
    return {
        p.relative_to(stage).as_posix(): sha256_file(p)
        for folder in folders
        for p in sorted((stage / folder).rglob("*"))
        if p.is_file()
    }


def _input_records(manifest: Manifest, manifest_path: Path) -> list[InputRecord]:
    """Every file the audit read, with its sha256, by path relative to the manifest's folder."""
    folder = manifest_path.parent.resolve()
    return [
        InputRecord(role=role, path=Path(os.path.relpath(p, folder)).as_posix(), sha256=sha256_file(p))
        for role, p in _input_paths(manifest, manifest_path)
    ]


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


def parse_checks(text: str | None) -> list[str] | None:
    """The ``--checks`` option (comma-separated names) as ``selected_checks`` validates it; None when not given."""
    return None if text is None else selected_checks(None, text.split(","))


def run_checks(
    prepared: Prepared, options: RunOptions, stage: Path, fp: str, on_result: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Run (or, when resuming, reload) each selected check, checkpointing each as it finishes."""
    manifest = prepared.manifest
    prepared.context.arrays = ArraySink(stage)
    ckpt_dir = stage / layout.CHECKPOINTS
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    results: list[CheckResult] = []
    for name in selected_checks(manifest, options.checks):
        config = getattr(manifest.checks, name)
        ckpt = ckpt_dir / f"{name}.json"
        if options.resume and ckpt.exists():
            saved = json.loads(ckpt.read_text(encoding="utf-8"))
            if saved.get("fingerprint") == fp:
                result = CheckResult.model_validate(saved["result"])
                results.append(result)
                if on_result:
                    on_result(result)
                continue
        crash = read_crash(stage, name, fp) if options.resume else None
        if not config.enabled:
            result = load_check(name).not_run(DISABLED, config)
        elif crash is not None:  # the network ended the process during this check (auditkit.supervisor)
            result = load_check(name)().error(crash.reason, config)
            result.seed = prepared.context.seed
        else:
            activity.tell("check", name=name)
            for subject in prepared.context.subjects():  # each check starts from the same state
                start_fresh(subject)
            result = load_check(name)().run(prepared.context, config)
            result.seed = prepared.context.seed
        write_atomic(ckpt, json.dumps({"fingerprint": fp, "result": result.model_dump(mode="json")}, indent=1))
        results.append(result)
        if on_result:
            on_result(result)
    return results


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
    """The network as the probe found it: format, output dtype and, for half precision, what that means."""
    dtype = prepared.network.output_dtype
    record: dict[str, Any] = {"format": prepared.manifest.network.format, "output_dtype": dtype}
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
    out = Path(options.out)
    check_out_folder(out)  # before any work, not only at the end
    run_id = uuid.uuid4().hex[:12]
    with OutFolderLock(out, run_id):
        return _run_locked(manifest_path, options, run_id, progress=progress, on_result=on_result, render=render)


def _run_locked(
    manifest_path: Path,
    options: RunOptions,
    run_id: str,
    *,
    progress: Progress | None,
    on_result: Callable[[CheckResult], None] | None,
    render: bool,
) -> Evidence:
    """``run_audit`` once ``--out`` is checked and locked by run ``run_id``."""
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    out = Path(options.out)
    prepared = prepare(manifest_path, quick=options.quick, progress=progress, signing=options.sign)
    signing = prepared.manifest.signing if (options.sign and render) else None
    credentials = load_credentials(signing, manifest_path) if signing is not None else None  # fail before hours of checks
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
    evidence.files = file_hashes(stage)
    evidence_file = write_atomic(stage / layout.EVIDENCE, evidence.to_json())
    log.append("evidence", sha256=sha256_file(evidence_file), verdict=evidence.overall_verdict.value)
    if render:
        from auditkit.report.dossier import write_dossier
        from auditkit.report.html import Signature

        block = Signature(signing.signer_name, signing.meaning) if signing is not None else None
        write_dossier(evidence, stage, log, signature=block)
        if signing is not None:
            sign_dossier(stage, signing, log=log, manifest_file=manifest_path, credentials=credentials)
    log.append("finish", verdict=evidence.overall_verdict.value, signed=signing is not None)
    clear_run_state(stage)
    seal_dossier(stage, signing, manifest_file=manifest_path, credentials=credentials)
    publish(stage, out)
    return evidence
