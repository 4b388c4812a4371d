"""Largest singular values of a submitted network's Jacobian at a test image: a direct measure of its local stability.

For the network f of a manifest, loaded as an audit loads it (hash check, adapter: measurements in, image out),
and a test image x of the manifest with y = A x, power iteration on JᵀJ (a Jacobian–vector product, then a
vector–Jacobian product, in the network's own precision) estimates

    σ_y = σ_max(∂|f|/∂y at y)                 the measurement-domain local Lipschitz constant,
    σ_r = σ_max(∂|f(A(x + r))|/∂r at r = 0)    the image-domain one (the adversarial check's gain as ε → 0).

Every iterate is a lower bound of the true σ_max; the iteration stops after ``--iterations``. The numbers go
beside the audit's findings in the samples' READMEs: the audit searches finite perturbations, this looks at
the derivative alone.

Run from the repository root:  .venv/bin/python scripts/jacobian_norm.py MANIFEST [--images 0 1 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import torch

from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.networks import load_network
from auditkit.operators.factory import build_operator

ITERATIONS = 30


def top_singular_value(g: Callable[[torch.Tensor], torch.Tensor], at: torch.Tensor, iterations: int = ITERATIONS,
                       seed: int = 0) -> float:
    """σ_max of the Jacobian of g at ``at`` by power iteration on JᵀJ (jvp, then vjp), from a seeded start."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(at.shape, generator=gen, dtype=torch.float64).to(at.dtype)
    if at.is_complex():
        v = v + 1j * torch.randn(at.shape, generator=gen, dtype=torch.float64).to(at.dtype)
    v = v / v.norm()
    sigma = 0.0
    for _ in range(iterations):
        _, jv = torch.func.jvp(g, (at,), (v,))
        _, pullback = torch.func.vjp(g, at)
        (w,) = pullback(jv)
        sigma = float(jv.norm())
        v = w / w.norm()
    return sigma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--images", type=int, nargs="*", help="test image indices (default: all)")
    parser.add_argument("--iterations", type=int, default=ITERATIONS)
    args = parser.parse_args()
    torch.set_num_threads(2)
    manifest = load_manifest(args.manifest)
    op = build_operator(manifest.modality)
    f = load_network(manifest.network, manifest.folder, op, device="cpu")
    test = collect_images(manifest.data, tuple(manifest.modality.image_shape))
    images = test.images.to(op.real_dtype)
    for i in args.images if args.images is not None else range(len(test.ids)):
        x = images[i:i + 1]
        y = op(x)
        sigma_y = top_singular_value(lambda v: f(v).abs(), y, args.iterations)
        sigma_r = top_singular_value(lambda r: f(op(x + r)).abs(), torch.zeros_like(x), args.iterations)
        print(f"{i} {test.ids[i]}: σ_max ∂f/∂y = {sigma_y:.3f}, σ_max ∂f(A(x + r))/∂r = {sigma_r:.3f}", flush=True)


if __name__ == "__main__":
    main()
