"""Deterministic training of the ``ct_fbpconvnet`` sample on 1 CPU thread; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/ct_fbpconvnet/train.py

Problem: 2-D parallel-beam CT, 128×128, 50 equispaced angles in [0, π) (``RadonCT``, the
operator an audit builds for the manifest), noise-free sinograms y = A x; the network sees the
ramp-filtered back-projection A†y, exactly what the audit's adapter hands it.
Data: random-ellipse images ONLY (``auditkit.data.random_ellipses``, seed ELLIPSE_SEED, a seed no
sample manifest tests on), the idea of the Ell-50 training set. No MNI152 slice and no DICOM
file is used. The FBP images of the whole training set are computed once, in batches, up front.
Schedule: Adam, MSE between the output and x; first on random 64×64 crops of (A†y, x) (the FBP
is formed on the full 128×128 grid, then cropped with its target), then on full images; the
learning rate follows a cosine from LR to LR_FINAL over both stages.
Deterministic: fixed seeds, a fixed data order, ``torch.use_deterministic_algorithms(True)``
and 1 thread; the same machine type gives the same weights bit for bit.
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
from auditkit.operators.ct import RadonCT  # noqa: E402

SHAPE = (128, 128)
N_ANGLES = 50
TORCH_SEED = 0
ELLIPSE_SEED = 2050
N_ELLIPSES = 2000
BASE_CHANNELS = 16
LEVELS = 4
CROP = 64
CROP_STEPS = 800
CROP_BATCH = 16
FULL_STEPS = 600
FULL_BATCH = 4
LR = 1e-3
LR_FINAL = 2e-5
THREADS = 1
FBP_CHUNK = 100
PLANES = ("axial", "coronal", "sagittal")


def make_operator() -> RadonCT:
    """A = the 50-angle parallel-beam Radon transform of the manifest, FBP with the ramp filter."""
    return RadonCT(SHAPE, N_ANGLES)


@torch.no_grad()
def fbp(op: RadonCT, x: torch.Tensor) -> torch.Tensor:
    """A†A x for a stack (N, H, W), in chunks of FBP_CHUNK images, shape (N, 1, H, W)."""
    return torch.cat([op.pinv(op(x[i:i + FBP_CHUNK])) for i in range(0, x.shape[0], FBP_CHUNK)]).unsqueeze(1)


def held_out_images() -> torch.Tensor:
    """Every held-out MNI152 slice of ``default_split`` (never trained on), (N, 128, 128)."""
    split = default_split()
    return torch.cat([mni152_slices(plane, split[plane].held_out, shape=SHAPE) for plane in PLANES])


def random_crops(u: torch.Tensor, x: torch.Tensor, size: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random size×size window of each input (B, 1, H, W) and target (B, H, W)."""
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
    images = random_ellipses(SHAPE, count=N_ELLIPSES, seed=ELLIPSE_SEED)
    inputs = fbp(op, images)
    print(f"training images: {N_ELLIPSES} random ellipses (seed {ELLIPSE_SEED}); "
          f"FBP at {N_ANGLES} angles: {float(psnr(inputs[:, 0], images).mean()):.2f} dB", flush=True)
    net = build(base_channels=BASE_CHANNELS, levels=LEVELS)
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    order = BatchOrder(N_ELLIPSES, gen)
    total = crop_steps + full_steps
    recent: list[float] = []
    start = time.perf_counter()
    for step in range(total):
        cropping = step < crop_steps
        batch = order.next(CROP_BATCH if cropping else FULL_BATCH)
        u, x = inputs[batch], images[batch]
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
                  f"lr {learning_rate(step, total):.1e} {time.perf_counter() - start:7.1f} s "
                  f"cpu {time.process_time():7.1f} s", flush=True)
    return net.eval(), float(np.mean(recent))


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of the FBP A†y over every held-out MNI152 slice."""
    op = make_operator()
    x = held_out_images()
    u = fbp(op, x)
    recon = torch.cat([net(u[i:i + 8])[:, 0] for i in range(0, x.shape[0], 8)])
    return float(psnr(recon, x).mean()), float(psnr(u[:, 0], x).mean())


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
    network_db, fbp_db = held_out_psnr(net)
    print(f"final training loss (mean of last 50 steps): {final_loss:.4e}")
    print(f"held-out MNI152 slices, {N_ANGLES} angles: network {network_db:.2f} dB, FBP {fbp_db:.2f} dB")
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} thread")


if __name__ == "__main__":
    main()
