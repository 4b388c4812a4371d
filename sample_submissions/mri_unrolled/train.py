"""Deterministic training of the ``mri_unrolled`` sample on one CPU thread; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/mri_unrolled/train.py

Problem: single-coil Cartesian MRI, 128×128, variable-density random columns, ratio 0.33,
centre fraction 0.08, mask seed 0 (the sampling of ``mri_unet``).
Jittering: every training measurement gets fresh complex Gaussian noise,
ỹ = y + (s/√m) e with e ~ CN(0, I) (E|e_j|² = 1) and s = ρ‖y‖, ρ ~ Unif[0, JITTER] drawn per
sample and per step, so that ‖ỹ − y‖ ≈ ρ‖y‖: the relative form of the jittering of the
accuracy–stability study (which draws s ~ Unif[0, p] for each measurement and epoch).
Data: random-ellipse images (seed ELLIPSE_SEED, a seed no sample manifest tests on) and the
*training* slices of ``auditkit.data.default_split`` in all three planes of the MNI152 template,
each in the 8 orientations of the square's symmetry group. The held-out slices and the pydicom
images are never used for training.
Schedule: Adam on batches of full 128×128 images, mean squared error between the complex output
image and x, learning rate on a cosine from LR to LR_FINAL.
Deterministic: fixed seeds, a fixed data order and noise stream,
``torch.use_deterministic_algorithms(True)`` and one thread.
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
from auditkit.operators.mri import MRISingleCoil  # noqa: E402

SHAPE = (128, 128)
RATIO = 0.33
CENTER_FRACTION = 0.08
MASK_SEED = 0
TORCH_SEED = 0
ELLIPSE_SEED = 2029
N_ELLIPSES = 400
CASCADES = 5
CHANNELS = 24
DEPTH = 4
STEPS = 520
BATCH = 4
JITTER = 0.1
LR = 1e-3
LR_FINAL = 2e-5
THREADS = 1
PLANES = ("axial", "coronal", "sagittal")


def make_operator() -> MRISingleCoil:
    """A = P_Ω F for the training mask (the manifest's modality section)."""
    return MRISingleCoil.from_pattern("cartesian_random", SHAPE, ratio=RATIO,
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
    return torch.cat([dihedral(brains), ellipses]).float()


def held_out_images() -> torch.Tensor:
    """Every held-out MNI152 slice of ``default_split`` (never trained on), (N, 128, 128)."""
    split = default_split()
    return torch.cat([mni152_slices(plane, split[plane].held_out, shape=SHAPE) for plane in PLANES]).float()


def jittered(y: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """y + (s/√m) e per row of (B, m) complex y: e ~ CN(0, I), s = ρ‖y‖ with ρ ~ Unif[0, JITTER]."""
    batch, m = y.shape
    rho = JITTER * torch.rand(batch, 1, generator=gen)
    parts = torch.randn(2, batch, m, generator=gen) * math.sqrt(0.5)
    e = torch.complex(parts[0], parts[1])
    scale = rho * torch.linalg.vector_norm(y, dim=1, keepdim=True) / math.sqrt(m)
    return y + scale * e


def network_input(op: MRISingleCoil, y: torch.Tensor) -> torch.Tensor:
    """[Re, Im] of the zero-filled k-space P_Ω* y, (B, 2, H, W): what the adapter hands the network."""
    kspace = op.embed(y)
    return torch.stack([kspace.real, kspace.imag], dim=1).float()


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


def train(steps: int, log_every: int = 20) -> tuple[torch.nn.Module, float]:
    """Train from the fixed initialisation; returns the network and the mean loss of the last 50 steps."""
    torch.manual_seed(TORCH_SEED)
    order_gen = torch.Generator().manual_seed(TORCH_SEED)
    noise_gen = torch.Generator().manual_seed(TORCH_SEED + 1)
    op = make_operator()
    images = training_images()
    print(f"training images: {images.shape[0]} ({N_ELLIPSES} ellipses, the rest MNI152 slices ×8 orientations)")
    net = build(cascades=CASCADES, channels=CHANNELS, depth=DEPTH)
    print(f"parameters: {sum(p.numel() for p in net.parameters())}")
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    order = BatchOrder(images.shape[0], order_gen)
    recent: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(steps):
        x = images[order.next(BATCH)]
        u = network_input(op, jittered(op(x), noise_gen))
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps)
        loss = torch.mean((net.complex_image(u) - x).abs() ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        recent = (recent + [loss.item()])[-50:]
        if (step + 1) % log_every == 0 or step + 1 == steps:
            mu = " ".join(f"{dc.weight.item():.2f}" for dc in net.consistency)
            print(f"step {step + 1:4d}/{steps} loss {np.mean(recent):.3e} lr {learning_rate(step, steps):.1e} "
                  f"mu [{mu}] {time.perf_counter() - start:6.0f} s wall {time.process_time() - cpu_start:6.0f} s CPU",
                  flush=True)
    return net.eval(), float(np.mean(recent))


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of |A*y| over every held-out slice, noise-free y."""
    op = make_operator()
    x = held_out_images()
    y = op(x)
    u = network_input(op, y)
    recon = torch.cat([net(u[i:i + 8])[:, 0] for i in range(0, x.shape[0], 8)])
    return float(psnr(recon, x).mean()), float(psnr(op.adjoint(y).abs(), x).mean())


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (batches of full images)")
    parser.add_argument("--out", type=Path, default=HERE / "weights.safetensors", help="weights file to write")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start, cpu_start = time.perf_counter(), time.process_time()
    net, final_loss = train(args.steps)
    digest = save(net, args.out)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    network_db, zero_filled_db = held_out_psnr(net)
    print(f"final training loss (mean of last 50 steps): {final_loss:.4e}")
    print(f"learned data-consistency weights mu: {[round(dc.weight.item(), 4) for dc in net.consistency]}")
    print(f"held-out MNI152 slices, ratio {RATIO}, no noise: network {network_db:.2f} dB, zero-filled {zero_filled_db:.2f} dB")
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} thread(s)")
    print(f"whole script: {time.process_time():.0f} s CPU time")


if __name__ == "__main__":
    main()
