"""Check 4 — random noise: are harmful reconstructions rare events?

Part 1, measurement noise. For each test image x with y = A x, both subjects
reconstruct y + e for many independent draws of zero-mean Gaussian noise e at each
level η of the manifest, and the relative change

    c = ‖f(y + e) − f(y)‖ / ‖f(y)‖

is recorded. A draw is harmful when c > τ, with τ per image and level

    τ = k_baseline · max(m_base, η),

m_base the baseline's median change over the same draws of the same image at the same
level: harmful means more than k times what the compressed-sensing baseline typically
suffers from noise of this size, and more than k times the noise level itself (about
the change of a method that passes the noise through, ‖A*e‖/‖A*y‖ ≈ η where A A* = I).
k = 2 is the factor of every baseline comparison of the audit. (A fixed τ, the
manifest's ``threshold``, replaces this rule when set: it is then the vendor's stated
risk choice. The former default, 0.2, was five times the largest change observed on the
mri_unet sample, so no network of that kind could fail it.) Per image and level, the
fraction of harmful draws k/n gets its exact Clopper–Pearson interval
(``auditkit.stats``) at the manifest's confidence.

Noise model. e = σ g with g a standard Gaussian vector of the measurement space —
real entries N(0, 1), complex entries with real and imaginary parts each N(0, ½),
so E|g_j|² = 1 either way — and σ = η‖Ax‖/√m for m measurement entries, so that
E‖e‖² = η²‖Ax‖². The noise is Gaussian as in the theory ("not rare events" holds
for any density that is positive everywhere), rather than rescaled to an exact
norm: ‖e‖/‖Ax‖ concentrates at η with relative standard deviation about 1/(2√m)
(complex) or 1/√(2m) (real), e.g. 1.6 % at m = 1000 complex entries; the realised
sizes are saved with the arrays. The same draws g (one block per image, scaled for
every level) are given to the network and to the baseline: they face identical noise.

Criterion, per level: ``noise.exceedance_upper_bound[level=η]`` — on the image where
it is largest, the upper end of the network's Clopper–Pearson interval of the
harmful-draw probability must be ≤ ``max_probability``. Worst image rather than
pooled: the probability is a property of one acquisition, and a reader must be able
to say *which* scan random noise harms. The baseline's numbers are reported beside
(not a criterion: the bound is absolute); when the baseline also exceeds it, a note
says that the level may be beyond what these measurements tolerate.

Part 2, survival around the worst case (the published robustness experiment). Each
subject's own smallest worst-case image perturbation r₁ (‖r₁‖ = ε₁‖x‖) is found by
the image-domain momentum ascent of ``auditkit.attacks.momentum`` — run here, since
checks do not read each other's results — and Gaussian images v with exactly
‖v‖ = ρ‖r₁‖ (ρ from ``survival_ratios``) are added to it. The artefact survives a draw
when the change it causes is still at least half the worst case:

    ‖f(A(x + r₁ + v)) − f(Ax)‖ ≥ ½ ‖f(A(x + r₁)) − f(Ax)‖.

The surviving fraction and its interval are reported, not judged: for any map that
is locally linear around x (the baseline, a stable network) the artefact survives
almost always, so a high value says that the worst case is not a knife-edge, not
that the method is unstable; the size of the worst case is the adversarial check's
business. All three reconstructions use the subject's ordinary (no-gradient) path; an
iterative baseline starts the draws' solves from the solution they perturb, f(Ax) for
the noise draws and f(A(x + r₁)) for the survival draws (``reconstruction.starting_at``),
which reach the same stopping rule in a fraction of the iterations.

Cost: network/baseline evaluations = images × levels × draws (batched, ``batch_size``
rows per call, under ``torch.no_grad``) plus, per subject, ``survival_iterations``
gradient evaluations per image and images × ratios × draws for the survival draws.
Quick mode uses the first image, ``QUICK_DRAWS`` draws (but never fewer than can
pass, see below, nor more than configured) and ``QUICK_SURVIVAL_ITERATIONS`` ascent
iterations.

How many draws. With no harmful draw among n, the upper end is 1 − (α/2)^{1/n}
(α = 1 − confidence), so the criterion can only pass when
n ≥ ln(α/2)/ln(1 − max_probability) — 72 draws for the defaults (0.95, 0.05). With
fewer draws the check cannot pass whatever the network does; a note says so. That
smallest attainable upper end, 1 − (α/2)^{1/n}, is the smallest harmful-draw
probability the run can certify (0.0148 for 200 draws, 0.0499 for quick mode's 72);
it is recorded (``certifiable_probability``) and stated in a note.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Mapping, Sequence

import numpy as np
import torch

from auditkit.attacks.momentum import ladder_ascent
from auditkit.checks.base import (
    Arrays, AuditContext, Check, Selection, Subject, by_image, effective_parameters, guarded_call, guarded_recon,
    quick_cap, setting_key,
)
from auditkit.checks.result import CheckResult, Criterion, SubjectResult
from auditkit.checks.units import Unit
from auditkit.manifest.models import ImageDomainAttack, NoiseConfig, fewest_draws
from auditkit.metrics import norms64
from auditkit.operators.base import ForwardOperator, batch_norm2
from auditkit.reconstruction import starting_at
from auditkit.stats import Proportion, distribution_summary

#: draws per image and level in quick mode: at most the configured draws, at least the fewest that can pass.
QUICK_DRAWS = 50
#: gradient evaluations of the survival ascent per image in quick mode (at most).
QUICK_SURVIVAL_ITERATIONS = 16
#: an artefact survives a draw when the change is at least this fraction of the worst case's.
SURVIVAL_FRACTION = 0.5
#: seed salts (``ctx.generator``): measurement noise, survival ascent start, survival draws.
SALT_NOISE, SALT_ASCENT, SALT_SURVIVAL = 4101, 4102, 4103

CHECK_NAME = "noise"

Call = Callable[[torch.Tensor, list[str]], torch.Tensor]


# -- the noise model ---------------------------------------------------------------------------


def standard_noise(
    operator: ForwardOperator, draws: int, generator: torch.Generator, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """g, shape (draws, *measurement_shape): entries N(0, 1), or complex with parts N(0, ½) (E|g_j|² = 1).

    Drawn on the CPU from ``generator`` in one block, so the draws do not depend on
    how they are later batched.
    """
    real = dtype or operator.real_dtype
    shape = (int(draws), *operator.measurement_shape)
    g = torch.randn(shape, generator=generator, dtype=real)
    if operator.is_complex:
        g = torch.complex(g, torch.randn(shape, generator=generator, dtype=real)) / math.sqrt(2.0)
    return g


def noise_scale(level: float, y: torch.Tensor) -> float:
    """σ = η‖y‖/√m for one measurement vector y (m entries): E‖σ g‖² = η²‖y‖²."""
    return float(level) * float(torch.linalg.vector_norm(y)) / math.sqrt(y.numel())


# -- measuring the relative change under noise -------------------------------------------------


def relative_changes(
    call: Call,
    y: torch.Tensor,
    g: torch.Tensor,
    scales: Sequence[float],
    *,
    batch_size: int,
    labels: Callable[[int, int], str] = lambda level, draw: f"level {level}, draw {draw}",
    on_batch: Callable[[], None] | None = None,
    start_at: Callable[[torch.Tensor, torch.Tensor], ContextManager[object]] = lambda image, y: nullcontext(),
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """(c, f(y), worst) for one measurement vector y (*meas) and draws g (D, *meas).

    c[l, d] = ‖f(y + s_l g_d) − f(y)‖ / ‖f(y)‖ in float64, shape (L, D), evaluated
    ``batch_size`` draws per call of f under ``torch.no_grad``; ``worst[l]`` is the
    output (H, W) of the draw with the largest change at level l. ``call(y, labels)``
    reconstructs a batch (labels name its rows for error messages); ``on_batch`` is
    called after each batch of draws (progress). The draws are reconstructed inside
    ``start_at(f(y), y)`` (an iterative method starts them from f(y); see
    ``reconstruction.starting_at``). A zero f(y) makes
    every non-zero change count as +huge (the ratio's denominator is floored at the
    smallest positive float), never NaN.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be ≥ 1, got {batch_size}")
    draws = g.shape[0]
    with torch.no_grad():
        f0 = call(y.unsqueeze(0), ["no noise"])[0]
        ref = max(float(norms64(f0.unsqueeze(0))), np.finfo(np.float64).tiny)
        changes = torch.empty((len(scales), draws), dtype=torch.float64)
        worst: list[torch.Tensor] = []
        with start_at(f0, y):
            for li, scale in enumerate(scales):
                best, best_out = -1.0, f0
                for start in range(0, draws, batch_size):
                    stop = min(start + batch_size, draws)
                    ys = y.unsqueeze(0) + float(scale) * g[start:stop].to(device=y.device, dtype=y.dtype)
                    out = call(ys, [labels(li, d) for d in range(start, stop)])
                    c = (norms64(out - f0.unsqueeze(0)) / ref).cpu()
                    changes[li, start:stop] = c
                    top = int(torch.argmax(c))
                    if float(c[top]) > best:
                        best, best_out = float(c[top]), out[top].detach().clone()
                    if on_batch is not None:
                        on_batch()
                worst.append(best_out)
    return changes, f0.detach(), worst


