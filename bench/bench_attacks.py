"""Benchmark: auditkit's worst-case searches against faithful re-implementations of the published ones.

At an equal number of network gradient evaluations per image (one forward and
one backward pass of f for one row), compare

- image domain: ``auditkit.attacks.ladder_ascent`` against the published momentum
  ascent (raw steps v ← γv + η∇J, r ← r + v, first crossing of each budget; the
  instability paper's defaults), on the change ‖f(A(x+r)) − f(Ax)‖/‖x‖ at each
  budget ε = ‖r‖/‖x‖;
- measurement domain: ``auditkit.attacks.projected_ascent`` against projected
  Adam on e in data units (lr 5, eps 1e-5, start y + 3η‖y‖/√m·n, projection on
  ‖e‖ ≤ η‖y‖ after every step, the final iterate of each of 6 restarts, worst
  kept; the trade-off paper's defaults), on the error ‖f(y+e) − x‖/‖x‖ at each η.

Both searches start from the same random draws. Every perturbation is rescaled
to its exact budget (published ladder) and all outputs are recomputed the same
way (``auditkit.attacks.outputs``) before they are compared. Printed: the ratio
project/published of the worst case over the images (target ≥ 1.0), the
smallest per-image ratio, evaluations and wall time. The published ladder stops
once its path crosses the largest budget, so the project's ladder is also run
with only that many evaluations (its ratio printed as well).

``compare_searches(fmap, operator, images)`` is the entry point for any
ReconstructionMap; ``main`` runs it on an MRI 64×64 setting for the ℓ1-wavelet
baseline and a small CNN fitted for a few seconds on random ellipses, or, with
``--manifest``, on a submission's network with its own operator and its first
``--images`` test images (the sample submissions).

    .venv/bin/python bench/bench_attacks.py --images 2 --max-iter 500 --iterations 300
    .venv/bin/python bench/bench_attacks.py --manifest sample_submissions/mri_unet/manifest.yaml --images 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from auditkit.attacks import ladder_ascent, outputs, plain, projected_ascent
from auditkit.attacks.geometry import scale_items, to_ball, to_sphere
from auditkit.baselines import build_baseline
from auditkit.data.phantoms import random_ellipses
from auditkit.networks.adapter import NetworkAdapter
from auditkit.operators.base import ForwardOperator, batch_norm2
from auditkit.operators.mri import MRISingleCoil
from auditkit.reconstruction import ReconstructionMap

Map = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class SearchSettings:
    """Budgets and evaluation counts shared by the project's and the published searches."""

    budgets: tuple[float, ...] = (0.01, 0.02, 0.04)
    lam: float = 0.01
    step: float = 0.01
    momentum: float = 0.9
    max_iter: int = 500
    init_scale: float = 0.001
    etas: tuple[float, ...] = (0.01, 0.02, 0.04)
    restarts: int = 6
    iterations: int = 300
    lr_data: float = 5.0  # the published Adam step, in data units
    lr_radius: float = 5.0  # the project's step, in units of the ball radius
    seed: int = 0


@dataclass
class Comparison:
    """Worst-case values of both searches on one map (per budget / η), with costs."""

    name: str
    image_ratio: dict[str, float] = field(default_factory=dict)
    image_min_ratio: dict[str, float] = field(default_factory=dict)
    image_values: dict[str, tuple[float, float]] = field(default_factory=dict)
    image_ratio_at_published_count: dict[str, float] = field(default_factory=dict)
    noise_ratio: dict[str, float] = field(default_factory=dict)
    noise_min_ratio: dict[str, float] = field(default_factory=dict)
    noise_values: dict[str, tuple[float, float]] = field(default_factory=dict)
    noise_excess_ratio: dict[str, float] = field(default_factory=dict)
    evaluations: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _generators(seed: int, n: int, salt: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(seed * 1_000_003 + salt * 1009 + i) for i in range(n)]


