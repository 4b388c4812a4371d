"""Check 3 — more samples: does reconstruction quality hold up as samples are added?

Both subjects reconstruct the same test images from noise-free measurements
y_r = A_r x (for raw data the acquired k-space on A_r's mask, y_r = P_Ω_r k) at several
sampling settings r, and PSNR and SSIM (data range 1, the
modulus of complex outputs) are summarised per setting as mean, population
standard deviation (ddof = 0), minimum and maximum over the images.

Settings. For masked operators (MRI, Hadamard) a setting is a sampling ratio and
A_r = ``operator.with_ratio(r)``: the audit pattern and seed at another ratio, so
the masks are nested and "more samples" really adds samples. For CT a setting is
an angle count n and A_n = ``operator.with_angles(n)``; equispaced angle sets
are nested only when one count divides the other, otherwise more angles means a
finer, not a larger, set (a note says so). The manifest's ``ratios`` (or
``n_angles`` for CT) are used when given; when the field is not set, a ladder of
{0.5, 0.75, 1, 1.5, 2} × the audit operator's setting (ratios clipped to (0, 1]).
The audit operator's own setting and the training setting (``ctx.trained_ratio``,
in ``operator.sampling_ratio`` units: n_angles / n_full for CT) are always added.
Quick mode keeps three settings — the lowest, the highest and the one nearest the
audit setting — and the first two images. Requested settings that give the same
operator are measured once; every number is reported at the *achieved* ratio
(``operator.sampling_ratio``), keyed ``f"{ratio:g}"``.

Criteria, on the mean PSNR over the images m(r), ratios in increasing order:

- ``sampling.no_drop_with_more_samples`` (the network): the largest drop
  D = max(0, max_{r_i < r_j} m(r_i) − m(r_j)) must be ≤ ``tolerance_db``. Every
  pair counts, not only neighbours, so a slow slide over several steps is caught.
- ``sampling.no_drop_on_any_image`` (the network): the same drop computed on each
  image's own PSNR curve, the largest over the images, must be ≤ ``tolerance_db``:
  a mean over images can hide one image that gets worse (on the mri_unet sample,
  Shepp–Logan fell 2.0 dB from ratio 0.33 to 0.66 while the mean did not).
- ``sampling.gain_vs_baseline`` (the network, stagnation): from the training
  setting r_t to the highest r_K, the network's mean gain m(r_K) − m(r_t) must be at
  least ``min_gain_fraction`` × the baseline's. The instability study counts a
  network that stagnates as samples are added, while a compressed-sensing method
  gains several dB, as failing to use them: it cannot tell what new samples show.
  Judged only when there is a setting above r_t (the audit setting when no training
  ratio is declared) and the baseline gains at least ``baseline_min_gain_db`` there
  (otherwise there is no gain to share, and the criterion is reported, not judged).
- ``sampling.baseline_rises`` and ``sampling.baseline_no_drop`` (setup sanity): the
  baseline must gain at least ``baseline_min_gain_db`` from the lowest to the highest
  ratio, and its own largest drop must be ≤ ``tolerance_db``.

Why the baseline decides whether the network is judged: a stable convex method
improves when samples are added. If it does not, the setup — the operator's family
of masks, the baseline's λ, or the images — is suspect, and a falling network curve
would say nothing about the network. The check's verdict is then ERROR, with
``internal_error`` False (neither auditkit nor the network is at fault) and a reason
starting "setup flagged"; the network criterion keeps its measurement but is not
decided (passed = None).

A network that cannot reconstruct at another setting at all (e.g. one with a fixed
measurement size) makes the check NOT_RUN with the error it raised; NaN/Inf or a
wrong shape is an ERROR naming the image and ratio, as in every check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from auditkit.checks.base import (
    Arrays, AuditContext, Check, Selection, Subject, by_image, effective_parameters, guarded_recon, reconstruct_images,
    setting_key,
)
from auditkit.errors import NetworkRaised, NetworkRuntimeError
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.checks.units import Failure, Unit, first_image, image_axis
from auditkit.manifest.models import SamplingConfig
from auditkit.metrics import as_magnitude, psnr, ssim
from auditkit.operators.base import ForwardOperator
from auditkit.stats import spread

#: multiples of the audit setting in the default ladder.
LADDER = (0.5, 0.75, 1.0, 1.5, 2.0)
#: settings kept in quick mode.
QUICK_SETTINGS = 3
#: images reconstructed per call.
BATCH = 8

CHECK_NAME = "sampling"


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One sampling setting: its operator, the achieved ratio, and for CT the angle count."""

    operator: ForwardOperator
    requested: float
    ratio: float
    n_angles: int | None

    @property
    def key(self) -> str:
        """How the setting is named in the evidence: the achieved ratio, ``setting_key``."""
        return setting_key(self.ratio)

    @property
    def label(self) -> str:
        """How the setting is written in prose: the achieved ratio to 3 significant digits (0.599609 → 0.6)."""
        return f"{self.ratio:.3g}"


