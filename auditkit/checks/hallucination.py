"""Check 5 — hallucination: what did a method put where nothing was measured?

A = the audit operator, P_N its kernel projector (``operator.null_project``: exactly
I − A*A when A A* = I, as for single-coil MRI and Hadamard sampling; the Tikhonov form
I − (A*A + αI)⁻¹A*A otherwise, α from the manifest). For a test image x and a
reconstruction x̂ = f(Ax), write

    c = P_N x̂   (the unmeasured content of the reconstruction),
    b = P_N x   (the unmeasured content of the truth),
    h = c − b = P_N(x̂ − x)   (the kernel error, mapped for the figure).

Nothing in the measurements determines c: it is supplied by the method's prior.
h mixes two different things — content the method failed to supply (the zero-filled
image has c = 0, h = −b: it misses, it invents nothing) and content it supplied that
is not the truth's. Only the second is a hallucination. So patches are scored by
their *invented energy*, the part of c that no partial recovery of the truth explains:

    I_P = min_{0 ≤ β ≤ 1} ‖c − β b‖²_P = ‖c − β* b‖²_P,  β* = clip(Re⟨b, c⟩_P / ‖b‖²_P, 0, 1)

on each square patch P (side ``patch_size``, stride half of it, the image padded with
zeros at the bottom and right so every pixel is covered). I_P = 0 for the zero-filled
image (c = 0) and for a perfect one (c = b), and for any method that returns a
shrunken copy of the unmeasured truth (β b); an added pattern p counts in full
where it is unrelated to the truth, and kernel content of the wrong sign (β < 0,
a structure removed) counts too. Energies are reported relative to ‖x‖².

Criterion ``hallucination.largest_patch_vs_baseline`` (compares to the baseline): on
every image and every patch P, I_P of the network ≤ k_baseline × max(I_P of the baseline
on the same patch, ENERGY_FLOOR‖x‖²); measured is the largest ratio over the images and
patches. Patch by patch, not largest against largest: a baseline whose invented energy is
diffuse (compressed sensing fills the kernel with faint, spread-out aliasing) has a largest
patch somewhere, and comparing the network's largest patch with it let a letter the network
had put into an image where nothing was measured pass at 1.75× (the ``mri_kernel_pair``
sample: its 'M', transferred from training, sits on patches where the baseline invents
almost nothing; patch by patch the ratio is 4.35). The floor (a patch holding 1 % of the
image's norm) keeps a baseline that invents almost nothing from turning rounding noise
into a failure. The maxima run over the *interior* patches,
those at least ``border`` pixels from every edge. Where an image does not vanish at
its edges (a field of view cropped through anatomy), its periodic extension — the
DFT's view of it — jumps from one edge to the opposite one; the jump's high
frequencies are largely unmeasured, so every method fills them somehow, and the
largest patches of every method sat in that frame (on the mri_unet sample's MR
image, all six reported patches). The frame's largest patch is reported per image
and subject (``largest_border_patch_energy``), and a note names a subject whose
frame exceeds its interior, but it is not judged: it compares edge handling, not
what a reader examines. (With no interior patch — an image smaller than a patch plus
two borders — every patch is judged.)

Also reported, per image and subject: ‖h‖/‖x‖ and ‖c‖/‖x‖, and the ``TOP_PATCHES``
largest non-overlapping patches (greedy on I_P) with location (row, col of the top-left
corner), size, invented energy and kernel-error energy ‖h‖²_P.

Kernel detail (an observation, not a criterion). A symbol d̃ (``render_detail``, a
heart at the centre by default) is projected onto the kernel, d = P_N d̃, so that
‖Ad‖/‖d‖ ≈ 0 (exactly 0 for an exact projector: then A(x + d) = Ax and no method
can tell x + d from x). Each subject reconstructs A(x + d), and the kernel content
c_d = P_N f(A(x + d)) is fitted on the symbol's region R by least squares,

    c_d ≈ β P_N x + γ d   on R,

γ being the *shown fraction* of the detail (1: d shown at its full intensity, 0:
nothing beyond a partial copy of the truth's own kernel content, which the second
regressor absorbs — otherwise the zero-filled image, whose c is 0 but whose error
−P_N x overlaps d, would look anti-correlated with it). An honest method has γ ≈ 0;
one that "recovers" d did not measure it — it brings the detail from its training
and would put it into every image with these measurements (detail transfer).
γ is not reported (None) where P_N x and d are collinear on R (condition number of
the 2 × 2 Gram matrix above ``COLLINEAR``).

Caveats. Complex operators (MRI) compare complex images: a real output is promoted,
and a magnitude-only output carries no phase, so its kernel part is that of |x̂|
(fine for the real, non-negative test images here, but a phase-shifted complex output
would count as invented). For real operators a complex output is compared through
its modulus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from auditkit.checks.base import (
    Arrays, AuditContext, Check, Selection, Subject, by_image, effective_parameters, guarded_recon, reconstruct_images,
)
from auditkit.data.details import DetailSpec, detail_region
from auditkit.checks.result import CheckResult, Criterion, SubjectResult
from auditkit.manifest.models import Detail, HallucinationConfig
from auditkit.metrics import as_magnitude, patch_grid, patch_windows, window_energy
from auditkit.operators.base import ForwardOperator, batch_norm2, inner

#: patches listed per image and subject.
TOP_PATCHES = 3
#: least baseline patch energy the network's is compared with, as a fraction of ‖x‖².
ENERGY_FLOOR = 1e-4
#: pixels by which the detail's support is dilated to make its region R.
REGION_DILATION = 2
#: a shown fraction γ above this is called out in a note.
SHOWS_DETAIL = 0.5
#: condition number of the (P_N x, d) Gram matrix on R above which γ is not separable.
COLLINEAR = 1e8
#: images reconstructed per call.
BATCH = 8
#: a kernel part d = P_N d̃ smaller than this fraction of ‖d̃‖ is rounding: the kernel is empty (fully sampled).
EMPTY_KERNEL = 1e-5

CHECK_NAME = "hallucination"


# -- patches -----------------------------------------------------------------------------------


def _energy(w: torch.Tensor) -> torch.Tensor:
    return (w.abs() ** 2).sum(dim=-1)


def invented_energy(c: torch.Tensor, b: torch.Tensor, size: int) -> torch.Tensor:
    """I_P = ‖c − β* b‖²_P per patch, shape (B, P), β* = clip(Re⟨b, c⟩_P/‖b‖²_P, 0, 1) (0 where b vanishes on P)."""
    cw, bw = patch_windows(c, size), patch_windows(b, size)
    bb = _energy(bw)
    bc = (torch.conj(bw) * cw).real.sum(dim=-1) if bw.is_complex() or cw.is_complex() else (bw * cw).sum(dim=-1)
    beta = torch.where(bb > 0, bc / bb.clamp_min(torch.finfo(bb.dtype).tiny), torch.zeros_like(bb)).clamp(0.0, 1.0)
    return _energy(cw - beta.unsqueeze(-1) * bw)


def interior_patches(corners: list[tuple[int, int]], size: int, shape: tuple[int, int], border: int) -> torch.Tensor:
    """Bool mask over the patches: those lying at least ``border`` pixels from every edge of an (H, W) image
    (every patch when none does)."""
    h, w = shape
    inside = torch.tensor(
        [r >= border and c >= border and r + size <= h - border and c + size <= w - border for r, c in corners],
        dtype=torch.bool,
    )
    return inside if bool(inside.any()) else torch.ones(len(corners), dtype=torch.bool)


def largest_patches(
    energy: torch.Tensor, corners: list[tuple[int, int]], size: int, k: int = TOP_PATCHES,
    allowed: torch.Tensor | None = None,
) -> list[int]:
    """Indices of up to k patches of largest energy (among ``allowed``, a bool mask; all when None) that do not
    overlap each other (greedy, largest first)."""
    chosen: list[int] = []
    for idx in torch.argsort(energy, descending=True, stable=True).tolist():
        if allowed is not None and not bool(allowed[idx]):
            continue
        r, c = corners[idx]
        if all(abs(r - corners[j][0]) >= size or abs(c - corners[j][1]) >= size for j in chosen):
            chosen.append(idx)
            if len(chosen) == k:
                break
    return chosen


# -- kernel parts ------------------------------------------------------------------------------


def comparable(op: ForwardOperator, t: torch.Tensor) -> torch.Tensor:
    """t in the operator's image dtype: promoted to complex for complex operators, modulus of complex for real ones."""
    if op.is_complex:
        return t.to(op.image_dtype)
    return as_magnitude(t).to(op.real_dtype)


