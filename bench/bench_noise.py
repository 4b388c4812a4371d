"""Benchmark: the noise check's batched draws against a one-at-a-time loop, with peak memory.

For each map (the ℓ1-wavelet baseline with its default parameters, and a small
untrained CNN behind the network adapter — weights do not change the cost) and each
image size, the same code the check uses (``auditkit.checks.noise.relative_changes``)
evaluates Gaussian draws on a random-ellipse image with MRI Cartesian sampling at
33 %, once with ``batch_size`` draws per call of f and once with one draw per call.
Printed per setting: draws per second of both, their ratio (target ≥ 5), and the
extra peak memory of the batched run.

Memory method: every setting runs in a fresh process (multiprocessing, spawn). After
one warm-up call with a single draw, the process's peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, Linux KiB) is read; the batched draws
run; the peak is read again. The difference is the extra memory the batch needed at
its peak (torch's CPU allocations are in the RSS; tracemalloc does not see them). On
CUDA the peak of ``torch.cuda.max_memory_allocated`` is reported the same way.

What to expect: batching removes per-call overhead (Python, kernel launches) and lets
a GPU or several CPU threads work on many draws at once; it does not reduce the
arithmetic. The baseline takes each converged draw out of the batch, so a batch
costs the sum of its draws' iterations. On one CPU thread a map whose cost is
arithmetic (a CNN, the baseline's FFTs at 128²) gains little or nothing.
Measured (1 thread, batch 50, 2-core Xeon): baseline 12.1× at 32², 7.0× at 64²,
1.3× at 128²; small CNN 1.4× at 32², 0.6× at 64² and 128² (batches of 4 or 16:
0.7–0.8×, so on a CPU a convolution over a batch is no cheaper per image).

    .venv/bin/python bench/bench_noise.py --sizes 64 128 --batch 50 --draws 100 --loop-draws 20
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from typing import Sequence

import torch
from torch import nn

from auditkit.baselines import build_baseline
from auditkit.checks.noise import noise_scale, relative_changes, standard_noise
from auditkit.data.phantoms import random_ellipses
from auditkit.manifest.models import NoiseConfig
from auditkit.networks.adapter import NetworkAdapter
from auditkit.operators.mri import MRISingleCoil
from auditkit.reconstruction import ReconstructionMap

LEVEL = 0.05
RATIO = 0.33


def _cnn(width: int = 32, depth: int = 5) -> nn.Module:
    """A plain residual CNN on the zero-filled image (Re, Im channels) → real image; untrained."""

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(2, width, 3, padding=1), nn.ReLU()]
            for _ in range(depth - 2):
                layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
            layers.append(nn.Conv2d(width, 1, 3, padding=1))
            self.layers = nn.Sequential(*layers)

        def forward(self, u: torch.Tensor) -> torch.Tensor:
            return u[:, :1] + self.layers(u)

    torch.manual_seed(0)
    return Residual().eval()


def build_map(kind: str, size: int, device: str) -> tuple[ReconstructionMap, MRISingleCoil]:
    """The map to time and its operator: ``baseline`` (ℓ1-wavelet, defaults) or ``cnn``."""
    op = MRISingleCoil.from_pattern("cartesian_random", (size, size), RATIO, 0.08, 0).to(device=device)
    if kind == "baseline":
        return build_baseline("l1_wavelet", op), op
    module = _cnn().to(device)
    for p in module.parameters():
        p.requires_grad_(False)
    return NetworkAdapter(module, op, input="zero_filled", complex_as="channels", output="real", name="small CNN"), op


def _peak_bytes(device: str) -> int:
    if device.startswith("cuda"):
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(kind: str, size: int, batch: int, draws: int, device: str, threads: int) -> dict[str, float]:
    """Draws per second at ``batch`` draws per call, and the extra peak memory (bytes), in this process."""
    torch.set_num_threads(threads)
    fmap, op = build_map(kind, size, device)
    x = random_ellipses((size, size), count=1, seed=0).to(device)
    y = op.forward(x)[0]
    g = standard_noise(op, draws, torch.Generator().manual_seed(1))
    scales = [noise_scale(LEVEL, y)]

    def call(ys: torch.Tensor, labels: list[str]) -> torch.Tensor:
        return fmap(ys)

    relative_changes(call, y, g[:1], scales, batch_size=1)  # warm-up: first-call allocations, caches
    _sync(device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    before = _peak_bytes(device)
    t0 = time.perf_counter()
    changes, _, _ = relative_changes(call, y, g, scales, batch_size=batch)
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"draws_per_s": draws / seconds, "extra_peak_bytes": float(_peak_bytes(device) - before), "median": float(changes.median())}


def _child(queue: "mp.Queue[dict[str, float]]", *args: object) -> None:
    queue.put(measure(*args))  # type: ignore[arg-type]


def in_fresh_process(*args: object) -> dict[str, float]:
    """``measure(*args)`` in a new process, so that its peak memory is its own."""
    ctx = mp.get_context("spawn")
    queue: "mp.Queue[dict[str, float]]" = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, *args))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="image sides (pixels)")
    parser.add_argument("--maps", nargs="+", default=["baseline", "cnn"], choices=["baseline", "cnn"])
    parser.add_argument("--batch", type=int, default=NoiseConfig().batch_size, help="draws per call in the batched run")
    parser.add_argument("--draws", type=int, default=100, help="draws in the batched run")
    parser.add_argument("--loop-draws", type=int, default=20, help="draws in the one-at-a-time run")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    print(f"device {args.device}, {args.threads} CPU thread(s), MRI Cartesian {RATIO:.0%}, level {LEVEL}, "
          f"batch {args.batch}; memory: extra peak over a one-draw warm-up, fresh process per run")
    print(f"{'map':<9} {'size':>5} {'batched/s':>10} {'loop/s':>8} {'ratio':>6} {'extra peak (MiB)':>17}")
    for kind in args.maps:
        for size in args.sizes:
            batched = in_fresh_process(kind, size, args.batch, args.draws, args.device, args.threads)
            loop = in_fresh_process(kind, size, 1, args.loop_draws, args.device, args.threads)
            ratio = batched["draws_per_s"] / loop["draws_per_s"]
            print(f"{kind:<9} {size:>5} {batched['draws_per_s']:>10.1f} {loop['draws_per_s']:>8.1f} {ratio:>6.1f} "
                  f"{batched['extra_peak_bytes'] / 2**20:>17.1f}", flush=True)


if __name__ == "__main__":
    main()
