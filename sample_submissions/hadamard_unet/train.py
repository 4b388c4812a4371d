"""Deterministic training of the ``hadamard_unet`` sample on 2 CPU cores; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/hadamard_unet/train.py

Problem: subsampled Walsh–Hadamard measurements (troublesome kernel, Fig. 1, row 4), 128×128,
A = P_Ω H with H the orthonormal sequency-ordered 2-D Walsh transform, variable-density points,
ratio 0.05, fully sampled corner (lowest sequencies) of radius 0.1, mask seed 0; noise-free y = A x.
The network sees the direct image A*y = A†y (real), one channel.
Data: random-ellipse images (seed ELLIPSE_SEED, not a seed any sample manifest tests on) and
the *training* slices of ``auditkit.data.default_split`` in all three planes of the MNI152
template, each in the 8 orientations of the square's symmetry group. The held-out slices and
the pydicom images are never used for training.
Schedule: Adam, MSE between the output and x; first on random 64×64 crops (the direct
image is formed on the full 128×128 grid, then cropped with its target), then on full images;
the learning rate follows a cosine from LR to LR_FINAL over both stages.
Deterministic: fixed seeds, a fixed data order, ``torch.use_deterministic_algorithms(True)``
and 2 threads; the same machine type and thread count give the same weights bit for bit.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # model.py sits next to this script

from model import build  # noqa: E402

from auditkit.data import default_split, mni152_slices, random_ellipses  # noqa: E402
from auditkit.fileio import sha256_file  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.operators.hadamard import HadamardSubsampled  # noqa: E402

SHAPE = (128, 128)
RATIO = 0.05
CENTER_FRACTION = 0.1
MASK_SEED = 0
TORCH_SEED = 0
ELLIPSE_SEED = 3041
N_ELLIPSES = 400
BASE_CHANNELS = 16
LEVELS = 4
CROP = 64
CROP_STEPS = 500
CROP_BATCH = 16
FULL_STEPS = 400
FULL_BATCH = 4
LR = 1e-3
LR_FINAL = 2e-5
THREADS = 2
PLANES = ("axial", "coronal", "sagittal")


def make_operator() -> HadamardSubsampled:
    """A = P_Ω H for the training mask (the manifest's modality section)."""
    return HadamardSubsampled.from_pattern("variable_density", SHAPE, ratio=RATIO,
                                           center_fraction=CENTER_FRACTION, seed=MASK_SEED)


def dihedral(images: torch.Tensor) -> torch.Tensor:
    """The 8 rotations/reflections of each (N, H, W) image, (8N, H, W); H must equal W."""
    turns = [torch.rot90(images, k, dims=(-2, -1)) for k in range(4)]
    return torch.cat(turns + [t.flip(-1) for t in turns])


def training_images() -> torch.Tensor:
    """Ellipses plus the dihedral copies of every MNI152 training slice, (N, 128, 128) in [0, 1]."""
    split = default_split()
    brains = torch.cat([mni152_slices(plane, split[plane].train, shape=SHAPE) for plane in PLANES])
    ellipses = random_ellipses(SHAPE, count=N_ELLIPSES, seed=ELLIPSE_SEED)
    return torch.cat([dihedral(brains), ellipses])


def held_out_images() -> torch.Tensor:
    """Every held-out MNI152 slice of ``default_split`` (never trained on), (N, 128, 128)."""
    split = default_split()
    return torch.cat([mni152_slices(plane, split[plane].held_out, shape=SHAPE) for plane in PLANES])


def network_input(op: HadamardSubsampled, x: torch.Tensor) -> torch.Tensor:
    """The direct image A*Ax, (B, 1, H, W): what the adapter hands the network."""
    return op.adjoint(op(x)).unsqueeze(1).float()


def random_crops(u: torch.Tensor, x: torch.Tensor, size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random size×size window of each input (B, 2, H, W) and target (B, H, W)."""
    h, w = x.shape[-2:]
    rows = torch.randint(0, h - size + 1, (x.shape[0],), generator=gen).tolist()
    cols = torch.randint(0, w - size + 1, (x.shape[0],), generator=gen).tolist()
    u_out = torch.stack([u[i, :, r:r + size, c:c + size] for i, (r, c) in enumerate(zip(rows, cols))])
    x_out = torch.stack([x[i, r:r + size, c:c + size] for i, (r, c) in enumerate(zip(rows, cols))])
    return u_out, x_out


class BatchOrder:
    """Indices into the training set: a fresh seeded permutation per epoch, consumed in batches."""

    def __init__(self, n: int, gen: torch.Generator):
        self.n, self.gen, self.queue = n, gen, torch.empty(0, dtype=torch.long)

    def next(self, batch: int) -> torch.Tensor:
        while self.queue.numel() < batch:
            self.queue = torch.cat([self.queue, torch.randperm(self.n, generator=self.gen)])
        out, self.queue = self.queue[:batch], self.queue[batch:]
        return out


def learning_rate(step: int, total: int) -> float:
    """Cosine decay from LR at step 0 to LR_FINAL at the last step."""
    return LR_FINAL + 0.5 * (LR - LR_FINAL) * (1.0 + math.cos(math.pi * step / max(total - 1, 1)))


def train(crop_steps: int, full_steps: int, log_every: int = 100) -> tuple[torch.nn.Module, float]:
    """Train from the fixed initialisation; returns the network and the mean loss of the last 50 steps."""
    torch.manual_seed(TORCH_SEED)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    op = make_operator()
    images = training_images()
    print(f"training images: {images.shape[0]} ({N_ELLIPSES} ellipses, the rest MNI152 slices ×8 orientations)")
    net = build(base_channels=BASE_CHANNELS, levels=LEVELS)
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    order = BatchOrder(images.shape[0], gen)
    total = crop_steps + full_steps
    recent: list[float] = []
    start = time.perf_counter()
    for step in range(total):
        cropping = step < crop_steps
        x = images[order.next(CROP_BATCH if cropping else FULL_BATCH)]
        u = network_input(op, x)
        if cropping:
            u, x = random_crops(u, x, CROP, gen)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, total)
        loss = torch.mean((net(u)[:, 0] - x) ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        recent = (recent + [loss.item()])[-50:]
        if (step + 1) % log_every == 0 or step + 1 == total:
            stage = "crops" if cropping else "full"
            print(f"step {step + 1:5d}/{total} ({stage}) loss {np.mean(recent):.3e} "
                  f"lr {learning_rate(step, total):.1e} {time.perf_counter() - start:7.1f} s", flush=True)
    return net.eval(), float(np.mean(recent))


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of the direct image A*y over every held-out slice."""
    op = make_operator()
    x = held_out_images()
    y = op(x)
    u = network_input(op, x)
    recon = torch.cat([net(u[i:i + 8])[:, 0] for i in range(0, x.shape[0], 8)])
    return float(psnr(recon, x).mean()), float(psnr(op.adjoint(y), x).mean())


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop-steps", type=int, default=CROP_STEPS, help="steps on 64×64 crops")
    parser.add_argument("--full-steps", type=int, default=FULL_STEPS, help="steps on full 128×128 images")
    parser.add_argument("--out", type=Path, default=HERE / "weights.safetensors", help="weights file to write")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start, cpu_start = time.perf_counter(), time.process_time()
    net, final_loss = train(args.crop_steps, args.full_steps)
    digest = save(net, args.out)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    network_db, zero_filled_db = held_out_psnr(net)
    print(f"final training loss (mean of last 50 steps): {final_loss:.4e}")
    print(f"held-out MNI152 slices, ratio {RATIO}: network {network_db:.2f} dB, direct image A*y {zero_filled_db:.2f} dB")
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} threads "
          f"(≈ {cpu / THREADS:.0f} s on {THREADS} otherwise idle cores)")


if __name__ == "__main__":
    main()