class SettingsUnavailable(Exception):
    """The audit operator cannot be moved to other sampling settings (e.g. a mask read from a file)."""


def uses_angles(op: ForwardOperator) -> bool:
    """True for operators whose setting is an angle count (CT: ``n_angles`` is set), False for masked operators."""
    return op.n_angles is not None


def ladder_ratios(audit: float) -> list[float]:
    """{0.5, 0.75, 1, 1.5, 2} × the audit ratio, clipped to (0, 1] (rounded to 10 decimals, so 0.75 × 0.6 = 0.45)."""
    return sorted({min(1.0, round(f * audit, 10)) for f in LADDER})


def ladder_angles(audit: int) -> list[int]:
    """{0.5, 0.75, 1, 1.5, 2} × the audit angle count, rounded, at least 1."""
    return sorted({max(1, math.floor(f * audit + 0.5)) for f in LADDER})


def quick_subset(values: Sequence[float], anchor: float) -> list[float]:
    """The lowest, the highest, and the interior value nearest ``anchor`` (all of them if three or fewer)."""
    ordered = sorted(values)
    if len(ordered) <= QUICK_SETTINGS:
        return ordered
    interior = ordered[1:-1]
    middle = min(interior, key=lambda v: (abs(v - anchor), v))
    return [ordered[0], middle, ordered[-1]]


def audit_setting(op: ForwardOperator) -> float:
    """The audit operator's own setting: its angle count for CT, its ratio otherwise."""
    return float(op.n_angles) if op.n_angles is not None else float(op.sampling_ratio)


def trained_setting(op: ForwardOperator, trained_ratio: float) -> float:
    """The training setting: ``trained_ratio`` itself, or for CT the angle count round(trained_ratio · n_full)."""
    if op.n_full is not None:
        return float(max(1, math.floor(trained_ratio * op.n_full + 0.5)))
    return float(trained_ratio)


def settings_key(settings: Sequence[Setting], requested: float, op: ForwardOperator | None = None) -> str | None:
    """The key of the setting measured for ``requested`` (None when it was not measured, e.g. in quick mode).

    A request dropped as a duplicate of another that gives the same operator (``build_settings``) is
    found through the ratio it achieves, when the audit operator ``op`` is given.
    """
    direct = next((s.key for s in settings if s.requested == requested), None)
    if direct is not None or op is None:
        return direct
    try:
        achieved = float(_operator_at(op, requested).sampling_ratio)
    except SettingsUnavailable:
        return None
    return next((s.key for s in settings if s.ratio == achieved), None)


