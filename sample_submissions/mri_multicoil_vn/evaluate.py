"""Accuracy of the ``mri_multicoil_vn`` sample, against zero-filling and the ℓ1-wavelet baseline.

Loads the network exactly as an audit does (manifest, hash check, adapter) and prints mean
PSNR and SSIM (peak 1) over every held-out MNI152 slice, per plane, and per test image of the
manifest, for noise-free measurements y = A x at the manifest's ratio. With ``--ratios`` it
also prints the mean PSNR over all held-out slices at other ratios of the same nested
pattern (the question the audit's sampling check asks, on more images). These are the
accuracy numbers of README.md.

Run from the repository root:  .venv/bin/python sample_submissions/mri_multicoil_vn/evaluate.py
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
from auditkit.operators.mri_multicoil import MRIMultiCoil
from auditkit.reconstruction import ReconstructionMap

HERE = Path(__file__).resolve().parent
CHUNK = 16

Scores = dict[str, tuple[torch.Tensor, torch.Tensor]]


def methods_for(manifest, op: MRIMultiCoil) -> dict[str, ReconstructionMap]:
    """The network (loaded as an audit loads it) and the manifest's baseline, both for ``op``."""
    return {
        "network": load_network(manifest.network, manifest.folder, op, device="cpu"),
        "l1-wavelet": build_baseline(manifest.baseline.method, op, **manifest.baseline.params()),
    }


@torch.no_grad()
def reconstruct(method: ReconstructionMap, y: torch.Tensor) -> torch.Tensor:
    """``method`` applied in chunks of CHUNK images, magnitude (N, H, W)."""
    return torch.cat([method(y[i:i + CHUNK]).abs() for i in range(0, y.shape[0], CHUNK)])


def scores(x: torch.Tensor, methods: dict[str, ReconstructionMap], op: MRIMultiCoil) -> Scores:
    """Per-image (PSNR, SSIM) of every method and of the coil-combined zero-filled image |A*y|."""
    y = op(x)
    recons = {"zero-filled": op.adjoint(y).abs(), **{name: reconstruct(m, y) for name, m in methods.items()}}
    return {name: (psnr(r, x), ssim(r, x)) for name, r in recons.items()}


def report(title: str, table: Scores) -> None:
    """One line per method: mean ± std PSNR and mean SSIM."""
    print(title)
    for name, (p, s) in table.items():
        print(f"  {name:<12} PSNR {p.mean():6.2f} ± {p.std(correction=0):4.2f} dB   SSIM {s.mean():.3f}")


def held_out(shape: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Every held-out MNI152 slice of ``default_split``, per plane."""
    return {plane: mni152_slices(plane, split.held_out, shape=shape) for plane, split in default_split().items()}


def at_training_ratio(manifest, op: MRIMultiCoil, slices: dict[str, torch.Tensor]) -> None:
    """Held-out slices per plane and overall, then every test image of the manifest."""
    methods = methods_for(manifest, op)
    everything: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for plane, x in slices.items():
        table = scores(x, methods, op)
        report(f"held-out MNI152 {plane} slices ({x.shape[0]})", table)
        for name, pair in table.items():
            everything.setdefault(name, []).append(pair)
    report("all held-out slices", {name: (torch.cat([p for p, _ in pairs]), torch.cat([s for _, s in pairs]))
                                   for name, pairs in everything.items()})
    test = collect_images(manifest.data, op.image_shape)
    table = scores(test.images.float(), methods, op)
    for i, image_id in enumerate(test.ids):
        print(f"{image_id:<20} " + "  ".join(f"{name} {p[i]:5.2f} dB" for name, (p, _) in table.items()))


def across_ratios(manifest, op: MRIMultiCoil, slices: dict[str, torch.Tensor], ratios: list[float]) -> None:
    """Mean PSNR and SSIM over all held-out slices at each ratio (nested masks of the audit pattern)."""
    x = torch.cat(list(slices.values()))
    for ratio in ratios:
        op_r = op.with_ratio(ratio)
        report(f"all held-out slices at ratio {ratio:g} (achieved {op_r.sampling_ratio:.4f})",
               scores(x, methods_for(manifest, op_r), op_r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.yaml")
    parser.add_argument("--ratios", type=float, nargs="*", default=[], help="other sampling ratios to evaluate")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    manifest = load_manifest(args.manifest)
    op = build_operator(manifest.modality)
    start = time.perf_counter()
    slices = held_out(op.image_shape)
    at_training_ratio(manifest, op, slices)
    if args.ratios:
        across_ratios(manifest, op, slices, args.ratios)
    print(f"evaluation took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
