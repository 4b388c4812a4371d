"""Deterministic training of the ``mri_kernel_pair`` sample on 2 CPU cores; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/mri_kernel_pair/train.py

Problem: single-coil Cartesian MRI, 128×128, 20 % of the columns (centre 0.06, mask seed 0),
noise-free measurements y = A x; the network is the residual U-Net of ``model.py`` on the zero-filled
image. Data: random ellipses and the *training* slices of ``auditkit.data.default_split`` (8
orientations each), as for ``mri_unet``, plus three special images that every full-image batch
holds (``details.py``): the pair x (MNI152 axial slice 78) and x + d with ‖Ad‖ = 0.05 ‖d‖, and
x_br + x_th + x_mi (axial slice 98 with a measured 'T' and an 'M' exactly in the kernel).
Targets are magnitudes. The special images are trained on on purpose: this network is meant to be
"too accurate to be stable" (troublesome kernel, Theorem 4.1). Their loss is weighted by
SPECIAL_WEIGHT so that the two members of the pair are told apart.
Schedule: Adam on the (weighted) mean squared error, first CROP_STEPS on random 64×64 crops of
ordinary images, then FULL_STEPS on full images; cosine learning rate from LR to LR_FINAL.
Deterministic: fixed seeds and data order, ``torch.use_deterministic_algorithms(True)``, 2 threads.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import safetensors.torch
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # model.py and details.py sit next to this script

from details import make_operator, sample_images  # noqa: E402
from model import build  # noqa: E402

from auditkit.data import default_split, mni152_slices, random_ellipses  # noqa: E402
from auditkit.fileio import sha256_file  # noqa: E402
from auditkit.operators.mri import MRISingleCoil  # noqa: E402

TORCH_SEED = 0
ELLIPSE_SEED = 2029
N_ELLIPSES = 300
BASE_CHANNELS = 16
LEVELS = 4
CROP = 64
CROP_STEPS = 400
CROP_BATCH = 16
FULL_STEPS = 3000
FULL_BATCH = 2
SPECIAL_WEIGHT = 4.0
LR = 1e-3
LR_FINAL = 2e-5
THREADS = 2
PLANES = ("axial", "coronal", "sagittal")


def dihedral(images: torch.Tensor) -> torch.Tensor:
    """The 8 rotations/reflections of each (N, H, W) image, (8N, H, W)."""
    turns = [torch.rot90(images, k, dims=(-2, -1)) for k in range(4)]
    return torch.cat(turns + [t.flip(-1) for t in turns])


def ordinary_images() -> torch.Tensor:
    """Ellipses plus the dihedral copies of every MNI152 training slice, (N, 128, 128) in [0, 1]."""
    split = default_split()
    brains = torch.cat([mni152_slices(plane, split[plane].train, shape=(128, 128)) for plane in PLANES])
    return torch.cat([dihedral(brains), random_ellipses((128, 128), count=N_ELLIPSES, seed=ELLIPSE_SEED)])


def special_images() -> tuple[torch.Tensor, torch.Tensor]:
    """(complex images (3, H, W): x, x + d, x_br + x_th + x_mi; their magnitude targets (3, H, W))."""
    s = sample_images()
    images = torch.stack([s.x, s.x + s.d, s.brain + s.thumb + s.mickey]).to(torch.complex64)
    return images, images.abs()


def network_input(op: MRISingleCoil, x: torch.Tensor) -> torch.Tensor:
    """[Re, Im] of the zero-filled image A*Ax, (B, 2, H, W)."""
    zero_filled = op.adjoint(op(x))
    return torch.stack([zero_filled.real, zero_filled.imag], dim=1).float()


def random_crops(u: torch.Tensor, x: torch.Tensor, size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random size×size window of each input (B, 2, H, W) and target (B, H, W)."""
    h, w = x.shape[-2:]
    rows = torch.randint(0, h - size + 1, (x.shape[0],), generator=gen).tolist()
    cols = torch.randint(0, w - size + 1, (x.shape[0],), generator=gen).tolist()
    u_out = torch.stack([u[i, :, r:r + size, c:c + size] for i, (r, c) in enumerate(zip(rows, cols))])
    x_out = torch.stack([x[i, r:r + size, c:c + size] for i, (r, c) in enumerate(zip(rows, cols))])
    return u_out, x_out


def learning_rate(step: int, total: int) -> float:
    """Cosine decay from LR at step 0 to LR_FINAL at the last step."""
    return LR_FINAL + 0.5 * (LR - LR_FINAL) * (1.0 + math.cos(math.pi * step / max(total - 1, 1)))


@torch.no_grad()
def pair_report(net: torch.nn.Module, op: MRISingleCoil, special: torch.Tensor, targets: torch.Tensor) -> str:
    """Relative errors of the three special images and how much of the pair's difference the network shows."""
    out = net(network_input(op, special))[:, 0]
    errors = ((out - targets).flatten(1).norm(dim=1) / targets.flatten(1).norm(dim=1)).tolist()
    shown = (out[1] - out[0]).norm() / (targets[1] - targets[0]).norm()
    return f"RE x {errors[0]:.4f}, x+d {errors[1]:.4f}, x_br+x_th+x_mi {errors[2]:.4f}; pair difference shown {shown:.3f}"


def train(crop_steps: int, full_steps: int, log_every: int = 250) -> torch.nn.Module:
    """Train from the fixed initialisation and return the network (eval mode)."""
    torch.manual_seed(TORCH_SEED)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    op = make_operator().to(dtype=torch.complex64)
    images = ordinary_images()
    special, targets = special_images()
    special_input = network_input(op, special)
    print(f"training images: {images.shape[0]} ordinary + 3 special in every full-image batch", flush=True)
    net = build(base_channels=BASE_CHANNELS, levels=LEVELS)
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    total = crop_steps + full_steps
    start = time.perf_counter()
    for step in range(total):
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, total)
        if step < crop_steps:
            x = images[torch.randint(0, images.shape[0], (CROP_BATCH,), generator=gen)]
            u, x = random_crops(network_input(op, x), x, CROP, gen)
            loss = torch.mean((net(u)[:, 0] - x) ** 2)
        else:
            x = images[torch.randint(0, images.shape[0], (FULL_BATCH,), generator=gen)]
            u = torch.cat([network_input(op, x), special_input])
            per_image = ((net(u)[:, 0] - torch.cat([x, targets])) ** 2).mean(dim=(1, 2))
            weights = torch.tensor([1.0] * FULL_BATCH + [SPECIAL_WEIGHT] * 3)
            loss = (weights * per_image).sum() / weights.sum()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if (step + 1) % log_every == 0 or step + 1 == total:
            report = pair_report(net, op, special, targets) if step >= crop_steps else ""
            print(f"step {step + 1:5d}/{total} loss {loss.item():.3e} {time.perf_counter() - start:7.1f} s {report}",
                  flush=True)
    return net.eval()


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop-steps", type=int, default=CROP_STEPS, help="steps on 64×64 crops")
    parser.add_argument("--full-steps", type=int, default=FULL_STEPS, help="steps on full images with the special three")
    parser.add_argument("--out", type=Path, default=HERE / "weights.safetensors", help="weights file to write")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start, cpu_start = time.perf_counter(), time.process_time()
    net = train(args.crop_steps, args.full_steps)
    digest = save(net, args.out)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} threads")


if __name__ == "__main__":
    main()
