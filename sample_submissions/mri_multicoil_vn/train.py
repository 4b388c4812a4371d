"""Deterministic training of the ``mri_multicoil_vn`` sample on one CPU thread; writes ``weights.safetensors`` here.

Run from the repository root:  .venv/bin/python sample_submissions/mri_multicoil_vn/train.py

Problem: multi-coil MRI, 128×128, 8 synthetic coils (``auditkit.operators.coils.synthetic_coil_maps``
with the manifest's seed, so the network's stored maps are the ones the audit's operator uses),
quasi-equispaced Cartesian columns (``cartesian_equispaced``), ratio 0.2, centre fraction 0.08,
mask seed 0, noise-free measurements y = A x.
Data: random-ellipse images (seed ELLIPSE_SEED, not a seed any sample manifest tests on) and
the *training* slices of ``auditkit.data.default_split`` in all three planes of the MNI152
template, each in the 8 orientations of the square's symmetry group. The held-out slices and
the pydicom images are never used for training.
Schedule: Adam, MSE between the output magnitude and x on full images (an unrolled network
needs the whole k-space grid), the learning rate on a cosine from LR to LR_FINAL.
Deterministic: fixed seeds, a fixed data order, ``torch.use_deterministic_algorithms(True)``
and one thread; the same machine type gives the same weights bit for bit.
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

from model import UnrolledVN, build  # noqa: E402

from auditkit.data import default_split, mni152_slices, random_ellipses  # noqa: E402
from auditkit.fileio import sha256_file  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.operators.coils import synthetic_coil_maps  # noqa: E402
from auditkit.operators.mri_multicoil import MRIMultiCoil  # noqa: E402

SHAPE = (128, 128)
COILS = 8
PATTERN = "cartesian_equispaced"
RATIO = 0.2
CENTER_FRACTION = 0.08
MASK_SEED = 0  # also the seed of the synthetic coil maps (auditkit.operators.factory)
TORCH_SEED = 0
ELLIPSE_SEED = 2029
N_ELLIPSES = 400
STAGES = 6
FEATURES = 16
STEPS = 850
BATCH = 4
LR = 1e-3
LR_FINAL = 2e-5
THREADS = 1
PLANES = ("axial", "coronal", "sagittal")


def make_operator() -> MRIMultiCoil:
    """A = [P_Ω F S_j]_j for the training mask and the synthetic maps (the manifest's modality section)."""
    maps = synthetic_coil_maps(COILS, SHAPE, seed=MASK_SEED)
    return MRIMultiCoil.from_pattern(PATTERN, SHAPE, ratio=RATIO, center_fraction=CENTER_FRACTION,
                                     seed=MASK_SEED, maps=maps)


def make_network() -> UnrolledVN:
    """The initial network with the operator's coil maps in its ``coil_maps`` buffer."""
    net = build(coils=COILS, height=SHAPE[0], width=SHAPE[1], stages=STAGES, features=FEATURES)
    maps = synthetic_coil_maps(COILS, SHAPE, seed=MASK_SEED)
    net.coil_maps.copy_(torch.stack([maps.real, maps.imag]).float())
    return net


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


def network_input(op: MRIMultiCoil, x: torch.Tensor) -> torch.Tensor:
    """Zero-filled multi-coil k-space of A x, (B, C, H, W) complex: what the adapter hands the network."""
    return op.kspace(x).to(torch.complex64)


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


def train(steps: int, log_every: int = 50) -> tuple[torch.nn.Module, float, float]:
    """Train from the fixed initialisation; returns the network, the mean loss of the last 50 steps
    and the CPU time (s) of the optimisation loop alone."""
    torch.manual_seed(TORCH_SEED)
    gen = torch.Generator().manual_seed(TORCH_SEED)
    op = make_operator()
    images = training_images()
    print(f"training images: {images.shape[0]} ({N_ELLIPSES} ellipses, the rest MNI152 slices ×8 orientations); "
          f"mask: {op.sampling_ratio:.4f} of k-space", flush=True)
    net = make_network()
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    order = BatchOrder(images.shape[0], gen)
    recent: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(steps):
        x = images[order.next(BATCH)]
        u = network_input(op, x)
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps)
        loss = torch.mean((net(u)[:, 0] - x) ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        recent = (recent + [loss.item()])[-50:]
        if (step + 1) % log_every == 0 or step + 1 == steps:
            print(f"step {step + 1:5d}/{steps} loss {np.mean(recent):.3e} lr {learning_rate(step, steps):.1e} "
                  f"{time.perf_counter() - start:7.1f} s wall {time.process_time() - cpu_start:7.1f} s CPU", flush=True)
    return net.eval(), float(np.mean(recent)), time.process_time() - cpu_start


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of |A*y| over every held-out slice."""
    op = make_operator()
    x = held_out_images()
    u = network_input(op, x)
    recon = torch.cat([net(u[i:i + 8])[:, 0] for i in range(0, x.shape[0], 8)])
    return float(psnr(recon, x).mean()), float(psnr(op.adjoint(op(x)).abs(), x).mean())


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict (coil maps included) as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="optimisation steps (batches of full images)")
    parser.add_argument("--out", type=Path, default=HERE / "weights.safetensors", help="weights file to write")
    parser.add_argument("--skip-eval", action="store_true", help="skip the held-out evaluation at the end")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start, cpu_start = time.perf_counter(), time.process_time()
    net, final_loss, loop_cpu = train(args.steps)
    digest = save(net, args.out)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"final training loss (mean of last 50 steps): {final_loss:.4e}")
    print(f"wrote {args.out} (sha256 {digest})")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time ({loop_cpu:.0f} s in the "
          f"optimisation loop) on {THREADS} thread")
    if not args.skip_eval:
        network_db, zero_filled_db = held_out_psnr(net)
        print(f"held-out MNI152 slices, ratio {RATIO}: network {network_db:.2f} dB, zero-filled {zero_filled_db:.2f} dB")


if __name__ == "__main__":
    main()