def _guarded(subject: Subject, image_id: str) -> Call:
    """f through ``guarded_call``, naming the image and the draw when the output is NaN/Inf or misshapen."""

    def call(y: torch.Tensor, labels: list[str]) -> torch.Tensor:
        return guarded_call(
            subject.fmap, y, check=CHECK_NAME, image_ids=[f"{image_id} ({lab})" for lab in labels], subject=subject.key
        )

    return call


# -- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    """The effective parameters after defaults and quick mode."""

    levels: tuple[float, ...]
    draws: int
    k_baseline: float
    threshold: float | None
    max_probability: float
    confidence: float
    batch_size: int
    survival_ratios: tuple[float, ...]
    survival_budget: float
    survival_iterations: int

    @property
    def certifiable(self) -> float:
        """The smallest upper end any run of ``draws`` draws can reach (none harmful): 1 − (α/2)^{1/n}."""
        return 1.0 - ((1.0 - self.confidence) / 2.0) ** (1.0 / self.draws)

    @classmethod
    def of(cls, config: NoiseConfig, quick: bool) -> "_Settings":
        draws = int(config.draws)
        if quick:
            need = fewest_draws(float(config.max_probability), float(config.confidence))
            draws = min(draws, max(QUICK_DRAWS, need or 0))
        return cls(
            levels=tuple(float(v) for v in config.levels),
            draws=draws,
            k_baseline=float(config.k_baseline),
            threshold=None if config.threshold is None else float(config.threshold),
            max_probability=float(config.max_probability),
            confidence=float(config.confidence),
            batch_size=int(config.batch_size),
            survival_ratios=tuple(float(v) for v in config.survival_ratios),
            survival_budget=float(config.survival_budget),
            survival_iterations=quick_cap(config.survival_iterations, QUICK_SURVIVAL_ITERATIONS, quick),
        )


