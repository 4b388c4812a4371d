"""Measurement-domain worst-case noise: projected ascent on ‖f(Ax + e) − t‖ over ‖e‖ ≤ η‖Ax‖, worst of restarts.

The target t is x by default (the worst error, what the trade-off check reports) or the
clean reconstruction f(Ax) (the worst change, what the adversarial check reports): the
search maximises the very quantity a criterion judges.

Scale-free parameterisation: e = η‖y‖·u with ‖u‖ ≤ 1 (y = Ax; u complex for MRI,
real for CT), so the step ``lr`` is in units of the ball's radius and means the
same for every image, operator scaling and intensity range.

Update (``geometry.normalised_ascent_step``): d ← γd + ∇/‖∇‖, u ← Π(u + lr·d/‖d‖),
Π the projection on the unit ball. The published search uses Adam on e in data
units (lr 5, eps 1e-5); Adam's per-coordinate scaling makes its steps sign-like,
which steers the iterate towards "flat" vectors rather than the worst ℓ2
direction: on a Gaussian 1024 × 256 linear map it reached 0.89–0.95 σ_max in
60–300 iterations where this update reached 0.994–1.0. Normalising the whole
gradient instead keeps Adam's two useful properties — a step size independent of
the gradient's scale, and momentum (γ = ``MOMENTUM``) — and makes each
step, for a linear map, a power iteration that reaches σ_max. With the default
lr = 5 (≥ 2) every iterate lies on the sphere ‖e‖ = η‖y‖.

Start: the published start y + 3η‖y‖/√m · n (n standard normal) lies outside the
ball and its first projection is a uniformly random point on the sphere; that
point is drawn directly: u₀ = n/‖n‖, one per (image, η, restart).

Cost: ``restarts × iterations`` network gradient evaluations per image and η,
and one forward pass per restart for the last iterate. Every iterate is
evaluated on the way, and the worst (largest error) over iterations and restarts
is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from auditkit.attacks import convergence
from auditkit.attacks.geometry import normalised_ascent_step, scale_items
from auditkit.attacks.objective import Reconstruct, check_images, distance_gradient, image_groups, keep_better, outputs
from auditkit.operators.base import ForwardOperator, batch_norm2

#: momentum γ on the normalised gradients (0–0.5 converged faster than Adam's 0.9 on linear maps and a small CNN).
MOMENTUM = 0.5


@dataclass
class WorstNoise:
    """The worst measurement perturbation found at each noise level η, per image."""

    etas: tuple[float, ...]
    #: (N, K, *measurement_shape), ‖e_ik‖ ≤ η_k‖A x_i‖
    perturbations: torch.Tensor
    #: (N, K) ‖f(A x_i + e_ik) − t_i‖ / ‖x_i‖ at the kept e (t the search's target), as evaluated in the search
    error: torch.Tensor
    #: (N, K) the restart that gave the kept e
    restart: torch.Tensor
    #: (N,) network gradient evaluations used per image (all levels and restarts)
    evaluations: torch.Tensor
    #: (N, K, iterations + 1) the worst ‖f(A x_i + e) − t_i‖ / ‖x_i‖ over restarts found after each iteration
    #: (``auditkit.attacks.convergence``); the last entry is ``error``
    progress: torch.Tensor = convergence.record_field()
    #: (N, K) the level whose search found the kept e (``nested``); None: each level's own
    found_at: torch.Tensor | None = None


def projected_ascent(
    recon: Reconstruct,
    operator: ForwardOperator,
    x: torch.Tensor,
    etas: Sequence[float],
    *,
    generators: Sequence[torch.Generator],
    restarts: int,
    iterations: int,
    lr: float,
    max_rows: int | None = None,
    on_step: Callable[[], None] | None = None,
    target: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
) -> WorstNoise:
    """The worst noise e_ik with ‖e_ik‖ ≤ η_k‖A x_i‖ for images x (N, H, W), all levels and restarts batched.

    "Worst" maximises ‖f(A x_i + e_ik) − t_i‖ with t = ``target`` (N, H, W), x when None. ``y`` (N, *meas)
    replaces A x when given (acquired measurements: the search perturbs them, ‖e_ik‖ ≤ η_k‖y_i‖).

    ``restarts``, ``iterations`` and ``lr`` are the search's settings (no defaults here: the
    manifest's ``MeasurementDomainAttack`` and ``TradeoffConfig`` hold them); ``generators[i]``
    draws image i's starts (results do not depend on the batch an image shares); ``max_rows``
    caps the rows per call of f; ``on_step`` is called after every call of f with a gradient.
    """
    levels = _check_inputs(x, etas, generators, restarts=restarts, iterations=iterations, lr=lr)
    if target is None:
        target = x
    elif target.shape != x.shape:
        raise ValueError(f"target: expected the images' shape {tuple(x.shape)}, got {tuple(target.shape)}")
    target = target.detach()
    if y is None:
        y = operator.forward(x)
    elif tuple(y.shape) != (x.shape[0], *operator.measurement_shape):
        raise ValueError(f"y: expected shape {(x.shape[0], *operator.measurement_shape)}, got {tuple(y.shape)}")
    y = y.detach()
    k = levels.numel()
    starts = torch.stack([
        _unit_starts(y[i], k * restarts, g).reshape(restarts, k, *y.shape[1:]).transpose(0, 1)
        for i, g in enumerate(generators)
    ])  # (N, K, R, *meas), drawn restart by restart: more restarts only add starts
    rows = torch.arange(x.shape[0], device=x.device)
    parts = [
        _search_group(
            recon, x[list(g)], target[list(g)], y[list(g)], starts[list(g)].reshape(len(g), k * restarts, *y.shape[1:]),
            rows[list(g)], levels,
            restarts=restarts, iterations=iterations, lr=lr, on_step=on_step,
        )
        for g in image_groups(x.shape[0], k * restarts, max_rows)
    ]
    return WorstNoise(
        etas=tuple(float(e) for e in etas),
        perturbations=torch.cat([p.perturbations for p in parts]),
        error=torch.cat([p.error for p in parts]),
        restart=torch.cat([p.restart for p in parts]),
        evaluations=torch.cat([p.evaluations for p in parts]),
        progress=torch.cat([p.progress for p in parts]),
    )


def running_max(found: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Running maximum along the columns of (N, C) and the column attaining it; a tie goes to the later column
    (the level's own search is credited)."""
    values, source = found.clone(), torch.zeros(found.shape, dtype=torch.long)
    for c in range(1, found.shape[1]):
        keep = values[:, c] < values[:, c - 1]
        values[:, c] = torch.where(keep, values[:, c - 1], values[:, c])
        source[:, c] = torch.where(keep, source[:, c - 1], torch.full_like(source[:, c], c))
    return values, source