# -- the published searches, re-implemented ---------------------------------------------------
def published_ladder(
    fmap: Map, operator: ForwardOperator, x: torch.Tensor, s: SearchSettings, generators: Sequence[torch.Generator]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Momentum ascent with raw steps; (perturbations (N, J, H, W) at exactly ε‖x‖, evaluations (N,)).

    v ← γv + η∇J, r ← r + v on J(r) = ½‖f(A(x+r)) − f(Ax)‖² − (λ/2)‖r‖², r₀ = init_scale·U[0, 1);
    a rung is the first iterate with ‖r‖ ≥ ε‖x‖; a budget never crossed in ``max_iter``
    iterations gets the last iterate (rescaled, like every rung, to exactly ε‖x‖).
    """
    n, budgets = x.shape[0], s.budgets
    r = torch.stack([s.init_scale * torch.rand(tuple(x.shape[1:]), generator=g, dtype=x.dtype) for g in generators])
    v = torch.zeros_like(r)
    norm_x = batch_norm2(x)
    f0 = outputs(plain(fmap), operator.forward(x), torch.arange(n))
    rungs: list[list[torch.Tensor | None]] = [[None] * len(budgets) for _ in range(n)]
    evals = torch.zeros(n, dtype=torch.long)
    for _ in range(s.max_iter + 1):
        ratio = batch_norm2(r) / norm_x
        for i in range(n):
            for j, eps in enumerate(budgets):
                if rungs[i][j] is None and ratio[i] >= eps:
                    rungs[i][j] = r[i].clone()
        active = [i for i in range(n) if any(rung is None for rung in rungs[i])]
        if not active or int(evals.max()) >= s.max_iter:
            break
        with torch.enable_grad():
            rr = r[active].clone().requires_grad_(True)
            out = fmap(operator.forward(x[active] + rr))
            objective = 0.5 * batch_norm2(out - f0[active]).square() - 0.5 * s.lam * batch_norm2(rr).square()
            (grad,) = torch.autograd.grad(objective.sum(), rr)
        v[active] = s.momentum * v[active] + s.step * grad
        r[active] = r[active] + v[active]
        evals[active] += 1
    out = torch.empty((n, len(budgets), *x.shape[1:]), dtype=x.dtype)
    for i in range(n):
        for j, eps in enumerate(budgets):
            rung = rungs[i][j] if rungs[i][j] is not None else r[i]
            out[i, j] = to_sphere(rung[None], (eps * norm_x[i]).reshape(1))[0]
    return out, evals


def published_projected_adam(
    fmap: Map, operator: ForwardOperator, x: torch.Tensor, eta: float, s: SearchSettings,
    generators: Sequence[torch.Generator],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Projected Adam on y + e in data units; (worst e per image (N, *meas), evaluations (N,)).

    Start y + 3η‖y‖/√m · n (n standard normal, m entries), Adam(lr, eps=1e-5) on
    −‖f(y + e) − x‖², projection on ‖e‖ ≤ η‖y‖ after every step, restarts stacked
    in the batch, the final iterate of the restart with the largest error kept.
    """
    n, k = x.shape[0], s.restarts
    y = operator.forward(x).detach()
    radius = eta * batch_norm2(y)
    m = y[0].numel()
    starts = []
    for i, g in enumerate(generators):
        noise = torch.randn((k, *y.shape[1:]), generator=g, dtype=y.real.dtype)
        if y.is_complex():
            noise = torch.complex(noise, torch.randn((k, *y.shape[1:]), generator=g, dtype=y.real.dtype)) / 2**0.5
        starts.append(y[i] + 3.0 * radius[i] / m**0.5 * noise)
    y_rows, x_rows = y.repeat_interleave(k, 0), x.repeat_interleave(k, 0)
    radius_rows = radius.repeat_interleave(k)
    y_adv = torch.cat(starts).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([y_adv], lr=s.lr_data, eps=1e-5)
    for _ in range(s.iterations):
        optimiser.zero_grad()
        with torch.enable_grad():
            loss = -batch_norm2(fmap(y_adv) - x_rows).square().sum()
            loss.backward()
        optimiser.step()
        with torch.no_grad():
            y_adv.copy_(y_rows + to_ball(y_adv - y_rows, radius_rows))
    e = (y_adv.detach() - y_rows)
    err = batch_norm2(outputs(plain(fmap), y_rows + e, torch.arange(n * k)) - x_rows).reshape(n, k)
    which = err.argmax(dim=1)
    worst = e.reshape(n, k, *y.shape[1:])[torch.arange(n), which]
    return worst, torch.full((n,), s.iterations * k, dtype=torch.long)


# -- comparison ---------------------------------------------------------------------------------
def _changes(fmap: Map, operator: ForwardOperator, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """‖f(A(x + r_j)) − f(Ax)‖/‖x‖, shape (N, J)."""
    n, j = r.shape[:2]
    recon = plain(fmap)
    f0 = outputs(recon, operator.forward(x), torch.arange(n))
    out = outputs(recon, operator.forward(x.repeat_interleave(j, 0) + r.reshape(n * j, *x.shape[1:])), torch.arange(n * j))
    return (batch_norm2(out - f0.repeat_interleave(j, 0)) / batch_norm2(x).repeat_interleave(j)).reshape(n, j)


def _errors(fmap: Map, operator: ForwardOperator, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """‖f(Ax + e) − x‖/‖x‖, shape (N,)."""
    out = outputs(plain(fmap), operator.forward(x) + e, torch.arange(x.shape[0]))
    return batch_norm2(out - x) / batch_norm2(x)


def compare_searches(
    fmap: ReconstructionMap | Map, operator: ForwardOperator, images: torch.Tensor,
    settings: SearchSettings | None = None, name: str | None = None,
) -> Comparison:
    """Run both image-domain and both measurement-domain searches on ``fmap`` and ``images`` (N, H, W)."""
    s = settings or SearchSettings()
    x = images.to(operator.real_dtype)
    n = x.shape[0]
    result = Comparison(name or getattr(fmap, "name", "map"))

    t0 = time.perf_counter()
    ladder = ladder_ascent(
        plain(fmap), operator, x, s.budgets, generators=_generators(s.seed, n, 1), lam=s.lam, step=s.step,
        momentum=s.momentum, max_iter=s.max_iter, init_scale=s.init_scale,
    )
    t1 = time.perf_counter()
    r_pub, evals_pub = published_ladder(fmap, operator, x, s, _generators(s.seed, n, 1))
    t2 = time.perf_counter()
    ours, theirs = _changes(fmap, operator, x, ladder.perturbations), _changes(fmap, operator, x, r_pub)
    # the published search stops once the largest budget is crossed: also run ours with only that many evaluations
    short = ladder_ascent(
        plain(fmap), operator, x, s.budgets, generators=_generators(s.seed, n, 1), lam=s.lam, step=s.step,
        momentum=s.momentum, max_iter=int(evals_pub.max()), init_scale=s.init_scale,
    )
    ours_short = _changes(fmap, operator, x, short.perturbations)
    for j, eps in enumerate(s.budgets):
        key = f"{eps:g}"
        result.image_values[key] = (float(ours[:, j].max()), float(theirs[:, j].max()))
        result.image_ratio[key] = float(ours[:, j].max() / theirs[:, j].max())
        result.image_min_ratio[key] = float((ours[:, j] / theirs[:, j]).min())
        result.image_ratio_at_published_count[key] = float(ours_short[:, j].max() / theirs[:, j].max())
    result.evaluations.update(
        image_project=float(ladder.evaluations.float().mean()), image_published=float(evals_pub.float().mean())
    )
    result.seconds.update(image_project=t1 - t0, image_published=t2 - t1)

    t0 = time.perf_counter()
    noise = projected_ascent(
        plain(fmap), operator, x, s.etas, generators=_generators(s.seed, n, 2), restarts=s.restarts,
        iterations=s.iterations, lr=s.lr_radius,
    )
    t1 = time.perf_counter()
    clean = float(_errors(fmap, operator, x, torch.zeros_like(noise.perturbations[:, 0])).max())
    for k, eta in enumerate(s.etas):
        e_pub, _ = published_projected_adam(fmap, operator, x, eta, s, _generators(s.seed, n, 3 + k))
        ours_k, theirs_k = _errors(fmap, operator, x, noise.perturbations[:, k]), _errors(fmap, operator, x, e_pub)
        key = f"{eta:g}"
        result.noise_values[key] = (float(ours_k.max()), float(theirs_k.max()))
        result.noise_ratio[key] = float(ours_k.max() / theirs_k.max())
        result.noise_min_ratio[key] = float((ours_k / theirs_k).min())
        result.noise_excess_ratio[key] = (float(ours_k.max()) - clean) / max(float(theirs_k.max()) - clean, 1e-12)
    t2 = time.perf_counter()
    per_level = s.iterations * s.restarts
    result.evaluations.update(noise_project=float(per_level), noise_published=float(per_level))
    result.seconds.update(noise_project=t1 - t0, noise_published=t2 - t1)
    return result


# -- the sample maps ----------------------------------------------------------------------------
class SmallCNN(nn.Module):
    """Zero-filled image (2 channels: Re, Im) → real image: Re(A*y) plus a 4-layer CNN correction."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(2, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 1, 3, padding=1),
        )

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return u[:, :1] + self.body(u)


def fitted_cnn(operator: ForwardOperator, steps: int, seed: int = 0) -> NetworkAdapter:
    """A ``SmallCNN`` trained for ``steps`` Adam steps (batch 8) on random ellipses, as a ReconstructionMap."""
    torch.manual_seed(seed)
    module = SmallCNN()
    adapter = NetworkAdapter(module, operator, input="zero_filled", complex_as="channels", output="real", name="small CNN")
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    for step in range(steps):
        x = random_ellipses(operator.image_shape, count=8, seed=seed + 1, start=8 * step)
        loss = (adapter(operator.forward(x)) - x).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return adapter


def _print(c: Comparison) -> None:
    print(f"\n== {c.name}")
    print("image domain (change at ε; project / published worst case, min per-image ratio):")
    for key, ratio in c.image_ratio.items():
        ours, theirs = c.image_values[key]
        print(f"  ε={key:>5}: {ours:.4f} / {theirs:.4f} = {ratio:.3f}   (min per image {c.image_min_ratio[key]:.3f}; "
              f"with only the published search's evaluations {c.image_ratio_at_published_count[key]:.3f})")
    print("measurement domain (relative error at η; in brackets the ratio of the increase over the unperturbed error):")
    for key, ratio in c.noise_ratio.items():
        ours, theirs = c.noise_values[key]
        print(f"  η={key:>5}: {ours:.4f} / {theirs:.4f} = {ratio:.3f}   (min per image {c.noise_min_ratio[key]:.3f}; "
              f"increase {c.noise_excess_ratio[key]:.3f})")
    ev, sec = c.evaluations, c.seconds
    print(f"  evaluations per image: image domain {ev['image_project']:.0f} (published used {ev['image_published']:.0f}), "
          f"measurement domain {ev['noise_project']:.0f} per η (published {ev['noise_published']:.0f})")
    print("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in sec.items()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--ratio", type=float, default=0.25)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--restarts", type=int, default=6)
    parser.add_argument("--baseline-iters", type=int, default=30, help="FISTA iterations of the ℓ1-wavelet baseline")
    parser.add_argument("--fit-steps", type=int, default=150, help="training steps of the small CNN")
    parser.add_argument("--maps", default="baseline,cnn", help="comma-separated: baseline, cnn")
    parser.add_argument("--etas", default="0.01,0.02,0.04")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared machine)")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="compare on this submission's network, operator and first --images test images")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    settings = SearchSettings(
        max_iter=args.max_iter, iterations=args.iterations, restarts=args.restarts,
        etas=tuple(float(e) for e in args.etas.split(",")),
    )
    if args.manifest is not None:
        from auditkit.preparation import prepare

        prepared = prepare(args.manifest, signing=False)
        ctx = prepared.context
        print(f"{args.manifest}: {prepared.manifest.modality.kind} {tuple(prepared.manifest.modality.image_shape)}, "
              f"test images {', '.join(ctx.image_ids[:args.images])}; image domain {args.max_iter} evaluations/image, "
              f"measurement domain {args.restarts}×{args.iterations} per η")
        _print(compare_searches(ctx.network.fmap, prepared.operator, ctx.images[:args.images], settings))
        return

    operator = MRISingleCoil.from_pattern("cartesian_random", (args.size, args.size), ratio=args.ratio, seed=0)
    images = random_ellipses((args.size, args.size), count=args.images, seed=123)
    maps: dict[str, Callable[[], Map]] = {
        "baseline": lambda: build_baseline("l1_wavelet", operator, max_iter=args.baseline_iters, checkpoint_segment=0),
        "cnn": lambda: fitted_cnn(operator, args.fit_steps),
    }
    print(f"MRI {args.size}×{args.size}, cartesian_random ratio {args.ratio}, {args.images} random-ellipse images; "
          f"image domain {args.max_iter} evaluations/image, measurement domain {args.restarts}×{args.iterations} per η")
    for key in args.maps.split(","):
        _print(compare_searches(maps[key.strip()](), operator, images, settings))


if __name__ == "__main__":
    main()