def requested_settings(op: ForwardOperator, config: SamplingConfig, trained_ratio: float | None, quick: bool) -> list[float]:
    """The settings to measure, increasing: the manifest's ratios, or angle counts for CT, else the default
    ladder (see the module doc)."""
    audit = audit_setting(op)
    if uses_angles(op):
        values: list[float] = [float(v) for v in config.n_angles or ladder_angles(int(audit))]
    else:
        values = [float(v) for v in config.ratios or ladder_ratios(audit)]
    extra = [] if trained_ratio is None else [trained_setting(op, trained_ratio)]
    merged = sorted(set(values) | {audit} | set(extra))
    return quick_subset(merged, audit) if quick else merged


def _operator_at(op: ForwardOperator, value: float) -> ForwardOperator:
    """The audit operator moved to ``value`` (a ratio, or an angle count for CT); itself at its own setting."""
    try:
        if uses_angles(op):
            return op if int(value) == op.n_angles else op.with_angles(int(value))
        return op if value == op.sampling_ratio else op.with_ratio(float(value))
    except (ValueError, NotImplementedError) as exc:
        raise SettingsUnavailable(str(exc) or type(exc).__name__) from exc


def build_settings(op: ForwardOperator, values: Sequence[float]) -> tuple[list[Setting], list[str]]:
    """One ``Setting`` per distinct achieved ratio (the audit operator first wins), increasing; and notes."""
    angles = uses_angles(op)
    by_ratio: dict[float, Setting] = {}
    notes: list[str] = []
    audit_value = audit_setting(op)
    for value in sorted(values, key=lambda v: v != audit_value):
        moved = _operator_at(op, value)
        ratio = float(moved.sampling_ratio)
        if ratio in by_ratio:
            notes.append(f"requested setting {value:g} gives the same operator as {by_ratio[ratio].requested:g} "
                         f"(ratio {ratio:g}); it is measured once")
            continue
        n_angles = int(moved.n_angles) if angles and moved.n_angles is not None else None
        by_ratio[ratio] = Setting(moved, float(value), ratio, n_angles)
    settings = [by_ratio[r] for r in sorted(by_ratio)]
    if angles:
        notes += _nesting_notes([s.n_angles for s in settings if s.n_angles is not None])
    return settings, notes


def _nesting_notes(counts: list[int]) -> list[str]:
    """A note for each consecutive pair of angle counts whose equispaced angle sets are not nested."""
    return [
        f"the equispaced angle sets of {a} and {b} angles are not nested ({a} does not divide {b}): "
        f"the larger set samples more finely but does not contain the smaller one"
        for a, b in zip(counts, counts[1:])
        if b % a
    ]


# -- measurement --------------------------------------------------------------------------------


class NetworkSettingUnsupported(Exception):
    """The network raised an error (not a bad output) when asked to reconstruct at another setting."""


@dataclass
class Curve:
    """One subject's quality against the settings: (K, N) PSNR and SSIM, and (K, H, W) example reconstructions."""

    psnr: np.ndarray = image_axis(1)
    ssim: np.ndarray = image_axis(1)
    example: torch.Tensor = first_image()


@dataclass(frozen=True)
class Unsupported:
    """A network unit that could not reconstruct at a setting other than the audit's, and why."""

    reason: str


def reconstruct(subject: Subject, setting: Setting, ctx: AuditContext, images: Selection) -> torch.Tensor:
    """|f(y_r)| for every image, y_r = A_r x (or the acquired k-space on A_r's mask for raw data), the modulus of
    complex outputs, ``BATCH`` per call, each output checked."""
    audit = setting.operator is ctx.operator
    labels = [f"{image_id} (ratio {setting.key})" for image_id in images.ids]
    try:
        fmap = subject.fmap if audit else subject.at(setting.operator)
        recon = guarded_recon(fmap, check=CHECK_NAME, image_ids=labels, subject=subject.key)
        out = reconstruct_images(recon, ctx.measurements(setting.operator, images), BATCH)
    except NetworkRaised as exc:  # only the network raising at a setting other than the audit one is excused
        if audit or subject.key != "network":
            raise
        cause = exc.__cause__ or exc
        raise NetworkSettingUnsupported(f"ratio {setting.key}: {type(cause).__name__}: {cause}") from exc
    except NetworkRuntimeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the same for code the network's adapter runs at that setting
        if audit or subject.key != "network":
            raise
        raise NetworkSettingUnsupported(f"ratio {setting.key}: {type(exc).__name__}: {exc}") from exc
    return as_magnitude(out)


