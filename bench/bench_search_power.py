"""Benchmark: how much of a known worst case the adversarial check's searches find, at quick and default budgets.

The control (``auditkit.attacks.control``) is a linear map with a planted top singular vector on the
submission's own operator; its worst change under ‖r‖ = ε‖x‖ or ‖e‖ ≤ η‖Ax‖ is known exactly. For the
first ``--images`` test images of a manifest, the image-domain ladder and the measurement-domain
projected ascent run on it with the quick-mode caps and with the manifest's settings, and the fraction
of the ceiling each found is printed per budget (1.0: the search found the worst case).

Run:  .venv/bin/python bench/bench_search_power.py [--manifest sample_submissions/mri_unet/manifest.yaml] [--images 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from auditkit.attacks.control import search_power
from auditkit.checks.adversarial import QUICK_ITERATIONS, QUICK_MAX_ITER, QUICK_RESTARTS, Settings
from auditkit.preparation import prepare

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    p.add_argument("--images", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    prepared = prepare(args.manifest, signing=False)
    ctx, config = prepared.context, prepared.manifest.checks.adversarial
    for quick in (True, False):
        s = Settings.from_config(config, quick)
        label = (f"quick (ladder {QUICK_MAX_ITER}, {QUICK_RESTARTS} × {QUICK_ITERATIONS})" if quick
                 else f"default (ladder {s.max_iter}, {s.restarts} × {s.iterations})")
        for i in range(min(args.images, ctx.images.shape[0])):
            power = search_power(
                ctx.operator, ctx.images[i : i + 1], budgets=s.budgets, etas=s.etas, control=torch.Generator().manual_seed(1),
                image_generator=torch.Generator().manual_seed(2 + i), noise_generator=torch.Generator().manual_seed(3 + i),
                lam=s.lam, step=s.step, momentum=s.momentum, max_iter=s.max_iter, init_scale=s.init_scale,
                restarts=s.restarts, iterations=s.iterations, lr=s.lr,
            )
            image = " ".join(f"{v:.4f}" for v in power.image_domain)
            noise = " ".join(f"{v:.4f}" for v in power.measurement_domain)
            print(f"{label:34s} {ctx.image_ids[i]:20s} image domain (ε {s.budgets}): {image}   "
                  f"measurement domain (η {s.etas}): {noise}", flush=True)


if __name__ == "__main__":
    main()
