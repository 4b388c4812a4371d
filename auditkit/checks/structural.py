"""Check 2 — small structural changes: is a small, clearly visible detail brought back?

A detail d_raw (a card suit, a word; see ``auditkit.data.details``) is added to a
test image x, keeping the image in range: x_d = clip(x + d_raw, 0, 1). The detail
actually added is the effective d = x_d − x (equal to d_raw unless x + d_raw left
[0, 1]; a detail fully clipped away cannot be measured on that image and is noted).
Both subjects reconstruct x and x_d from A x and A x_d, and the change they show,
Δ = |f(A x_d)| − |f(A x)|, is compared with d inside the detail's region R
(its support dilated by a few pixels):

    ρ = ⟨Δ, d⟩_R / (‖Δ‖_R ‖d‖_R)    (normalised correlation; ρ = 0 when Δ vanishes on R)
    ε = ‖Δ − d‖_R / ‖d‖_R            (relative error in the region)
    q = 1 − ε²                       (recovered fraction: the share of the detail's energy on R
                                      that Δ accounts for; 1 perfect, 0 nothing, < 0 worse than nothing)

Outside R a perfect method shows nothing (d = 0 there), but an undersampled
acquisition aliases a detail into copies elsewhere, which a method may or may not
remove. The *ghost contrast*

    G = max over pixels outside R of |Δ| / max |d|

is the brightest echo of the detail anywhere else, as a fraction of the detail's own
contrast (on the mri_unet sample the network's echoes reached 0.22 in image units,
43 % of the suits' contrast, and q, computed on R only, did not see them).

The criteria use q, not ρ. ρ is blind to contrast (a detail returned at 10 % of its
intensity has ρ = 1) and has a high floor for a featureless blob: a constant patch
over R already scores ρ ≈ 0.5–0.65 for the default glyphs, so a heavily blurred
network would pass any usual threshold. q is bounded by ρ² (with equality when
the amplitude is right), so it keeps ρ's shape test and adds the contrast one.

Why the modulus: the images under test are real and non-negative, so |x_d| = x_d
and a perfect method gives Δ = d exactly; the modulus is the image a reader looks
at (and what PSNR/SSIM use), and a global phase in a complex reconstruction does
not hide a detail that is plainly visible in |f|. Real outputs are used as they
are: taking their modulus would fold negative values into positive ones.

Why each detail on its own: the criteria use reconstructions of x plus one detail
at a time, so an artefact of one detail (aliasing, ringing) cannot be blamed on a
neighbour, and a failure is attributable to one detail. All details together are
also reconstructed — for the figure and as an extra, non-criterion measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from auditkit.checks.base import Arrays, AuditContext, Check, Selection, Subject, effective_parameters, guarded_call
from auditkit.data.details import DEFAULT_FONT, DetailSpec, default_details, detail_region, unique_names
from auditkit.checks.result import CheckResult, Criterion, SubjectResult
from auditkit.manifest.models import StructuralConfig
from auditkit.metrics import as_magnitude, norms64
from auditkit.operators.base import batch_norm2

#: pixels by which a detail's support is dilated to make its region R.
REGION_DILATION = 2
#: an effective detail smaller than this fraction of the rendered one (in ℓ2 norm) counts as clipped away.
CLIPPED_AWAY = 1e-6
#: on a raw slice with estimated coil maps, the least share of a detail's region that must lie where the data
#: determine the maps for the detail to be simulated and measured there.
KNOWN_SHARE = 0.95
#: an effective detail smaller than this fraction of the rendered one is reported as partly clipped.
PARTLY_CLIPPED = 0.5


def detail_recovery(delta: torch.Tensor, d: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ρ, ε) per item, shape (B,) each: normalised correlation and relative error of Δ against d on R.

    ρ = ⟨Δ, d⟩_R / (‖Δ‖_R ‖d‖_R) ∈ [−1, 1] (0 where Δ vanishes on R) and
    ε = ‖Δ − d‖_R / ‖d‖_R; both NaN where d vanishes on R (nothing to recover).
    Real inner product, computed in float64; ``region`` broadcasts against Δ and d.
    """
    if delta.is_complex() or d.is_complex():
        raise ValueError("delta and d must be real (take the modulus of complex reconstructions first)")
    r = region.to(torch.float64)
    a = (delta.to(torch.float64) * r).reshape(delta.shape[0], -1)
    b = (d.to(torch.float64) * r).expand_as(delta).reshape(delta.shape[0], -1)
    na, nb = batch_norm2(a), batch_norm2(b)
    nan = torch.full_like(nb, math.nan)
    dot = (a * b).sum(dim=1)
    rho = torch.where(na > 0, dot / (na * nb).clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(na))
    rho = torch.where(nb > 0, rho.clamp(-1.0, 1.0), nan)
    eps = torch.where(nb > 0, batch_norm2(a - b) / nb.clamp_min(torch.finfo(torch.float64).tiny), nan)
    return rho, eps


