"""Benchmark: where the ℓ1-wavelet baseline's worst case lies, with the wavelet's edges treated two ways.

The adversarial thresholds are multiples of the baseline's own worst-case change. With ptwt's
boundary wavelets (``boundary="qr"``) that worst case gathered in the outer frame of the image, a
property of the transform's boundary functions; with the periodic basis (``"periodization"``,
the default: the DFT of the MRI operators is periodic too) the edges are not special. For the
sample's images that the adversarial check audits, each boundary's baseline is attacked by the
check's image-domain search (``attacks.ladder_ascent``, the check's seeds, ``--max-iter``
evaluations), and printed per image and budget: the worst change Δ = ‖f(A(x+r)) − f(Ax)‖/‖x‖,
the share of the change's energy ‖f(A(x+r)) − f(Ax)‖² in the outer ``--frame`` pixels (the
frame's share of the area for reference), and the clean reconstruction's PSNR.

Run:  .venv/bin/python bench/bench_baseline_border.py [--manifest sample_submissions/mri_unet/manifest.yaml]
      [--max-iter 60] [--frame 8] [--images 0 1 3 6 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from auditkit.attacks import ladder_ascent
from auditkit.attacks.objective import evaluate, plain
from auditkit.baselines import build_baseline
from auditkit.baselines.wavelets import BOUNDARIES
from auditkit.checks.adversarial import IMAGE_SALT
from auditkit.manifest.models import ImageDomainAttack
from auditkit.metrics import psnr
from auditkit.preparation import prepare

ROOT = Path(__file__).resolve().parents[1]


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    p.add_argument("--max-iter", type=int, default=60)
    p.add_argument("--frame", type=int, default=8)
    p.add_argument("--images", type=int, nargs="*", default=None, help="default: the adversarial check's images")
    p.add_argument("--boundaries", nargs="*", default=["qr", "periodization"], choices=BOUNDARIES)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def frame_share(change: torch.Tensor, width: int) -> torch.Tensor:
    """Share of ‖change‖² (per row of (N, H, W)) in the outer ``width`` pixels of the image."""
    energy = change.abs().square()
    inner = energy[..., width:-width, width:-width].sum(dim=(-2, -1))
    total = energy.sum(dim=(-2, -1))
    return 1.0 - inner / total.clamp_min(torch.finfo(total.dtype).tiny)


def main() -> None:
    args = _parse()
    torch.set_num_threads(args.threads)
    prepared = prepare(args.manifest, signing=False)
    ctx, manifest = prepared.context, prepared.manifest
    chosen = args.images if args.images is not None else manifest.checks.adversarial.images
    indices = list(range(ctx.images.shape[0])) if chosen is None else list(chosen)
    x = ctx.images[indices]
    budgets = manifest.checks.adversarial.image_domain.budgets
    attack = ImageDomainAttack()
    h, w = ctx.operator.image_shape
    area = 1.0 - (h - 2 * args.frame) * (w - 2 * args.frame) / (h * w)
    params = {k: v for k, v in prepared.baseline_params.items() if k != "boundary"}
    print(f"{args.manifest.parent.name}: images {indices}, budgets {budgets}, {args.max_iter} evaluations per image; "
          f"the outer {args.frame}-pixel frame is {area:.0%} of the area")
    print(f"{'boundary':14s} {'image':>5s} {'PSNR dB':>8s} " + " ".join(f"{f'Δ@{b:g}':>8s} {'frame':>6s}" for b in budgets))
    for boundary in args.boundaries:
        fmap = build_baseline(manifest.baseline.method, ctx.operator, modality=manifest.modality.kind,
                              boundary=boundary, **params)
        recon = plain(fmap)
        rows = torch.arange(x.shape[0])
        clean = evaluate(recon, ctx.operator.forward(x), rows)
        ladder = ladder_ascent(
            recon, ctx.operator, x, budgets, generators=[ctx.generator(IMAGE_SALT, i) for i in indices],
            lam=attack.lam, step=attack.step, momentum=attack.momentum, max_iter=args.max_iter,
            init_scale=attack.init_scale,
        )
        quality = psnr(clean, x)
        for n, index in enumerate(indices):
            cells = []
            for j in range(len(budgets)):
                r = ladder.perturbations[n, j]
                out = evaluate(recon, ctx.operator.forward((x[n] + r)[None]), rows[:1])
                cells.append(f"{float(ladder.change[n, j]):8.4f} {float(frame_share(out - clean[n], args.frame)[0]):6.0%}")
            print(f"{boundary:14s} {index:5d} {float(quality[n]):8.2f} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
