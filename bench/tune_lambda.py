"""Choose the baselines' default λ per modality by a sweep on phantoms (the source of DEFAULT_PARAMS).

For each modality at its typical sampling (MRI single- and 4-coil: cartesian_random 25 %,
centre 8 %; Hadamard: variable_density 25 %; CT: 50 equispaced angles) and each method, λ runs
over a grid; every λ is scored by the mean PSNR (|x̂| against the [0, 1] truth, peak 1) over the
Shepp–Logan phantom and ``--ellipses`` random-ellipse images (128×128, the operators' native
scaling), averaged over noise-free data and data with Gaussian noise of relative size
‖e‖/‖Ax‖ = ``--noise`` (fixed seed). Noise-free data alone always favour λ → 0 (basis pursuit),
which is slow to converge and unstable; the noisy half keeps λ at a level that also suppresses
perturbations, which is what the audit's checks apply. Each image's PSNR is capped at 40 dB
when scoring: beyond that the differences are invisible, and without the cap the noise-free
half (TV reaches 50–65 dB on piecewise-constant phantoms as λ → 0) would decide alone. The grid is refined once around the best
value (×√10 steps, then ×10^¼). Only λ whose runs all meet the stopping tolerance within the
default max_iter are eligible (a default must converge); of those, the best score wins. (A
larger λ on the flat part of the curve would converge faster, but it also fills more of the
kernel of A and erases faint details, which the hallucination and structural checks measure.) All other parameters
are the method's defaults for that modality, so the λ found goes with those iteration counts and
step sizes.

    .venv/bin/python bench/tune_lambda.py [--modalities mri_singlecoil ct_parallel] [--methods tv]
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from auditkit.baselines import DEFAULT_PARAMS, METHODS, MODALITIES, build_baseline
from auditkit.operators.base import ForwardOperator, batch_norm2

SIZE = 128
#: starting grid per method and modality family (λ in the operators' native scaling)
COARSE = {
    ("l1_wavelet", "mri"): [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
    ("sqrt_lasso", "mri"): [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
    ("tv", "mri"): [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
    ("l1_wavelet", "ct"): [1e-2, 3e-2, 1e-1, 3e-1, 1, 3],
    ("sqrt_lasso", "ct"): [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
    ("tv", "ct"): [1e-2, 3e-2, 1e-1, 3e-1, 1],
}


def images(count: int) -> torch.Tensor:
    """Shepp–Logan followed by ``count`` random-ellipse images, (1 + count, SIZE, SIZE) in [0, 1]."""
    from auditkit.data.phantoms import random_ellipses, shepp_logan

    return torch.cat([shepp_logan((SIZE, SIZE))[None], random_ellipses((SIZE, SIZE), count=count, seed=0)])


def operator(modality: str) -> ForwardOperator:
    """The modality's operator at its typical sampling."""
    shape = (SIZE, SIZE)
    if modality == "mri_singlecoil":
        from auditkit.operators.mri import MRISingleCoil

        return MRISingleCoil.from_pattern("cartesian_random", shape, ratio=0.25, center_fraction=0.08, seed=0)
    if modality == "mri_multicoil":
        from auditkit.operators.coils import synthetic_coil_maps
        from auditkit.operators.mri_multicoil import MRIMultiCoil

        maps = synthetic_coil_maps(4, shape, seed=0)
        return MRIMultiCoil.from_pattern("cartesian_random", shape, ratio=0.25, center_fraction=0.08, seed=0, maps=maps)
    if modality == "hadamard":
        from auditkit.operators.hadamard import HadamardSubsampled

        return HadamardSubsampled.from_pattern("variable_density", shape, ratio=0.25, center_fraction=0.08, seed=0)
    if modality == "ct_parallel":
        from auditkit.operators.ct import RadonCT

        return RadonCT(shape, 50)
    raise ValueError(f"modality: unknown {modality!r}")


#: PSNRs above this count as this much when scoring λ (see the module doc)
PSNR_CAP = 40.0


