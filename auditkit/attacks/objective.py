"""How the attacks call a reconstruction method, and the one gradient they need.

A ``Reconstruct`` is f with bookkeeping: ``recon(y, rows)`` returns f(y) for a
batch whose row b perturbs the measurements of image ``rows[b]`` (an index into
the images the attack was given), so that a caller can name the image when f
misbehaves (the checks pass ``checks.base.guarded_recon``). A ``Reconstruct`` may
also carry ``backward(rows)``, a context manager the gradient's backward pass runs in,
so that a failure while differentiating f names the images too. ``plain(fmap)``
adapts an ordinary ``ReconstructionMap``. Also here: what every search checks of
its images, and how it keeps the best iterate found.

Inside a search, outputs are computed with gradient tracking on the input, also
where no gradient is taken (``outputs``), so that a search compares a method with
itself along its path (a baseline configured to unroll a fixed count of iterations
for its gradient evaluates that unroll there). What a check reports is
``evaluate``: f(y) without gradient tracking, the map's own value; for the default
baseline the two are the same solve.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, ContextManager, Sequence

import torch

from auditkit.operators.base import batch_norm2

#: f with row bookkeeping: (measurements (B, *meas), image index per row (B,)) → images (B, H, W)
Reconstruct = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: pixels per call of f (rows × H × W) beyond which the checks split a batch of rows.
PIXELS_PER_CALL = 1 << 22


def plain(fmap: Callable[[torch.Tensor], torch.Tensor]) -> Reconstruct:
    """A ``Reconstruct`` that ignores the row bookkeeping (library use, tests, benchmarks)."""

    def recon(y: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return fmap(y)

    return recon


def backward_guard(recon: Reconstruct, rows: torch.Tensor) -> ContextManager[object]:
    """The context ``recon`` asks its backward pass to run in (``recon.backward(rows)``), or none."""
    guard = getattr(recon, "backward", None)
    return guard(rows) if guard is not None else nullcontext()


def rows_per_call(image_shape: Sequence[int]) -> int:
    """How many rows of images (H, W) fit in ``PIXELS_PER_CALL`` pixels per call of f (at least one)."""
    return max(1, PIXELS_PER_CALL // (int(image_shape[0]) * int(image_shape[1])))


def outputs(recon: Reconstruct, y: torch.Tensor, rows: torch.Tensor, max_rows: int | None = None) -> torch.Tensor:
    """f(y), detached, computed the way the attacks compute it (gradient tracking on y), ``max_rows`` rows per call."""
    return _in_chunks(recon, y, rows, max_rows, track=True)


def evaluate(recon: Reconstruct, y: torch.Tensor, rows: torch.Tensor, max_rows: int | None = None) -> torch.Tensor:
    """f(y) as reported: no gradient tracking, so the map's own value (see the module doc), ``max_rows`` rows per call."""
    return _in_chunks(recon, y, rows, max_rows, track=False)


def _in_chunks(recon: Reconstruct, y: torch.Tensor, rows: torch.Tensor, max_rows: int | None, track: bool) -> torch.Tensor:
    """f(y) detached, at most ``max_rows`` rows per call, with or without gradient tracking on y."""
    step = y.shape[0] if max_rows is None else max(1, int(max_rows))
    parts = []
    for i in range(0, y.shape[0], step):
        with torch.set_grad_enabled(track):
            part = y[i : i + step].detach()
            parts.append(recon(part.requires_grad_(True) if track else part, rows[i : i + step]).detach())
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def distance_gradient(
    recon: Reconstruct,
    measure: Callable[[torch.Tensor], torch.Tensor],
    var: torch.Tensor,
    rows: torch.Tensor,
    target: torch.Tensor,
    penalty: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f(y), ‖f(y) − target‖, ∇ J) per row for J(v) = ½‖f(measure(v)) − target‖² − (penalty/2)‖v‖².

    One forward and one backward pass of f: this is the "network gradient
    evaluation" the attacks count. ``var`` may be real or complex; for complex
    ``var`` the gradient is ∂J/∂Re v + i ∂J/∂Im v, the steepest-ascent direction.
    """
    with torch.enable_grad():
        v = var.detach().requires_grad_(True)
        out = recon(measure(v), rows)
        dist = batch_norm2(out - target)
        objective = 0.5 * dist.square()
        if penalty:
            objective = objective - 0.5 * penalty * batch_norm2(v).square()
        if objective.requires_grad:
            with backward_guard(recon, rows):
                (grad,) = torch.autograd.grad(objective.sum(), v, allow_unused=True)
        else:
            grad = None
    if grad is None:
        grad = torch.zeros_like(v)
    return out.detach(), dist.detach(), grad.detach()


def image_groups(n_images: int, rows_per_image: int, max_rows: int | None) -> list[range]:
    """Consecutive groups of image indices with at most ``max_rows`` rows per call of f;
    a group holds at least one image.."""
    size = n_images if max_rows is None else max(1, int(max_rows) // max(1, rows_per_image))
    return [range(start, min(start + size, n_images)) for start in range(0, n_images, size)]


def check_images(x: torch.Tensor, generators: Sequence[torch.Generator], *, relative: str) -> None:
    """Raise ValueError unless x is real (N, H, W) with no zero image and there is one generator per image.

    ``relative`` says what needs ‖x‖ > 0 (it ends the message about a zero image).
    """
    if x.ndim != 3 or x.is_complex():
        raise ValueError(f"x: expected real images (N, H, W), got {tuple(x.shape)} {x.dtype}")
    if len(generators) != x.shape[0]:
        raise ValueError(f"generators: need one per image ({x.shape[0]}), got {len(generators)}")
    if bool((batch_norm2(x) == 0).any()):
        raise ValueError(f"x: an image is zero; {relative} need ‖x‖ > 0")


def keep_better(best: torch.Tensor, best_var: torch.Tensor, value: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """A search's running best: rows where ``value`` beats ``best`` take ``var`` into ``best_var`` (in place);
    returns max(best, value)."""
    better = value > best
    best_var[better] = var[better]
    return torch.maximum(best, value)
