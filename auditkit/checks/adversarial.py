"""Check 1 — tiny worst-case perturbations: can a change of a few percent in the input change the reconstruction much more?

Two searches per subject (network and baseline), on the same images with the same seeds:

- image domain (``auditkit.attacks.ladder_ascent``): for each budget ε the
  perturbation r of the image, ‖r‖ = ε‖x‖ exactly, that maximises the change
  ‖f(A(x+r)) − f(Ax)‖ (the ladder r₁ < r₂ < r₃ of one momentum ascent, refined
  at each rung);
- measurement domain (``auditkit.attacks.projected_ascent`` with target f(Ax)):
  for each η the noise e, ‖e‖ ≤ η‖Ax‖, that maximises the change
  ‖f(Ax + e) − f(Ax)‖, worst of several restarts; the balls are nested, so a
  level keeps a smaller level's perturbation when that changed f more
  (``attacks.projected.nested``, ``found_at_eta`` in the evidence: on an
  earlier training of the ``mri_kernel_pair`` sample a quick search found 0.078
  at η = 0.003 and only 0.062 at η = 0.01). Both searches maximise the
  quantity their criteria judge; the worst *error* ‖f(Ax + e) − x‖ over the same
  balls is the trade-off check's search (a different problem: the error adds
  the clean reconstruction's own error, which a change does not).

The network's worst r and e are also given to the baseline, so the reader sees
whether the same perturbation troubles a stable method (the problem) or only the
network. Measured per image and budget (ε in the image domain, η in the
measurement domain; y = Ax, and e = Ar in the image domain):

    change          Δ = ‖f(y + e) − f(y)‖ / ‖x‖
    amplification   ‖f(y + e) − f(y)‖ / ‖e‖
    gain            ‖f(A(x + r)) − f(Ax)‖ / ‖r‖ = Δ/ε   (image domain)
    relative error  ‖f(y + e) − x′‖ / ‖x′‖ (``metrics.relative_error``) against the
                    object that was measured: x′ = x + r in the image domain, x′ = x
                    in the measurement domain.

Criteria, on the worst case over the images (k = ``k_baseline``, c = ``c_budget``):

    adversarial.change_vs_baseline[eps=ε]              Δ_net ≤ k · max(Δ_base, ε)
    adversarial.change_vs_budget[eps=ε]                Δ_net ≤ c · ε
    adversarial.measurement_change_vs_baseline[eta=η]  Δ_net ≤ k · max(Δ_base, η)
    adversarial.local_change_vs_baseline[eps=ε]        L_net ≤ k · max(L_base, ε‖x‖/s)

with L the RMS of f(A(x+r)) − f(Ax) on the worst s×s patch (s = ``patch_size``, intensity
units), evaluated at the perturbations found for Δ. And the test of the test
(``attacks.control``): ``adversarial.search_power[image_domain|measurement_domain]``, the
least fraction of a known worst case the searches find with these settings, must be ≥
``MIN_SEARCH_POWER``; below it the check is INCONCLUSIVE unless a network criterion failed.

They bound the change a perturbation causes, not the accuracy, which a stable but
blurry method may lack. The floor ε (a change as large as the perturbation, what
the identity does) keeps a tiny baseline change from condemning the network, and
the absolute bound c·ε keeps an unstable baseline from excusing it. The
measurement domain has no absolute bound: η is relative to ‖Ax‖, and for an
operator that is not an isometry (CT) image and measurement sizes are not
commensurate; there the floor η is what a scaled isometry's inverse would show.

Quick mode: one image (the first of the selection), at most 50 evaluations for
the image-domain search and one restart of at most 30 iterations for the
measurement-domain search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from auditkit.attacks import Ladder, Reconstruct, WorstNoise, evaluate, ladder_ascent, nested, projected_ascent
from auditkit.attacks.control import SearchPower, search_power
from auditkit.attacks.convergence import half_budget_share
from auditkit.attacks.momentum import PATH_SHARE
from auditkit.attacks.objective import image_groups, rows_per_call
from auditkit.checks.base import (
    Arrays, AuditContext, Check, Selection, Subject, by_image, climbing_note, effective_parameters, guarded_recon,
    quick_cap, setting_key,
)
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.checks.units import Phase, Unit
from auditkit.manifest.models import AdversarialConfig
from auditkit.metrics import largest_patch_rms, relative_error
from auditkit.operators.base import ForwardOperator, batch_norm2

#: salts of ``ctx.generator`` for this check's two searches (then the image's index in the test set), and for the
#: search control (``attacks.control``: its map, then its two searches per image).
IMAGE_SALT, NOISE_SALT, CONTROL_SALT = 1_001, 1_002, 1_003
#: the least fraction of the control's known worst case each search must find for the verdicts to stand.
MIN_SEARCH_POWER = 0.95
#: quick mode: image-domain evaluations, measurement-domain iterations and restarts capped at these.
QUICK_MAX_ITER, QUICK_ITERATIONS, QUICK_RESTARTS = 50, 30, 1


@dataclass(frozen=True)
class Settings:
    """The effective parameters of one run (the manifest's, reduced in quick mode)."""

    budgets: tuple[float, ...]
    lam: float
    step: float
    momentum: float
    max_iter: int
    init_scale: float
    etas: tuple[float, ...]
    restarts: int
    iterations: int
    lr: float
    k_baseline: float
    c_budget: float
    patch_size: int

    @classmethod
    def from_config(cls, config: AdversarialConfig, quick: bool) -> "Settings":
        img, meas = config.image_domain, config.measurement_domain
        return cls(
            budgets=tuple(float(b) for b in img.budgets),
            lam=float(img.lam),
            step=float(img.step),
            momentum=float(img.momentum),
            max_iter=quick_cap(img.max_iter, QUICK_MAX_ITER, quick),
            init_scale=float(img.init_scale),
            etas=tuple(float(e) for e in meas.etas),
            restarts=quick_cap(meas.restarts, QUICK_RESTARTS, quick),
            iterations=quick_cap(meas.iterations, QUICK_ITERATIONS, quick),
            lr=float(meas.lr),
            k_baseline=float(config.k_baseline),
            c_budget=float(config.c_budget),
            patch_size=int(config.patch_size),
        )


@dataclass
class Measures:
    """One subject's reconstructions under a set of perturbations, and what they measure, per (image, budget)."""

    outputs: torch.Tensor  # (N, J, H, W)
    change: torch.Tensor  # (N, J)
    local_change: torch.Tensor  # (N, J) RMS of f(y + e) − f(y) on the worst patch (intensity units)
    amplification: torch.Tensor  # (N, J)
    relative_error: torch.Tensor  # (N, J)


@dataclass
class Found:
    """One subject's own searches, and the reconstructions they lead to."""

    clean: torch.Tensor  # (N, H, W) f(Ax), where the image-domain search starts
    error_clean: torch.Tensor  # (N,)
    clean_measured: torch.Tensor  # (N, H, W) f(y), where the measurement-domain search starts (y = Ax unless raw)
    error_measured: torch.Tensor  # (N,)
    ladder: Ladder
    noise: WorstNoise
    image: Measures
    measurement: Measures


@dataclass
class Crossed:
    """The baseline's reconstructions under the network's worst perturbations (image and measurement domain), and
    the searches' power on the control map for the same image."""

    image: Measures
    noise: Measures
    power_image: torch.Tensor  # (N, J) fraction of the control's worst case found at each budget ε
    power_noise: torch.Tensor  # (N, K) the same at each noise level η


class AdversarialCheck(Check[AdversarialConfig]):
    """Worst-case perturbations in the image and measurement domains, network against baseline."""

    name = "adversarial"
    title = "Tiny worst-case perturbations"
    raw_measured = "the measurement-domain search: it starts from the acquired y and perturbs it, ‖e‖ ≤ η‖y‖"
    raw_simulated = "the image-domain search: y = A(x + r) from the reference image x"

    compares = True

    def images(self, ctx: AuditContext, config: AdversarialConfig) -> Selection:
        return self.select(ctx, config.images)

    def measure(self, ctx: AuditContext, config: AdversarialConfig, subject: Subject, images: Selection) -> Found:
        return _search(subject, ctx, images, Settings.from_config(config, ctx.quick))

    def gradient_evaluations(self, ctx: AuditContext, config: AdversarialConfig, unit: Unit) -> int:
        """A measure unit: the ladder's ``max_iter``, plus ``restarts × iterations`` per measurement-domain level."""
        if unit.phase is not Phase.MEASURE:
            return 0
        s = Settings.from_config(config, ctx.quick)
        return s.max_iter + len(s.etas) * s.restarts * s.iterations

    def compare(
        self, ctx: AuditContext, config: AdversarialConfig, images: Selection, measured: Mapping[str, Found]
    ) -> Crossed:
        """The baseline under the network's worst perturbations, for the same image."""
        net, base = measured["network"], measured["baseline"]
        recon = guarded_recon(ctx.baseline.fmap, check=self.name, image_ids=images.ids, subject=ctx.baseline.key)
        s = Settings.from_config(config, ctx.quick)
        power = _search_power(ctx, images, s)
        return Crossed(
            image=_image_measures(recon, ctx.operator, images.x, base.clean, net.ladder.perturbations, s.patch_size),
            noise=_noise_measures(recon, ctx.measurements(ctx.operator, images), images.x, base.clean_measured,
                                  net.noise.perturbations, s.patch_size),
            power_image=torch.tensor([power.image_domain], dtype=torch.float64),
            power_noise=torch.tensor([power.measurement_domain], dtype=torch.float64),
        )

    def decide(
        self, ctx: AuditContext, config: AdversarialConfig, images: Selection, measured: Mapping[str, Found],
        compared: Crossed,
    ) -> CheckResult:
        s = Settings.from_config(config, ctx.quick)
        ids, x = images.ids, images.x
        net, base = measured["network"], measured["baseline"]
        judged = _criteria(net, base, s, ids, batch_norm2(x))
        power = _power_criteria(compared, ids)
        verdict, reason = None, None
        weak = [c for c in power if not c.passed]
        if weak and CheckResult.verdict_from(judged) is not Verdict.FAIL:
            verdict = Verdict.INCONCLUSIVE
            found = ", ".join(f"{c.name.split('[')[1].rstrip(']').replace('_', ' ')} {c.measured:.2f}" for c in weak)
            reason = (f"the searches found too little of a known worst case ({found}; at least {MIN_SEARCH_POWER:g} "
                      f"needed{', quick mode caps them' if ctx.quick else ''}): no criterion failed, but that means "
                      f"little.")
        return self.result(
            ctx,
            criteria=[*judged, *power],
            verdict=verdict,
            reason=reason,
            subjects={
                "network": _subject_result(ctx.network, net, ids, s),
                "baseline": _subject_result(ctx.baseline, base, ids, s, compared.image, compared.noise),
            },
            parameters=_parameters(config, s, ids, ctx.quick),
            notes=_notes(dict(measured), ids, s, ctx.quick),
            arrays=lambda: _arrays(x, ids, s, net, base, compared.image, compared.noise),
        )


def _search_power(ctx: AuditContext, images: Selection, s: Settings) -> SearchPower:
    """Both searches, with this run's settings, on the control map for the one image of ``images``."""
    i = images.indices[0]
    return search_power(
        ctx.operator, images.x[:1], budgets=s.budgets, etas=s.etas, control=ctx.generator(CONTROL_SALT),
        image_generator=ctx.generator(CONTROL_SALT, 1, i), noise_generator=ctx.generator(CONTROL_SALT, 2, i),
        lam=s.lam, step=s.step, momentum=s.momentum, max_iter=s.max_iter, init_scale=s.init_scale,
        restarts=s.restarts, iterations=s.iterations, lr=s.lr,
    )


def _power_criteria(compared: Crossed, ids: list[str]) -> list[Criterion]:
    """The searches' power on the control: the least fraction of its known worst case found, per domain."""
    out = []
    for domain, values, what in (("image_domain", compared.power_image, "ladder ascent"),
                                 ("measurement_domain", compared.power_noise, "projected ascent")):
        worst = values.min(dim=1).values
        out.append(Criterion.evaluate(
            f"adversarial.search_power[{domain}]",
            f"Test of the test: the {what}, run with this audit's settings on a linear map whose worst case is known "
            f"(F(y) = A*y + g·Re⟨u, y⟩·v, a planted top singular vector; ceiling σ_max by power iteration), must "
            f"find at least {MIN_SEARCH_POWER:g} of that worst case at every budget on every image (measured: the "
            f"least fraction). Below it no failure found by this check means much: the check is INCONCLUSIVE.",
            float(worst.min()), MIN_SEARCH_POWER, comparison=">=",
            per_image=by_image(ids, worst), setup=True,
        ))
    return out


def _search(subject: Subject, ctx: AuditContext, images: Selection, s: Settings) -> Found:
    """Both searches on ``subject``, then its reconstructions under what they found."""
    op, rows = ctx.operator, rows_per_call(ctx.operator.image_shape)
    x, indices = images.x, images.indices
    recon = guarded_recon(subject.fmap, check=AdversarialCheck.name, image_ids=images.ids, subject=subject.key)
    n = x.shape[0]
    clean = evaluate(recon, op.forward(x), torch.arange(n, device=x.device))
    y = ctx.measurements(op, images)
    raw = any(ctx.raw(i) is not None for i in indices)
    clean_measured = evaluate(recon, y, torch.arange(n, device=x.device)) if raw else clean
    ladder_calls = len(image_groups(n, len(s.budgets), rows)) * (int(s.max_iter * PATH_SHARE) + s.max_iter // len(s.budgets))
    with ctx.progress.task(f"adversarial: {subject.key}, image domain", total=ladder_calls) as task:
        ladder = ladder_ascent(
            recon, op, x, s.budgets, generators=[ctx.generator(IMAGE_SALT, i) for i in indices], lam=s.lam,
            step=s.step, momentum=s.momentum, max_iter=s.max_iter, init_scale=s.init_scale, max_rows=rows,
            on_step=task.advance,
        )
    noise_calls = len(image_groups(n, len(s.etas) * s.restarts, rows)) * s.iterations
    with ctx.progress.task(f"adversarial: {subject.key}, measurement domain", total=noise_calls) as task:
        noise = nested(projected_ascent(
            recon, op, x, s.etas, generators=[ctx.generator(NOISE_SALT, i) for i in indices], restarts=s.restarts,
            iterations=s.iterations, lr=s.lr, max_rows=rows, on_step=task.advance, target=clean_measured, y=y,
        ))
    return Found(
        clean=clean,
        error_clean=relative_error(clean, x).cpu(),
        clean_measured=clean_measured,
        error_measured=relative_error(clean_measured, x).cpu(),
        ladder=ladder,
        noise=noise,
        image=_image_measures(recon, op, x, clean, ladder.perturbations, s.patch_size),
        measurement=_noise_measures(recon, y, x, clean_measured, noise.perturbations, s.patch_size),
    )


def _measure(
    recon: Reconstruct, y: torch.Tensor, clean: torch.Tensor, e: torch.Tensor, truth: torch.Tensor, norm_x: torch.Tensor,
    size: int,
) -> Measures:
    """Reconstruct y + e for rows (N·J, …) in image-major order and measure change, amplification, error and the
    local change on the worst ``size``² patch."""
    n = clean.shape[0]
    j = y.shape[0] // n
    rows = torch.arange(n, device=y.device).repeat_interleave(j)
    out = evaluate(recon, y + e, rows, max_rows=rows_per_call(clean.shape[1:]))
    delta = out - clean.repeat_interleave(j, 0)
    diff = batch_norm2(delta)
    size_e = batch_norm2(e).clamp_min(torch.finfo(diff.dtype).tiny)
    return Measures(
        outputs=out.reshape(n, j, *clean.shape[1:]),
        change=(diff / norm_x.repeat_interleave(j)).reshape(n, j).cpu(),
        amplification=(diff / size_e).reshape(n, j).cpu(),
        relative_error=relative_error(out, truth).reshape(n, j).cpu(),
        local_change=largest_patch_rms(delta, size).reshape(n, j).double().cpu(),
    )


def _image_measures(
    recon: Reconstruct, op: ForwardOperator, x: torch.Tensor, clean: torch.Tensor, r: torch.Tensor, size: int
) -> Measures:
    """f at A(x + r_ij) for perturbations r (N, J, H, W); the amplification is per e = A r."""
    n, j = r.shape[:2]
    flat = r.reshape(n * j, *x.shape[1:])
    xs = x.repeat_interleave(j, 0)
    y, e = op.forward(xs).detach(), op.forward(flat).detach()
    return _measure(recon, y, clean, e, xs + flat, batch_norm2(x), size)


def _noise_measures(
    recon: Reconstruct, y: torch.Tensor, x: torch.Tensor, clean: torch.Tensor, e: torch.Tensor, size: int
) -> Measures:
    """f at y_i + e_ik for the images' measurements y (N, *meas) and noise e (N, K, *meas)."""
    n, k = e.shape[:2]
    y = y.detach().repeat_interleave(k, 0)
    return _measure(recon, y, clean, e.reshape(n * k, *e.shape[2:]), x.repeat_interleave(k, 0), batch_norm2(x), size)


# -- criteria -------------------------------------------------------------------------------------
def _criteria(net: Found, base: Found, s: Settings, ids: list[str], norms_x: torch.Tensor) -> list[Criterion]:
    """Per budget: the global change against the baseline and the budget, the local change against the baseline;
    per noise level: the change against the baseline. ``norms_x`` (N,): ‖x‖ of each image."""
    criteria: list[Criterion] = []
    k, c = s.k_baseline, s.c_budget

    for j, eps in enumerate(s.budgets):
        d_net, d_base = float(net.image.change[:, j].max()), float(base.image.change[:, j].max())
        key = setting_key(eps)
        criteria.append(Criterion.evaluate(
            f"adversarial.change_vs_baseline[eps={key}]",
            f"Image-domain perturbations with ‖r‖ = {key}·‖x‖: the network's worst change "
            f"Δ = ‖f(A(x+r)) − f(Ax)‖/‖x‖ over the images must be at most {k:g} · max(Δ_baseline, {key}), "
            f"where Δ_baseline = {d_base:.4g} is the baseline's worst change under its own worst perturbations "
            f"of the same size (the floor {key} is the change of a method that reproduces the perturbation).",
            d_net, k * max(d_base, eps), compares_to_baseline=True, per_image=by_image(ids, net.image.change[:, j]),
        ))
        criteria.append(Criterion.evaluate(
            f"adversarial.change_vs_budget[eps={key}]",
            f"Image-domain perturbations with ‖r‖ = {key}·‖x‖: the network's worst change "
            f"Δ = ‖f(A(x+r)) − f(Ax)‖/‖x‖ over the images must be at most {c:g} · {key}.",
            d_net, c * eps, per_image=by_image(ids, net.image.change[:, j]),
        ))
    for j, eps in enumerate(s.budgets):
        l_net, l_base = float(net.image.local_change[:, j].max()), float(base.image.local_change[:, j].max())
        floor = eps * float(norms_x.max()) / s.patch_size
        key = setting_key(eps)
        criteria.append(Criterion.evaluate(
            f"adversarial.local_change_vs_baseline[eps={key}]",
            f"Image-domain perturbations with ‖r‖ = {key}·‖x‖ (the worst found for the global change): the network's "
            f"worst local change Δ_loc = max over {s.patch_size}×{s.patch_size} patches P of the RMS of "
            f"f(A(x+r)) − f(Ax) on P (intensity units; the images span [0, 1]) must be at most {k:g} · max(Δ_loc,baseline, "
            f"{floor:.3g}), where Δ_loc,baseline = {l_base:.4g} is the baseline's under its own worst perturbation and "
            f"{floor:.3g} = {key}·‖x‖/{s.patch_size} is the most a method reproducing the perturbation can show on one "
            f"patch. It catches a change gathered in a lesion-sized area, which the global Δ dilutes; the "
            f"perturbations were searched for the global change, not for this one.",
            l_net, k * max(l_base, floor), compares_to_baseline=True, per_image=by_image(ids, net.image.local_change[:, j]),
        ))
    for j, eta in enumerate(s.etas):
        d_net, d_base = float(net.measurement.change[:, j].max()), float(base.measurement.change[:, j].max())
        key = setting_key(eta)
        criteria.append(Criterion.evaluate(
            f"adversarial.measurement_change_vs_baseline[eta={key}]",
            f"Measurement noise with ‖e‖ ≤ {key}·‖Ax‖ chosen to maximise the change ‖f(Ax + e) − f(Ax)‖: the "
            f"network's worst change Δ = ‖f(Ax + e) − f(Ax)‖/‖x‖ over the images must be at most "
            f"{k:g} · max(Δ_baseline, {key}), where Δ_baseline = {d_base:.4g} is the baseline's worst change "
            f"under its own worst noise of the same size.",
            d_net, k * max(d_base, eta), compares_to_baseline=True, per_image=by_image(ids, net.measurement.change[:, j]),
        ))
    return criteria


# -- evidence -------------------------------------------------------------------------------------
def _by_budget(values: torch.Tensor, budgets: Sequence[float]) -> dict[str, float]:
    """{budget key: worst (largest) value over the images} for values (N, J)."""
    return {setting_key(b): float(values[:, j].max()) for j, b in enumerate(budgets)}


def _least(values: torch.Tensor, budgets: Sequence[float]) -> dict[str, float]:
    """{budget key: least value over the images} for values (N, J)."""
    return {setting_key(b): float(values[:, j].min()) for j, b in enumerate(budgets)}


def _summary(measures: Measures, error_clean: torch.Tensor, budgets: Sequence[float]) -> dict[str, Any]:
    return {
        "worst_case_amplification": _by_budget(measures.amplification, budgets),
        "worst_case_change": _by_budget(measures.change, budgets),
        "worst_case_local_change": _by_budget(measures.local_change, budgets),
        "worst_case_relative_error": _by_budget(measures.relative_error, budgets),
        "relative_error_unperturbed": {setting_key(b): float(error_clean.max()) for b in budgets},
        "mean_change": {setting_key(b): float(measures.change[:, j].mean()) for j, b in enumerate(budgets)},
    }


def _subject_result(
    subject: Subject, found: Found, ids: list[str], s: Settings,
    cross_image: Measures | None = None, cross_noise: Measures | None = None,
) -> SubjectResult:
    """Summary (worst over images, keyed by budget) and one row per image; the baseline adds its change
    under the network's perturbations."""
    summary = _summary(found.image, found.error_clean, s.budgets)
    summary["worst_case_gain"] = {
        setting_key(b): float((found.image.change[:, j] / b).max()) for j, b in enumerate(s.budgets)
    }
    summary["measurement_domain"] = _summary(found.measurement, found.error_measured, s.etas)
    image_share, noise_share = half_budget_share(found.ladder.progress), half_budget_share(found.noise.progress)
    summary["share_at_half_budget"] = _least(image_share, s.budgets)
    summary["measurement_domain"]["share_at_half_budget"] = _least(noise_share, s.etas)
    if cross_image is not None and cross_noise is not None:
        summary["change_under_network_perturbation"] = _by_budget(cross_image.change, s.budgets)
        summary["measurement_domain"]["change_under_network_perturbation"] = _by_budget(cross_noise.change, s.etas)
    rows = []
    for i, image_id in enumerate(ids):
        image_domain = {}
        for j, b in enumerate(s.budgets):
            crossed = int(found.ladder.crossed_at[i, j])
            entry = {
                "change": float(found.image.change[i, j]),
                "local_change": float(found.image.local_change[i, j]),
                "amplification": float(found.image.amplification[i, j]),
                "gain": float(found.image.change[i, j] / b),
                "relative_error": float(found.image.relative_error[i, j]),
                "change_at_first_crossing": float(found.ladder.path_change[i, j]),
                "crossed_at_iteration": crossed if crossed >= 0 else None,
                "share_at_half_budget": float(image_share[i, j]),
            }
            if cross_image is not None:
                entry["change_under_network_perturbation"] = float(cross_image.change[i, j])
            image_domain[setting_key(b)] = entry
        measurement_domain = {}
        for k, eta in enumerate(s.etas):
            entry = {
                "change": float(found.measurement.change[i, k]),
                "amplification": float(found.measurement.amplification[i, k]),
                "relative_error": float(found.measurement.relative_error[i, k]),
                "restart": int(found.noise.restart[i, k]),
                "found_at_eta": float(found.noise.found_at[i, k]),  # set by nested(), which _search always applies
                "share_at_half_budget": float(noise_share[i, k]),
            }
            if cross_noise is not None:
                entry["change_under_network_perturbation"] = float(cross_noise.change[i, k])
            measurement_domain[setting_key(eta)] = entry
        rows.append({
            "image": image_id,
            "relative_error_unperturbed": float(found.error_clean[i]),
            "relative_error_unperturbed_measured": float(found.error_measured[i]),
            "image_domain": image_domain,
            "measurement_domain": measurement_domain,
            "gradient_evaluations": {
                "image_domain": int(found.ladder.evaluations[i]),
                "measurement_domain": int(found.noise.evaluations[i]),
            },
        })
    return SubjectResult(name=subject.name, summary=summary, per_image=rows)


def _parameters(config: AdversarialConfig, s: Settings, ids: list[str], quick: bool) -> dict[str, Any]:
    return effective_parameters(
        config, ids, quick,
        image_domain={"budgets": list(s.budgets), "lam": s.lam, "step": s.step, "momentum": s.momentum,
                      "max_iter": s.max_iter, "init_scale": s.init_scale},
        measurement_domain={"etas": list(s.etas), "restarts": s.restarts, "iterations": s.iterations, "lr": s.lr},
        k_baseline=s.k_baseline,
        c_budget=s.c_budget,
    )


def _notes(found: dict[str, Found], ids: list[str], s: Settings, quick: bool) -> list[str]:
    notes = []
    if quick:
        notes.append(
            f"quick mode: {len(ids)} image(s), {s.max_iter} image-domain evaluations per image, "
            f"{s.restarts} restart(s) × {s.iterations} iterations per noise level"
        )
    for key, f in found.items():
        missed = {setting_key(b): [ids[i] for i in f.ladder.fallback[:, j].nonzero().flatten().tolist()]
                  for j, b in enumerate(s.budgets)}
        missed = {b: who for b, who in missed.items() if who}
        if missed:
            where = "; ".join(f"{b} on {', '.join(who)}" for b, who in missed.items())
            notes.append(
                f"image domain, {key}: the ascent path did not reach every budget within half of its {s.max_iter} "
                f"evaluations ({where}): too few iterations, or a map that shrinks perturbations. Those rungs are the "
                f"path's last iterate rescaled to the budget, then refined like the others"
            )
        for search, trace, levels in (("image-domain refinement", f.ladder.progress, s.budgets),
                                      ("measurement-domain search", f.noise.progress, s.etas)):
            note = climbing_note(key, search, half_budget_share(trace), ids, [setting_key(b) for b in levels])
            if note is not None:
                notes.append(note)
    return notes


def _arrays(
    x: torch.Tensor, ids: list[str], s: Settings, net: Found, base: Found, cross_image: Measures, cross_noise: Measures,
) -> Arrays:
    """Everything the figures need: the perturbed images and every reconstruction, per image and budget."""
    names = [str(i) for i in ids]
    image_domain = dict(
        image_ids=np.asarray(names, dtype=str),
        budgets=torch.tensor(s.budgets, dtype=torch.float64),
        x=x,
        network_perturbation=net.ladder.perturbations,
        perturbed_image=x[:, None] + net.ladder.perturbations,
        network_clean=net.clean,
        network_perturbed=net.image.outputs,
        baseline_clean=base.clean,
        baseline_on_network_perturbation=cross_image.outputs,
        baseline_perturbation=base.ladder.perturbations,
        baseline_perturbed=base.image.outputs,
        network_progress=net.ladder.progress,
        baseline_progress=base.ladder.progress,
    )
    measurement_domain = dict(
        image_ids=np.asarray(names, dtype=str),
        etas=torch.tensor(s.etas, dtype=torch.float64),
        x=x,
        network_clean=net.clean_measured,  # f(y): the acquired y for a raw image (f(Ax) otherwise)
        baseline_clean=base.clean_measured,
        network_noise=net.noise.perturbations,
        network_worst=net.measurement.outputs,
        baseline_noise=base.noise.perturbations,
        baseline_worst=base.measurement.outputs,
        baseline_on_network_noise=cross_noise.outputs,
        network_progress=net.noise.progress,
        baseline_progress=base.noise.progress,
    )
    return {"adversarial_image_domain": image_domain, "adversarial_measurement_domain": measurement_domain}
