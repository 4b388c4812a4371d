"""Resampling a test image to the grid an operator works on.

Downsampling without a low-pass filter aliases fine structure into spurious
patterns that a reconstruction method would then be blamed for, so every resize
in auditkit goes through one anti-aliased bilinear resampler (Gaussian prefilter
with σ = (factor − 1)/2 per axis before interpolation). Both steps are convex
combinations of input pixels, so an image within [0, 1] stays within [0, 1].
"""

from __future__ import annotations

import numpy as np
from skimage.transform import resize as _sk_resize

Shape2D = tuple[int, int]


def check_shape(shape: tuple[int, ...], name: str = "shape") -> Shape2D:
    """Validate an (H, W) pair of positive ints; raise ValueError naming ``name`` otherwise."""
    if len(shape) != 2 or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"{name} must be (H, W) with two positive integers, got {shape!r}")
    return int(shape[0]), int(shape[1])


#: how ``resize_to`` resamples, as the evidence states it.
METHOD = "bilinear, anti-aliased (Gaussian prefilter when shrinking), reflected edges"


def resize_to(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resample a 2-D image (H, W), or each image of a stack (N, H, W), to ``shape`` = (H', W').

    Anti-aliased (Gaussian prefilter when shrinking) bilinear interpolation with
    reflected edges; returns float64. The output range never exceeds the input range.
    """
    target = check_shape(tuple(shape))
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise ValueError(f"img must be (H, W) or (N, H, W), got shape {arr.shape}")
    if np.iscomplexobj(arr):
        raise ValueError("img must be real to resize (resize real and imaginary parts separately)")
    arr = arr.astype(np.float64, copy=False)
    if arr.shape[-2:] == target:
        return arr.copy()
    out_shape = target if arr.ndim == 2 else (arr.shape[0], *target)
    # the channel axis of a stack is left alone: factor 1 there means no smoothing across images
    return _sk_resize(arr, out_shape, order=1, mode="reflect", anti_aliasing=True, preserve_range=True)


def pad_to_aspect(img: np.ndarray, shape: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """Pad the last two axes of ``img`` symmetrically with ``fill`` so that H/W equals shape[0]/shape[1].

    Resizing the padded image to ``shape`` then keeps the pixel aspect ratio of the
    original instead of stretching it.
    """
    target = check_shape(tuple(shape))
    arr = np.asarray(img)
    h, w = arr.shape[-2:]
    # smallest (H', W') ⊇ (h, w) with H'·target_w = W'·target_h
    if h * target[1] >= w * target[0]:
        new_h, new_w = h, int(round(h * target[1] / target[0]))
    else:
        new_h, new_w = int(round(w * target[0] / target[1])), w
    new_h, new_w = max(new_h, h), max(new_w, w)
    pad_h, pad_w = new_h - h, new_w - w
    pads = [(0, 0)] * (arr.ndim - 2) + [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)]
    return np.pad(arr, pads, mode="constant", constant_values=fill)
