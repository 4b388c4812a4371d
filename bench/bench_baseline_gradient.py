"""Benchmark: the baseline's implicit gradient at its fixed point against the gradient of a long unroll.

An attack on the baseline needs ∇_y ⟨w, f(y)⟩ many times. Two ways (``BaselineMap.gradient``):

- ``unrolled``: run ``unrolled_iters`` iterations from the warm start with the autograd graph and
  back-propagate through all of them (the exact gradient of that fixed-count map);
- ``fixed_point`` (the default): solve to the stopping rule without a graph, then solve the
  implicit-function system (I − ∂_z T*) u = g by GMRES on one differentiated step
  (``gradient_iters`` iterations at most, relative residual ``gradient_tol``).

Printed, for each modality's default ℓ1-wavelet baseline on Shepp–Logan plus one random-ellipse
image (a batch of 2): the time of one value-and-gradient evaluation (shortest of ``--repeats``,
measured alternately in this one run) of the unrolled map and of the fixed-point map at K = 10, the
default 20, and 30 GMRES iterations, the speed-ups over the unrolled map, and how close each gradient
is to the implicit gradient solved to a relative residual of 1e-6 at the same solution (cosine
similarity): what the speed costs in accuracy.

Run:  .venv/bin/python bench/bench_baseline_gradient.py [--size 128] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import torch

from auditkit.baselines import build_baseline
from auditkit.data import random_ellipses, shepp_logan
from auditkit.operators.ct import RadonCT
from auditkit.operators.mri import MRISingleCoil


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--unrolled", type=int, default=500, help="iterations of the unrolled gradient (the default max_iter)")
    p.add_argument("--reference-k", type=int, default=500, help="GMRES iterations allowed to the reference gradient")
    p.add_argument("--modalities", default="mri_singlecoil,ct_parallel")
    return p.parse_args()


def _operators(n: int) -> dict[str, object]:
    return {
        "mri_singlecoil": MRISingleCoil.from_pattern("cartesian_random", (n, n), ratio=0.33, center_fraction=0.08, seed=0),
        "ct_parallel": RadonCT((n, n), n_angles=50),
    }


def _gradient(f: Callable, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    yy = y.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad((f(yy).real * w).sum(), yy)
    return grad


def _timed(f: Callable, y: torch.Tensor, w: torch.Tensor) -> float:
    start = time.perf_counter()
    _gradient(f, y, w)
    return time.perf_counter() - start


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = torch.view_as_real(a) if a.is_complex() else a, torch.view_as_real(b) if b.is_complex() else b
    return float((a * b).sum() / (a.norm() * b.norm()))


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    n = args.size
    x = torch.cat([shepp_logan((n, n))[None], random_ellipses((n, n), count=1, seed=7)]).float()
    print(f"{n}×{n}, batch 2, {args.threads} thread(s); times are the shortest of {args.repeats}")
    ks = (10, 20, 30)
    print(f"{'modality':16s} {'unrolled s':>10s} " + " ".join(f"{f'K={k} s':>8s}" for k in ks) + " "
          + " ".join(f"{f'K={k} ×':>8s}" for k in ks) + f" {'cos unrolled':>12s} " + " ".join(f"{f'cos K={k}':>9s}" for k in ks))
    for modality, op in _operators(n).items():
        if modality not in args.modalities.split(","):
            continue
        y = op(x)
        w = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        unrolled = build_baseline("l1_wavelet", op, modality=modality, gradient="unrolled", unrolled_iters=args.unrolled)
        fixed = {k: build_baseline("l1_wavelet", op, modality=modality, gradient_iters=k, gradient_tol=1e-9) for k in ks}
        reference = build_baseline("l1_wavelet", op, modality=modality, gradient_iters=args.reference_k, gradient_tol=1e-6)
        times: dict[object, list[float]] = {"unrolled": [], **{k: [] for k in ks}}
        for _ in range(args.repeats):
            times["unrolled"].append(_timed(unrolled, y, w))
            for k in ks:
                times[k].append(_timed(fixed[k], y, w))
        g_ref = _gradient(reference, y, w)
        t_u = min(times["unrolled"])
        t_k = [min(times[k]) for k in ks]
        cos_k = [_cosine(_gradient(fixed[k], y, w), g_ref) for k in ks]
        print(f"{modality:16s} {t_u:10.2f} " + " ".join(f"{t:8.2f}" for t in t_k) + " "
              + " ".join(f"{t_u / t:7.1f}×" for t in t_k) + f" {_cosine(_gradient(unrolled, y, w), g_ref):12.4f} "
              + " ".join(f"{c:9.4f}" for c in cos_k), flush=True)


if __name__ == "__main__":
    main()
