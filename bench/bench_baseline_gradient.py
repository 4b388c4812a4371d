"""Benchmark: the baseline's gradient at its fixed point against the gradient of a long unroll.

An attack on the baseline needs ∇_y ⟨w, f(y)⟩ many times. Two ways (``BaselineMap.gradient``):

- ``unrolled``: run ``unrolled_iters`` iterations from the warm start with the autograd graph and
  back-propagate through all of them (the exact gradient of that fixed-count map);
- ``fixed_point`` (the default): solve to the stopping rule without a graph, then run K more
  iterations from the detached solution z* with the graph (the K-term truncation of the implicit
  gradient Σ_j (∂_z T)^j ∂_y T at z* = T(z*, y)).

Printed, for each modality's default ℓ1-wavelet baseline on Shepp–Logan plus one random-ellipse
image (a batch of 2): the time of one value-and-gradient evaluation (shortest of ``--repeats``,
measured alternately in this one run) of the unrolled map, of the fixed-point map solved from the
warm start ("cold"), and of the fixed-point map at a point 1 % away from the previous call, which
starts from that call's solution ("warm", what an attack's successive steps see); the speed-ups over
the unrolled map; and how close each gradient is to the implicit gradient (cosine similarity with
the fixed-point gradient at K = ``--reference-k``, solved to tol 1e-7): what the speed costs in
accuracy.

Run:  .venv/bin/python bench/bench_baseline_gradient.py [--size 128] [--threads 2]
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
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--unrolled", type=int, default=500, help="iterations of the unrolled gradient (the default max_iter)")
    p.add_argument("--k", type=int, default=30, help="K of the fixed-point gradient (the default gradient_iters)")
    p.add_argument("--reference-k", type=int, default=300)
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
    print(f"{'modality':16s} {'unrolled s':>10s} {'cold s':>8s} {'warm s':>8s} {'cold ×':>9s} {'warm ×':>9s} "
          f"{'cos unrolled':>12s} {'cos fixed-point':>15s}")
    for modality, op in _operators(n).items():
        if modality not in args.modalities.split(","):
            continue
        y = op(x)
        w = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
        unrolled = build_baseline("l1_wavelet", op, modality=modality, gradient="unrolled", unrolled_iters=args.unrolled)
        fixed = build_baseline("l1_wavelet", op, modality=modality, gradient_iters=args.k)
        reference = build_baseline("l1_wavelet", op, modality=modality, tol=1e-7, max_iter=5000,
                                   gradient_iters=args.reference_k)
        nearby = y + 0.01 * y.norm() / y.numel() ** 0.5 * torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=y.dtype)
        times: dict[str, list[float]] = {"unrolled": [], "cold": [], "warm": []}
        for _ in range(args.repeats):
            times["unrolled"].append(_timed(unrolled, y, w))
            fixed.forget()
            times["cold"].append(_timed(fixed, y, w))
            times["warm"].append(_timed(fixed, nearby, w))
        fixed.forget()
        g_ref = _gradient(reference, y, w)
        t_u, t_c, t_w = (min(times[k]) for k in ("unrolled", "cold", "warm"))
        print(f"{modality:16s} {t_u:10.2f} {t_c:8.2f} {t_w:8.2f} {t_u / t_c:8.1f}× {t_u / t_w:8.1f}× "
              f"{_cosine(_gradient(unrolled, y, w), g_ref):12.4f} {_cosine(_gradient(fixed, y, w), g_ref):15.4f}", flush=True)


if __name__ == "__main__":
    main()