def kernel_part(op: ForwardOperator, t: torch.Tensor, alpha: float) -> torch.Tensor:
    """P_N t for a stack (B, H, W) (exact, or Tikhonov with α; see module doc)."""
    return op.null_project(comparable(op, t), alpha=alpha)


def shown_fraction(c: torch.Tensor, b: torch.Tensor, d: torch.Tensor, region: torch.Tensor) -> list[float | None]:
    """γ per item of c (B, H, W): the coefficient of d in the least-squares fit c ≈ β b + γ d on R (real inner product).

    b is (B, H, W) (the truth's kernel part, one per item), d (H, W); None where b and d are collinear on R.
    """
    r = region.to(c.real.dtype)
    cr, br, dr = c * r, b * r, (d * r).expand_as(c)
    bb, bd, dd = inner(br, br).double(), inner(br, dr).double(), inner(dr, dr).double()
    bc, dc = inner(br, cr).double(), inner(dr, cr).double()
    out: list[float | None] = []
    for i in range(c.shape[0]):
        gram = np.array([[float(bb[i]), float(bd[i])], [float(bd[i]), float(dd[i])]])
        rhs = np.array([float(bc[i]), float(dc[i])])
        if gram[1, 1] == 0.0:
            out.append(None)
        elif gram[0, 0] == 0.0:
            out.append(float(rhs[1] / gram[1, 1]))
        elif np.linalg.cond(gram) > COLLINEAR:
            out.append(None)
        else:
            out.append(float(np.linalg.solve(gram, rhs)[1]))
    return out