def ghost_contrast(delta: torch.Tensor, d: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """G = max |Δ| outside R / max |d| per item, shape (B,): the brightest echo of the detail away from its region,
    relative to its own contrast; NaN where d vanishes (nothing to echo). Float64; ``region`` broadcasts."""
    outside = (~region.to(torch.bool)).to(torch.float64)
    echo = (delta.to(torch.float64).abs() * outside).reshape(delta.shape[0], -1).amax(dim=1)
    peak = d.to(torch.float64).abs().expand_as(delta).reshape(delta.shape[0], -1).amax(dim=1)
    return torch.where(peak > 0, echo / peak.clamp_min(torch.finfo(torch.float64).tiny), torch.full_like(peak, math.nan))


def details_from_config(config: StructuralConfig, shape: tuple[int, int]) -> list[DetailSpec]:
    """The details the manifest sets explicitly, else ``default_details(shape)`` (laid out for this image size).

    A manifest that does not mention ``details`` (the model's default is null) gets the
    shape-aware default set; what was used is recorded in the parameters.
    """
    items = config.details
    if not items:
        return default_details(shape)
    names = unique_names([item.text for item in items])
    return [
        DetailSpec(name, item.text, float(item.size), (float(item.position[0]), float(item.position[1])), float(item.intensity))
        for name, item in zip(names, items)
    ]


@dataclass
class _Inputs:
    """One image with its details: x, x + all details, x + each detail, and the effective details."""

    x: torch.Tensor  # (H, W)
    x_all: torch.Tensor  # (H, W)
    x_each: torch.Tensor  # (K, H, W)
    d_all: torch.Tensor  # (H, W) effective
    d_each: torch.Tensor  # (K, H, W) effective

    @classmethod
    def build(cls, x: torch.Tensor, raw: torch.Tensor) -> "_Inputs":
        x_all = (x + raw.sum(dim=0)).clamp(0.0, 1.0)
        x_each = (x.unsqueeze(0) + raw).clamp(0.0, 1.0)
        return cls(x, x_all, x_each, x_all - x, x_each - x.unsqueeze(0))

    def kept(self, raw: torch.Tensor) -> torch.Tensor:
        """‖d_effective‖ / ‖d_raw‖ per detail, shape (K,): 1 when nothing was clipped, 0 when all of it was."""
        return (norms64(self.d_each) / norms64(raw)).cpu()

    def batch(self) -> torch.Tensor:
        """(K + 2, H, W): x, x_all, then x with each detail."""
        return torch.cat([self.x.unsqueeze(0), self.x_all.unsqueeze(0), self.x_each], dim=0)


@dataclass
class _Scores:
    """ρ, ε, q and the ghost contrast G per detail, shape (K,) each (NaN where the detail could not be measured)."""

    rho: torch.Tensor
    eps: torch.Tensor
    ghost: torch.Tensor

    @property
    def q(self) -> torch.Tensor:
        return recovered_fraction(self.eps)

    def where(self, measurable: torch.Tensor) -> "_Scores":
        """These scores with NaN (not measured) for the details that were clipped away."""
        keep = measurable.to(self.rho.device)
        nan = torch.full_like(self.rho, math.nan)
        return _Scores(*(torch.where(keep, t, nan) for t in (self.rho, self.eps, self.ghost)))

    def row(self, k: int) -> dict[str, float | None]:
        return {
            "recovered_fraction": _value(self.q[k]),
            "correlation": _value(self.rho[k]),
            "relative_error": _value(self.eps[k]),
            "ghost_contrast": _value(self.ghost[k]),
        }


@dataclass
class _Measured:
    """One subject on one image: its compared reconstructions and the recovery of each detail."""

    fx: torch.Tensor  # (H, W) compared view of f(A x)
    f_all: torch.Tensor  # (H, W) compared view of f(A x_all)
    alone: _Scores  # each detail reconstructed on its own (feeds the criteria)
    together: _Scores  # each detail's region within the reconstruction of all details together


def recovered_fraction(eps: torch.Tensor) -> torch.Tensor:
    """q = 1 − ε² = (2⟨Δ, d⟩_R − ‖Δ‖²_R) / ‖d‖²_R: the share of the detail's energy that Δ recovers (q ≤ ρ²)."""
    return 1.0 - eps**2


def _measure(
    subject: Subject,
    ctx: AuditContext,
    inputs: _Inputs,
    regions: torch.Tensor,
    measurable: torch.Tensor,
    image_id: str,
    names: list[str],
) -> _Measured:
    """Reconstruct x, x_all and each x + d_k in one batch with ``subject`` and score the measurable details."""
    labels = [f"{image_id} (no detail)", f"{image_id} + all details", *(f"{image_id} + {n}" for n in names)]
    with torch.no_grad():
        out = guarded_call(
            subject.fmap,
            ctx.operator.forward(inputs.batch()),
            check=StructuralCheck.name,
            image_ids=labels,
            subject=subject.key,
        )
    view = as_magnitude(out.detach())  # the modulus of a complex reconstruction, a real one as it is
    fx, f_all, f_each = view[0], view[1], view[2:]
    k = regions.shape[0]
    delta_each, delta_all = f_each - fx.unsqueeze(0), (f_all - fx).expand(k, -1, -1)
    alone = _Scores(
        *detail_recovery(delta_each, inputs.d_each, regions), ghost_contrast(delta_each, inputs.d_each, regions)
    ).where(measurable)
    # all details together: each region's recovery, and echoes outside every region
    everywhere = regions.any(dim=0, keepdim=True)
    together = _Scores(
        *detail_recovery(delta_all, inputs.d_all.expand(k, -1, -1), regions),
        ghost_contrast(delta_all, inputs.d_all.expand(k, -1, -1), everywhere),
    )
    return _Measured(fx, f_all, alone, together.where(measurable))


def _value(t: torch.Tensor) -> float | None:
    v = float(t)
    return None if math.isnan(v) else v


def _worst(values: Iterable[tuple[str, float | None]], *, lowest: bool = True) -> tuple[str | None, float | None]:
    """(image, value) of the lowest (or highest) measured value; (None, None) when nothing was measured."""
    measured = [(i, v) for i, v in values if v is not None]
    if not measured:
        return None, None
    return (min if lowest else max)(measured, key=lambda iv: iv[1])


def _over_images(rows: list[_Measured], ids: list[str], k: int, field: str, *, together: bool = False) -> list[tuple[str, float | None]]:
    """(image, value) of one score (``q``, ``rho``, ``eps`` or ``ghost``) of detail k on every image."""
    return [(i, _value(getattr(m.together if together else m.alone, field)[k])) for i, m in zip(ids, rows)]


class StructuralCheck(Check[StructuralConfig]):
    """Render details into each test image and ask whether network and baseline bring them back."""

    name = "structural"
    title = "Small structural changes"
    raw_measured = ""
    raw_simulated = "every reconstruction: y = A(x + d) from the reference image x with the inserted details d"

    def measure(self, ctx: AuditContext, config: StructuralConfig, subject: Subject, images: Selection) -> list[_Measured]:
        """One ``_Measured`` per image of ``images``."""
        names, raw, regions = _details(ctx, config)
        out = []
        for x, index, image_id in zip(images.x, images.indices, images.ids):
            inp = _Inputs.build(x, raw)
            measurable = (inp.kept(raw) >= CLIPPED_AWAY) & known_maps(ctx, index, regions)
            out.append(_measure(subject, ctx, inp, regions, measurable, image_id, names))
        return out

    def decide(
        self, ctx: AuditContext, config: StructuralConfig, images: Selection, measured: Mapping[str, list[_Measured]],
        compared: None,
    ) -> CheckResult:
        names, raw, regions = _details(ctx, config)
        specs = details_from_config(config, tuple(ctx.operator.image_shape))
        ids = images.ids
        inputs = [_Inputs.build(x, raw) for x in images.x]
        kept = torch.stack([inp.kept(raw) for inp in inputs])  # (N, K)
        measured = dict(measured)
        known = torch.stack([known_maps(ctx, i, regions) for i in images.indices])  # (N, K)
        criteria, notes = _criteria(measured, ids, names, config)
        notes = _unknown_maps_notes(known.numpy(), ids, names) + notes
        return self.result(
            ctx,
            criteria=criteria,
            subjects={s.key: _subject_result(s, measured[s.key], ids, names, kept.numpy()) for s in ctx.subjects()},
            parameters=_parameters(config, specs, ids, ctx.quick),
            notes=_clipping_notes(kept.numpy(), ids, names) + notes,
            arrays=lambda: _arrays(inputs, measured, raw, regions, names, ids),
            reason=None if criteria else ("no detail could be measured on any image (every detail was clipped away, "
                                          "or lies where a raw slice's coil maps are not known)"),
        )


def _details(ctx: AuditContext, config: StructuralConfig) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """The details' names, their renderings (K, H, W) and their dilated regions (K, H, W)."""
    shape = tuple(ctx.operator.image_shape)
    specs = details_from_config(config, shape)
    raw = torch.stack([s.render(shape) for s in specs]).to(dtype=ctx.images.dtype, device=ctx.images.device)
    regions = torch.stack([detail_region(d, REGION_DILATION) for d in raw.cpu()]).to(raw.device)
    return [s.name for s in specs], raw, regions


def known_maps(ctx: AuditContext, index: int, regions: torch.Tensor) -> torch.Tensor:
    """(K,) bool: whether each detail region can be simulated on test image ``index`` — always, except on a raw
    slice with estimated coil maps, where at least ``KNOWN_SHARE`` of the region must lie where the data have
    signal (``RawReference.known``): elsewhere the maps are extrapolated, and a detail simulated with them would
    test the extrapolation, not the network."""
    ref = ctx.raw(index)
    if ref is None or bool(ref.known.all()):
        return torch.ones(regions.shape[0], dtype=torch.bool)
    known = torch.from_numpy(ref.known).to(regions.device)
    share = (regions & known).flatten(1).sum(dim=1) / regions.flatten(1).sum(dim=1).clamp_min(1)
    return (share >= KNOWN_SHARE).cpu()


def _unknown_maps_notes(known: np.ndarray, ids: list[str], names: list[str]) -> list[str]:
    """One note per (raw image, detail) left out because the detail lies where the slice's coil maps are not known."""
    return [
        f"detail '{name}' lies where raw image {image_id} has no signal, so its estimated coil maps are extrapolated "
        f"there (less than {KNOWN_SHARE:.0%} of the detail's region is known); it is not measured on that image"
        for i, image_id in enumerate(ids) for k, name in enumerate(names) if not known[i, k]
    ]


def _clipping_notes(kept: np.ndarray, ids: list[str], names: list[str]) -> list[str]:
    """One note per (image, detail) whose effective detail was clipped away entirely or mostly."""
    notes = []
    for i, image_id in enumerate(ids):
        for k, name in enumerate(names):
            if kept[i, k] < CLIPPED_AWAY:
                notes.append(
                    f"detail '{name}' is clipped away entirely on image {image_id} (the image is already at the "
                    f"end of [0, 1] there); it is not measured on that image"
                )
            elif kept[i, k] < PARTLY_CLIPPED:
                notes.append(
                    f"detail '{name}' is mostly clipped on image {image_id}: only {kept[i, k]:.0%} of it "
                    f"(in ℓ2 norm) is added; recovery is measured against what was added"
                )
    return notes


_Q_TEXT = (
    "recovered fraction q = 1 − ‖Δ − d‖²_R / ‖d‖²_R of the detail d in its region R, where "
    "Δ = |f(A(x+d))| − |f(Ax)| is the change the reconstruction shows"
)


def _criteria(
    measured: dict[str, list[_Measured]], ids: list[str], names: list[str], config: StructuralConfig
) -> tuple[list[Criterion], list[str]]:
    """Per detail: the network's worst q ≥ min_recovery, and q_net ≥ q_base − margin on the image where it falls furthest behind."""
    min_recovery, margin = float(config.min_recovery), float(config.margin)
    k_ghost, floor = float(config.k_ghost), float(config.ghost_floor)
    criteria: list[Criterion] = []
    notes: list[str] = []
    for k, name in enumerate(names):
        net = _over_images(measured["network"], ids, k, "q")
        base = _over_images(measured["baseline"], ids, k, "q")
        worst_image, worst = _worst(net)
        gaps = [(i, None if n is None or b is None else n - b) for (i, n), (_, b) in zip(net, base)]
        gap_image, _ = _worst(gaps)
        if worst_image is None or gap_image is None:
            notes.append(f"detail '{name}' could not be measured on any image; no criterion for it")
            continue
        criteria.append(
            Criterion.evaluate(
                f"structural.recovery[{name}]",
                f"Detail '{name}': the network's {_Q_TEXT}, must be at least {min_recovery:g} on every image "
                f"(measured: the worst image, {worst_image}).",
                worst,
                min_recovery,
                comparison=">=",
                per_image=dict(net),
            )
        )
        q_net, q_base = dict(net)[gap_image], dict(base)[gap_image]
        criteria.append(
            Criterion.evaluate(
                f"structural.recovery_vs_baseline[{name}]",
                f"Detail '{name}': on every image the network's recovered fraction q must be at least the "
                f"baseline's minus {margin:g} (measured: the network's q on image {gap_image}, where it falls "
                f"furthest behind; threshold: the baseline's q there, {q_base:.3f}, minus the margin; per image: "
                f"q_network − q_baseline).",
                q_net,
                q_base - margin,
                comparison=">=",
                compares_to_baseline=True,
                per_image=dict(gaps),
            )
        )
        criteria.append(_ghost_criterion(measured, ids, k, name, k_ghost, floor))
        _, base_worst = _worst(base)
        if base_worst is not None and base_worst < min_recovery:
            notes.append(
                f"the baseline also recovers '{name}' poorly (worst q = {base_worst:.3f} < {min_recovery:g}): the "
                f"detail may be below what these measurements resolve, not only a weakness of the network"
            )
    return criteria, notes


def _ghost_criterion(
    measured: dict[str, list[_Measured]], ids: list[str], k: int, name: str, k_ghost: float, floor: float
) -> Criterion:
    """Detail k: on every image G_net ≤ k_ghost · max(G_base, floor); measured is the largest G_net / max(G_base, floor)."""
    net = dict(_over_images(measured["network"], ids, k, "ghost"))
    base = dict(_over_images(measured["baseline"], ids, k, "ghost"))
    ratios = [(i, net[i] / max(base[i], floor)) for i in ids if net[i] is not None and base[i] is not None]
    image, ratio = max(ratios, key=lambda iv: iv[1])
    return Criterion.evaluate(
        f"structural.ghosts_vs_baseline[{name}]",
        f"Detail '{name}': its ghost contrast G = max |Δ| outside its region R / max |d| (the brightest echo of the "
        f"detail elsewhere in the image) in the network's reconstruction must be at most {k_ghost:g} × max(the "
        f"baseline's G on the same image, {floor:g}) on every image (measured: the largest ratio, on image {image}: "
        f"network G = {net[image]:.3f}, baseline G = {base[image]:.3f}).",
        ratio,
        k_ghost,
        compares_to_baseline=True,
        per_image={i: net[i] / max(base[i], floor) if net[i] is not None and base[i] is not None else None for i in ids},
    )


def _subject_result(
    subject: Subject, rows: list[_Measured], ids: list[str], names: list[str], kept: np.ndarray
) -> SubjectResult:
    """Summary ``detail_recovery`` per detail (worst over images) and one row per image with every detail's scores.

    detail_recovery[name] = {recovered_fraction (min), correlation (min), relative_error (max),
    worst_image (of q), together_recovered_fraction (min), ghost_contrast (max)}.
    """
    recovery: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(names):
        worst_image, q = _worst(_over_images(rows, ids, k, "q"))
        recovery[name] = {
            "recovered_fraction": q,
            "correlation": _worst(_over_images(rows, ids, k, "rho"))[1],
            "relative_error": _worst(_over_images(rows, ids, k, "eps"), lowest=False)[1],
            "worst_image": worst_image,
            "together_recovered_fraction": _worst(_over_images(rows, ids, k, "q", together=True))[1],
            "ghost_contrast": _worst(_over_images(rows, ids, k, "ghost"), lowest=False)[1],
        }
    qs = [v["recovered_fraction"] for v in recovery.values() if v["recovered_fraction"] is not None]
    per_image = [
        {
            "image": image_id,
            "details": {
                name: {
                    **m.alone.row(k),
                    "together": m.together.row(k),
                    "kept_fraction": round(float(kept[i, k]), 6),
                }
                for k, name in enumerate(names)
            },
        }
        for i, (image_id, m) in enumerate(zip(ids, rows))
    ]
    return SubjectResult(
        name=subject.name,
        summary={"detail_recovery": recovery, "worst_recovered_fraction": min(qs) if qs else None},
        per_image=per_image,
    )


def _parameters(config: StructuralConfig, specs: list[DetailSpec], ids: list[str], quick: bool) -> dict[str, Any]:
    """The manifest block plus what was actually used: the details after defaults, font, region dilation, images."""
    return effective_parameters(
        config, ids, quick,
        details=[
            {"name": s.name, "text": s.text, "size": s.size, "position": list(s.position), "intensity": s.intensity}
            for s in specs
        ],
        font=DEFAULT_FONT,
        region_dilation_px=REGION_DILATION,
    )


def _arrays(
    inputs: list[_Inputs],
    measured: dict[str, list[_Measured]],
    raw: torch.Tensor,
    regions: torch.Tensor,
    names: list[str],
    ids: list[str],
) -> Arrays:
    """arrays/structural.npz: x and x + all details, both subjects' compared reconstructions, details and masks.

    ``x``, ``x_d``, ``network_fx``, ``network_fxd``, ``baseline_fx``, ``baseline_fxd`` are (N, H, W)
    (reconstructions as compared: modulus of complex outputs); ``details`` (rendered, before clipping)
    and ``masks`` (regions R) are (K, H, W), named by ``detail_names`` (K,); ``image_ids`` is (N,).
    """
    arrays: dict[str, Any] = {
        "x": torch.stack([i.x for i in inputs]),
        "x_d": torch.stack([i.x_all for i in inputs]),
        "details": raw,
        "masks": regions,
        "detail_names": np.asarray(names, dtype=str),
        "image_ids": np.asarray(ids, dtype=str),
    }
    for key, rows in measured.items():
        arrays[f"{key}_fx"] = torch.stack([m.fx for m in rows])
        arrays[f"{key}_fxd"] = torch.stack([m.f_all for m in rows])
    return {"structural": arrays}
