"""Classical compressed-sensing baselines (ℓ1-wavelet, square-root LASSO, TV) as ReconstructionMaps.

``build_baseline(method, operator, **params)`` returns a differentiable, batched
``BaselineMap``; ``DEFAULT_PARAMS[method][modality]`` holds the defaults it uses.

The λ defaults below are provisional: they were picked by hand on Shepp–Logan and
random ellipses (128×128, intensities in [0, 1], the operators' native scaling:
orthonormal FFT / Walsh transform, unnormalised Radon line sums) and pass the
acceptance tests (ℓ1-wavelet at 25 % Cartesian ≥ 5 dB over zero-filled; TV at 50 CT
angles ≥ 3 dB over FBP). ``bench/tune_lambda.py`` sweeps λ per modality and method on
those phantoms (noise-free and 2 % noise) to choose them systematically.

λ is absolute, i.e. relative to images in [0, 1]: rescaling the images by s needs λ·s
(ℓ1-wavelet, TV) and leaves the square-root-LASSO λ unchanged.
"""

from __future__ import annotations

from typing import Any

from auditkit.baselines.base import BaselineMap, Scheme, SolveInfo, operator_norm_sq
from auditkit.baselines.l1_wavelet import L1WaveletFISTA
from auditkit.baselines.sqrt_lasso import SqrtLassoPrimalDual
from auditkit.baselines.tv import TVPrimalDual
from auditkit.baselines.wavelets import DEFAULT_LEVELS, DEFAULT_WAVELET, OrthoWavelet2d, max_levels, wavelet_transform
from auditkit.operators.base import ForwardOperator

METHODS = ("l1_wavelet", "sqrt_lasso", "tv")
MODALITIES = ("mri_singlecoil", "mri_multicoil", "ct_parallel", "hadamard")

#: driver parameters every method takes (see ``BaselineMap``)
_DRIVER_KEYS = ("max_iter", "tol", "unrolled_iters", "checkpoint_segment", "name")
#: solver parameters of each method (passed to its Scheme)
_SCHEME_KEYS = {
    "l1_wavelet": ("lam", "wavelet", "levels", "restart", "lipschitz", "warm_start"),
    "sqrt_lasso": ("lam", "wavelet", "levels", "primal_scale", "lipschitz", "warm_start"),
    "tv": ("lam", "tau", "lipschitz", "warm_start"),
}

_WAVELET_COMMON: dict[str, Any] = {"wavelet": DEFAULT_WAVELET, "levels": DEFAULT_LEVELS, "tol": 1e-4}


def _defaults(lam: float, max_iter: int, **extra: Any) -> dict[str, Any]:
    return {"lam": lam, "max_iter": max_iter, **extra}


#: DEFAULT_PARAMS[method][modality]: the parameters ``build_baseline`` starts from (see module doc).
DEFAULT_PARAMS: dict[str, dict[str, dict[str, Any]]] = {
    "l1_wavelet": {
        "mri_singlecoil": _defaults(1e-3, 500, restart=True, **_WAVELET_COMMON),
        "mri_multicoil": _defaults(1e-3, 500, restart=True, warm_start="adjoint", **_WAVELET_COMMON),
        "ct_parallel": _defaults(1e-1, 1000, restart=True, **_WAVELET_COMMON),
        "hadamard": _defaults(1e-3, 500, restart=True, **_WAVELET_COMMON),
    },
    "sqrt_lasso": {
        "mri_singlecoil": _defaults(1e-2, 500, primal_scale=0.05, **_WAVELET_COMMON),
        "mri_multicoil": _defaults(1e-2, 500, primal_scale=0.05, warm_start="adjoint", **_WAVELET_COMMON),
        "ct_parallel": _defaults(1e-2, 1000, primal_scale=0.1, **_WAVELET_COMMON),
        "hadamard": _defaults(1e-2, 500, primal_scale=0.05, **_WAVELET_COMMON),
    },
    "tv": {
        "mri_singlecoil": _defaults(1e-3, 1000, tau=10.0, tol=1e-4),
        "mri_multicoil": _defaults(1e-3, 1000, tau=10.0, tol=1e-4, warm_start="adjoint"),
        "ct_parallel": _defaults(1e-1, 500, tau=0.01, tol=1e-4),
        "hadamard": _defaults(1e-3, 1000, tau=10.0, tol=1e-4),
    },
}