@dataclass
class KernelDetail:
    """d̃ (the rendered symbol), d = P_N d̃, its region, and how visible d is to A."""

    symbol: torch.Tensor  # (H, W) real
    d: torch.Tensor  # (H, W), operator image dtype
    region: torch.Tensor  # (H, W) bool
    spec: DetailSpec
    measured_fraction: float | None  # ‖A d‖ / ‖d‖ (None when d = 0: A has no kernel)
    kernel_share: float  # ‖d‖ / ‖d̃‖

    @classmethod
    def build(cls, op: ForwardOperator, spec: DetailSpec, alpha: float, device: torch.device) -> "KernelDetail":
        """Render d̃, project it, and measure ‖Ad‖/‖d‖ and ‖d‖/‖d̃‖."""
        symbol = spec.render(op.image_shape).to(dtype=op.real_dtype, device=device)
        with torch.no_grad():
            d = kernel_part(op, symbol.unsqueeze(0), alpha)
            nd = float(batch_norm2(d)[0])
            share = nd / float(batch_norm2(symbol.unsqueeze(0))[0])
            if share < EMPTY_KERNEL:
                d, share, measured = torch.zeros_like(d), 0.0, None
            else:
                measured = float(batch_norm2(op.forward(d))[0]) / nd
        return cls(symbol, d[0], detail_region(symbol.cpu(), REGION_DILATION).to(device), spec, measured, share)


def kernel_detail_spec(item: Detail) -> DetailSpec:
    """The manifest's ``kernel_detail`` (text, size, position, intensity) as a renderable detail."""
    pos = tuple(float(p) for p in item.position)
    return DetailSpec("kernel_detail", item.text, float(item.size), (pos[0], pos[1]), float(item.intensity))


# -- measuring one subject ---------------------------------------------------------------------