def mean_psnr(estimate: torch.Tensor, truth: torch.Tensor, cap: float = math.inf) -> float:
    """Mean over images of the PSNR of |estimate| (peak 1), each image's value capped at ``cap`` dB."""
    mse = ((estimate.abs() - truth) ** 2).reshape(truth.shape[0], -1).mean(dim=1)
    return float(torch.clamp(-10.0 * torch.log10(mse), max=cap).mean())


def noisy(y: torch.Tensor, level: float, seed: int = 0) -> torch.Tensor:
    """y + e with Gaussian e (complex for complex y), ‖e_b‖ = level·‖y_b‖ for every item b."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randn(torch.view_as_real(y).shape if y.is_complex() else y.shape, generator=g, dtype=y.real.dtype)
    e = torch.view_as_complex(e) if y.is_complex() else e
    scale = level * batch_norm2(y) / batch_norm2(e)
    return y + scale.reshape((-1,) + (1,) * (y.dim() - 1)) * e


def score(method: str, modality: str, op: ForwardOperator, data: list[torch.Tensor], truth: torch.Tensor, lam: float) -> tuple[list[float], int, bool]:
    """Mean PSNR at λ for each data set (noise levels) with the modality's defaults; the most
    iterations used; whether every run met the stopping tolerance within max_iter."""
    f = build_baseline(method, op, modality=modality, lam=lam)
    values, iters, converged = [], 0, True
    for y in data:
        values.append(mean_psnr(f(y), truth, cap=PSNR_CAP))
        iters = max(iters, *f.last_info.iterations)
        converged = converged and f.last_info.all_converged
    return values, iters, converged


def sweep(method: str, modality: str, op: ForwardOperator, data: list[torch.Tensor], truth: torch.Tensor) -> tuple[float, list[float]]:
    """Coarse grid, then a finer one around the best; returns (chosen λ, its PSNR per noise level)."""
    family = "ct" if modality.startswith("ct") else "mri"
    results: dict[float, list[float]] = {}
    converged: dict[float, bool] = {}

    def run(lam: float) -> None:
        t0 = time.perf_counter()
        results[lam], iters, converged[lam] = score(method, modality, op, data, truth, lam)
        per_level = " / ".join(f"{v:.2f}" for v in results[lam])
        flag = "" if converged[lam] else ", NOT converged"
        print(f"  {method:10s} {modality:15s} λ={lam:.3g}: {per_level} dB ({iters} it{flag}, {time.perf_counter() - t0:.1f} s)", flush=True)

    def mean(lam: float) -> float:
        return sum(results[lam]) / len(results[lam])

    for lam in COARSE[(method, family)]:
        run(lam)
    eligible = [lam for lam in results if converged[lam]] or list(results)
    best = max(eligible, key=mean)
    for factor in (10**-0.25, 10**0.25):
        run(float(f"{best * factor:.3g}"))
    eligible = [lam for lam in results if converged[lam]] or list(results)
    chosen = max(eligible, key=mean)
    return chosen, results[chosen]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--modalities", nargs="*", default=list(MODALITIES))
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--ellipses", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--noise", type=float, default=0.02)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    truth = images(args.ellipses)
    summary = []
    for modality in args.modalities:
        op = operator(modality)
        y = op.forward(truth.to(op.image_dtype))
        data = [y, noisy(y, args.noise)]
        baseline = [mean_psnr(op.pinv(d), truth) for d in data]
        print(f"{modality}: A†y mean PSNR {baseline[0]:.2f} / {baseline[1]:.2f} dB (noise 0 / {args.noise})", flush=True)
        for method in args.methods:
            lam, values = sweep(method, modality, op, data, truth)
            default = DEFAULT_PARAMS[method][modality]["lam"]
            summary.append((modality, method, lam, values, baseline, default))
    print(f"\nmean PSNR over the images (each capped at {PSNR_CAP:g} dB), noise-free / relative noise {args.noise}")
    print("modality         method      chosen λ   baseline PSNR      A†y PSNR      current default λ")
    for modality, method, lam, values, baseline, default in summary:
        print(f"{modality:16s} {method:10s} {lam:9.3g}  {values[0]:6.2f} / {values[1]:6.2f}  {baseline[0]:6.2f} / {baseline[1]:6.2f}   {default:.3g}")


if __name__ == "__main__":
    main()
