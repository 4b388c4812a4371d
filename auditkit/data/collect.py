"""Gathers a manifest's test images into one stack (N, H, W) in [0, 1], with ids and sources."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from auditkit.data.files import load_image, pixel_spacing, resize_to
from auditkit.data.mni import default_split, mni152_slices
from auditkit.data.normalise import normalise
from auditkit.data.resize import METHOD
from auditkit.data.phantoms import random_ellipses, shepp_logan


@dataclass(frozen=True)
class TestImages:
    """The audit's test images and where each came from."""

    images: torch.Tensor  # (N, H, W), float64, in [0, 1]
    ids: list[str]
    sources: list[dict]


def collect_images(data, image_shape: tuple[int, int]) -> TestImages:
    """Files first (in manifest order, each normalised by ``data.normalisation``), then phantoms.

    Phantoms are generated already in [0, 1] and are not re-normalised.
    """
    shape = (int(image_shape[0]), int(image_shape[1]))
    stack: list[np.ndarray] = []
    ids: list[str] = []
    sources: list[dict] = []
    for entry in data.images:
        raw = load_image(entry.file, slice_axis=entry.slice_axis, slice_index=entry.slice_index, frame=entry.frame)
        img = normalise(resize_to(raw, shape), data.normalisation, percentiles=tuple(data.percentiles), label=entry.file.given)
        stack.append(np.clip(img, 0.0, 1.0))
        ids.append(_unique(_slug(entry.file.name), ids))
        sources.append({
            "file": entry.file.given, "slice_axis": entry.slice_axis, "slice_index": entry.slice_index,
            "frame": entry.frame, "original_size": _size(raw.shape),
            "pixel_spacing_mm": pixel_spacing(entry.file, entry.slice_axis),
            "resampling": _resampling(raw.shape, shape), "normalisation": data.normalisation,
        })
    for ph in data.phantoms:
        if ph.kind == "shepp_logan":
            stack.append(shepp_logan(shape, dtype=torch.float64).numpy())
            ids.append(_unique("shepp_logan", ids))
            sources.append({"phantom": "shepp_logan", "generated": f"at {_size(shape)}, values in [0, 1]"})
        elif ph.kind == "ellipses":
            for i, img in enumerate(random_ellipses(shape, count=ph.count, seed=ph.seed, dtype=torch.float64)):
                stack.append(img.numpy())
                ids.append(_unique(f"ellipses_s{ph.seed}_{i}", ids))
                sources.append({"phantom": "ellipses", "seed": ph.seed, "index": i,
                                "generated": f"at {_size(shape)}, values in [0, 1]"})
        elif ph.kind == "mni152":
            indices = list(ph.indices) if ph.indices is not None else list(default_split()[ph.plane].held_out)
            for idx, img in zip(indices, mni152_slices(ph.plane, indices, shape=shape, dtype=torch.float64)):
                stack.append(img.numpy())
                ids.append(_unique(f"mni152_{ph.plane}_{idx}", ids))
                sources.append({"phantom": "mni152", "plane": ph.plane, "index": idx,
                                "resampling": f"template slice (1 mm) zero-padded to the aspect, then {METHOD} "
                                              f"to {_size(shape)}; divided by its maximum"})
    return TestImages(images=torch.from_numpy(np.stack(stack)), ids=ids, sources=sources)


def _size(shape: tuple[int, ...]) -> str:
    return "×".join(str(int(n)) for n in shape)


def _resampling(original: tuple[int, ...], shape: tuple[int, int]) -> str:
    """What ``resize_to`` did to an image of ``original`` size."""
    if tuple(original) == tuple(shape):
        return "none (already at the audit's size)"
    return f"{METHOD}, {_size(original)} → {_size(shape)}"


def _slug(name: str) -> str:
    stem = name.split(".")[0]
    return "".join(ch if ch.isalnum() else "_" for ch in stem) or "image"


def _unique(name: str, taken: list[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"
