"""Check 6 — the accuracy–stability trade-off: how fast does the worst-case error grow with the noise level?

For every test image x (y = Ax) and noise level η of the manifest, both subjects get
the worst-case relative error

    E(η) = max over ‖e‖ ≤ η‖y‖ of ‖|f(y + e)| − x‖ / ‖x‖

(``metrics.relative_error``: the modulus of a complex reconstruction against the
real x). At η = 0 the ball holds e = 0 only: E(0) is the unperturbed error, no
search. For η > 0, e is searched by ``auditkit.attacks.projected_ascent`` (worst of
several restarts) on |f|, so that the search maximises the very error reported, and
the reconstruction at the e found is evaluated once more. The balls are
nested and all hold e = 0, so anything found at a smaller level (or e = 0) is also
admissible at a larger one: the value kept at η is the largest error found at any
level ≤ η, which makes every curve non-decreasing; each per-image entry records the
level whose search supplied it (``found_at_eta``).

Summary per subject: ``worst_case_error_by_eta`` — {f"{η:g}": {mean, std, min, max}}
over the images (population std) — ``relative_error_unperturbed`` likewise, and two
empirical local Lipschitz constants of the mean curve m(η), in relative error per
relative noise (‖·‖/‖x‖ per ‖e‖/‖Ax‖):

    local_lipschitz      (m(η₁) − m(0)) / η₁, η₁ the smallest positive level;
    local_lipschitz_fit  the least-squares slope (with intercept) of m over
                         η = 0 and the first two positive levels
                         (``local_lipschitz_etas``), less sensitive to one point.

They are lower estimates of how much f amplifies noise: by the triangle inequality
E(η) − E(0) ≤ max ‖f(y + e) − f(y)‖/‖x‖ ≤ L_ε(f, y) · η‖y‖/‖x‖ (L_ε the local
ε-Lipschitz constant of f at y, ε = η‖y‖), so the slope is at most L_ε‖y‖/‖x‖. The
error can grow more slowly than the reconstruction changes — for the zero-filled
reconstruction A*(y + e) the change A*e is orthogonal to the complex error A*y − x
(which lies in ker A), so ‖A*(y + e) − x‖ rises only like a hypotenuse — and the
adversarial check reports the amplification ‖f(y + e) − f(y)‖/‖e‖ itself.

Criterion, per level (k = ``k_baseline``):

    tradeoff.error_vs_baseline[eta=η]   m_network(η) ≤ k · m_baseline(η)

with m the mean worst-case relative error over the images, and likewise

    tradeoff.local_error_vs_baseline[eta=η]   l_network(η) ≤ k · l_baseline(η)

with l the mean over the images of the RMS of |f(Ax + e)| − x on the worst s×s patch (s =
``patch_size``) at the kept e: an error gathered in a lesion-sized area, which m dilutes. At η = 0 this compares
accuracy, at η > 0 accuracy under the worst noise: a network far more accurate than
the baseline passes at η = 0 trivially, one much less accurate fails there, and a
network that buys its accuracy with instability — the trade-off of the
troublesome-kernel paper — passes at η = 0 and fails from some η on. The plot of
both curves shows where.

Quick mode: the first image, one restart of at most 30 iterations, and at
most 3 levels: the smallest, the middle (index ⌊K/2⌋) and the largest of the K
configured (0, 0.04 and 0.08 for the defaults).

Cost per subject: restarts × iterations network gradient evaluations per image and
positive level (batched), plus one forward pass per image and level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from auditkit.attacks import evaluate, projected_ascent
from auditkit.attacks.projected import running_max
from auditkit.attacks.convergence import half_budget_share, record_field
from auditkit.attacks.objective import image_groups, rows_per_call
from auditkit.checks.base import (
    Arrays, AuditContext, Check, Selection, Subject, by_image, climbing_note, effective_parameters, guarded_recon,
    quick_cap, setting_key,
)
from auditkit.checks.result import CheckResult, Criterion, SubjectResult
from auditkit.checks.units import Unit, first_image
from auditkit.manifest.models import TradeoffConfig
from auditkit.metrics import largest_patch_rms, relative_error
from auditkit.stats import mean_interval, spread

CHECK_NAME = "tradeoff"
#: salt of ``ctx.generator`` for the attack's random starts (then the image's index in the test set).
SALT = 6_001
#: quick mode: iterations, restarts and levels capped at these.
QUICK_ITERATIONS, QUICK_RESTARTS, QUICK_LEVELS = 30, 1, 3
#: positive levels used by the least-squares slope (with η = 0).
FIT_LEVELS = 2


def quick_levels(etas: Sequence[float]) -> tuple[float, ...]:
    """At most ``QUICK_LEVELS`` levels: the smallest, the middle (index ⌊K/2⌋) and the largest."""
    levels = tuple(float(e) for e in etas)
    if len(levels) <= QUICK_LEVELS:
        return levels
    return (levels[0], levels[len(levels) // 2], levels[-1])


@dataclass(frozen=True)
class Settings:
    """The effective parameters of one run (the manifest's, reduced in quick mode)."""

    etas: tuple[float, ...]
    k_baseline: float
    restarts: int
    iterations: int
    lr: float
    patch_size: int

    @classmethod
    def from_config(cls, config: TradeoffConfig, quick: bool) -> "Settings":
        etas = tuple(float(e) for e in config.etas)
        if not etas or any(e < 0 for e in etas) or any(b <= a for a, b in zip(etas, etas[1:])):
            raise ValueError(f"etas: must be non-negative and strictly increasing, got {list(etas)}")
        return cls(
            etas=quick_levels(etas) if quick else etas,
            k_baseline=float(config.k_baseline),
            restarts=quick_cap(config.restarts, QUICK_RESTARTS, quick),
            iterations=quick_cap(config.iterations, QUICK_ITERATIONS, quick),
            lr=float(config.lr),
            patch_size=int(config.patch_size),
        )

    @property
    def positive(self) -> tuple[float, ...]:
        """The levels that need a search (η > 0)."""
        return tuple(e for e in self.etas if e > 0)


@dataclass
class Curve:
    """One subject's worst-case errors at every level, per image, and its reconstructions of the first image."""

    unperturbed: torch.Tensor  # (N,) E(0)
    errors: torch.Tensor  # (N, K) E(η_k), non-decreasing in k
    found_at: torch.Tensor  # (N, K) the level whose search supplied E(η_k) (0.0: e = 0)
    restart: torch.Tensor  # (N, K) the restart of that search (−1: e = 0)
    local_errors: torch.Tensor  # (N, K) RMS of |f(Ax + e)| − x on the worst patch, at the kept e
    progress: torch.Tensor = record_field()  # (N, P, T + 1) each positive level's search: worst error so far
    example_clean: torch.Tensor = first_image()  # (H, W) f(A x₀)
    example_worst: torch.Tensor = first_image()  # (H, W) f(A x₀ + e) at the largest level's kept e


class TradeoffCheck(Check[TradeoffConfig]):
    """Worst-case relative error against the noise level, network against baseline."""

    name = CHECK_NAME
    title = "Accuracy–stability trade-off"
    raw_measured = "every reconstruction: E(η) searched from the acquired y, ‖e‖ ≤ η‖y‖"
    raw_simulated = ""

    def gradient_evaluations(self, ctx: AuditContext, config: TradeoffConfig, unit: Unit) -> int:
        """``restarts × iterations`` per positive level (η = 0 needs no search)."""
        s = Settings.from_config(config, ctx.quick)
        return len(s.positive) * s.restarts * s.iterations

    def measure(self, ctx: AuditContext, config: TradeoffConfig, subject: Subject, images: Selection) -> Curve:
        return _curve(subject, ctx, images, Settings.from_config(config, ctx.quick))

    def decide(
        self, ctx: AuditContext, config: TradeoffConfig, images: Selection, measured: Mapping[str, Curve], compared: None
    ) -> CheckResult:
        s = Settings.from_config(config, ctx.quick)
        ids = images.ids
        curves = dict(measured)
        return self.result(
            ctx,
            criteria=_criteria(curves["network"], curves["baseline"], s, images.ids),
            subjects={subject.key: _subject_result(subject, curves[subject.key], ids, s) for subject in ctx.subjects()},
            parameters=_parameters(config, s, ids, ctx.quick),
            notes=_notes(curves, ids, s, ctx.quick),
            arrays=lambda: _arrays(images.x, ids, s, curves),
        )


# -- measuring ------------------------------------------------------------------------------------


def _curve(subject: Subject, ctx: AuditContext, images: Selection, s: Settings) -> Curve:
    """E(η) of ``subject`` on every image and level: the unperturbed error, the searches, the running maximum.

    f is taken as |f| (``modulus``), so that the attack maximises the error that is
    reported, ‖|f(y + e)| − x‖ for the real x.
    """
    op, max_rows = ctx.operator, rows_per_call(ctx.operator.image_shape)
    x, indices = images.x, images.indices
    recon = guarded_recon(subject.fmap, check=CHECK_NAME, image_ids=images.ids, subject=subject.key, modulus=True)
    n, positive = x.shape[0], s.positive
    y = ctx.measurements(op, images)
    image_rows = torch.arange(n, device=x.device)
    clean = evaluate(recon, y, image_rows, max_rows)
    candidates = [relative_error(clean, x).double().cpu()]  # column 0: e = 0
    local = [largest_patch_rms(clean - x, s.patch_size).double().cpu()]
    restarts = [torch.full((n,), -1, dtype=torch.long)]
    worst_outputs = [clean]
    progress = torch.zeros((n, 0, 1), dtype=torch.float64)
    if positive:
        calls = len(image_groups(n, len(positive) * s.restarts, max_rows)) * s.iterations
        with ctx.progress.task(f"{CHECK_NAME}: {subject.key}, projected attack", total=calls) as task:
            noise = projected_ascent(
                recon, op, x, positive, generators=[ctx.generator(SALT, i) for i in indices], restarts=s.restarts,
                iterations=s.iterations, lr=s.lr, max_rows=max_rows, on_step=task.advance, y=y,
            )
        p = len(positive)
        e = noise.perturbations.reshape(n * p, *y.shape[1:])
        rows = image_rows.repeat_interleave(p)
        out = evaluate(recon, y.repeat_interleave(p, 0) + e, rows, max_rows).reshape(n, p, *x.shape[1:])
        errs = relative_error(out.reshape(n * p, *x.shape[1:]), x.repeat_interleave(p, 0)).double().cpu()
        candidates.extend(errs.reshape(n, p).unbind(1))
        diff = (out - x[:, None]).reshape(n * p, *x.shape[1:])
        local.extend(largest_patch_rms(diff, s.patch_size).double().cpu().reshape(n, p).unbind(1))
        restarts.extend(noise.restart.long().reshape(n, p).unbind(1))
        worst_outputs.extend(out.unbind(1))
        progress = noise.progress.double()
    found = torch.stack(candidates, dim=1)  # (N, 1 + P): e = 0, then each positive level
    running, source = running_max(found)
    columns = [0 if eta == 0 else 1 + positive.index(eta) for eta in s.etas]
    levels = torch.tensor((0.0, *positive), dtype=torch.float64)
    source = source[:, columns]
    last = int(source[0, -1])
    return Curve(
        unperturbed=found[:, 0],
        errors=running[:, columns],
        found_at=levels[source],
        restart=torch.stack(restarts, dim=1).gather(1, source),
        local_errors=torch.stack(local, dim=1).gather(1, source),
        progress=progress,
        example_clean=clean[0],
        example_worst=worst_outputs[last][0],
    )


# -- slopes and criteria ----------------------------------------------------------------------------


def lipschitz_slopes(etas: Sequence[float], means: Sequence[float], unperturbed: float) -> dict[str, Any]:
    """The secant slope (m(η₁) − m(0))/η₁ and the least-squares slope of m over η = 0 and the first
    ``FIT_LEVELS`` positive levels; None when no level is positive."""
    points = [(0.0, float(unperturbed))] + [(float(e), float(m)) for e, m in zip(etas, means) if e > 0]
    if len(points) < 2:
        return {"local_lipschitz": None, "local_lipschitz_fit": None, "local_lipschitz_etas": []}
    (e0, m0), (e1, m1) = points[0], points[1]
    fit = np.asarray(points[: 1 + FIT_LEVELS], dtype=np.float64)
    slope = float(np.polyfit(fit[:, 0], fit[:, 1], 1)[0]) if len(fit) > 2 else (m1 - m0) / (e1 - e0)
    return {
        "local_lipschitz": (m1 - m0) / (e1 - e0),
        "local_lipschitz_fit": slope,
        "local_lipschitz_etas": [float(e) for e in fit[:, 0]],
    }


def _criteria(net: Curve, base: Curve, s: Settings, ids: list[str]) -> list[Criterion]:
    k = s.k_baseline
    criteria = []
    for j, eta in enumerate(s.etas):
        m_net, m_base = float(net.errors[:, j].mean()), float(base.errors[:, j].mean())
        interval = mean_interval(net.errors[:, j].numpy())
        ci = "" if interval is None else (
            f" The network's mean over the {len(ids)} images is {m_net:.4g}, 95 % interval {interval[0]:.4g}–"
            f"{interval[1]:.4g} (Student t, were the images a random sample of those the device will see, which a "
            f"test set drawn from few sources is not); the verdict uses the mean, the interval shows how much it "
            f"rests on these images."
        )
        key = setting_key(eta)
        setting = (
            "without noise (η = 0: accuracy)" if eta == 0
            else f"under the worst noise e with ‖e‖ ≤ {key}·‖Ax‖ found by the projected attack"
        )
        criteria.append(Criterion.evaluate(
            f"tradeoff.error_vs_baseline[eta={key}]",
            f"Relative error ‖|f(Ax + e)| − x‖/‖x‖ {setting}, averaged over the images: the network's must be "
            f"at most {k:g} × the baseline's ({m_base:.4g}).{ci}",
            m_net, k * m_base, compares_to_baseline=True,
            per_image=by_image(ids, net.errors[:, j]),
        ))
        l_net, l_base = float(net.local_errors[:, j].mean()), float(base.local_errors[:, j].mean())
        criteria.append(Criterion.evaluate(
            f"tradeoff.local_error_vs_baseline[eta={key}]",
            f"Local error {setting}: E_loc = max over {s.patch_size}×{s.patch_size} patches P of the RMS of |f(Ax + e)| − x "
            f"on P (intensity units; the images span [0, 1]), at the noise kept for the relative error, averaged over "
            f"the images: the network's must be at most {k:g} × the baseline's ({l_base:.4g}). It catches an error "
            f"gathered in a lesion-sized area, which the relative error dilutes.",
            l_net, k * l_base, compares_to_baseline=True,
            per_image=by_image(ids, net.local_errors[:, j]),
        ))
    return criteria


# -- evidence -------------------------------------------------------------------------------------


def _subject_result(subject: Subject, curve: Curve, ids: list[str], s: Settings) -> SubjectResult:
    """Summary (statistics over the images per level, the slopes) and one row per image."""
    by_eta = {setting_key(eta): spread(curve.errors[:, j].numpy()) for j, eta in enumerate(s.etas)}
    share = half_budget_share(curve.progress)
    unperturbed = spread(curve.unperturbed.numpy())
    summary: dict[str, Any] = {
        "worst_case_error_by_eta": by_eta,
        "relative_error_unperturbed": unperturbed,
        "local_error_by_eta": {setting_key(eta): spread(curve.local_errors[:, j].numpy()) for j, eta in enumerate(s.etas)},
        **lipschitz_slopes(s.etas, [by_eta[setting_key(e)]["mean"] for e in s.etas], unperturbed["mean"]),
        "share_at_half_budget": {
            setting_key(eta): float(share[:, j].min()) for j, eta in enumerate(s.positive)
        },
    }
    rows = []
    for i, image_id in enumerate(ids):
        per_level = {}
        for j, eta in enumerate(s.etas):
            restart = int(curve.restart[i, j])
            per_level[setting_key(eta)] = {
                "relative_error": float(curve.errors[i, j]),
                "local_error": float(curve.local_errors[i, j]),
                "found_at_eta": float(curve.found_at[i, j]),
                "restart": restart if restart >= 0 else None,
            }
        rows.append({
            "image": image_id,
            "relative_error_unperturbed": float(curve.unperturbed[i]),
            "worst_case_error": per_level,
        })
    return SubjectResult(name=subject.name, summary=summary, per_image=rows)


def _parameters(config: TradeoffConfig, s: Settings, ids: list[str], quick: bool) -> dict[str, Any]:
    return effective_parameters(
        config, ids, quick,
        etas=list(s.etas), restarts=s.restarts, iterations=s.iterations, lr=s.lr, k_baseline=s.k_baseline,
    )


def _notes(curves: dict[str, Curve], ids: list[str], s: Settings, quick: bool) -> list[str]:
    notes = []
    if quick:
        notes.append(
            f"quick mode: {len(ids)} image(s), levels {', '.join(setting_key(e) for e in s.etas)}, "
            f"{s.restarts} restart(s) × {s.iterations} iterations per level"
        )
    for key, curve in curves.items():
        etas = torch.tensor(s.etas, dtype=torch.float64)
        carried = (curve.found_at < etas[None, :]) & (etas[None, :] > 0)
        if bool(carried.any()):
            where = "; ".join(
                f"η = {setting_key(eta)} on {', '.join(ids[i] for i in carried[:, j].nonzero().flatten().tolist())}"
                for j, eta in enumerate(s.etas) if bool(carried[:, j].any())
            )
            notes.append(
                f"{key}: the search at a level found a smaller error than at a lower level or without noise ({where}); "
                f"the larger error is kept (the smaller ball lies inside the larger). Too few iterations or restarts, "
                f"or a map whose error noise reduces"
            )
        note = climbing_note(key, "projected attack", half_budget_share(curve.progress), ids,
                             [setting_key(e) for e in s.positive])
        if note is not None:
            notes.append(note)
    return notes


def _arrays(x: torch.Tensor, ids: list[str], s: Settings, curves: dict[str, Curve]) -> Arrays:
    """The curves per image and the first image's reconstructions, clean and at the largest level's worst noise."""
    net, base = curves["network"], curves["baseline"]
    return {CHECK_NAME: dict(
        image_ids=np.asarray([str(i) for i in ids], dtype=str),
        etas=torch.tensor(s.etas, dtype=torch.float64),
        network_error=net.errors,
        baseline_error=base.errors,
        searched_etas=torch.tensor(s.positive, dtype=torch.float64),
        network_progress=net.progress,
        baseline_progress=base.progress,
        x=x[0],
        network_clean=net.example_clean,
        network_worst=net.example_worst,
        baseline_clean=base.example_clean,
        baseline_worst=base.example_worst,
    )}
