"""Direct measurements of the accuracy–stability trio: accuracy, the 'SIAM' detail, and Jacobian norms.

Loads each network exactly as an audit does (manifest, hash check, adapter: f maps measurements y to an
image) and prints the numbers of README.md:

1. accuracy: PSNR (peak 1) and relative error ‖f(Ax) − x‖/‖x‖ on N_HELD_OUT random ellipses of a seed
   the training never used, and PSNR on each of the manifest's test images, noise-free, against the
   zero-filled image |A*y|;
2. the paper's text detail: 'SIAM' rendered as the manifests' structural check renders it and inserted
   in test image 1 (the first ellipse image) as that check does, x_d = clip(x + d̃, 0, 1) with the
   effective detail d = x_d − x; the recovered fraction q = 1 − ‖Δ − d‖²_R/‖d‖²_R with
   Δ = |f(A x_d)| − |f(Ax)| on the detail's region R (the structural check's quantity), and the
   relative error of |f(A x_d)| against x_d;
3. σ_max of the Jacobian of y ↦ |f(y)| at y = Ax (power iteration on JᵀJ, ``scripts/jacobian_norm.py``)
   for the Shepp–Logan image and the first ellipse image: the local amplification of tiny noise.

Writes ``siam.png`` here: x + d, the zero-filled image and the three reconstructions.
Run from the repository root:  .venv/bin/python sample_submissions/mri_tradeoff/measure.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "scripts"))

from jacobian_norm import top_singular_value  # noqa: E402

from auditkit.checks.structural import REGION_DILATION, details_from_config  # noqa: E402
from auditkit.data import random_ellipses  # noqa: E402
from auditkit.data.collect import collect_images  # noqa: E402
from auditkit.data.details import detail_region, render_detail  # noqa: E402
from auditkit.manifest import load_manifest  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.networks import load_network  # noqa: E402
from auditkit.operators.factory import build_operator  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NETWORKS = ("noise_free", "low_noise", "high_noise")
HELD_OUT_SEED, N_HELD_OUT = 2032, 100  # train.py's held-out ellipses
SIAM_IMAGE = 1
JACOBIAN_IMAGES = (0, 1)


def rel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖a − b‖/‖b‖ per item of (B, H, W) tensors."""
    return (a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1)


def main() -> None:
    torch.set_num_threads(2)
    manifests = {name: load_manifest(HERE / name / "manifest.yaml") for name in NETWORKS}
    first = manifests["noise_free"]
    shape = tuple(first.modality.image_shape)
    op = build_operator(first.modality)
    held = random_ellipses(shape, count=N_HELD_OUT, seed=HELD_OUT_SEED).to(op.real_dtype)
    test = collect_images(first.data, shape).images.to(op.real_dtype)
    spec = details_from_config(first.checks.structural, shape)[0]
    rendered = render_detail(spec.text, shape, size=spec.size, position=spec.position, intensity=spec.intensity)
    region = detail_region(rendered, REGION_DILATION)
    x = test[SIAM_IMAGE:SIAM_IMAGE + 1]
    d = (x + rendered.to(op.real_dtype)).clamp(0, 1) - x  # the structural check's effective detail
    zero_filled = op.adjoint(op(held)).abs()
    print(f"zero-filled |A*y| on {N_HELD_OUT} held-out ellipses: PSNR {float(psnr(zero_filled, held).mean()):.2f} dB, "
          f"relative error {float(rel(zero_filled, held).mean()):.4f}")
    print("zero-filled |A*y| on the test images: PSNR " + " ".join(f"{v:.2f}" for v in psnr(op.adjoint(op(test)).abs(), test).tolist()))
    panels = {"x + d (truth)": (x + d)[0], "zero-filled |A*y|": op.adjoint(op(x + d)).abs()[0]}
    for name, manifest in manifests.items():
        f = load_network(manifest.network, manifest.folder, op, device="cpu")
        with torch.no_grad():
            recon = torch.cat([f(op(held[i:i + 20])).abs() for i in range(0, N_HELD_OUT, 20)])
            with_d, without = f(op(x + d)).abs(), f(op(x)).abs()
            on_test = psnr(f(op(test)).abs(), test)
        delta = with_d - without
        q = 1 - float((((delta - d) * region).norm() / (d * region).norm()) ** 2)
        print(f"{name}: held-out PSNR {float(psnr(recon, held).mean()):.2f} dB, relative error "
              f"{float(rel(recon, held).mean()):.4f}; 'SIAM' in image {SIAM_IMAGE}: q = {q:.3f}, "
              f"‖f(A(x+d)) − (x+d)‖/‖x+d‖ = {float(rel(with_d, x + d)):.4f}", flush=True)
        print(f"{name}: test images: PSNR " + " ".join(f"{v:.2f}" for v in on_test.tolist())
              + f" (mean {float(on_test.mean()):.2f})", flush=True)
        for i in JACOBIAN_IMAGES:
            sigma = top_singular_value(lambda v: f(v).abs(), op(test[i:i + 1]))
            print(f"{name}: image {i}: σ_max ∂|f|/∂y at Ax = {sigma:.3f}", flush=True)
        panels[name.replace("_", "-")] = with_d[0]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 2.5), dpi=150)
    for ax, (title, image) in zip(axes, panels.items()):
        ax.imshow(image.numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(HERE / "siam.png")
    print(f"wrote {HERE / 'siam.png'}")


if __name__ == "__main__":
    main()
