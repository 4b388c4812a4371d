"""Accuracy of the ``mri_unrolled`` sample: network vs zero-filling vs the manifest's ℓ1-wavelet baseline.

The network is loaded as an audit loads it (manifest, hash check, adapter). Printed, PSNR and
SSIM with peak 1:
  1. noise-free measurements at the training ratio: every held-out MNI152 slice of
     ``default_split`` (per plane and all), and each test image of the manifest;
  2. the manifest's test images with Gaussian measurement noise of relative size η
     (e = σ g, σ = η‖Ax‖/√m, complex g with E|g_j|² = 1, seeded) at the training ratio;
  3. the manifest's test images, noise-free, at other ratios of the same nested mask family.
These are the accuracy tables of README.md.

Run from the repository root:  .venv/bin/python sample_submissions/mri_unrolled/evaluate.py
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from auditkit.baselines import build_baseline
from auditkit.data import default_split, mni152_slices
from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.manifest.models import Manifest
from auditkit.metrics import psnr, ssim
from auditkit.networks import load_network
from auditkit.operators.mri import MRISingleCoil

HERE = Path(__file__).resolve().parent
#: images per call of a reconstruction method.
BATCH = 16
#: relative measurement-noise levels η of table 2.
NOISE_LEVELS = (0.02, 0.05, 0.1)
#: sampling ratios of table 3 (0.33 is the training ratio).
RATIOS = (0.165, 0.25, 0.33, 0.5, 0.66)
NOISE_SEED = 7

Scores = dict[str, tuple[torch.Tensor, torch.Tensor]]


def audit_operator(manifest: Manifest) -> MRISingleCoil:
    """The operator of the manifest's modality section (its pattern, ratio and mask seed)."""
    sampling = manifest.modality.sampling
    return MRISingleCoil.from_pattern(sampling.pattern, tuple(manifest.modality.image_shape),
                                      ratio=sampling.ratio, center_fraction=sampling.center_fraction,
                                      seed=sampling.seed)


def relative_noise(y: torch.Tensor, eta: float, gen: torch.Generator) -> torch.Tensor:
    """σ g with σ = η‖y_i‖/√m per row of complex (B, m) y and g ~ CN(0, I)."""
    batch, m = y.shape
    parts = torch.randn(2, batch, m, generator=gen, dtype=torch.float64) * math.sqrt(0.5)
    sigma = eta * torch.linalg.vector_norm(y, dim=1, keepdim=True) / math.sqrt(m)
    return (sigma * torch.complex(parts[0], parts[1])).to(y.dtype)


@torch.no_grad()
def score_all(x: torch.Tensor, y: torch.Tensor, op: MRISingleCoil, manifest: Manifest) -> Scores:
    """Per-image (PSNR, SSIM) of |A*y|, the network and the baseline for measurements y of images x."""
    network = load_network(manifest.network, manifest.folder, op, device="cpu")
    baseline = build_baseline(manifest.baseline.method, op, **manifest.baseline.params())
    recons = {"zero-filled": op.adjoint(y).abs()}
    for name, method in (("l1-wavelet", baseline), ("network", network)):
        recons[name] = torch.cat([method(y[i:i + BATCH]).abs() for i in range(0, y.shape[0], BATCH)])
    return {name: (psnr(r, x), ssim(r, x)) for name, r in recons.items()}


def summary(label: str, table: Scores) -> str:
    """One line: mean ± std PSNR and mean SSIM of each method."""
    cells = [f"{name} {p.mean():6.2f} ± {p.std(correction=0):4.2f} dB (SSIM {s.mean():.3f})"
             for name, (p, s) in table.items()]
    return f"{label:<28} " + " | ".join(cells)


def held_out_table(op: MRISingleCoil, manifest: Manifest) -> None:
    """Table 1a: noise-free accuracy on every held-out slice, per plane and over all of them."""
    pooled: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for plane, split in default_split().items():
        x = mni152_slices(plane, split.held_out, shape=op.image_shape).float()
        table = score_all(x, op(x), op, manifest)
        print(summary(f"held-out {plane} ({len(split.held_out)})", table))
        for name, pair in table.items():
            pooled.setdefault(name, []).append(pair)
    total = {name: (torch.cat([p for p, _ in pairs]), torch.cat([s for _, s in pairs])) for name, pairs in pooled.items()}
    print(summary(f"held-out all ({total['network'][0].numel()})", total))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    manifest = load_manifest(args.manifest)
    op = audit_operator(manifest)
    print("1. noise-free, training ratio")
    held_out_table(op, manifest)
    test = collect_images(manifest.data, tuple(manifest.modality.image_shape))
    x = test.images.float()
    per_image = score_all(x, op(x), op, manifest)
    for i, image_id in enumerate(test.ids):
        print(f"  {i} {image_id:<20} " + "  ".join(f"{name} {p[i]:5.2f} dB" for name, (p, _) in per_image.items()))
    print(f"2. test images ({len(test.ids)}), Gaussian measurement noise, training ratio")
    gen = torch.Generator().manual_seed(NOISE_SEED)
    y = op(x)
    for eta in NOISE_LEVELS:
        print(summary(f"eta = {eta:g}", score_all(x, y + relative_noise(y, eta, gen), op, manifest)))
    print(f"3. test images ({len(test.ids)}), noise-free, other sampling ratios (nested masks)")
    for ratio in RATIOS:
        other = op.with_ratio(ratio)
        print(summary(f"ratio {other.sampling_ratio:.3f}", score_all(x, other(x), other, manifest)))
    print(f"evaluation took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