@dataclass
class _Measured:
    """One subject on the audited images (N images, P patches)."""

    fx: torch.Tensor  # (N, H, W) f(Ax) as returned
    b: torch.Tensor  # (N, H, W) P_N x of the truth f(Ax) is compared with (see ``measured_truth``)
    h: torch.Tensor  # (N, H, W) P_N(f(Ax) − x)
    c: torch.Tensor  # (N, H, W) P_N f(Ax)
    invented: torch.Tensor  # (N, P) I_P / ‖x‖²
    error_energy: torch.Tensor  # (N, P) ‖h‖²_P / ‖x‖²
    f_detail: torch.Tensor  # (N, H, W) f(A(x + d))
    error_relative: torch.Tensor  # (N,) ‖h‖ / ‖x‖
    content_relative: torch.Tensor  # (N,) ‖c‖ / ‖x‖
    shown: list[float | None]  # (N,) γ, the shown fraction of the kernel detail
    real_output: bool

    def largest(self, patches: torch.Tensor) -> torch.Tensor:
        """max_P I_P / ‖x‖² per image over the patches ``patches`` (a bool mask over P), (N,); 0 where there is none."""
        chosen = self.invented[:, patches]
        return chosen.amax(dim=1) if chosen.shape[1] else torch.zeros(self.invented.shape[0], dtype=self.invented.dtype)


def _reconstruct(subject: Subject, y: torch.Tensor, labels: list[str]) -> torch.Tensor:
    """f(y) of a stack of measurements, ``BATCH`` per call, as reported, each output checked (``guarded_recon``)."""
    recon = guarded_recon(subject.fmap, check=CHECK_NAME, image_ids=labels, subject=subject.key)
    return reconstruct_images(recon, y, BATCH)


def measured_truth(ctx: AuditContext, images: Selection, fx: torch.Tensor) -> torch.Tensor:
    """The truth f of the measurements is compared with: x, except for a raw image reconstructed as a complex
    image, whose truth is the complex reference x_c (acquired data keep the object's phase; |x_c| would count
    that phase as invented content)."""
    truth = images.x.to(fx.dtype) if fx.is_complex() else images.x
    for row, index in enumerate(images.indices):
        ref = ctx.raw(index)
        if ref is not None and fx.is_complex():
            truth[row] = torch.from_numpy(ref.complex_image).to(device=truth.device, dtype=truth.dtype)
    return truth


def _measure(
    subject: Subject, ctx: AuditContext, images: Selection, detail: KernelDetail, size: int, alpha: float,
) -> _Measured:
    """f of the images' measurements (acquired ones for raw data), scored against ``measured_truth``, and
    f(A(x + d)) with the kernel detail d, simulated from x."""
    op, x, ids = ctx.operator, images.x, images.ids
    fx = _reconstruct(subject, ctx.measurements(op, images), ids)
    x_d = comparable(op, x) + detail.d.unsqueeze(0)
    f_detail = _reconstruct(subject, op.forward(x_d), [f"{i} + kernel detail" for i in ids])
    norm_x = batch_norm2(x).double().cpu()
    norm2 = norm_x.square()[:, None]
    with torch.no_grad():
        b = kernel_part(op, measured_truth(ctx, images, fx), alpha)
        c = kernel_part(op, fx, alpha)
        h = c - b
        invented = invented_energy(c, b, size).double().cpu() / norm2
        error_energy = window_energy(h, size).double().cpu() / norm2
        shown = shown_fraction(kernel_part(op, f_detail, alpha), kernel_part(op, x, alpha), detail.d, detail.region)
    return _Measured(
        fx=fx.cpu(),
        b=b.detach().cpu(),
        h=h.detach().cpu(),
        c=c.detach().cpu(),
        invented=invented,
        error_energy=error_energy,
        f_detail=f_detail.cpu(),
        error_relative=batch_norm2(h.detach()).double().cpu() / norm_x,
        content_relative=batch_norm2(c.detach()).double().cpu() / norm_x,
        shown=shown,
        real_output=op.is_complex and not fx.is_complex(),
    )


# -- the check ---------------------------------------------------------------------------------


