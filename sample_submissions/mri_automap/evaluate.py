"""Accuracy of the ``mri_automap`` sample against zero-filling and the ℓ1-wavelet baseline.

Loads the network as an audit does (manifest, hash check, adapter) and prints PSNR and SSIM
(peak 1) on noise-free measurements y = A x: per plane over every held-out MNI152 slice and per
test image of the manifest at the training ratio, then the held-out means at other ratios of
the same nested pattern (the network was trained at one ratio only). Images are compared as the
audit compares them: a real output as it is, a complex one through its modulus. Last, the local
stability of both methods at each test image: σ_max of the Jacobian of y ↦ f(y), the largest
amplification ‖f(y + e) − f(y)‖/‖e‖ that any tiny perturbation e can achieve.

Run from the repository root:  .venv/bin/python sample_submissions/mri_automap/evaluate.py
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
from auditkit.manifest.models import Manifest
from auditkit.metrics import as_magnitude, psnr, ssim
from auditkit.networks import load_network
from auditkit.operators.mri import MRISingleCoil

HERE = Path(__file__).resolve().parent
#: images per call of a method.
CHUNK = 32
#: power iterations for the largest singular value of a Jacobian.
POWER_ITERATIONS = 40
#: ratios of the second table (the audit's default sampling ladder for ratio 0.6, and 0.8).
OTHER_RATIOS = (0.3, 0.45, 0.6, 0.8, 0.9, 1.0)

Scores = dict[str, tuple[torch.Tensor, torch.Tensor]]


def audited_operator(manifest: Manifest) -> MRISingleCoil:
    """The manifest's single-coil operator (pattern, ratio, centre and seed of its sampling section)."""
    s = manifest.modality.sampling
    return MRISingleCoil.from_pattern(s.pattern, tuple(manifest.modality.image_shape), ratio=s.ratio,
                                      center_fraction=s.center_fraction, seed=s.seed)


@torch.no_grad()
def score_methods(manifest: Manifest, op: MRISingleCoil, x: torch.Tensor) -> Scores:
    """Per-image (PSNR, SSIM) of zero-filling |A*y|, the network and the baseline, all built for ``op``."""
    methods = {
        "network": load_network(manifest.network, manifest.folder, op, device="cpu"),
        "l1-wavelet": build_baseline(manifest.baseline.method, op, **manifest.baseline.params()),
    }
    y = op(x)
    recons = {"zero-filled": op.adjoint(y).abs()}
    for name, method in methods.items():
        recons[name] = torch.cat([as_magnitude(method(y[i:i + CHUNK])) for i in range(0, y.shape[0], CHUNK)])
    return {name: (psnr(r, x), ssim(r, x)) for name, r in recons.items()}


def print_summary(title: str, table: Scores) -> None:
    """One line per method: mean ± population std of PSNR, and mean SSIM."""
    print(title)
    for name, (p, s) in table.items():
        print(f"  {name:<12} PSNR {p.mean():6.2f} ± {p.std(correction=0):4.2f} dB   SSIM {s.mean():.3f}")


def jacobian_norm(method, y: torch.Tensor, iterations: int = POWER_ITERATIONS, seed: int = 0) -> float:
    """σ_max of the Jacobian J of e ↦ f(y + e) at e = 0, for one complex measurement vector y of shape (m,).

    e = a + ib with (a, b) ∈ ℝ^{2m}, so ‖e‖ is the complex ℓ2 norm; power iteration on JᵀJ (one
    forward- and one reverse-mode product per step) from a seeded random start. To first order,
    σ_max is the ceiling of every worst-case attack on ``method`` at y.
    """
    m = y.shape[-1]

    def change(v: torch.Tensor) -> torch.Tensor:
        image = method((y + torch.complex(v[:m], v[m:]).to(y.dtype)).unsqueeze(0))
        return (torch.view_as_real(image) if image.is_complex() else image).flatten()

    start = torch.zeros(2 * m, dtype=y.real.dtype)
    v = torch.randn(2 * m, generator=torch.Generator().manual_seed(seed), dtype=y.real.dtype)
    v = v / v.norm()
    sigma = 0.0
    for _ in range(iterations):
        _, jv = torch.autograd.functional.jvp(change, start, v)
        _, jtjv = torch.autograd.functional.vjp(change, start, jv)
        sigma = float(jtjv.norm().sqrt())
        v = jtjv / jtjv.norm()
    return sigma


def held_out_stack(shape: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Every held-out MNI152 slice of ``default_split`` per plane, resized to ``shape``."""
    return {plane: mni152_slices(plane, held.held_out, shape=shape) for plane, held in default_split().items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    manifest = load_manifest(args.manifest)
    op = audited_operator(manifest)
    planes = held_out_stack(op.image_shape)
    for plane, x in planes.items():
        print_summary(f"held-out MNI152 {plane} slices ({x.shape[0]}), ratio {op.sampling_ratio:g}",
                      score_methods(manifest, op, x))
    every = torch.cat(list(planes.values()))
    print_summary(f"all {every.shape[0]} held-out slices", score_methods(manifest, op, every))
    test = collect_images(manifest.data, op.image_shape)
    table = score_methods(manifest, op, test.images.float())
    for i, image_id in enumerate(test.ids):
        print(f"{image_id:<20} " + "  ".join(f"{name} {p[i]:5.2f} dB" for name, (p, _) in table.items()))
    print("held-out slices at other ratios of the same nested pattern (mean PSNR, dB)")
    for ratio in OTHER_RATIOS:
        other = op.with_ratio(ratio)
        row = score_methods(manifest, other, every)
        print(f"  ratio {other.sampling_ratio:.3f}  " + "  ".join(f"{name} {p.mean():6.2f}" for name, (p, _) in row.items()))
    print("local stability at the test images: σ_max of the Jacobian of y ↦ f(y) (largest tiny-perturbation gain)")
    network = load_network(manifest.network, manifest.folder, op, device="cpu")
    baseline = build_baseline(manifest.baseline.method, op, **manifest.baseline.params())
    y = op(test.images.float())
    for i, image_id in enumerate(test.ids):
        print(f"{image_id:<20} network {jacobian_norm(network, y[i]):6.3f}  l1-wavelet {jacobian_norm(baseline, y[i]):6.3f}",
              flush=True)
    print(f"evaluation took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
