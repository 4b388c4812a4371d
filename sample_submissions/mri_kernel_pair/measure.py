"""Direct measurements of the ``mri_kernel_pair`` sample: accuracy, the pair's amplification, and detail transfer.

Loads the network exactly as an audit does (manifest, hash check, adapter: f maps measurements y to an image)
and prints the numbers of README.md:

1. accuracy (PSNR, peak 1) on every held-out MNI152 slice and on the manifest's test images, against the
   zero-filled image |A*y|;
2. the pair: how well f reconstructs x and x + d, the secant ‖f(A(x + d)) − f(Ax)‖ / ‖Ad‖, finite differences
   ‖f(Ax + t·Ad) − f(Ax)‖ / (t‖Ad‖) along the pair's direction, and the largest singular value of the Jacobian
   of y ↦ f(y) at Ax and of r ↦ f(A(x + r)) (power iteration on JᵀJ with vector–Jacobian products), beside
   the theory's lower bound ‖d‖ / (2‖Ad‖) for a map that reconstructs both members well
   (power iteration: ``scripts/jacobian_norm.py``);
3. detail transfer (Fig. 2): f(A(x_br + x_th)) and f(A x_br) against the truth and against the training
   image |x_br + x_th + x_mi|, and the energy f puts in the 'M' region.

Run from the repository root:  .venv/bin/python sample_submissions/mri_kernel_pair/measure.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "scripts"))

from details import sample_images  # noqa: E402
from jacobian_norm import top_singular_value  # noqa: E402

from auditkit.data import default_split, mni152_slices  # noqa: E402
from auditkit.data.collect import collect_images  # noqa: E402
from auditkit.data.details import detail_region  # noqa: E402
from auditkit.manifest import load_manifest  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.networks import load_network  # noqa: E402
from auditkit.operators.factory import build_operator  # noqa: E402

STEPS = (0.05, 0.25, 0.5, 1.0)


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a − b‖ / ‖b‖."""
    return float((a - b).norm() / b.norm())


def accuracy(recon, op, manifest) -> None:
    """PSNR of the network and of |A*y| on every held-out slice and on the manifest's test images."""
    print("1. accuracy (PSNR, dB): network / zero-filled")
    for plane, held in default_split().items():
        x = mni152_slices(plane, held.held_out, shape=op.image_shape)
        zf = op.adjoint(op(x)).abs()
        print(f"  held-out {plane} ({x.shape[0]}): {psnr(recon(x), x).mean():.2f} / {psnr(zf, x).mean():.2f}")
    test = collect_images(manifest.data, tuple(manifest.modality.image_shape))
    xt = test.images.to(torch.float32)
    for i, image_id in enumerate(test.ids):
        x = xt[i:i + 1]
        print(f"  test {i} {image_id}: {psnr(recon(x), x).item():.2f} / {psnr(op.adjoint(op(x)).abs(), x).item():.2f}")


def pair(recon, f, op, s) -> None:
    """How well f reconstructs x and x + d, its secant and finite differences along Ad, its Jacobian norms."""
    cx, cd = s.x[None].to(torch.complex64), s.d[None].to(torch.complex64)
    x, x_d = s.x.real[None].float(), (s.x + s.d).abs()[None].float()
    fx, fxd = recon(cx), recon(cx + cd)
    ad = float(op(cd).norm())
    print("2. the pair")
    print(f"  ‖d‖/‖x‖ = {float(cd.norm() / cx.norm()):.4f}, ‖Ad‖/‖d‖ = {ad / float(cd.norm()):.4f}, "
          f"theory: a map reconstructing both well amplifies by ≥ ‖d‖/(2‖Ad‖) = {float(cd.norm()) / (2 * ad):.1f}")
    print(f"  RE f(Ax) vs x {rel(fx, x):.4f}; f(A(x+d)) vs |x+d| {rel(fxd, x_d):.4f}; "
          f"shown fraction of |x+d| − x: {float((fxd - fx).norm() / (x_d - x).norm()):.3f}")
    y = op(cx)
    for t in STEPS:
        with torch.no_grad():
            moved = f(y + t * op(cd)).abs()
        print(f"  t = {t:4.2f}: ‖f(Ax + tAd) − f(Ax)‖ / (t‖Ad‖) = {float((moved - fx).norm()) / (t * ad):.2f}")
    g_y = lambda v: f(v).abs()  # noqa: E731
    g_r = lambda r: f(op(x + r)).abs()  # noqa: E731
    print(f"  σ_max of ∂f/∂y at Ax: {top_singular_value(g_y, y):.2f}")
    print(f"  σ_max of ∂f/∂y at A(x + d/2): {top_singular_value(g_y, y + 0.5 * op(cd)):.2f}")
    print(f"  σ_max of ∂f(A(x + r))/∂r at r = 0: {top_singular_value(g_r, torch.zeros_like(x)):.2f}")


def transfer(recon, s) -> None:
    """f(A(x_br + x_th)) and f(A x_br) against the truth and the trained image, in the 'M' and 'T' regions."""
    print("3. detail transfer")
    truth = (s.brain + s.thumb).real[None].float()
    trained = (s.brain + s.thumb + s.mickey).abs()[None].float()
    brain = s.brain.real[None].float()
    m_region = detail_region((s.mickey.abs() > 0.05 * s.mickey.abs().max()).double(), dilation=0)[None]
    t_region = detail_region((s.thumb.abs() > 0).double(), dilation=0)[None]
    for name, image in (("x_br + x_th", truth), ("x_br", brain)):
        out = recon(image)
        m_shown = ((out - image) * m_region).norm() / ((trained - truth) * m_region).norm()
        t_shown = ((out - brain) * t_region).norm() / ((truth - brain) * t_region).norm()
        print(f"  f(A({name})): RE vs truth {rel(out, image):.4f}, vs |x_br + x_th + x_mi| {rel(out, trained):.4f}; "
              f"in the 'M' region: ‖f − truth‖ / ‖trained 'M'‖ = {float(m_shown):.3f}; "
              f"in the 'T' region: ‖f − x_br‖ / ‖x_th‖ = {float(t_shown):.3f}")


def main() -> None:
    torch.set_num_threads(2)
    start = time.perf_counter()
    manifest = load_manifest(HERE / "manifest.yaml")
    op = build_operator(manifest.modality)
    f = load_network(manifest.network, manifest.folder, op, device="cpu")

    def recon(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([f(op(images[i:i + 16])).abs() for i in range(0, images.shape[0], 16)])

    s = sample_images()
    accuracy(recon, op, manifest)
    pair(recon, f, op, s)
    transfer(recon, s)
    print(f"took {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