class HallucinationCheck(Check[HallucinationConfig]):
    """Map the unmeasured part of each reconstruction, localise invented content, compare with the baseline."""

    name = CHECK_NAME
    title = "Hallucination: content in the kernel of A"
    raw_measured = ("the reconstruction whose unmeasured content is scored: f(y) of the acquired y, against the "
                    "complex reference x_c when f is complex")
    raw_simulated = "the kernel detail: f(A(x + d)) from the reference image x"

    def measure(self, ctx: AuditContext, config: HallucinationConfig, subject: Subject, images: Selection) -> _Measured:
        op, alpha, x = ctx.operator, float(config.alpha), images.x
        detail = KernelDetail.build(op, kernel_detail_spec(config.kernel_detail), alpha, x.device)
        return _measure(subject, ctx, images, detail, int(config.patch_size), alpha)

    def decide(
        self, ctx: AuditContext, config: HallucinationConfig, images: Selection, measured: Mapping[str, _Measured],
        compared: None,
    ) -> CheckResult:
        op = ctx.operator_for(images.indices[0]) if images.indices else ctx.operator  # its kernel detail is shown
        alpha, size, k = float(config.alpha), int(config.patch_size), float(config.k_baseline)
        ids, x = images.ids, images.x
        detail = KernelDetail.build(op, kernel_detail_spec(config.kernel_detail), alpha, x.device)
        measured = dict(measured)
        b = measured[ctx.network.key].b.to(x.device)  # each image's, with its own operator (a raw slice's maps)
        grid = _Grid.of(op.image_shape, size, int(config.border))
        image_share = (batch_norm2(b).double() / batch_norm2(x).double()).cpu()
        return self.result(
            ctx,
            criteria=[_criterion(measured, ids, k, grid)],
            subjects={s.key: _subject_result(s, measured[s.key], ids, grid, image_share) for s in ctx.subjects()},
            parameters=_parameters(config, op, detail, ids, size, ctx.quick),
            notes=_notes(ctx, measured, detail, ids, grid),
            arrays=lambda: _arrays(op, x, b, measured, detail, ids, grid),
        )


@dataclass(frozen=True)
class _Grid:
    """The patches of one image shape: their corners, side, and which are judged (away from the border)."""

    corners: list[tuple[int, int]]
    size: int
    shape: tuple[int, int]
    border: int
    interior: torch.Tensor  # (P,) bool

    @classmethod
    def of(cls, shape: tuple[int, int], size: int, border: int) -> "_Grid":
        shape = (int(shape[0]), int(shape[1]))
        _, _, corners = patch_grid(shape, size)
        return cls(corners, size, shape, border, interior_patches(corners, size, shape, border))

    @property
    def frame(self) -> torch.Tensor:
        """(P,) bool: the patches reported apart (none when every patch is judged)."""
        return ~self.interior


