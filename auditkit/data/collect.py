"""Gathers a manifest's test images into one stack (N, H, W) in [0, 1], with ids and sources."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from auditkit.data.files import load_image, pixel_spacing, resize_to
from auditkit.data.mni import default_split, mni152_slices
from auditkit.data.normalise import normalise
from auditkit.data.resize import METHOD
from auditkit.data.phantoms import random_ellipses, shepp_logan
from auditkit.data.raw import RawReference, RawSlice, audit_view


@dataclass(frozen=True)
class TestImages:
    """The audit's test images and where each came from."""

    images: torch.Tensor  # (N, H, W), float64, in [0, 1]
    ids: list[str]
    sources: list[dict]
    #: per image, what was measured (raw k-space on the audit's grid, its maps) or None for a simulated image.
    measured: list[RawReference | None] = field(default_factory=list)


def collect_images(data, image_shape: tuple[int, int], coils: int | None = None) -> TestImages:
    """Files first (in manifest order, each normalised by ``data.normalisation``), then raw slices, then phantoms.

    Phantoms are generated already in [0, 1] and are not re-normalised; a raw slice's image is the magnitude
    of its coil-combined reference divided by its maximum (``raw_slices``), which must have ``coils`` channels.
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
    measured: list[RawReference | None] = [None] * len(stack)
    for entry in data.raw:
        for raw, ref in raw_slices(entry, shape, coils):
            stack.append(ref.image)
            measured.append(ref)
            ids.append(_unique(f"{_slug(entry.file.name)}_s{raw.source['slice']}", ids))
            sources.append(raw_source(entry, raw, ref))
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
    measured += [None] * (len(stack) - len(measured))
    return TestImages(images=torch.from_numpy(np.stack(stack)), ids=ids, sources=sources, measured=measured)


def raw_slices(entry, shape: tuple[int, int] | None, coils: int | None) -> list[tuple[RawSlice, RawReference]]:
    """The slices of a manifest's ``data.raw`` entry with their references, checked against the audit: the
    de-oversampled grid must be ``shape`` and the data must have ``coils`` channels (each when given)."""
    path = entry.file
    views = audit_view(entry.format, path, entry.slices, maps_file=entry.coil_maps, calibration=entry.calibration)
    raw = views[0][0]
    grid = (raw.recon_shape[0], raw.encoded_shape[1])
    if shape is not None and grid != tuple(shape):
        raise ValueError(f"{path}: kspace: gives a {_size(grid)} image (readout {_size(raw.encoded_shape)} cropped to the "
                         f"header's reconSpace rows), but modality.image_shape is {_size(shape)}; raw k-space is not "
                         f"resampled")
    if coils is not None and raw.coils != coils:
        expected = "single-coil data (mri_singlecoil)" if coils == 1 else f"{coils} coils (modality.coils.count)"
        raise ValueError(f"{path}: kspace: has {raw.coils} coil(s), but the audit's operator takes {expected}")
    return views


def raw_source(entry, raw: RawSlice, ref: RawReference) -> dict:
    """Where a raw test image came from and how it was made, for the evidence and the dossier."""
    enc_h, rows = raw.encoded_shape[0], raw.recon_shape[0]
    if raw.coils == 1:
        combination, maps = "F⁻¹k (one coil)", None
    elif entry.coil_maps is not None:
        combination, maps = "Σ_c conj(S_c) F⁻¹k_c", f"given: {entry.coil_maps.given}, normalised to Σ|S_c|² = 1"
    else:
        combination = "Σ_c conj(S_c) F⁻¹k_c"
        maps = (f"estimated: low-resolution method from the central {entry.calibration}×{entry.calibration} samples, "
                f"Hann taper, extended into signal-free regions by normalised convolution, normalised to Σ|S_c|² = 1")
    return {
        "raw": entry.format, "file": entry.file.given, "slice": raw.source["slice"], "coils": raw.coils,
        "encoded_size": _size(raw.encoded_shape),
        "readout_oversampling": ("none" if rows == enc_h else
                                 f"removed: inverse DFT along the readout, central {rows} of {enc_h} rows kept, DFT back"),
        "coil_maps": maps,
        "reference": f"|{combination}| of the fully sampled slice, divided by its maximum ({ref.scale:.4g})",
        "measurements": ("acquired k-space y = P_Ω k (on the reference's scale) where a check reconstructs from "
                         "measurements; simulated y = A(x + ·) where it perturbs the image (see the table below)"),
        "attributes": ", ".join(f"{k}={v}" for k, v in sorted(raw.source.get("attributes", {}).items())) or None,
    }


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