def measure(subject: Subject, settings: list[Setting], ctx: AuditContext, images: Selection, task: Any) -> Curve:
    """PSNR and SSIM of ``subject`` on every image at every setting, and its reconstructions of the first image."""
    scores_psnr, scores_ssim, examples = [], [], []
    for setting in settings:
        out = reconstruct(subject, setting, ctx, images)
        scores_psnr.append(psnr(out, images.x).double().cpu().numpy())
        scores_ssim.append(ssim(out, images.x).double().cpu().numpy())
        examples.append(out[0])
        task.advance()
    return Curve(np.stack(scores_psnr), np.stack(scores_ssim), torch.stack(examples))


# -- statistics and criteria --------------------------------------------------------------------


def largest_drop(means: Sequence[float]) -> tuple[float, int | None, int | None]:
    """D = max(0, max_{i < j} means[i] − means[j]) and the pair (i, j) attaining it ((None, None) when D = 0)."""
    best, pair = 0.0, (None, None)
    peak, peak_at = -math.inf, -1
    for j, value in enumerate(means):
        if peak - value > best:
            best, pair = peak - value, (peak_at, j)
        if value > peak:
            peak, peak_at = value, j
    return best, pair[0], pair[1]


def _drop_text(means: np.ndarray, settings: list[Setting]) -> str:
    drop, i, j = largest_drop(list(means))
    if i is None or j is None:
        return "no drop"
    low, high = settings[i].label, settings[j].label
    return f"{drop:.2f} dB, from {means[i]:.2f} dB at ratio {low} to {means[j]:.2f} dB at ratio {high}"


def network_criterion(psnr: np.ndarray, settings: list[Setting], ids: list[str], tolerance: float) -> Criterion:
    """``sampling.no_drop_with_more_samples``: the network's largest mean-PSNR drop ≤ tolerance (PSNR (K, N))."""
    means = psnr.mean(axis=1)
    drop = largest_drop(list(means))[0]
    return Criterion.evaluate(
        "sampling.no_drop_with_more_samples",
        f"The network's mean PSNR over the images must not fall by more than {tolerance:g} dB between any sampling "
        f"ratio and a higher one: D = max over ν_i < ν_j of (PSNR(ν_i) − PSNR(ν_j)), 0 if it never falls "
        f"(measured: {_drop_text(means, settings)}).",
        drop,
        tolerance,
        per_image=_drops(psnr, ids),
    )


def _drops(psnr: np.ndarray, ids: list[str]) -> dict[str, float]:
    """Each image's own largest drop (dB) of its PSNR curve (K, N)."""
    return {i: largest_drop(list(psnr[:, n]))[0] for n, i in enumerate(ids)}


def image_criterion(psnr: np.ndarray, settings: list[Setting], ids: list[str], tolerance: float) -> Criterion:
    """``sampling.no_drop_on_any_image``: the largest drop of any one image's PSNR curve (K, N) ≤ tolerance."""
    by_image = _drops(psnr, ids)
    drops = list(by_image.values())
    n = int(np.argmax(drops))
    return Criterion.evaluate(
        "sampling.no_drop_on_any_image",
        f"On every image, the network's PSNR must not fall by more than {tolerance:g} dB between any sampling ratio "
        f"and a higher one (measured: the largest drop over the {len(ids)} images, on {ids[n]}: "
        f"{_drop_text(psnr[:, n], settings)}).",
        drops[n],
        tolerance,
        per_image=by_image,
    )