def nested(worst: WorstNoise) -> WorstNoise:
    """The balls ‖e‖ ≤ η‖Ax‖ are nested: a perturbation found at a smaller η is feasible at every larger one, so the
    worst case at η_k is the largest found at any η_j ≤ η_k (levels increasing; ``progress`` keeps each search's
    own record). A larger level whose own search found less than a smaller one thus never reports less."""
    if list(worst.etas) != sorted(worst.etas):
        raise ValueError(f"etas: nesting needs increasing levels, got {list(worst.etas)}")
    running, source = running_max(worst.error)
    index = source.reshape(*source.shape, *([1] * (worst.perturbations.ndim - 2)))
    return WorstNoise(
        etas=worst.etas,
        perturbations=worst.perturbations.gather(1, index.expand_as(worst.perturbations).to(worst.perturbations.device)),
        error=running,
        restart=worst.restart.gather(1, source.to(worst.restart.device)),
        evaluations=worst.evaluations,
        progress=worst.progress,
        found_at=torch.tensor(worst.etas, dtype=torch.float64)[source],
    )


def _check_inputs(
    x: torch.Tensor, etas: Sequence[float], generators: Sequence[torch.Generator], *,
    restarts: int, iterations: int, lr: float,
) -> torch.Tensor:
    check_images(x, generators, relative="relative errors")
    levels = torch.as_tensor([float(e) for e in etas], dtype=x.dtype, device=x.device)
    if levels.numel() == 0 or bool((levels <= 0).any()):
        raise ValueError(f"etas: must be positive, got {list(etas)}")
    if restarts < 1:
        raise ValueError(f"restarts: must be ≥ 1, got {restarts}")
    if iterations < 1:
        raise ValueError(f"iterations: must be ≥ 1, got {iterations}")
    if not lr > 0:
        raise ValueError(f"lr: must be > 0, got {lr}")
    return levels