# -- survival of the worst case ----------------------------------------------------------------


@dataclass
class _Survival:
    """One subject, one image: the worst case r₁ and the change of each noisy draw around it."""

    r1: torch.Tensor  # (H, W)
    worst_change: float  # ‖f(A(x + r₁)) − f(Ax)‖ / ‖f(Ax)‖
    change: torch.Tensor  # (R, D) ‖f(A(x + r₁ + v)) − f(Ax)‖ / ‖f(Ax)‖
    survived: list[Proportion] = field(default_factory=list)  # one per ratio


def _worst_perturbations(subject: Subject, ctx: AuditContext, images: Selection, budget: float, iters: int) -> torch.Tensor:
    """r₁ (N, H, W) per image: the ladder ascent at the single budget ε₁, with the adversarial defaults."""
    attack = ImageDomainAttack()
    labels = [f"{image_id} (worst-case search)" for image_id in images.ids]
    ladder = ladder_ascent(
        guarded_recon(subject.fmap, check=CHECK_NAME, image_ids=labels, subject=subject.key),
        ctx.operator,
        images.x,
        [budget],
        generators=[ctx.generator(SALT_ASCENT, i) for i in images.indices],
        lam=attack.lam,
        step=attack.step,
        momentum=attack.momentum,
        max_iter=iters,
        init_scale=attack.init_scale,
    )
    return ladder.perturbations[:, 0].detach()


