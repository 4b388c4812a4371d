"""Image-domain worst-case perturbations: the ladder r₁ < r₂ < … of one momentum ascent, refined at each rung.

The published search maximises J(r) = ½‖f(A(x+r)) − f(Ax)‖² − (λ/2)‖r‖² by gradient
ascent with momentum, v ← γv + η∇J, r ← r + v, from r₀ = init_scale·U[0, 1), and
keeps the iterates whose size ‖r‖/‖x‖ first crosses each budget ε_j. Here:

1. Path. The same ascent with the step normalised to the current perturbation,
   v ← γv + η‖r‖·∇J/‖∇J‖. For a locally linear f the raw gradient is homogeneous
   in r, so a raw step grows r by a factor that depends on the map's gain
   (≈ 1 + η(σ² − λ)); normalised, r grows by at most η/(1 − γ) per iteration
   whatever the gain, image size or intensity scale, and the defaults (η = 0.01,
   γ = 0.9, r₀ = 0.001·U[0, 1)) cross budgets 0.01–0.04 in roughly 30–60
   iterations. λ still shapes the direction: ∇J = (JA)ᵀ(f(A(x+r)) − f(Ax)) − λr.
   Each rung is the first iterate with ‖r‖ ≥ ε‖x‖, rescaled to exactly ε‖x‖ so
   that budgets compare across images and methods. The path may use at most half
   of the evaluation budget; a budget it has not crossed by then (a map that
   shrinks perturbations, σ² < λ) is reached by rescaling the last iterate and
   marked in ``crossed_at`` with −1.
2. Refinement. Each rung is improved on its sphere ‖r‖ = ε‖x‖ by projected ascent
   with momentum on normalised gradients (``geometry.normalised_ascent_step``, step
   ``REFINE_STEP`` radii, momentum ``REFINE_MOMENTUM``): for a linear map f(y) = By
   this is power iteration on (BA)ᵀBA and reaches σ_max(BA), the ceiling of any
   attack. On a sphere the penalty (λ/2)‖r‖² is constant and drops out. Each image's remaining evaluations are split evenly among its budgets
   (the first budgets taking the remainder);
   the best iterate is kept, so a refined rung is never worse than the path's.

Cost: exactly ``max_iter`` network gradient evaluations (one forward and one
backward pass of f for one row) per image, path and refinement together, and
one forward pass per budget for the refinement's last iterate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from auditkit.attacks import convergence
from auditkit.attacks.geometry import normalised_ascent_step, scale_items, to_sphere, unit
from auditkit.attacks.objective import Reconstruct, check_images, distance_gradient, image_groups, keep_better, outputs
from auditkit.operators.base import ForwardOperator, batch_norm2

#: share of the evaluation budget the path may use before the fallback takes over.
PATH_SHARE = 0.5
#: refinement step, in units of the budget's radius (≥ 2: every iterate lands on the sphere).
REFINE_STEP = 4.0
#: refinement momentum on normalised gradients (0–0.5 converged faster than 0.9 on linear maps and a small CNN).
REFINE_MOMENTUM = 0.5


@dataclass
class Ladder:
    """The worst image-domain perturbation found at each budget, per image."""

    budgets: tuple[float, ...]
    #: (N, J, H, W) real, ‖r_ij‖ = ε_j‖x_i‖ exactly
    perturbations: torch.Tensor
    #: (N, J) ‖f(A(x + r_ij)) − f(Ax)‖ / ‖x_i‖ at the kept perturbation, as evaluated in the search
    change: torch.Tensor
    #: (N, J) the same at the rung where the path crossed the budget (before refinement)
    path_change: torch.Tensor
    #: (N, J) path iteration at which ε_j was first crossed; −1 where the last iterate was rescaled instead
    crossed_at: torch.Tensor
    #: (N,) network gradient evaluations used per image
    evaluations: torch.Tensor
    #: (N, J, T + 1) the best change / ‖x_i‖ on the sphere after each refinement evaluation, from the rung
    #: (entry 0) to ``change`` (last entry), T the most refinement iterations of any rung
    #: (``auditkit.attacks.convergence``)
    progress: torch.Tensor = convergence.record_field()

    @property
    def fallback(self) -> torch.Tensor:
        """(N, J) True where the path never crossed the budget and the rung is a rescaled last iterate."""
        return self.crossed_at < 0


def ladder_ascent(
    recon: Reconstruct,
    operator: ForwardOperator,
    x: torch.Tensor,
    budgets: Sequence[float],
    *,
    generators: Sequence[torch.Generator],
    lam: float,
    step: float,
    momentum: float,
    max_iter: int,
    init_scale: float,
    max_rows: int | None = None,
    on_step: Callable[[], None] | None = None,
) -> Ladder:
    """The ladder of worst perturbations r_ij of images x (N, H, W) at the relative ``budgets``.

    ``lam``, ``step``, ``momentum``, ``max_iter`` and ``init_scale`` are the search's settings
    (no defaults here: the manifest's ``ImageDomainAttack`` holds them); ``generators[i]`` draws
    image i's start r₀ (results for an image do not depend on which other images share its
    batch); ``max_rows`` caps the rows per call of f; ``on_step`` is called after every call
    of f with a gradient.
    """
    eps = _check_inputs(x, budgets, generators, max_iter=max_iter, init_scale=init_scale, step=step, momentum=momentum)
    shape = tuple(x.shape[1:])
    r0 = torch.stack([init_scale * torch.rand(shape, generator=g, dtype=x.dtype) for g in generators]).to(x.device)
    rows = torch.arange(x.shape[0], device=x.device)
    parts = [
        _ladder_group(
            recon, operator, x[list(g)], r0[list(g)], rows[list(g)], eps,
            lam=lam, step=step, momentum=momentum, max_iter=max_iter, on_step=on_step,
        )
        for g in image_groups(x.shape[0], len(eps), max_rows)
    ]
    return Ladder(
        budgets=tuple(float(b) for b in budgets),
        perturbations=torch.cat([p.perturbations for p in parts]),
        change=torch.cat([p.change for p in parts]),
        path_change=torch.cat([p.path_change for p in parts]),
        crossed_at=torch.cat([p.crossed_at for p in parts]),
        evaluations=torch.cat([p.evaluations for p in parts]),
        progress=convergence.concatenate([p.progress for p in parts]),
    )


def _check_inputs(
    x: torch.Tensor, budgets: Sequence[float], generators: Sequence[torch.Generator], *,
    max_iter: int, init_scale: float, step: float, momentum: float,
) -> torch.Tensor:
    check_images(x, generators, relative="relative budgets ‖r‖/‖x‖")
    eps = torch.as_tensor([float(b) for b in budgets], dtype=x.dtype, device=x.device)
    if eps.numel() == 0 or bool((eps <= 0).any()) or bool((eps[1:] <= eps[:-1]).any()):
        raise ValueError(f"budgets: must be positive and increasing, got {list(budgets)}")
    if max_iter < 1:
        raise ValueError(f"max_iter: must be ≥ 1, got {max_iter}")
    if not init_scale > 0:
        raise ValueError(f"init_scale: must be > 0 (a zero start has zero gradient), got {init_scale}")
    if not step > 0:
        raise ValueError(f"step: must be > 0, got {step}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum: must be in [0, 1), got {momentum}")
    return eps


def _ladder_group(
    recon: Reconstruct, operator: ForwardOperator, x: torch.Tensor, r0: torch.Tensor, rows: torch.Tensor,
    eps: torch.Tensor, *, lam: float, step: float, momentum: float, max_iter: int,
    on_step: Callable[[], None] | None,
) -> Ladder:
    """Path then refinement for one batch of images."""
    f0 = outputs(recon, operator.forward(x), rows)
    path_cap = int(max_iter * PATH_SHARE)
    rungs, crossed, evals = _path(
        recon, operator, x, f0, r0, rows, eps, lam=lam, step=step, momentum=momentum, cap=path_cap, on_step=on_step
    )
    refine_iters = _split_evenly(max_iter - evals, len(eps))
    best, change, path_change, trace = _refine(recon, operator, x, f0, rungs, rows, eps, refine_iters, on_step=on_step)
    evals = evals + refine_iters.sum(dim=1)
    norm_x = batch_norm2(x)
    return Ladder(
        budgets=tuple(float(e) for e in eps),
        perturbations=best,
        change=(change / norm_x[:, None]).cpu(),
        path_change=(path_change / norm_x[:, None]).cpu(),
        crossed_at=crossed.cpu(),
        evaluations=evals.cpu(),
        progress=(trace / norm_x[:, None, None]).cpu(),
    )


def _split_evenly(left: torch.Tensor, parts: int) -> torch.Tensor:
    """(N, parts) iterations: each image's ``left`` split as evenly as possible, the first budgets taking the
    remainder, so that path and refinement together use exactly ``max_iter`` evaluations."""
    base = torch.div(left, parts, rounding_mode="floor")
    extra = (torch.arange(parts, device=left.device)[None, :] < (left - base * parts)[:, None]).long()
    return base[:, None] + extra


def _path(
    recon: Reconstruct, operator: ForwardOperator, x: torch.Tensor, f0: torch.Tensor, r0: torch.Tensor,
    rows: torch.Tensor, eps: torch.Tensor, *, lam: float, step: float, momentum: float, cap: int,
    on_step: Callable[[], None] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The normalised momentum ascent; returns (rungs (N, J, H, W), crossed_at (N, J), evaluations (N,))."""
    n, n_budgets = x.shape[0], eps.numel()
    norm_x = batch_norm2(x)
    r, v = r0.clone(), torch.zeros_like(r0)
    rungs = torch.zeros((n, n_budgets, *x.shape[1:]), dtype=x.dtype, device=x.device)
    crossed = torch.full((n, n_budgets), -1, dtype=torch.long, device=x.device)
    evals = torch.zeros(n, dtype=torch.long, device=x.device)

    def record(t: int, idx: torch.Tensor) -> None:
        size = batch_norm2(r[idx])
        new = (crossed[idx] < 0) & ((size / norm_x[idx])[:, None] >= eps[None, :])
        for a, j in new.nonzero().tolist():
            i = int(idx[a])
            rungs[i, j] = r[i] * (eps[j] * norm_x[i] / size[a])
            crossed[i, j] = t

    record(0, torch.arange(n, device=x.device))
    for t in range(1, cap + 1):
        idx = (crossed < 0).any(dim=1).nonzero().flatten()
        if idx.numel() == 0:
            break
        xs = x[idx]
        _, _, grad = distance_gradient(
            recon, lambda w: operator.forward(xs + w), r[idx], rows[idx], f0[idx], penalty=lam
        )
        v[idx] = momentum * v[idx] + scale_items(unit(grad), step * batch_norm2(r[idx]))
        r[idx] = r[idx] + v[idx]
        evals[idx] += 1
        record(t, idx)
        if on_step is not None:
            on_step()
    for i, j in (crossed < 0).nonzero().tolist():
        rungs[i, j] = to_sphere(r[i : i + 1], (eps[j] * norm_x[i]).reshape(1))[0]
    return rungs, crossed, evals


