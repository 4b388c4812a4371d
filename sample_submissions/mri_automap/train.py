"""Deterministic training of the ``mri_automap`` sample on one CPU thread; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/mri_automap/train.py

Problem: single-coil MRI, 32×32, variable-density random k-space points (``random_points``),
ratio 0.6, centre fraction 0.08, mask seed 0, noise-free measurements y = A x.
Data: random-ellipse images (seed ELLIPSE_SEED, not a seed any sample manifest tests on), the
*training* slices of ``auditkit.data.default_split`` in all three planes of the MNI152
template resized to 32×32, each in the 8 orientations of the square's symmetry group, and
zoomed windows of the same training slices whose content reaches the edges of the field of
view (a clinical image is often such a crop). The held-out slices and the pydicom images are
never used for training.
Schedule: Adam, MSE between the output and x, batches of BATCH images, the learning rate on a
cosine from LR to LR_FINAL.
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

from auditkit.data import default_split, mni152_slices, random_ellipses, resize_to  # noqa: E402
from auditkit.fileio import sha256_file  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.operators.mri import MRISingleCoil  # noqa: E402

SIZE = 32
SHAPE = (SIZE, SIZE)
PATTERN = "random_points"
RATIO = 0.6
CENTER_FRACTION = 0.08
MASK_SEED = 0
TORCH_SEED = 0
ELLIPSE_SEED = 2027
N_ELLIPSES = 4000
N_WINDOWS = 2000
WINDOW_SEED = 2029
#: slices are cut at this size before windows of WINDOW_SIDES pixels are taken from them.
WINDOW_SOURCE = 128
WINDOW_SIDES = (24, 64)
#: a window whose brightest pixel is below this (of the slice maximum 1) is drawn again.
WINDOW_MIN_PEAK = 0.3
CHANNELS = 32
STEPS = 3000
BATCH = 32
LR = 1e-3
LR_FINAL = 1e-5
THREADS = 1
PLANES = ("axial", "coronal", "sagittal")


def make_operator() -> MRISingleCoil:
    """A = P_Ω F for the training mask (the manifest's modality section)."""
    return MRISingleCoil.from_pattern(PATTERN, SHAPE, ratio=RATIO, center_fraction=CENTER_FRACTION, seed=MASK_SEED)


def dihedral(images: torch.Tensor) -> torch.Tensor:
    """The 8 rotations/reflections of each (N, H, W) image, (8N, H, W); H must equal W."""
    turns = [torch.rot90(images, k, dims=(-2, -1)) for k in range(4)]
    return torch.cat(turns + [t.flip(-1) for t in turns])


def zoomed_windows(slices: torch.Tensor, count: int, seed: int) -> torch.Tensor:
    """``count`` random square windows of (N, S, S) slices, resized to SHAPE and scaled to maximum 1.

    Each window picks a slice, a side in WINDOW_SIDES, a position and a quarter turn from
    ``numpy.random.default_rng(seed)``; windows with too little brain (peak below
    WINDOW_MIN_PEAK) are drawn again, so the result is deterministic.
    """
    rng = np.random.default_rng(seed)
    source = slices.numpy()
    out = torch.empty((count, *SHAPE), dtype=torch.float32)
    filled = 0
    while filled < count:
        image = source[rng.integers(source.shape[0])]
        side = int(rng.integers(WINDOW_SIDES[0], WINDOW_SIDES[1] + 1))
        row, col = (int(v) for v in rng.integers(0, image.shape[0] - side + 1, size=2))
        window = np.rot90(image[row:row + side, col:col + side], k=int(rng.integers(4)))
        if window.max() < WINDOW_MIN_PEAK:
            continue
        out[filled] = torch.from_numpy(resize_to(window / window.max(), SHAPE))
        filled += 1
    return out


def training_images() -> torch.Tensor:
    """Dihedral copies of every MNI152 training slice, zoomed windows of them and ellipses, (N, 32, 32) in [0, 1]."""
    split = default_split()
    brains = torch.cat([mni152_slices(plane, split[plane].train, shape=SHAPE) for plane in PLANES])
    large = torch.cat([mni152_slices(plane, split[plane].train, shape=(WINDOW_SOURCE, WINDOW_SOURCE))
                       for plane in PLANES])
    windows = zoomed_windows(large, N_WINDOWS, WINDOW_SEED)
    ellipses = random_ellipses(SHAPE, count=N_ELLIPSES, seed=ELLIPSE_SEED)
    return torch.cat([dihedral(brains), windows, ellipses])


def held_out_images() -> torch.Tensor:
    """Every held-out MNI152 slice of ``default_split`` (never trained on), (N, 32, 32)."""
    split = default_split()
    return torch.cat([mni152_slices(plane, split[plane].held_out, shape=SHAPE) for plane in PLANES])


def network_input(op: MRISingleCoil, x: torch.Tensor) -> torch.Tensor:
    """[Re, Im] of the zero-filled k-space grid P_Ω* A x, (B, 2, n, n): what the adapter hands the network."""
    grid = op.embed(op(x))
    return torch.stack([grid.real, grid.imag], dim=1).float()


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


def train(steps: int, log_every: int = 250) -> tuple[torch.nn.Module, float]:
    """Train from the fixed initialisation; returns the network and the mean loss of the last 50 steps."""
    torch.manual_seed(TORCH_SEED)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    op = make_operator()
    images = training_images()
    inputs = network_input(op, images)  # the measurements never change: form them once
    print(f"training images: {images.shape[0]} ({N_ELLIPSES} ellipses, {N_WINDOWS} zoomed windows, "
          "the rest MNI152 slices ×8 orientations)")
    net = build(size=SIZE, channels=CHANNELS)
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    order = BatchOrder(images.shape[0], gen)
    recent: list[float] = []
    start = time.perf_counter()
    for step in range(steps):
        chosen = order.next(BATCH)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps)
        loss = torch.mean((net(inputs[chosen])[:, 0] - images[chosen]) ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        recent = (recent + [loss.item()])[-50:]
        if (step + 1) % log_every == 0 or step + 1 == steps:
            print(f"step {step + 1:5d}/{steps} loss {np.mean(recent):.3e} lr {learning_rate(step, steps):.1e} "
                  f"{time.perf_counter() - start:7.1f} s", flush=True)
    return net.eval(), float(np.mean(recent))


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of |A*y| over every held-out slice."""
    op = make_operator()
    x = held_out_images()
    recon = net(network_input(op, x))[:, 0]
    return float(psnr(recon, x).mean()), float(psnr(op.adjoint(op(x)).abs(), x).mean())


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="optimisation steps")
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
    print(f"held-out MNI152 slices, ratio {RATIO}: network {network_db:.2f} dB, zero-filled {zero_filled_db:.2f} dB")
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} thread")


if __name__ == "__main__":
    main()
