"""Benchmark: auditkit's sparse-matrix Radon pair (A, A*) against scikit-image's radon/iradon.

For a batch of images at each (size, angle count), times one forward projection plus one
back-projection per image — auditkit in float32 after the system matrix is built (the cold
build is timed separately), scikit-image as ``radon`` + ``iradon(filter_name=None)`` — takes
the best of several repeats and prints a table with the speed-up. Also prints the relative ℓ2
difference of the two sinograms as a sanity check. Run: ``python bench/bench_radon.py``.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np
import torch
from skimage.transform import iradon, radon

from auditkit.operators.ct import RadonCT
from auditkit.operators.radon_matrix import radon_csr, radon_matrices


def best_of(repeats: int, run: Callable[[], object]) -> float:
    """Smallest wall time of ``repeats`` calls of ``run``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def cold_build(size: int, n_angles: int) -> tuple[RadonCT, float]:
    """The operator with its caches emptied first, and the seconds its construction took."""
    radon_csr.cache_clear()
    radon_matrices.cache_clear()
    start = time.perf_counter()
    op = RadonCT((size, size), n_angles, dtype=torch.float32)
    return op, time.perf_counter() - start


def bench_case(size: int, n_angles: int, batch: int, repeats: int) -> dict[str, float]:
    """Times (per image) and agreement for one geometry."""
    images = np.random.default_rng(0).random((batch, size, size))
    op, build_s = cold_build(size, n_angles)
    x = torch.from_numpy(images).float()

    def ours() -> torch.Tensor:
        return op.adjoint(op.forward(x))

    ours()  # warm-up (allocations, thread pool)
    ours_s = best_of(repeats, ours) / batch

    theta = np.linspace(0.0, 180.0, n_angles, endpoint=False)

    def theirs() -> None:
        for image in images:
            iradon(radon(image, theta, circle=False), theta, filter_name=None, circle=False)

    theirs_s = best_of(repeats, theirs) / batch
    reference = radon(images[0], theta, circle=False).T
    sinogram = op.forward(x[:1])[0].double().numpy()
    rel = float(np.linalg.norm(sinogram - reference) / np.linalg.norm(reference))
    return {"build_s": build_s, "ours_ms": ours_s * 1e3, "skimage_ms": theirs_s * 1e3, "rel_diff": rel}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--batch", type=int, default=8, help="images per batch")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, best of {args.repeats}")
    header = f"{'size':>5} {'angles':>6} {'build s':>8} {'auditkit ms/img':>16} {'skimage ms/img':>15} {'speed-up':>9} {'sino rel diff':>14}"
    print(header)
    print("-" * len(header))
    for size in (128, 256):
        for n_angles in (50, 180):
            r = bench_case(size, n_angles, args.batch, args.repeats)
            print(
                f"{size:>5} {n_angles:>6} {r['build_s']:>8.2f} {r['ours_ms']:>16.2f} "
                f"{r['skimage_ms']:>15.2f} {r['skimage_ms'] / r['ours_ms']:>8.1f}x {r['rel_diff']:>14.4f}"
            )


if __name__ == "__main__":
    main()