def _survival(
    subject: Subject, ctx: AuditContext, s: _Settings, x: torch.Tensor, r1: torch.Tensor, image_id: str, index: int
) -> _Survival:
    """Changes of f(A(x + r₁ + v)) for Gaussian v with ‖v‖ = ρ‖r₁‖ exactly, for every ρ of ``survival_ratios``."""
    op = ctx.operator
    ratios, draws, batch_size = s.survival_ratios, s.draws, s.batch_size
    call = _guarded(subject, image_id)
    change = torch.empty((len(ratios), draws), dtype=torch.float64)
    norm_r1 = float(norms64(r1.unsqueeze(0)))
    with torch.no_grad():
        f0 = call(op.forward(x.unsqueeze(0)), ["no perturbation"])[0]
        ref = max(float(norms64(f0.unsqueeze(0))), np.finfo(np.float64).tiny)
        y1 = op.forward((x + r1).unsqueeze(0))
        f1 = call(y1, ["worst case r1"])[0]
        y1 = y1[0]
        worst = float(norms64((f1 - f0).unsqueeze(0))) / ref
        for ri, ratio in enumerate(ratios):
            g = ctx.generator(SALT_SURVIVAL, index, ri)
            v = torch.randn((draws, *x.shape), generator=g, dtype=x.dtype).to(x.device)
            v = v * (ratio * norm_r1 / batch_norm2(v)).reshape(-1, 1, 1).to(v.dtype)
            with starting_at(subject.fmap, f1, y1):
                for start in range(0, draws, batch_size):
                    stop = min(start + batch_size, draws)
                    ys = op.forward(x + r1 + v[start:stop])
                    out = call(ys, [f"worst case r1 + noise {ratio:g}·‖r1‖, draw {d}" for d in range(start, stop)])
                    change[ri, start:stop] = (norms64(out - f0.unsqueeze(0)) / ref).cpu()
    survived = [
        Proportion.of_flags((change[ri] >= SURVIVAL_FRACTION * worst).numpy(), s.confidence) for ri in range(len(ratios))
    ]
    return _Survival(r1.detach().cpu(), worst, change, survived)


# -- the check ---------------------------------------------------------------------------------


@dataclass
class _Measured:
    """One subject: changes (N, L, D), f(y) (N, H, W), worst draw at the top level (N, H, W), survival per image,
    and the realised noise sizes ‖e‖/‖Ax‖ (N, L, D) of the draws (the same for both subjects)."""

    changes: torch.Tensor
    f0: torch.Tensor
    worst_draw: torch.Tensor
    survival: list[_Survival] | None
    noise_size: torch.Tensor | None = None