def patch_ratios(net: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """I_P(network) / max(I_P(baseline), ENERGY_FLOOR) on each patch, (N, P): the same patch in both."""
    return net / base.clamp_min(ENERGY_FLOOR)


def _criterion(measured: dict[str, _Measured], ids: list[str], k: float, grid: _Grid) -> Criterion:
    """max over images and interior patches of I_P(network) / max(I_P(baseline) on that patch, floor) ≤ k."""
    net, base = measured["network"].invented[:, grid.interior], measured["baseline"].invented[:, grid.interior]
    ratios = patch_ratios(net, base)
    per_image = ratios.amax(dim=1)
    n = int(torch.argmax(per_image))
    j = int(torch.argmax(ratios[n]))
    row, col = [corner for corner, inside in zip(grid.corners, grid.interior.tolist()) if inside][j]
    where = f"patches at least {grid.border} px from the image's edges" if bool(grid.frame.any()) else "every patch"
    criterion = Criterion.evaluate(
        "hallucination.largest_patch_vs_baseline",
        f"Invented energy I_P = min over 0 ≤ β ≤ 1 of ‖P_N f(Ax) − β P_N x‖² on a {grid.size}×{grid.size} patch P "
        f"({where}): on every image and every patch the network's I_P must be at most {k:g} × the baseline's on "
        f"the same patch (the baseline's floored at {ENERGY_FLOOR:g}‖x‖²). Measured: the largest ratio, on image "
        f"{ids[n]}, patch at row {row}, column {col} (network {float(net[n, j]):.3g}‖x‖², baseline "
        f"{float(base[n, j]):.3g}‖x‖²).",
        float(per_image[n]),
        k,
        compares_to_baseline=True,
        per_image=by_image(ids, per_image),
    )
    return criterion


def _patch_rows(m: _Measured, n: int, grid: _Grid) -> list[dict[str, Any]]:
    """The largest judged (interior) patches of image n."""
    rows = []
    size, shape = grid.size, grid.shape
    for idx in largest_patches(m.invented[n], grid.corners, size, allowed=grid.interior):
        r, c = grid.corners[idx]
        rows.append(
            {
                "row": r,
                "col": c,
                "height": min(size, shape[0] - r),
                "width": min(size, shape[1] - c),
                "invented_energy": float(m.invented[n, idx]),
                "kernel_error_energy": float(m.error_energy[n, idx]),
            }
        )
    return rows


def _subject_result(subject: Subject, m: _Measured, ids: list[str], grid: _Grid, image_share: torch.Tensor) -> SubjectResult:
    """Headline numbers (worst over images) and one row per image.

    summary = {largest_patch_energy (max over images of the interior max_P I_P/‖x‖²), largest_patch_image,
    largest_border_patch_energy (the same over the border frame's patches, reported, not judged),
    kernel_error_relative (max ‖h‖/‖x‖), kernel_content_relative (max ‖c‖/‖x‖),
    kernel_detail_shown (max γ over images, None when never separable)}.
    """
    largest, at_border = m.largest(grid.interior), m.largest(grid.frame)
    worst = int(torch.argmax(largest))
    rows = [
        {
            "image": image_id,
            "largest_patch_energy": float(largest[n]),
            "largest_border_patch_energy": float(at_border[n]),
            "kernel_error_relative": float(m.error_relative[n]),
            "kernel_content_relative": float(m.content_relative[n]),
            "image_kernel_share": float(image_share[n]),
            "largest_patches": _patch_rows(m, n, grid),
            "kernel_detail_shown": m.shown[n],
        }
        for n, image_id in enumerate(ids)
    ]
    summary = {
        "largest_patch_energy": float(largest[worst]),
        "largest_patch_image": ids[worst],
        "largest_border_patch_energy": float(at_border.max()),
        "kernel_error_relative": float(m.error_relative.max()),
        "kernel_content_relative": float(m.content_relative.max()),
        "kernel_detail_shown": _max_or_none(m.shown),
    }
    return SubjectResult(name=subject.name, summary=summary, per_image=rows)


def _max_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _notes(ctx: AuditContext, measured: dict[str, _Measured], detail: KernelDetail, ids: list[str], grid: _Grid) -> list[str]:
    """The projector used, the kernel detail's visibility, who shows it, invention gathered at the border, and the
    magnitude-output caveat."""
    op = ctx.operator
    projector = (
        "P_N = I − A*A (exact: A A* = I)"
        if op.has_orthonormal_rows
        else "P_N = I − (A*A + αI)⁻¹A*A (Tikhonov; approximate kernel)"
    )
    if detail.measured_fraction is None:
        notes = [f"{projector}; the kernel of A is empty here (nothing unmeasured): no kernel detail can be built"]
    else:
        notes = [
            f"{projector}; kernel detail {detail.spec.text!r}: d = P_N d̃ keeps {detail.kernel_share:.0%} of the "
            f"symbol's norm and ‖Ad‖/‖d‖ = {detail.measured_fraction:.2e}, so A(x + d) ≈ Ax: no method can measure d"
        ]
    for key, m in measured.items():
        shown = [(g, i) for g, i in zip(m.shown, ids) if g is not None]
        if shown and max(shown)[0] > SHOWS_DETAIL:
            gamma, image = max(shown)
            notes.append(
                f"{key}: its reconstruction from A(x + d) shows the kernel detail d (shown fraction γ = {gamma:.2f} on "
                f"image {image}); d was not measured, so this content comes from the method's training or prior "
                f"(detail transfer) and would appear in any image with these measurements"
            )
        inside, frame = m.largest(grid.interior), m.largest(grid.frame)
        edge = [i for i in range(len(ids)) if float(frame[i]) > float(inside[i])]
        if bool(grid.frame.any()) and edge:
            i = max(edge, key=lambda j: float(frame[j]))
            notes.append(
                f"{key}: its largest invented energy lies in the {grid.border}-px frame along the image's edges on "
                f"{len(edge)} of {len(ids)} image(s) (largest {float(frame[i]):.3g}‖x‖² on {ids[i]}, against "
                f"{float(inside[i]):.3g}‖x‖² inside); the frame is reported, not judged"
            )
        if m.real_output:
            notes.append(
                f"{key}: returns real (magnitude) images for a complex operator; its kernel part is that of the "
                f"magnitude (no phase information)"
            )
    return notes


def _parameters(
    config: HallucinationConfig, op: ForwardOperator, detail: KernelDetail, ids: list[str], size: int, quick: bool
) -> dict[str, Any]:
    """The manifest block plus the effective settings: projector, patches, floor, kernel detail, images."""
    stride, _, _ = patch_grid(op.image_shape, size)
    return effective_parameters(
        config, ids, quick,
        projector="exact" if op.has_orthonormal_rows else "tikhonov",
        patch_stride=stride,
        top_patches=TOP_PATCHES,
        energy_floor=ENERGY_FLOOR,
        kernel_detail={
            "text": detail.spec.text,
            "size": detail.spec.size,
            "position": list(detail.spec.position),
            "intensity": detail.spec.intensity,
            "measured_fraction": detail.measured_fraction,
            "kernel_share": detail.kernel_share,
        },
        region_dilation_px=REGION_DILATION,
    )


def _arrays(
    op: ForwardOperator, x: torch.Tensor, b: torch.Tensor, measured: dict[str, _Measured], detail: KernelDetail,
    ids: list[str], grid: _Grid,
) -> Arrays:
    """arrays/hallucination.npz — the maps and patches the figures need.

    ``x`` (N, H, W), ``image_ids`` (N,), ``truth_kernel`` P_N x (N, H, W), ``patch_size`` ();
    per subject: ``{key}_fx`` f(Ax), ``{key}_kernel_error`` h = P_N(f(Ax) − x), ``{key}_kernel_content``
    P_N f(Ax), ``{key}_f_detail`` f(A(x + d)) (all (N, H, W), complex for MRI), ``{key}_patches`` (N, K, 4) int
    (row, col, height, width of the largest judged patches, −1 where fewer than K) and ``{key}_patch_energy`` (N, K);
    ``border`` () the width of the frame whose patches are not judged;
    ``detail_symbol`` d̃ (H, W), ``kernel_detail`` d (H, W), ``detail_region`` (H, W) bool.
    """
    arrays: dict[str, Any] = {
        "x": x,
        "image_ids": np.asarray(ids, dtype=str),
        "truth_kernel": b,
        "patch_size": np.asarray(grid.size, dtype=np.int64),
        "border": np.asarray(grid.border if bool(grid.frame.any()) else 0, dtype=np.int64),
        "detail_symbol": detail.symbol,
        "kernel_detail": detail.d,
        "detail_region": detail.region,
    }
    for key, m in measured.items():
        patches = np.full((len(ids), TOP_PATCHES, 4), -1, dtype=np.int64)
        energy = np.zeros((len(ids), TOP_PATCHES), dtype=np.float64)
        for n in range(len(ids)):
            for j, row in enumerate(_patch_rows(m, n, grid)):
                patches[n, j] = (row["row"], row["col"], row["height"], row["width"])
                energy[n, j] = row["invented_energy"]
        arrays.update(
            {
                f"{key}_fx": m.fx,
                f"{key}_kernel_error": m.h,
                f"{key}_kernel_content": m.c,
                f"{key}_f_detail": m.f_detail,
                f"{key}_patches": patches,
                f"{key}_patch_energy": energy,
            }
        )
    return {CHECK_NAME: arrays}