def gain_criterion(
    net_psnr: np.ndarray, base_means: np.ndarray, settings: list[Setting], ids: list[str], start: str | None,
    fraction: float, min_gain: float,
) -> Criterion | None:
    """``sampling.gain_vs_baseline``: from setting ``start`` (the training one) to the highest, the network's mean gain
    ≥ fraction × the baseline's; judged (``passed`` not None) only when the baseline gains ≥ min_gain there. None when
    no setting lies above ``start``."""
    keys = [s.key for s in settings]
    if start is None or start not in keys or keys.index(start) == len(keys) - 1:
        return None
    t = keys.index(start)
    net_means = net_psnr.mean(axis=1)
    net_gain, base_gain = float(net_means[-1] - net_means[t]), float(base_means[-1] - base_means[t])
    criterion = Criterion.evaluate(
        "sampling.gain_vs_baseline",
        f"Above the training ratio ({settings[t].label}), the network's mean PSNR gain up to the highest ratio "
        f"({settings[-1].label}) must be "
        f"at least {fraction:g} × the baseline's (measured: network {net_means[t]:.2f} → {net_means[-1]:.2f} dB, "
        f"gain {net_gain:+.2f} dB; baseline {base_means[t]:.2f} → {base_means[-1]:.2f} dB, gain {base_gain:+.2f} dB).",
        net_gain,
        fraction * base_gain,
        comparison=">=",
        compares_to_baseline=True,
        per_image=by_image(ids, net_psnr[-1] - net_psnr[t]),
    )
    if base_gain < min_gain:
        criterion = criterion.not_judged(f"the baseline gains less than {min_gain:g} dB there")
    return criterion


def baseline_criteria(
    psnr: np.ndarray, settings: list[Setting], ids: list[str], tolerance: float, min_gain: float
) -> list[Criterion]:
    """Setup sanity: the baseline (PSNR (K, N)) gains ≥ min_gain dB on the mean from the lowest to the highest ratio
    and never drops > tolerance."""
    means = psnr.mean(axis=1)
    gain = float(means[-1] - means[0])
    drop = largest_drop(list(means))[0]
    lo, hi = settings[0].label, settings[-1].label
    return [
        Criterion.evaluate(
            "sampling.baseline_rises",
            f"Setup sanity: the baseline's mean PSNR at the highest ratio ({hi}) must exceed that at the lowest ({lo}) "
            f"by at least {min_gain:g} dB (measured: {means[0]:.2f} → {means[-1]:.2f} dB). If not, the setup "
            f"(operator, baseline λ, images) is suspect and the network criterion is not judged.",
            gain,
            min_gain,
            comparison=">=",
            per_image=by_image(ids, psnr[-1] - psnr[0]),
            setup=True,
        ),
        Criterion.evaluate(
            "sampling.baseline_no_drop",
            f"Setup sanity: the baseline's mean PSNR must not fall by more than {tolerance:g} dB between any ratio "
            f"and a higher one (measured: {_drop_text(means, settings)}).",
            drop,
            tolerance,
            per_image=_drops(psnr, ids),
            setup=True,
        ),
    ]


def setup_flag_reason(means: np.ndarray, settings: list[Setting]) -> str:
    """The ERROR reason when the baseline's curve does not rise."""
    points = ", ".join(f"{m:.2f} dB at {s.label}" for m, s in zip(means, settings))
    return (
        f"setup flagged: the baseline does not improve with more samples (mean PSNR {points}; largest drop "
        f"{_drop_text(means, settings)}); the network criterion is not judged"
    )


# -- evidence -----------------------------------------------------------------------------------