def _refine(
    recon: Reconstruct, operator: ForwardOperator, x: torch.Tensor, f0: torch.Tensor, rungs: torch.Tensor,
    rows: torch.Tensor, eps: torch.Tensor, iters: torch.Tensor, *, on_step: Callable[[], None] | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sphere ascent from every rung, ``iters`` (N, J) steps each; returns (best r (N, J, H, W), its ‖Δf‖ (N, J),
    the rung's ‖Δf‖ (N, J), the best ‖Δf‖ after each evaluation (N, J, T + 1))."""
    n, n_budgets = x.shape[0], eps.numel()
    radius = (eps[None, :] * batch_norm2(x)[:, None]).reshape(-1)
    u = scale_items(rungs.reshape(n * n_budgets, *x.shape[1:]), 1.0 / radius)
    x_rows, f0_rows = x.repeat_interleave(n_budgets, 0), f0.repeat_interleave(n_budgets, 0)
    image_rows, row_iters = rows.repeat_interleave(n_budgets), iters.reshape(-1)
    best_u, direction = u.clone(), torch.zeros_like(u)
    best = torch.full((n * n_budgets,), -1.0, dtype=x.dtype, device=x.device)
    first = torch.zeros_like(best)
    steps = []
    for t in range(int(row_iters.max()) if row_iters.numel() else 0):
        idx = (row_iters > t).nonzero().flatten()
        xs, rad = x_rows[idx], radius[idx]
        _, dist, grad = distance_gradient(
            recon, lambda w: operator.forward(xs + scale_items(w, rad)), u[idx], image_rows[idx], f0_rows[idx]
        )
        if t == 0:
            first[idx] = dist
        better = dist > best[idx]
        best_u[idx[better]] = u[idx[better]]
        best[idx] = torch.maximum(best[idx], dist)
        steps.append(best.clone())
        u[idx], direction[idx] = normalised_ascent_step(
            u[idx], grad, direction[idx], momentum=REFINE_MOMENTUM, step=REFINE_STEP
        )
        if on_step is not None:
            on_step()
    # the last step's iterate (or the rung, for a row without iterations) by a forward pass only
    dist = batch_norm2(outputs(recon, operator.forward(x_rows + scale_items(u, radius)), image_rows) - f0_rows)
    first = torch.where(row_iters > 0, first, dist)
    best = keep_better(best, best_u, dist, u)
    trace = convergence.record(steps, best, row_iters).reshape(n, n_budgets, -1)
    perturbations = to_sphere(best_u, radius).reshape(n, n_budgets, *x.shape[1:])
    return perturbations, best.reshape(n, n_budgets), first.reshape(n, n_budgets), trace
