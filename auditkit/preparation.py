"""What an audit is built from: the manifest validated, then its operator, network, baseline and images.

``prepare`` is the one place that turns a manifest into the ``AuditContext`` the checks run
in; the driver of a run and every worker process that runs its units (``auditkit.execution``)
build it alike, from the same files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from auditkit.baselines import DEFAULT_PARAMS, build_baseline
from auditkit.checks.base import AuditContext, Subject
from auditkit.data.collect import TestImages, collect_images
from auditkit.errors import InputError, Problem
from auditkit.evidence import InputRecord
from auditkit.fileio import sha256_file
from auditkit.manifest import Manifest
from auditkit.networks.adapter import NetworkAdapter
from auditkit.networks.loader import load_network, resolve_device
from auditkit.operators.base import ForwardOperator
from auditkit.operators.factory import build_operator
from auditkit.preflight import validate_manifest
from auditkit.progress import NullProgress, Progress

#: The real dtype every audit computes in (networks are float32 models).
AUDIT_DTYPE = torch.float32
#: In --quick runs the baseline stops after at most this many iterations (it is solved at every attack step).
QUICK_BASELINE_ITERATIONS = 100


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
        images = collect_images(manifest.data, manifest.modality.image_shape, coils=manifest.modality.raw_coils)
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
        inputs=input_records(manifest, manifest_path),
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
        measured=tuple(images.measured),
    )
    return prepared


def _trained_ratio(manifest: Manifest, operator: ForwardOperator) -> float | None:
    """The training setting in ``sampling_ratio`` units (for CT: trained angles / the operator's n_full)."""
    if manifest.network.trained_n_angles is not None and operator.n_full is not None:
        return manifest.network.trained_n_angles / operator.n_full
    return manifest.network.trained_ratio


def input_paths(manifest: Manifest, manifest_path: Path) -> list[tuple[str, Path]]:
    """(role, absolute path) of every file the audit reads, manifest first (never the signing key)."""
    folder = manifest_path.parent.resolve()
    paths: list[tuple[str, Path]] = [("manifest", manifest_path.resolve())]
    paths += [("network", (folder / rel).resolve()) for rel in sorted(manifest.network.sha256)]
    paths += [("data", Path(img.file).resolve()) for img in manifest.data.images]
    for entry in manifest.data.raw:
        paths.append(("raw data", Path(entry.file).resolve()))
        if entry.coil_maps is not None:
            paths.append(("raw coil maps", Path(entry.coil_maps).resolve()))
    if manifest.modality.sampling.mask_file is not None:
        paths.append(("mask", Path(manifest.modality.sampling.mask_file).resolve()))
    if manifest.modality.coils is not None and manifest.modality.coils.maps_file is not None:
        paths.append(("coil_maps", Path(manifest.modality.coils.maps_file).resolve()))
    return paths


def input_tree(manifest: Manifest, manifest_path: Path) -> tuple[dict[str, Path], str]:
    """Every input file (``input_paths``) by its POSIX path relative to the folder that holds them all, and the
    manifest's path in that tree: copied anywhere in this layout, the manifest's relative paths still resolve."""
    paths = [p for _, p in input_paths(manifest, manifest_path)]
    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    return {p.relative_to(common).as_posix(): p for p in paths}, manifest_path.resolve().relative_to(common).as_posix()


def input_records(manifest: Manifest, manifest_path: Path) -> list[InputRecord]:
    """Every file the audit read, with its sha256, by path relative to the manifest's folder."""
    folder = manifest_path.parent.resolve()
    return [
        InputRecord(role=role, path=Path(os.path.relpath(p, folder)).as_posix(), sha256=sha256_file(p))
        for role, p in input_paths(manifest, manifest_path)
    ]