def _operator_classes() -> list[tuple[type, str]]:
    """The modality operator classes (imported lazily), most specific first."""
    from auditkit.operators.ct import RadonCT
    from auditkit.operators.hadamard import HadamardSubsampled
    from auditkit.operators.mri import MRISingleCoil
    from auditkit.operators.mri_multicoil import MRIMultiCoil

    return [(MRIMultiCoil, "mri_multicoil"), (MRISingleCoil, "mri_singlecoil"), (RadonCT, "ct_parallel"),
            (HadamardSubsampled, "hadamard")]


def modality_of(operator: ForwardOperator) -> str | None:
    """The modality key of ``operator``: its ``modality`` attribute if it has one, else from its class."""
    declared = getattr(operator, "modality", None)
    if isinstance(declared, str) and declared in MODALITIES:
        return declared
    for cls, modality in _operator_classes():
        if isinstance(operator, cls):
            return modality
    return None


def build_baseline(method: str, operator: ForwardOperator, *, modality: str | None = None, **params: Any) -> BaselineMap:
    """The ``BaselineMap`` of ``method`` for ``operator``: DEFAULT_PARAMS[method][modality] updated by ``params``.

    ``modality`` defaults to ``modality_of(operator)``; for an operator of unknown
    modality ``lam`` must be given. Unknown methods, modalities or parameter names raise ValueError.
    """
    if method not in METHODS:
        raise ValueError(f"method: unknown baseline {method!r}; expected one of {', '.join(METHODS)}")
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"modality: unknown modality {modality!r}; expected one of {', '.join(MODALITIES)}")
    allowed = _SCHEME_KEYS[method] + _DRIVER_KEYS
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"params: unknown parameter(s) {', '.join(unknown)} for {method}; allowed: {', '.join(allowed)}")
    kind = modality or modality_of(operator)
    if kind is None and "lam" not in params:
        raise ValueError(
            f"modality: cannot tell the modality of {type(operator).__name__}; pass modality= "
            f"({', '.join(MODALITIES)}) or lam="
        )
    merged: dict[str, Any] = dict(DEFAULT_PARAMS[method][kind or MODALITIES[0]])
    if "levels" in merged and "levels" not in params:
        wavelet = params.get("wavelet", merged["wavelet"])
        feasible = max_levels(operator.image_shape, wavelet)
        if feasible == 0:
            raise ValueError(f"levels: image shape {operator.image_shape} is too small (or odd-sized) for one level of {wavelet}")
        merged["levels"] = min(merged["levels"], feasible)
    if method == "tv" and "lam" in params and "tau" not in params and params["lam"] > 0:
        # the balanced primal step scales like 1/λ (the dual variable q lives in the λ-ball)
        merged["tau"] = merged["tau"] * merged["lam"] / params["lam"]
    merged.update(params)
    scheme_args = {k: v for k, v in merged.items() if k in _SCHEME_KEYS[method]}
    driver_args = {k: v for k, v in merged.items() if k in _DRIVER_KEYS}
    schemes: dict[str, type[Scheme]] = {"l1_wavelet": L1WaveletFISTA, "sqrt_lasso": SqrtLassoPrimalDual, "tv": TVPrimalDual}
    scheme = schemes[method](operator, **scheme_args)
    record = dict(scheme_args, modality=kind)
    return BaselineMap(scheme, method=method, params=record, **driver_args)


__all__ = [
    "DEFAULT_PARAMS",
    "METHODS",
    "MODALITIES",
    "BaselineMap",
    "L1WaveletFISTA",
    "OrthoWavelet2d",
    "SolveInfo",
    "SqrtLassoPrimalDual",
    "TVPrimalDual",
    "build_baseline",
    "max_levels",
    "modality_of",
    "operator_norm_sq",
    "wavelet_transform",
]
