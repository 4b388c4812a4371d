"""The baseline's results kept across audits, addressed by the sha256 of everything they depend on.

A unit that measures the baseline alone cannot depend on the network, so a vendor who retrains
the network and audits again needs none of them recomputed. Each such result is stored under
its key, the sha256 of: the unit (check, phase, image index and id), the image's bytes and a raw
slice's k-space, the operator's specification (the manifest's modality without file paths, and every
tensor the image's operator holds: mask, coil maps, angles), the baseline's method and parameters, the check's
settings, quick mode, the audit seed, the trained ratio (it sets the sampling check's ratios),
auditkit's version and the sha256 of its source code (``environment.source_sha256``: an edited auditkit
with an unchanged version string must not reuse results), torch's version, the torch thread count the
units run with (it sets the order of floating-point sums) and the device type. An entry is
``<root>/<key[:2]>/<key>.safetensors`` with ``<key>.sha256`` beside it holding the sha256 of the
entry's bytes; an entry whose bytes do not match it is recomputed and written again, never trusted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

import auditkit
from auditkit.checks.base import AuditContext
from auditkit.checks.units import Unit
from auditkit.environment import source_sha256
from auditkit.fileio import sha256_bytes, write_atomic
from auditkit.manifest.models import CheckConfig, Modality

#: The folder under the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``) that ``--cache`` defaults to.
CACHE_NAME = "auditkit"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/auditkit/units``, or ``~/.cache/auditkit/units``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CACHE_NAME / "units"


def tensor_sha256(t: torch.Tensor) -> str:
    """sha256 of a tensor's dtype, shape and bytes (complex as (re, im) pairs); a sparse tensor (the CT system
    matrix) by its layout and the hashes of its index and value tensors."""
    if t.layout != torch.strided:
        parts = _sparse_parts(t)
        return sha256_bytes(f"{t.layout}|{tuple(t.shape)}|".encode() + "|".join(map(tensor_sha256, parts)).encode())
    t = t.detach().cpu().contiguous()
    raw = torch.view_as_real(t) if t.is_complex() else t
    head = f"{t.dtype}|{tuple(t.shape)}|".encode()
    return sha256_bytes(head + raw.numpy().tobytes())


def _sparse_parts(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The index and value tensors that determine a sparse tensor (COO coalesced first)."""
    if t.layout == torch.sparse_csr:
        return t.crow_indices(), t.col_indices(), t.values()
    if t.layout == torch.sparse_csc:
        return t.ccol_indices(), t.row_indices(), t.values()
    if t.layout == torch.sparse_coo:
        t = t.coalesce()
        return t.indices(), t.values()
    raise ValueError(f"cannot hash a tensor of layout {t.layout}")


def operator_spec(modality: Modality, op: Any) -> dict[str, Any]:
    """The operator as the cache key sees it: the manifest's modality block (file paths left out: their
    contents are in the operator's tensors) and the sha256 of every tensor the operator holds."""
    spec = modality.model_dump(mode="json")
    spec.get("sampling", {}).pop("mask_file", None)
    if isinstance(spec.get("coils"), dict):
        spec["coils"].pop("maps_file", None)
    tensors = {name: tensor_sha256(v) for name, v in sorted(vars(op).items()) if isinstance(v, torch.Tensor)}
    return {"type": type(op).__name__, "modality": spec, "tensors": tensors}


def unit_key(unit: Unit, ctx: AuditContext, config: CheckConfig, modality: Modality) -> str:
    """The cache key of a network-free unit (see the module doc)."""
    raw = ctx.raw(unit.image)
    baseline = ctx.baseline.fmap  # its method and parameters: the same at every image's operator
    payload = {
        "unit": {"check": unit.check, "phase": unit.phase.value, "subject": unit.subject,
                 "image": unit.image, "image_id": unit.image_id},
        "image_sha256": tensor_sha256(ctx.images[unit.image]),
        "measured_sha256": None if raw is None else tensor_sha256(torch.from_numpy(raw.kspace)),
        "operator": operator_spec(modality, ctx.operator_for(unit.image)),  # a raw slice's own maps
        "baseline": {"method": getattr(baseline, "method", type(baseline).__name__),
                     "params": getattr(baseline, "params", {})},
        "check": config.model_dump(mode="json"),
        "quick": ctx.quick,
        "seed": ctx.seed,
        "trained_ratio": ctx.trained_ratio,
        "auditkit": auditkit.__version__,
        "auditkit_source": source_sha256(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),  # the run's count (every executor runs units with it); the bits depend on it
        "device": ctx.images.device.type,
    }
    return sha256_bytes(json.dumps(payload, sort_keys=True, default=str).encode("utf-8"))


class UnitCache:
    """Results of network-free units under ``root``, by key (see the module doc)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.safetensors", folder / f"{key}.sha256"

    def get(self, key: str) -> bytes | None:
        """The entry's bytes when present and matching its recorded sha256, else None."""
        data_path, sum_path = self._paths(key)
        try:
            data = data_path.read_bytes()
            recorded = sum_path.read_text(encoding="ascii").strip()
        except OSError:
            return None
        return data if sha256_bytes(data) == recorded else None

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (atomically; the checksum last, so a half-written entry never matches)."""
        data_path, sum_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(data_path, data)
        write_atomic(sum_path, sha256_bytes(data) + "\n")
