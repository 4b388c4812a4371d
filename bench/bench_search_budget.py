"""Benchmark: how much of the worst case the project's searches find at smaller evaluation budgets.

The default run's cost is almost all search: per image and subject, the image-domain
ladder (``max_iter`` gradient evaluations) and the measurement-domain projected ascent
(``restarts`` × ``iterations`` evaluations per η, in the adversarial check and again
in the trade-off check). This script runs both searches on a submission's network
(its own operator, its first ``--images`` test images) at a list of budgets and prints,
per budget, the worst case found (change at each ε, error at each η, maximum over the
images), its ratio to the largest budget's, the evaluations per image and the wall time.
A budget whose ratios are all ≥ 0.99 finds what the largest one finds at a fraction of
the cost: the evidence for choosing the default budgets.

Every value is recomputed as the checks report it (``auditkit.attacks.evaluate``).

    .venv/bin/python bench/bench_search_budget.py --manifest sample_submissions/mri_unet/manifest.yaml \\
        --ladder 50,100,200,500 --projected 1x30,1x100,2x100,6x300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

import torch

from auditkit.attacks import evaluate, ladder_ascent, plain, projected_ascent
from auditkit.manifest.models import ImageDomainAttack, MeasurementDomainAttack
from auditkit.metrics import relative_error
from auditkit.operators.base import ForwardOperator, batch_norm2
from auditkit.reconstruction import ReconstructionMap


def _generators(n: int, salt: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(1009 * salt + i) for i in range(n)]


def ladder_worst(fmap: ReconstructionMap, op: ForwardOperator, x: torch.Tensor, budgets: Sequence[float], max_iter: int) -> list[float]:
    """max over images of ‖f(A(x + r_j)) − f(Ax)‖/‖x‖ at each budget, with the check's default ascent settings."""
    a = ImageDomainAttack()
    recon = plain(fmap)
    ladder = ladder_ascent(recon, op, x, list(budgets), generators=_generators(x.shape[0], 1), lam=a.lam, step=a.step,
                           momentum=a.momentum, max_iter=max_iter, init_scale=a.init_scale)
    n, j = ladder.perturbations.shape[:2]
    rows = torch.arange(n).repeat_interleave(j)
    clean = evaluate(recon, op.forward(x), torch.arange(n))
    out = evaluate(recon, op.forward(x.repeat_interleave(j, 0) + ladder.perturbations.reshape(n * j, *x.shape[1:])), rows)
    change = batch_norm2(out - clean.repeat_interleave(j, 0)) / batch_norm2(x).repeat_interleave(j)
    return change.reshape(n, j).amax(0).tolist()


def projected_worst(fmap: ReconstructionMap, op: ForwardOperator, x: torch.Tensor, etas: Sequence[float],
                    restarts: int, iterations: int) -> list[float]:
    """max over images of ‖f(Ax + e_k) − x‖/‖x‖ at each η, with the check's default step."""
    recon = plain(fmap)
    found = projected_ascent(recon, op, x, list(etas), generators=_generators(x.shape[0], 2), restarts=restarts,
                             iterations=iterations, lr=MeasurementDomainAttack().lr)
    n, k = found.perturbations.shape[:2]
    y = op.forward(x).repeat_interleave(k, 0)
    out = evaluate(recon, y + found.perturbations.reshape(n * k, *y.shape[1:]), torch.arange(n).repeat_interleave(k))
    return relative_error(out, x.repeat_interleave(k, 0)).reshape(n, k).amax(0).tolist()


def _row(label: str, values: list[float], best: list[float], evals: int, seconds: float) -> str:
    ratios = " ".join(f"{v:.4f} ({v / b:.3f})" if b > 0 else f"{v:.4f} (—)" for v, b in zip(values, best))
    return f"  {label:>8}  {ratios}   {evals:>5} evals/image  {seconds:6.1f} s"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--images", type=int, default=1, help="the first N test images")
    parser.add_argument("--subject", choices=["network", "baseline"], default="network")
    parser.add_argument("--ladder", default="50,100,200,500", help="image-domain evaluation budgets, largest last")
    parser.add_argument("--projected", default="1x30,1x100,2x100,6x300", help="restarts×iterations, largest last")
    parser.add_argument("--budgets", default="0.01,0.02,0.04")
    parser.add_argument("--etas", default="0.01,0.02,0.04")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from auditkit.preparation import prepare

    prepared = prepare(args.manifest, signing=False)
    ctx = prepared.context
    fmap = getattr(ctx, args.subject).fmap
    x = ctx.images[: args.images]
    budgets = [float(b) for b in args.budgets.split(",")]
    etas = [float(e) for e in args.etas.split(",")]
    print(f"{args.manifest} ({args.subject}), images {', '.join(ctx.image_ids[: args.images])}, {args.threads} thread(s)")

    print(f"image domain: worst change at ε = {args.budgets} (ratio to the largest budget)")
    rows = []
    for count in [int(c) for c in args.ladder.split(",")]:
        t0 = time.perf_counter()
        rows.append((str(count), ladder_worst(fmap, prepared.operator, x, budgets, count), count, time.perf_counter() - t0))
    for label, values, evals, sec in rows:
        print(_row(label, values, rows[-1][1], evals, sec), flush=True)

    print(f"measurement domain: worst relative error at η = {args.etas} (ratio to the largest budget)")
    rows = []
    for spec in args.projected.split(","):
        restarts, iterations = (int(v) for v in spec.split("x"))
        t0 = time.perf_counter()
        values = projected_worst(fmap, prepared.operator, x, etas, restarts, iterations)
        rows.append((spec, values, restarts * iterations * len(etas), time.perf_counter() - t0))
    for label, values, evals, sec in rows:
        print(_row(label, values, rows[-1][1], evals, sec), flush=True)


if __name__ == "__main__":
    main()
