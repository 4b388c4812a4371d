"""Byte-deterministic storage of the arrays a dossier needs to redraw its figures.

``np.savez`` stamps the current time into its zip entries, so two identical runs
would give different files; here every entry gets a fixed timestamp and a fixed
order, so the same arrays always give the same bytes (and the same sha256).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from auditkit.dossier import layout

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def to_numpy(a: torch.Tensor | np.ndarray) -> np.ndarray:
    """Detached CPU numpy copy of a tensor (complex stays complex)."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def save_npz(path: Path, arrays: dict[str, torch.Tensor | np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as a compressed .npz with deterministic bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(to_numpy(arrays[key])), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Read an .npz written by ``save_npz`` (no pickles allowed)."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class ArraySink:
    """Collects a check's arrays under ``root/arrays/`` and returns their relative names."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def save(self, name: str, **arrays: torch.Tensor | np.ndarray) -> str:
        """Save ``arrays`` as ``arrays/<name>.npz``; returns that relative path."""
        rel = f"{layout.ARRAYS}/{name}.npz"
        save_npz(self.root / rel, arrays)
        return rel