def _unit_starts(y: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` uniformly random unit vectors shaped like one item's measurements y (complex when y is)."""
    real = y.real.dtype
    if y.is_complex():  # real and imaginary parts interleaved, so that draw b depends on b alone
        noise = torch.view_as_complex(torch.randn((count, *y.shape, 2), generator=generator, dtype=real))
    else:
        noise = torch.randn((count, *y.shape), generator=generator, dtype=real)
    noise = noise.to(y.device)
    return scale_items(noise, 1.0 / batch_norm2(noise))


def _search_group(
    recon: Reconstruct, x: torch.Tensor, target: torch.Tensor, y: torch.Tensor, starts: torch.Tensor, rows: torch.Tensor,
    levels: torch.Tensor, *, restarts: int, iterations: int, lr: float, on_step: Callable[[], None] | None,
) -> WorstNoise:
    """All levels and restarts of a batch of images as one batch of rows (image-major, then η, then restart)."""
    n, k = x.shape[0], levels.numel()
    per_image = k * restarts
    u = starts.reshape(n * per_image, *y.shape[1:])
    radius = (levels[None, :] * batch_norm2(y)[:, None]).repeat_interleave(restarts, dim=1).reshape(-1)
    y_rows, t_rows = y.repeat_interleave(per_image, 0), target.repeat_interleave(per_image, 0)
    image_rows = rows.repeat_interleave(per_image)
    best_u, direction = u.clone(), torch.zeros_like(u)
    best = torch.full((n * per_image,), -1.0, dtype=x.dtype, device=x.device)
    steps = []
    for _ in range(iterations):
        _, dist, grad = distance_gradient(recon, lambda w: y_rows + scale_items(w, radius), u, image_rows, t_rows)
        best = keep_better(best, best_u, dist, u)
        steps.append(best.clone())
        u, direction = normalised_ascent_step(u, grad, direction, momentum=MOMENTUM, step=lr)
        if on_step is not None:
            on_step()
    # the last step's iterate, by a forward pass only
    dist = batch_norm2(outputs(recon, y_rows + scale_items(u, radius), image_rows) - t_rows)
    best = keep_better(best, best_u, dist, u)
    trace = convergence.record(steps, best).reshape(n, k, restarts, iterations + 1).amax(dim=2)
    best = best.reshape(n, k, restarts)
    worst, which = best.max(dim=2)
    dev = best_u.device
    chosen = best_u.reshape(n, k, restarts, *y.shape[1:])[
        torch.arange(n, device=dev)[:, None], torch.arange(k, device=dev)[None, :], which
    ]
    e = scale_items(chosen.reshape(n * k, *y.shape[1:]), (levels[None, :] * batch_norm2(y)[:, None]).reshape(-1))
    return WorstNoise(
        etas=tuple(float(v) for v in levels),
        perturbations=e.reshape(n, k, *y.shape[1:]),
        error=(worst / batch_norm2(x)[:, None]).cpu(),
        restart=which.cpu(),
        evaluations=torch.full((n,), iterations * per_image, dtype=torch.long),
        progress=(trace / batch_norm2(x)[:, None, None]).cpu(),
    )