class NoiseCheck(Check[NoiseConfig]):
    """Gaussian measurement noise, many draws: how often is the reconstruction changed by more than a threshold τ?"""

    name = CHECK_NAME
    title = "Random noise (not rare events)"
    raw_measured = "the noise draws: y + e with the acquired y, σ from ‖y‖"
    raw_simulated = "the survival part: y = A(x + r₁ + v) from the reference image x"

    def gradient_evaluations(self, ctx: AuditContext, config: NoiseConfig, unit: Unit) -> int:
        """The survival part's worst-case search (``survival_iterations``), when it runs; the draws need none."""
        s = _Settings.of(config, ctx.quick)
        return s.survival_iterations if s.survival_ratios else 0

    def measure(self, ctx: AuditContext, config: NoiseConfig, subject: Subject, images: Selection) -> _Measured:
        s = _Settings.of(config, ctx.quick)
        y = ctx.measurements(ctx.operator, images)
        g = [standard_noise(ctx.operator, s.draws, ctx.generator(SALT_NOISE, i)) for i in images.indices]
        scales = [[noise_scale(level, y[n]) for level in s.levels] for n in range(len(images.ids))]
        measured = self._measure(subject, ctx, s, images, y, g, scales)
        measured.noise_size = torch.stack(
            [torch.tensor(sc, dtype=torch.float64)[:, None] * batch_norm2(gi).double()[None, :] for sc, gi in zip(scales, g)]
        ) / batch_norm2(y).double().cpu()[:, None, None]
        return measured

    def decide(
        self, ctx: AuditContext, config: NoiseConfig, images: Selection, measured: Mapping[str, _Measured], compared: None
    ) -> CheckResult:
        s = _Settings.of(config, ctx.quick)
        ids, x = images.ids, images.x
        measured = dict(measured)
        noise_size = measured["network"].noise_size
        tau = thresholds(measured["baseline"].changes, s)
        criteria, notes = _criteria(measured, ids, s, tau)
        return self.result(
            ctx,
            criteria=criteria,
            subjects={sub.key: _subject_result(sub, measured[sub.key], ids, s, tau) for sub in ctx.subjects()},
            parameters=_parameters(config, s, ids, ctx.quick),
            notes=_draws_notes(s) + notes + _survival_notes(measured, s),
            arrays=lambda: _arrays(x, measured, noise_size, ids, s, tau),
        )

    def _measure(
        self, subject: Subject, ctx: AuditContext, s: _Settings, images: Selection, y: torch.Tensor,
        g: list[torch.Tensor], scales: list[list[float]],
    ) -> _Measured:
        ids = images.ids
        per_level_calls = math.ceil(s.draws / s.batch_size)
        changes, f0s, worsts = [], [], []
        with ctx.progress.task(f"noise: {subject.key}, Gaussian draws", total=len(ids) * len(s.levels) * per_level_calls) as task:
            for n, image_id in enumerate(ids):
                c, f0, worst = relative_changes(
                    _guarded(subject, image_id), y[n], g[n], scales[n], batch_size=s.batch_size,
                    labels=lambda li, d: f"noise level {s.levels[li]:g}, draw {d}", on_batch=task.advance,
                    start_at=lambda image, meas: starting_at(subject.fmap, image, meas),
                )
                changes.append(c)
                f0s.append(f0)
                worsts.append(worst[-1])
        survival = None
        if s.survival_ratios:
            with ctx.progress.task(f"noise: {subject.key}, survival of the worst case", total=len(ids)) as task:
                r1 = _worst_perturbations(subject, ctx, images, s.survival_budget, s.survival_iterations)
                survival = []
                for n, image_id in enumerate(ids):
                    survival.append(_survival(subject, ctx, s, images.x[n], r1[n], image_id, images.indices[n]))
                    task.advance()
        return _Measured(torch.stack(changes), torch.stack(f0s).cpu(), torch.stack(worsts).cpu(), survival)


def thresholds(baseline_changes: torch.Tensor, s: _Settings) -> torch.Tensor:
    """τ (N, L) per image and level: k · max(the baseline's median change over the draws, η), or the fixed τ."""
    n, levels = baseline_changes.shape[:2]
    if s.threshold is not None:
        return torch.full((n, levels), s.threshold, dtype=torch.float64)
    median = baseline_changes.double().median(dim=2).values
    eta = torch.tensor(s.levels, dtype=torch.float64)[None, :]
    return s.k_baseline * torch.maximum(median, eta)


def _tau_text(s: _Settings) -> str:
    """How τ was set, for criteria and notes."""
    if s.threshold is not None:
        return f"the fixed threshold τ = {s.threshold:g} (the manifest's)"
    return f"τ = {s.k_baseline:g} × max(the baseline's median change on that image at that level, η)"


def _harm(changes: torch.Tensor, n: int, li: int, s: _Settings, tau: torch.Tensor) -> Proportion:
    """Harmful draws (change > τ[n, li]) of image n at level li, with their interval."""
    return Proportion.of_flags((changes[n, li].double() > float(tau[n, li])).numpy(), s.confidence)


def _harms(m: _Measured, ids: list[str], li: int, s: _Settings, tau: torch.Tensor) -> list[Proportion]:
    """Harmful draws of every image at level li, in image order."""
    return [_harm(m.changes, n, li, s, tau) for n in range(len(ids))]


def _worst_image(props: list[Proportion]) -> tuple[int, Proportion]:
    """(image index, proportion) with the largest upper bound among one level's ``props`` (first image on ties)."""
    n = max(range(len(props)), key=lambda i: (props[i].ci_high, -i))
    return n, props[n]