def subject_result(subject: Subject, curve: Curve, settings: list[Setting], ids: list[str]) -> SubjectResult:
    """Summary ``ratios``, ``psnr_by_ratio``, ``ssim_by_ratio`` (and ``n_angles`` for CT), one row per image."""
    keys = [s.key for s in settings]
    means = curve.psnr.mean(axis=1)
    summary: dict[str, Any] = {
        "ratios": [s.ratio for s in settings],
        "psnr_by_ratio": {k: spread(curve.psnr[i]) for i, k in enumerate(keys)},
        "ssim_by_ratio": {k: spread(curve.ssim[i]) for i, k in enumerate(keys)},
        "largest_drop_db": largest_drop(list(means))[0],
        "gain_db": float(means[-1] - means[0]),
    }
    if settings[0].n_angles is not None:
        summary["n_angles"] = [s.n_angles for s in settings]
    per_image = [
        {
            "image": image_id,
            "psnr": {k: float(curve.psnr[i, n]) for i, k in enumerate(keys)},
            "ssim": {k: float(curve.ssim[i, n]) for i, k in enumerate(keys)},
        }
        for n, image_id in enumerate(ids)
    ]
    return SubjectResult(name=subject.name, summary=summary, per_image=per_image)


def parameters(
    config: SamplingConfig, ctx: AuditContext, settings: list[Setting], requested: list[float], ids: list[str]
) -> dict[str, Any]:
    """The manifest block plus what was used: requested and achieved settings, audit and training ratios, images."""
    trained = ctx.trained_ratio
    trained_key = None if trained is None else settings_key(settings, trained_setting(ctx.operator, trained), ctx.operator)
    angles = {} if settings[0].n_angles is None else {"n_angles": [s.n_angles for s in settings]}
    return effective_parameters(
        config, ids, ctx.quick,
        requested_settings=requested,
        ratios=[s.ratio for s in settings],
        **angles,
        audit_ratio=float(ctx.operator.sampling_ratio),
        audit_setting=settings_key(settings, audit_setting(ctx.operator)),
        trained_ratio=ctx.trained_ratio,
        trained_setting=trained_key,
        spread="population standard deviation (ddof = 0) over the images",
        measurements=_measurements_text(ctx, ids),
    )


def _measurements_text(ctx: AuditContext, ids: list[str]) -> str:
    """What the subjects reconstructed from at each ratio: A_r x, or the acquired k-space for raw images."""
    raw = [i for i in ids if ctx.raw(ctx.image_ids.index(i)) is not None]
    if not raw:
        return "noise-free, y = A_r x"
    text = f"acquired k-space on each ratio's mask, y = P_Ω_r k, for {', '.join(raw)}"
    return text + ("; noise-free y = A_r x for the others" if len(raw) < len(ids) else "")


def arrays(settings: list[Setting], curves: dict[str, Curve], images: Selection) -> Arrays:
    """arrays/sampling.npz: ratios (K,), the first image x (H, W), each subject's |f(A_r x)| (K, H, W) and
    PSNR/SSIM per setting and image (K, N); masks (K, H, W) for masked operators, n_angles (K,) for CT."""
    ids = images.ids
    arrays: dict[str, Any] = {
        "ratios": np.asarray([s.ratio for s in settings], dtype=np.float64),
        "x": images.x[0],
        "image_ids": np.asarray(ids, dtype=str),
        "example_image_id": np.asarray(ids[0], dtype=str),
    }
    if settings[0].n_angles is not None:
        arrays["n_angles"] = np.asarray([s.n_angles for s in settings], dtype=np.int64)
    masks = [s.operator.sampling_mask for s in settings]
    if all(m is not None for m in masks):
        arrays["masks"] = torch.stack([m.cpu() for m in masks if m is not None])
    for key, curve in curves.items():
        arrays[f"{key}_recon"] = curve.example
        arrays[f"{key}_psnr"] = curve.psnr
        arrays[f"{key}_ssim"] = curve.ssim
    return {CHECK_NAME: arrays}


# -- the check ----------------------------------------------------------------------------------


