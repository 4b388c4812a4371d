"""The images of the ``mri_kernel_pair`` sample: a pair x, x + d with d almost unmeasured, and the paper's three-detail image.

Operator A = P_Ω F (single-coil Cartesian, 128×128, 20 % of the columns, centre 0.06, mask seed 0);
P_R = A*A projects onto what A measures, P_N = I − P_R onto its kernel. Two constructions:

* the pair: x = the MNI152 axial slice 78 (a slice every other sample holds out) and x + d, where
  d = P_N d̃ + t P_R d̃ for the letter d̃ = 'K', t chosen so that ‖A d‖ = VISIBILITY · ‖d‖. A map that
  reconstructs both well has a secant ‖f(A(x + d)) − f(Ax)‖ / ‖Ad‖ ≈ ‖d‖ / ‖Ad‖ = 1 / VISIBILITY, so
  its local Lipschitz constant somewhere between Ax and A(x + d) is at least that large.
* detail transfer (troublesome kernel, Fig. 2): x_br = the axial slice 98, x_th = a measured,
  real, dark 'T' (the "thumb"), x_mi = P_N of an 'M' (exactly in the kernel: A x_mi = 0). The network is
  trained on x_br + x_th + x_mi; shown A(x_br + x_th) — the same measurements — it can only answer
  the same image, so it puts x_mi where it is not.

Targets are magnitudes (the network outputs |x̂|): |x + d| and |x_br + x_th + x_mi|.
Run as a script to write the test image ``brain_with_thumb.npy`` (x_br + x_th, real, [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from auditkit.data import mni152_slices
from auditkit.data.details import render_detail
from auditkit.operators.mri import MRISingleCoil

HERE = Path(__file__).resolve().parent
SHAPE = (128, 128)
RATIO = 0.20
CENTER_FRACTION = 0.06
MASK_SEED = 0
PAIR_SLICE = 78
BRAIN_SLICE = 98
VISIBILITY = 0.05  # ‖A d‖ / ‖d‖ of the pair's detail
THUMB_FILE = HERE / "brain_with_thumb.npy"


def make_operator() -> MRISingleCoil:
    """A = P_Ω F of the manifest's modality section, in double precision."""
    return MRISingleCoil.from_pattern("cartesian_random", SHAPE, ratio=RATIO, center_fraction=CENTER_FRACTION,
                                      seed=MASK_SEED).to(dtype=torch.complex128)


def kernel_part(op: MRISingleCoil, x: torch.Tensor) -> torch.Tensor:
    """P_N x = x − A*A x (exact: A A* = I), for one (H, W) image."""
    return op.null_project(x.to(torch.complex128)[None])[0]


def measured_part(op: MRISingleCoil, x: torch.Tensor) -> torch.Tensor:
    """P_R x = A*A x, for one (H, W) image."""
    return op.normal(x.to(torch.complex128)[None])[0]


def near_kernel(op: MRISingleCoil, symbol: torch.Tensor, visibility: float) -> torch.Tensor:
    """d = P_N d̃ + t P_R d̃ with ‖A d‖ / ‖d‖ = visibility: t = v‖P_N d̃‖ / (‖P_R d̃‖ √(1 − v²))."""
    n, r = kernel_part(op, symbol), measured_part(op, symbol)
    t = visibility * n.norm() / (r.norm() * math.sqrt(1.0 - visibility**2))
    return n + t * r


@dataclass(frozen=True)
class SampleImages:
    """Everything the sample trains and tests on beyond ordinary slices (complex128, (H, W))."""

    x: torch.Tensor          # the pair's base image
    d: torch.Tensor          # its near-kernel detail
    brain: torch.Tensor      # x_br
    thumb: torch.Tensor      # x_th (measured, real)
    mickey: torch.Tensor     # x_mi (in the kernel)


def sample_images() -> SampleImages:
    """The pair and the three-detail image, built from the template and rendered letters."""
    op = make_operator()
    x = mni152_slices("axial", [PAIR_SLICE], shape=SHAPE, dtype=torch.float64)[0]
    brain = mni152_slices("axial", [BRAIN_SLICE], shape=SHAPE, dtype=torch.float64)[0]
    letter_k = render_detail("K", SHAPE, size=0.14, position=(0.42, 0.60), intensity=0.6)
    # a dark 'T' on bright tissue, x_th = −0.5·coverage·x_br, so x_br + x_th stays in [0, 1]
    thumb = -render_detail("T", SHAPE, size=0.12, position=(0.40, 0.36), intensity=0.5) * brain
    letter_m = render_detail("M", SHAPE, size=0.14, position=(0.62, 0.62), intensity=0.6)
    return SampleImages(
        x=x.to(torch.complex128),
        d=near_kernel(op, letter_k, VISIBILITY),
        brain=brain.to(torch.complex128),
        thumb=thumb.to(torch.complex128),
        mickey=kernel_part(op, letter_m),
    )


def brain_with_thumb(images: SampleImages) -> np.ndarray:
    """x_br + x_th as the test file stores it: real, in [0, 1] by construction, float32."""
    return (images.brain + images.thumb).real.numpy().astype(np.float32)


def main() -> None:
    images = sample_images()
    op = make_operator()
    np.save(THUMB_FILE, brain_with_thumb(images))
    ad = op(images.d[None]).norm() / images.d.norm()
    am = op(images.mickey[None]).norm() / images.mickey.norm()
    print(f"‖d‖/‖x‖ = {images.d.norm() / images.x.norm():.4f}, ‖Ad‖/‖d‖ = {ad:.4f}, 1/visibility = {1 / ad:.1f}")
    print(f"‖x_mi‖/‖x_br‖ = {images.mickey.norm() / images.brain.norm():.4f}, ‖A x_mi‖/‖x_mi‖ = {am:.2e}")
    print(f"‖|x + d| − x‖/‖x‖ = {((images.x + images.d).abs() - images.x.real).norm() / images.x.norm():.4f}")
    print(f"wrote {THUMB_FILE}")


if __name__ == "__main__":
    main()