def _criteria(
    measured: dict[str, _Measured], ids: list[str], s: _Settings, tau: torch.Tensor
) -> tuple[list[Criterion], list[str]]:
    """One criterion per level on the network's worst-image upper bound; notes where the baseline exceeds too."""
    criteria, notes = [], []
    pct = f"{s.confidence:.0%}"
    for li, level in enumerate(s.levels):
        props = _harms(measured["network"], ids, li, s, tau)
        n, p = _worst_image(props)
        criteria.append(
            Criterion.evaluate(
                f"noise.exceedance_upper_bound[level={setting_key(level)}]",
                f"Gaussian measurement noise with E‖e‖² = ({level:g}‖Ax‖)²: the upper end of the {pct} Clopper–Pearson "
                f"interval of the probability that the network's relative change ‖f(y+e) − f(y)‖/‖f(y)‖ exceeds "
                f"{_tau_text(s)} must be at most {s.max_probability:g} on every image (measured: the worst image, "
                f"{ids[n]}, τ = {float(tau[n, li]):.3g}, {p.events} of {p.trials} draws).",
                p.ci_high,
                s.max_probability,
                per_image=by_image(ids, [q.ci_high for q in props]),
            )
        )
        b, bp = _worst_image(_harms(measured["baseline"], ids, li, s, tau))
        if bp.ci_high > s.max_probability:
            notes.append(
                f"at noise level {level:g} the baseline also exceeds the bound (upper end {bp.ci_high:.3f} on image "
                f"{ids[b]}, {bp.events} of {bp.trials} draws over τ = {float(tau[b, li]):.3g}): this level may be beyond "
                f"what these measurements tolerate, not only a weakness of the network"
            )
    return criteria, notes


def _draws_notes(s: _Settings) -> list[str]:
    """Why no criterion can pass when there are too few draws (``manifest.models.fewest_draws``)."""
    need = fewest_draws(s.max_probability, s.confidence)
    if need is None:
        return [f"max_probability is {s.max_probability:g}: no finite number of draws can show that, the criteria cannot pass"]
    if s.draws >= need:
        return [
            f"{s.draws} draws per image and level: with none harmful the upper end of the interval is "
            f"{s.certifiable:.4f}, the smallest harmful-draw probability this run can certify (bound: {s.max_probability:g})"
        ]
    return [
        f"with {s.draws} draws per image even no harmful draw leaves an upper bound of {s.certifiable:.4f}, above "
        f"{s.max_probability:g}: the criteria cannot pass; at least {need} draws are needed at confidence {s.confidence:g}"
    ]


def _pooled_survival(survival: list[_Survival], ri: int, confidence: float) -> Proportion:
    """Surviving draws at ratio index ri, over all images, with their interval."""
    events = sum(sv.survived[ri].events for sv in survival)
    return Proportion.of(events, sum(sv.survived[ri].trials for sv in survival), confidence)


def _survival_notes(measured: dict[str, _Measured], s: _Settings) -> list[str]:
    notes = []
    for key, m in measured.items():
        if not m.survival:
            continue
        for ri, ratio in enumerate(s.survival_ratios):
            total = _pooled_survival(m.survival, ri, s.confidence)
            notes.append(
                f"{key}: the artefact of its worst perturbation r1 (‖r1‖ = {s.survival_budget:g}‖x‖) survives Gaussian "
                f"noise of size {ratio:g}‖r1‖ in {total.events} of {total.trials} draws ({total.estimate:.0%}, "
                f"{s.confidence:.0%} interval {total.ci_low:.3f}–{total.ci_high:.3f}); survival = the change stays at "
                f"least {SURVIVAL_FRACTION:g} of the worst case's"
            )
    return notes


def _subject_result(subject: Subject, m: _Measured, ids: list[str], s: _Settings, tau: torch.Tensor) -> SubjectResult:
    """Summary per level (pooled over images, plus the worst image), survival per ratio; one row per image.

    summary = {exceedance_by_level: {level: {probability, ci_low, ci_high, events, trials, confidence,
    worst_image, worst_probability, worst_ci_high, threshold_range: [min τ, max τ] over the images}},
    relative_change_by_level: {level: {p5, p50, p95, mean, max}},
    survival: {ratio: {probability, ci_low, ci_high, events, trials, confidence}} or None}.
    """
    exceedance, distribution = {}, {}
    for li, level in enumerate(s.levels):
        pooled = Proportion.of_flags((m.changes[:, li].double() > tau[:, li, None]).numpy(), s.confidence)
        n, worst = _worst_image(_harms(m, ids, li, s, tau))
        exceedance[setting_key(level)] = {
            **pooled.as_dict(), "worst_image": ids[n], "worst_probability": worst.estimate, "worst_ci_high": worst.ci_high,
            "threshold_range": [float(tau[:, li].min()), float(tau[:, li].max())],
        }
        distribution[setting_key(level)] = distribution_summary(m.changes[:, li].numpy())
    survival = None
    if m.survival:
        survival = {
            setting_key(ratio): _pooled_survival(m.survival, ri, s.confidence).as_dict() for ri, ratio in enumerate(s.survival_ratios)
        }
    rows = []
    for n, image_id in enumerate(ids):
        row: dict[str, Any] = {
            "image": image_id,
            "levels": {
                setting_key(level): {
                    **_harm(m.changes, n, li, s, tau).as_dict(),
                    "threshold": float(tau[n, li]),
                    "relative_change": distribution_summary(m.changes[n, li].numpy()),
                }
                for li, level in enumerate(s.levels)
            },
        }
        if m.survival:
            sv = m.survival[n]
            row["survival"] = {
                "worst_change": sv.worst_change,
                "by_ratio": {setting_key(r): sv.survived[ri].as_dict() for ri, r in enumerate(s.survival_ratios)},
            }
        rows.append(row)
    return SubjectResult(
        name=subject.name,
        summary={"exceedance_by_level": exceedance, "relative_change_by_level": distribution, "survival": survival},
        per_image=rows,
    )