class SamplingCheck(Check[SamplingConfig]):
    """Reconstruct at several sampling ratios and ask whether more samples ever make the network worse."""

    name = CHECK_NAME
    title = "More samples (sampling ratio)"
    raw_measured = "every reconstruction: the acquired k-space on each ratio's mask"
    raw_simulated = ""
    quick_images = 2

    def precondition(self, ctx: AuditContext, config: SamplingConfig) -> CheckResult | None:
        """NOT_RUN when the operator offers fewer than two sampling settings."""
        requested = requested_settings(ctx.operator, config, ctx.trained_ratio, ctx.quick)
        try:
            settings, _ = build_settings(ctx.operator, requested)
        except SettingsUnavailable as exc:
            return self.not_run(f"the audit operator has no other sampling ratios: {exc}", config)
        if len(settings) < 2:
            return self.not_run(f"fewer than two distinct sampling settings (requested {requested})", config)
        return None

    def measure(self, ctx: AuditContext, config: SamplingConfig, subject: Subject, images: Selection) -> Curve | Unsupported:
        settings, _ = build_settings(ctx.operator, requested_settings(ctx.operator, config, ctx.trained_ratio, ctx.quick))
        try:
            with ctx.progress.task(f"sampling: {subject.key}, ratios", total=len(settings)) as task:
                return measure(subject, settings, ctx, images, task)
        except NetworkSettingUnsupported as exc:
            return Unsupported(str(exc))

    def assemble(self, ctx: AuditContext, config: SamplingConfig, outcomes: Mapping[Unit, Any]) -> CheckResult:
        """NOT_RUN when the network could not reconstruct at another setting, unless a unit before it in plan order
        failed (the first such unit says why)."""
        for outcome in outcomes.values():
            if isinstance(outcome, Failure):
                break
            if isinstance(outcome, Unsupported):
                return self.not_run(f"the network cannot reconstruct at other sampling ratios ({outcome.reason})", config)
        return super().assemble(ctx, config, outcomes)

    def decide(
        self, ctx: AuditContext, config: SamplingConfig, images: Selection, measured: Mapping[str, Curve], compared: None
    ) -> CheckResult:
        tolerance, min_gain = float(config.tolerance_db), float(config.baseline_min_gain_db)
        requested = requested_settings(ctx.operator, config, ctx.trained_ratio, ctx.quick)
        settings, notes = build_settings(ctx.operator, requested)
        curves = dict(measured)
        base_means = curves["baseline"].psnr.mean(axis=1)
        sanity = baseline_criteria(curves["baseline"].psnr, settings, images.ids, tolerance, min_gain)
        start = settings_key(
            settings,
            audit_setting(ctx.operator) if ctx.trained_ratio is None else trained_setting(ctx.operator, ctx.trained_ratio),
            ctx.operator,
        )
        gain = gain_criterion(
            curves["network"].psnr, base_means, settings, images.ids, start, float(config.min_gain_fraction), min_gain
        )
        judged = [
            network_criterion(curves["network"].psnr, settings, images.ids, tolerance),
            image_criterion(curves["network"].psnr, settings, images.ids, tolerance),
            *([gain] if gain is not None else []),
        ]
        if gain is None:
            notes.append(
                "stagnation is not judged: "
                + ("the training setting was not measured (quick mode keeps three settings)" if start is None
                   else f"no sampling setting above the training ratio ({start}) was measured")
            )
        setup_ok = all(c.passed for c in sanity)
        if not setup_ok:
            judged = [c.not_judged("the setup is flagged") for c in judged]
        return self.result(
            ctx,
            criteria=[*judged, *sanity],
            subjects={s.key: subject_result(s, curves[s.key], settings, images.ids) for s in ctx.subjects()},
            parameters=parameters(config, ctx, settings, requested, images.ids),
            notes=notes,
            arrays=lambda: arrays(settings, curves, images),
            verdict=None if setup_ok else Verdict.ERROR,
            reason=None if setup_ok else setup_flag_reason(base_means, settings),
        )
