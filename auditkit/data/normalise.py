"""Bringing a loaded image to the [0, 1] intensity scale every check assumes.

PSNR, SSIM and the relative-size budgets of the attacks are all quoted for images
in [0, 1] (peak 1), so the scaling is chosen once, recorded in the evidence, and
applied here. Statistics are taken over the whole array: a stack (N, H, W) is
scaled as one, which keeps the relative brightness of its slices.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

NormalisationMethod = Literal["minmax", "max", "percentile", "none"]
METHODS: tuple[str, ...] = get_args(NormalisationMethod)


def normalise(
    img: np.ndarray,
    method: NormalisationMethod = "minmax",
    *,
    percentiles: tuple[float, float] = (1.0, 99.5),
    label: str = "img",
) -> np.ndarray:
    """Scale ``img`` to [0, 1] by ``method``; returns float64 (complex128 for complex input to "max"/"none").

    Methods:
    - ``"minmax"``: (x − min x) / (max x − min x). The darkest pixel becomes 0 and the
      brightest 1; an offset (e.g. CT Hounsfield units) is removed.
    - ``"max"``: x / max x, for non-negative images (magnitude MRI), keeping 0 as 0 so
      that the noise floor is not lifted. Complex input is divided by max |x|.
    - ``"percentile"``: clip x to [p_lo, p_hi] (the ``percentiles`` of x, default the
      1st and 99.5th), then (x − p_lo) / (p_hi − p_lo). Robust to a few hot or dead
      pixels that would otherwise compress the whole range.
    - ``"none"``: the values must already lie in [0, 1] (|x| ≤ 1 for complex input);
      they are returned unchanged.

    Raises ValueError (naming ``label``) for an unknown method, non-finite values, a
    constant image, negative values for "max", or values outside [0, 1] for "none".
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    x = np.asarray(img)
    if x.size == 0:
        raise ValueError(f"{label} is empty")
    if not np.isfinite(x).all():
        raise ValueError(f"{label} contains NaN or infinite values")
    if np.iscomplexobj(x):
        return _normalise_complex(x.astype(np.complex128), method, label)
    x = x.astype(np.float64)
    if method == "minmax":
        return _affine(x, float(x.min()), float(x.max()), label)
    if method == "max":
        if x.min() < 0:
            raise ValueError(
                f"{label} has negative values (min {x.min():.6g}); method 'max' is for non-negative images"
            )
        return _affine(x, 0.0, float(x.max()), label)
    if method == "percentile":
        lo_p, hi_p = _check_percentiles(percentiles)
        lo, hi = (float(v) for v in np.percentile(x, [lo_p, hi_p]))
        return _affine(np.clip(x, lo, hi), lo, hi, label)
    _check_unit_range(float(x.min()), float(x.max()), label)
    return x


def _affine(x: np.ndarray, lo: float, hi: float, label: str) -> np.ndarray:
    """(x − lo) / (hi − lo), clipped to [0, 1] against rounding; a zero span is an error."""
    if not hi > lo:
        raise ValueError(f"{label} is constant (value {hi:.6g}) over the range used; cannot normalise")
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def _check_percentiles(percentiles: tuple[float, float]) -> tuple[float, float]:
    """Validate 0 ≤ p_lo < p_hi ≤ 100."""
    lo, hi = (float(p) for p in percentiles)
    if not 0.0 <= lo < hi <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= lo < hi <= 100, got {percentiles!r}")
    return lo, hi


def _check_unit_range(lo: float, hi: float, label: str) -> None:
    """Raise unless [lo, hi] ⊆ [0, 1], quoting the range found."""
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{label} values span [{lo:.6g}, {hi:.6g}], outside [0, 1]; choose a normalisation other than 'none'"
        )


def _normalise_complex(x: np.ndarray, method: str, label: str) -> np.ndarray:
    """Complex images keep their phase: only "max" (x / max|x|) and "none" (|x| ≤ 1) apply."""
    mag = np.abs(x)
    if method == "max":
        peak = float(mag.max())
        if peak == 0.0:
            raise ValueError(f"{label} is identically zero; cannot normalise")
        return x / peak
    if method == "none":
        if mag.max() > 1.0:
            raise ValueError(
                f"{label} has modulus up to {mag.max():.6g}, outside [0, 1]; choose a normalisation other than 'none'"
            )
        return x
    raise ValueError(f"{label} is complex; method {method!r} applies to real images only (use 'max' or 'none')")