def _parameters(config: NoiseConfig, s: _Settings, ids: list[str], quick: bool) -> dict[str, Any]:
    """The manifest block plus what was used: draws after quick mode, batch size, the noise model, survival settings."""
    return effective_parameters(
        config, ids, quick,
        draws=s.draws,
        batch_size=s.batch_size,
        noise_model=(
            "e = σg, g standard Gaussian (complex: parts N(0, 1/2)), σ = level·‖Ax‖/√m, so E‖e‖² = level²‖Ax‖²"
        ),
        harmful=(
            f"‖f(y+e) − f(y)‖/‖f(y)‖ > τ, {_tau_text(s)}" if s.threshold is None
            else f"‖f(y+e) − f(y)‖/‖f(y)‖ > τ = {s.threshold:g} (fixed)"
        ),
        certifiable_probability=s.certifiable,
        interval="Clopper–Pearson, two-sided",
        survival_budget=s.survival_budget,
        survival_iterations=s.survival_iterations,
        survival_rule=f"‖f(A(x+r1+v)) − f(Ax)‖ ≥ {SURVIVAL_FRACTION:g}·‖f(A(x+r1)) − f(Ax)‖, ‖v‖ = ratio·‖r1‖",
    )


def _arrays(
    x: torch.Tensor, measured: dict[str, _Measured], noise_size: torch.Tensor, ids: list[str], s: _Settings, tau: torch.Tensor
) -> Arrays:
    """arrays/noise.npz — everything the noise figures need.

    ``levels`` (L,), ``image_ids`` (N,), ``threshold`` (N, L) τ per image and level, ``noise_size`` (N, L, D) realised ‖e‖/‖Ax‖, ``x`` (N, H, W);
    per subject: ``{key}_relative_change`` (N, L, D), ``{key}_f0`` f(Ax) (N, H, W) and ``{key}_worst_draw``
    (N, H, W), the output of the draw with the largest change at the highest level (complex where the method's
    output is); with survival: ``survival_ratios`` (R,), ``{key}_r1`` (N, H, W), ``{key}_survival_change``
    (N, R, D) and ``{key}_survival_worst_change`` (N,), changes relative to ‖f(Ax)‖.
    """
    arrays: dict[str, Any] = {
        "levels": np.asarray(s.levels, dtype=np.float64),
        "image_ids": np.asarray(ids, dtype=str),
        "threshold": tau.numpy(),
        "noise_size": noise_size,
        "x": x,
    }
    for key, m in measured.items():
        arrays[f"{key}_relative_change"] = m.changes
        arrays[f"{key}_f0"] = m.f0
        arrays[f"{key}_worst_draw"] = m.worst_draw
        if m.survival:
            arrays["survival_ratios"] = np.asarray(s.survival_ratios, dtype=np.float64)
            arrays[f"{key}_r1"] = torch.stack([sv.r1 for sv in m.survival])
            arrays[f"{key}_survival_change"] = torch.stack([sv.change for sv in m.survival])
            arrays[f"{key}_survival_worst_change"] = torch.tensor([sv.worst_change for sv in m.survival], dtype=torch.float64)
    return {CHECK_NAME: arrays}
