"""Deterministic staged training of the accuracy–stability trio; writes the three ``weights.safetensors``.

Run from the repository root:  .venv/bin/python sample_submissions/mri_tradeoff/train.py

Problem: single-coil MRI at 64×64 from golden-angle radial lines (pattern ``radial``, ratio 0.17,
seed 0: 9 lines, 685 of 4,096 grid points, 16.7 %), the sampling of the three manifests.
Data: N_TRAIN random-ellipse images (seed ELLIPSE_SEED, a seed no manifest tests on); nothing else.
Jittering (the troublesome-kernel paper, appendix A.5): at level p every training measurement gets

    ỹ = y + (s/√m) e,    s ~ Unif[0, p],  e ~ CN(0, I) (E|e_j|² = 1),

drawn afresh per image and step, so ‖ỹ − y‖ ≈ s. The paper's levels p = 1/10 and 10 are for
256×256 images; ‖x‖ of an image of the same content in [0, 1] grows with the side, so here they are
scaled by 64/256: P_LOW = 1/40 and P_HIGH = 2.5 (approximately the paper's s/‖x‖, assuming images
like its own).
Stages, as in the paper:
  1. one U-Net on the zero-filled image F*ỹ at level P_HIGH (STAGE1 steps);
  2. two cascades whose U-Nets all start from the stage-1 U-Net, one at level 0 and one at level
     P_HIGH (STAGE2 steps each);
  3. STAGE3 more steps for each of the three: the level-0 cascade at level 0 → ``noise_free``, the
     level-P_HIGH cascade at P_HIGH → ``high_noise``, and a copy of it at P_LOW → ``low_noise``.
Within a stage every network sees the same batches in the same order and the same noise directions
(one seed per stage), so the training noise level is the only difference between them. Departures
from the paper (README.md lists them all): its stage 3 trains the low-noise network alone, which
gives it more steps than the other two, so here all three get STAGE3 more steps; and it trains two
separate cascades at level 10 in stage 2 and continues one of them, which in a deterministic run
would be the same network, so one is trained and copied.
Schedule: Adam on batches of BATCH full images, mean squared error between the complex output and
x, learning rate on a cosine from LR to LR_FINAL within each stage.
Deterministic: fixed seeds, a fixed data order and noise stream per stage,
``torch.use_deterministic_algorithms(True)`` and THREADS threads.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import safetensors.torch
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # model.py, the one architecture of the three networks

from model import UNet, build, ifft2c  # noqa: E402

from auditkit.data import random_ellipses  # noqa: E402
from auditkit.fileio import sha256_file  # noqa: E402
from auditkit.metrics import psnr  # noqa: E402
from auditkit.operators.mri import MRISingleCoil  # noqa: E402

SHAPE = (64, 64)
RATIO = 0.17
MASK_SEED = 0
TORCH_SEED = 0
#: one seed per stage, shared by every network trained in it: the same batches in the same order, and
#: (for the jittered ones) the same noise directions scaled to their level; only the level differs.
STAGE1_SEED, STAGE2_SEED, STAGE3_SEED = 10, 20, 40
ELLIPSE_SEED = 2031
N_TRAIN = 4000
HELD_OUT_SEED = 2032
N_HELD_OUT = 100
CASCADES, CHANNELS, LEVELS = 3, 16, 3
STAGE1, STAGE2, STAGE3 = 800, 2000, 1000
BATCH = 8
P_LOW, P_HIGH = 1 / 40, 2.5
LR, LR_FINAL = 1e-3, 1e-5
THREADS = 2
NETWORKS = ("noise_free", "low_noise", "high_noise")


def make_operator() -> MRISingleCoil:
    """A = P_Ω F for the radial mask of the manifests."""
    return MRISingleCoil.from_pattern("radial", SHAPE, ratio=RATIO, seed=MASK_SEED)


def jittered(y: torch.Tensor, level: float, gen: torch.Generator) -> torch.Tensor:
    """y + (s/√m) e per row of (B, m) complex y, s ~ Unif[0, level], e ~ CN(0, I); y itself at level 0.

    The draws are made at every level (and discarded at 0), so that runs with one seed use one noise
    stream whatever their level.
    """
    batch, m = y.shape
    s = level * torch.rand(batch, 1, generator=gen)
    parts = torch.randn(2, batch, m, generator=gen) * math.sqrt(0.5)
    return y if level == 0 else y + s / math.sqrt(m) * torch.complex(parts[0], parts[1])


def network_input(op: MRISingleCoil, y: torch.Tensor) -> torch.Tensor:
    """[Re, Im] of the zero-filled k-space P_Ω* y, (B, 2, H, W): what the adapter hands the network."""
    kspace = op.embed(y)
    return torch.stack([kspace.real, kspace.imag], dim=1).float()


def learning_rate(step: int, total: int) -> float:
    """Cosine decay from LR at step 0 to LR_FINAL at the last step."""
    return LR_FINAL + 0.5 * (LR - LR_FINAL) * (1.0 + math.cos(math.pi * step / max(total - 1, 1)))


def fit(name: str, net: torch.nn.Module, forward, images: torch.Tensor, level: float, steps: int, seed: int) -> None:
    """Adam on ‖forward(input) − x‖² over ``steps`` batches at jittering ``level``; seeds fix order and noise."""
    op = make_operator()
    order = torch.Generator().manual_seed(seed)
    noise = torch.Generator().manual_seed(seed + 1)
    optimiser = torch.optim.Adam(net.parameters(), lr=LR)
    queue, recent = torch.empty(0, dtype=torch.long), []
    start = time.perf_counter()
    for step in range(steps):
        while queue.numel() < BATCH:
            queue = torch.cat([queue, torch.randperm(images.shape[0], generator=order)])
        x, queue = images[queue[:BATCH]], queue[BATCH:]
        u = network_input(op, jittered(op(x), level, noise))
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, steps)
        loss = torch.mean((forward(u) - x).abs() ** 2)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        recent = (recent + [loss.item()])[-50:]
        if (step + 1) % 100 == 0 or step + 1 == steps:
            print(f"{name}: step {step + 1:5d}/{steps} loss {np.mean(recent):.3e} {time.perf_counter() - start:5.0f} s",
                  flush=True)


def zero_filled_unet(unet: UNet):
    """The stage-1 map: [Re, Im] zero-filled k-space → U(F* k), complex (B, H, W)."""
    return lambda u: unet(ifft2c(torch.complex(u[:, 0], u[:, 1])))


def train(stage1: int, stage2: int, stage3: int) -> dict[str, torch.nn.Module]:
    """The three networks of the trio, from one fixed initialisation."""
    torch.manual_seed(TORCH_SEED)
    images = random_ellipses(SHAPE, count=N_TRAIN, seed=ELLIPSE_SEED)
    op = make_operator()
    y = op(images[:200])
    relative = [p / float(torch.linalg.vector_norm(y, dim=1).mean()) for p in (P_LOW, P_HIGH)]
    print(f"{N_TRAIN} ellipse images; mean ‖y‖ {float(torch.linalg.vector_norm(y, dim=1).mean()):.2f}, "
          f"so the largest jitter p/‖y‖ is {relative[0]:.2e} (low) and {relative[1]:.3f} (high)")
    first = build(CASCADES, CHANNELS, LEVELS)
    unet = copy.deepcopy(first.unets[0])
    fit("stage 1 U-Net", unet, zero_filled_unet(unet), images, P_HIGH, stage1, seed=STAGE1_SEED)
    stage2_nets = {}
    for level in (0.0, P_HIGH):
        net = copy.deepcopy(first)
        for cascade in net.unets:
            cascade.load_state_dict(unet.state_dict())
        fit(f"stage 2 level {level:g}", net, net.complex_image, images, level, stage2, seed=STAGE2_SEED)
        stage2_nets[level] = net
    nets = {}
    for name, start, level in (("noise_free", 0.0, 0.0), ("low_noise", P_HIGH, P_LOW), ("high_noise", P_HIGH, P_HIGH)):
        nets[name] = copy.deepcopy(stage2_nets[start])
        fit(f"stage 3 {name}", nets[name], nets[name].complex_image, images, level, stage3, seed=STAGE3_SEED)
    return {name: nets[name].eval() for name in NETWORKS}


@torch.no_grad()
def held_out_psnr(net: torch.nn.Module) -> tuple[float, float]:
    """Mean PSNR (peak 1, dB) of the network and of |A*y| on N_HELD_OUT ellipses of another seed, noise-free y."""
    op = make_operator()
    x = random_ellipses(SHAPE, count=N_HELD_OUT, seed=HELD_OUT_SEED)
    y = op(x)
    recon = net(network_input(op, y))[:, 0]
    return float(psnr(recon, x).mean()), float(psnr(op.adjoint(y).abs(), x).mean())


def save(net: torch.nn.Module, path: Path) -> str:
    """Write the state dict as safetensors; returns its SHA-256."""
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    safetensors.torch.save_file(state, str(path), metadata={"format": "pt"})
    return sha256_file(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage1", type=int, default=STAGE1, help="steps of the stage-1 U-Net")
    parser.add_argument("--stage2", type=int, default=STAGE2, help="steps of each stage-2 cascade")
    parser.add_argument("--stage3", type=int, default=STAGE3, help="stage-3 steps of each of the three cascades")
    parser.add_argument("--out", type=Path, default=HERE, help="folder holding noise_free/, low_noise/, high_noise/")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    start, cpu_start = time.perf_counter(), time.process_time()
    nets = train(args.stage1, args.stage2, args.stage3)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    for name, net in nets.items():
        (args.out / name).mkdir(parents=True, exist_ok=True)
        digest = save(net, args.out / name / "weights.safetensors")
        network_db, zero_filled_db = held_out_psnr(net)
        mu = [round(dc.weight.item(), 3) for dc in net.consistency]
        print(f"{name}: held-out ellipses {network_db:.2f} dB (zero-filled {zero_filled_db:.2f} dB), mu {mu}, "
              f"sha256 {digest}")
    print(f"training took {elapsed:.0f} s wall clock, {cpu:.0f} s CPU time on {THREADS} thread(s)")


if __name__ == "__main__":
    main()
