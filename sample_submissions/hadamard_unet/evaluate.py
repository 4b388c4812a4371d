"""Accuracy of the ``hadamard_unet`` sample at its training ratio, against the direct image and the ℓ1-wavelet baseline.

Loads the network exactly as an audit does (manifest, hash check, adapter) and prints mean
PSNR and SSIM (peak 1) over every held-out MNI152 slice, per plane, and per test image of the
manifest, for noise-free measurements y = A x. These are the accuracy numbers of README.md.

Run from the repository root:  .venv/bin/python sample_submissions/hadamard_unet/evaluate.py
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from auditkit.baselines import build_baseline
from auditkit.data import default_split, mni152_slices
from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.metrics import psnr, ssim
from auditkit.networks import load_network
from auditkit.operators.factory import build_operator
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.reconstruction import ReconstructionMap

HERE = Path(__file__).resolve().parent
CHUNK = 16


@torch.no_grad()
def reconstruct(method: ReconstructionMap, y: torch.Tensor) -> torch.Tensor:
    """``method`` applied in chunks of CHUNK images, (N, H, W) real."""
    return torch.cat([method(y[i:i + CHUNK]) for i in range(0, y.shape[0], CHUNK)])


def scores(x: torch.Tensor, methods: dict[str, ReconstructionMap], op: HadamardSubsampled) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per-image (PSNR, SSIM) of every method and of the direct image A*y = A†y."""
    y = op(x)
    recons = {"direct A*y": op.adjoint(y), **{name: reconstruct(m, y) for name, m in methods.items()}}
    return {name: (psnr(r, x), ssim(r, x)) for name, r in recons.items()}


def report(title: str, table: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    """One line per method: mean ± std PSNR and mean SSIM."""
    print(title)
    for name, (p, s) in table.items():
        print(f"  {name:<12} PSNR {p.mean():6.2f} ± {p.std(correction=0):4.2f} dB   SSIM {s.mean():.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.yaml")
    args = parser.parse_args()
    torch.set_num_threads(2)
    manifest = load_manifest(args.manifest)
    op = build_operator(manifest.modality)
    methods = {
        "network": load_network(manifest.network, manifest.folder, op, device="cpu"),
        "l1-wavelet": build_baseline(manifest.baseline.method, op, **manifest.baseline.params()),
    }
    start = time.perf_counter()
    split = default_split()
    everything: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for plane, held in split.items():
        table = scores(mni152_slices(plane, held.held_out, shape=op.image_shape), methods, op)
        report(f"held-out MNI152 {plane} slices ({len(held.held_out)})", table)
        for name, pair in table.items():
            everything.setdefault(name, []).append(pair)
    report("all held-out slices", {name: (torch.cat([p for p, _ in pairs]), torch.cat([s for _, s in pairs]))
                                   for name, pairs in everything.items()})
    test = collect_images(manifest.data, tuple(manifest.modality.image_shape))
    table = scores(test.images.float(), methods, op)
    for i, image_id in enumerate(test.ids):
        print(f"{image_id:<20} " + "  ".join(f"{name} {p[i]:5.2f} dB" for name, (p, _) in table.items()))
    print(f"evaluation took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
