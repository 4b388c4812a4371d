"""Brain test images: slices of the MNI152 T1 template that nilearn ships.

``nilearn.datasets.load_mni152_template`` reads a skull-stripped ICBM152 2009
template stored inside the nilearn package (resampled to 2 mm on request); it
never fetches anything. Slices are shown in the usual neurological view: axial
and coronal with the subject's right on the image right, sagittal with anterior
on the right, and superior (or anterior, for axial) at the top.

Slice indices refer to the template grid at the chosen resolution (1 mm:
197 × 233 × 189 voxels; 2 mm: 99 × 117 × 95). ``default_split`` fixes which slices
may be used to train networks and which are kept back as test images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, get_args

import numpy as np
import torch

from auditkit.data.normalise import normalise
from auditkit.data.resize import check_shape, pad_to_aspect, resize_to

Plane = Literal["axial", "coronal", "sagittal"]
PLANES: tuple[str, ...] = get_args(Plane)
#: the volume axis each plane cuts across (the template array is in RAS order: x, y, z).
_PLANE_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}
#: a voxel is foreground when brighter than this fraction of the template's maximum.
FOREGROUND_LEVEL = 0.1


def _check_plane(plane: str) -> int:
    """The volume axis of ``plane``; ValueError naming the parameter otherwise."""
    if plane not in _PLANE_AXIS:
        raise ValueError(f"plane must be one of {', '.join(PLANES)}; got {plane!r}")
    return _PLANE_AXIS[plane]


def _check_resolution(resolution: int) -> int:
    """Only the 1 mm template and its 2 mm resampling are offered."""
    if resolution not in (1, 2) or isinstance(resolution, bool):
        raise ValueError(f"resolution must be 1 or 2 (mm), got {resolution!r}")
    return int(resolution)


@lru_cache(maxsize=2)
def _load_template(resolution: int) -> np.ndarray:
    """Read and scale the template once per resolution (the cache key is the plain int)."""
    from nilearn.datasets import load_mni152_template

    vol = np.asarray(load_mni152_template(resolution=resolution).get_fdata(), dtype=np.float64)
    vol = np.clip(vol, 0.0, None)
    vol /= vol.max()
    vol.setflags(write=False)
    return vol


def template_volume(resolution: int = 1) -> np.ndarray:
    """The MNI152 T1 template as a read-only float64 array (x, y, z) scaled so that its maximum is 1.

    Loaded once per resolution and cached; small negative values left by the 2 mm
    resampling are set to 0.
    """
    return _load_template(_check_resolution(resolution))


def _oriented_slice(vol: np.ndarray, axis: int, index: int) -> np.ndarray:
    """One slice, rotated so the superior (axial: anterior) direction points up the rows."""
    return np.rot90(np.take(vol, index, axis=axis))


@lru_cache(maxsize=6)
def _foreground_fraction(plane: str, resolution: int) -> np.ndarray:
    """Cached per-slice foreground fractions, read-only."""
    axis = _check_plane(plane)
    vol = template_volume(resolution)
    other = tuple(a for a in range(3) if a != axis)
    fraction = (vol > FOREGROUND_LEVEL).mean(axis=other)
    fraction.setflags(write=False)
    return fraction


def foreground_fraction(plane: Plane, resolution: int = 1) -> np.ndarray:
    """For every slice of ``plane``, the fraction of its voxels above FOREGROUND_LEVEL, shape (n_slices,)."""
    return _foreground_fraction(plane, resolution).copy()


@dataclass(frozen=True)
class SliceSplit:
    """Slice indices of one plane: ``train`` may be used to fit networks, ``held_out`` only to test them."""

    train: tuple[int, ...]
    held_out: tuple[int, ...]


def default_split(
    resolution: int = 1,
    *,
    every: int = 5,
    gap: int = 1,
    min_foreground: float = 0.1,
) -> dict[str, SliceSplit]:
    """The fixed train / held-out slice indices per plane.

    Informative slices are those whose foreground fraction is at least
    ``min_foreground``. Every ``every``-th informative slice (starting at the
    ``every // 2``-th) is held out; training uses the remaining informative slices
    farther than ``gap`` slices from any held-out one, since neighbouring slices of
    a smooth template are nearly the same image. Deterministic: no randomness.
    """
    if not (isinstance(every, int) and every >= 2):
        raise ValueError(f"every must be an integer >= 2, got {every!r}")
    if not (isinstance(gap, int) and 0 <= gap < every // 2):
        raise ValueError(f"gap must be an integer with 0 <= gap < every // 2 (= {every // 2}), got {gap!r}")
    if not 0.0 < min_foreground < 1.0:
        raise ValueError(f"min_foreground must be in (0, 1), got {min_foreground!r}")
    splits: dict[str, SliceSplit] = {}
    for plane in PLANES:
        informative = np.flatnonzero(_foreground_fraction(plane, resolution) >= min_foreground)
        held = informative[every // 2 :: every]
        distance = np.abs(informative[:, None] - held[None, :]).min(axis=1)
        train = informative[distance > gap]
        splits[plane] = SliceSplit(train=tuple(int(i) for i in train), held_out=tuple(int(i) for i in held))
    return splits


def mni152_slices(
    plane: Plane,
    indices: Sequence[int] | None = None,
    shape: tuple[int, int] = (128, 128),
    resolution: int = 1,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Slices ``indices`` of the template along ``plane`` as (N, H, W) images in [0, 1].

    Each slice is zero-padded to the aspect ratio of ``shape`` (no stretching),
    resized with anti-aliasing, and divided by its own maximum (so each test image
    peaks at 1). ``indices=None`` gives the held-out slices of ``default_split``.
    """
    axis = _check_plane(plane)
    res = _check_resolution(resolution)
    target = check_shape(tuple(shape))
    vol = template_volume(res)
    chosen = list(default_split(res)[plane].held_out if indices is None else indices)
    n = vol.shape[axis]
    bad = [i for i in chosen if not isinstance(i, (int, np.integer)) or not 0 <= i < n]
    if bad:
        raise ValueError(f"indices must be integers in [0, {n}) for the {plane} plane at {res} mm; got {bad}")
    fraction = _foreground_fraction(plane, res)
    empty = [i for i in chosen if fraction[i] == 0.0]
    if empty:
        raise ValueError(f"indices: {plane} slices {empty} at {res} mm are empty (no voxel of the brain)")
    out = torch.empty((len(chosen), *target), dtype=dtype)
    for k, index in enumerate(chosen):
        img = resize_to(pad_to_aspect(_oriented_slice(vol, axis, int(index)), target), target)
        out[k] = torch.from_numpy(normalise(img, "max", label=f"{plane} slice {index}"))
    return out
