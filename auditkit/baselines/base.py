"""The baseline as a ReconstructionMap: an iterative scheme run by one shared driver.

A ``Scheme`` is one convex solver for one operator (FISTA for ℓ1-wavelet,
primal–dual for square-root LASSO and TV), written as ``init`` / ``step`` on a
tuple of tensors. ``BaselineMap`` runs it on a batch of measurements:

- without gradients (the usual case) it iterates until every image's relative
  change ‖z_k − z_{k−1}‖/‖z_k‖ is below ``tol`` or ``max_iter`` is reached, and
  takes each image out of the stepped batch as soon as it has converged, so an
  image's result does not depend on which other images share its batch and a
  batch costs the sum of its images' iterations;
- when y requires a gradient (an attack differentiates through the baseline), the
  map is differentiated at its fixed point (``gradient="fixed_point"``, the
  default): the solver first converges without a graph, exactly as above, then
  ``gradient_iters`` = K more iterations T(·, y) are run with the graph, starting
  from that (detached) final state z*. The value is still the converged z*
  (moved by K further contracting steps, i.e. within the stopping tolerance), and
  its gradient is the K-term truncation of the implicit-function gradient
  ∂z*/∂y = (I − ∂_z T)⁻¹ ∂_y T = Σ_j (∂_z T)^j ∂_y T at the fixed point z* = T(z*, y).
  An attack therefore climbs the baseline actually evaluated, at the cost of one
  graph-free solve plus K differentiated steps. Successive gradient calls are
  nearby points of one search, so each solve starts from the previous call's
  final state (same batch shape; momentum reset) and needs few iterations. The
  value then depends on that start: within the stopping tolerance when the solve
  converges, by much more when ``max_iter`` cuts it short (quick mode). So these
  values only steer a search; the checks report f(y) from calls without gradient
  tracking, fresh solves from A†y (``attacks.objective.evaluate``), and call
  ``forget()``, which drops the kept state, before every search
  (``checks.base.start_fresh``), so that no number depends on what ran before;
- with ``gradient="unrolled"`` and y requiring a gradient, or when ``fixed=True``
  is passed, it runs exactly ``unrolled_iters`` iterations from the warm start
  for every image: one fixed differentiable function (ordinary torch ops,
  unrolled) whose gradient is exact for what is evaluated, but which is not the
  converged solution unless ``unrolled_iters`` is large.
  The unrolled graph keeps ~14 image-sized tensors per iteration (ℓ1-wavelet:
  1.7 MB per image and iteration at 128² complex64). ``checkpoint_segment`` = n > 0
  checkpoints the unroll in segments of n iterations (memory in use drops ~5× at
  n = 25, for ~2.5× the time on CPU); it is off by default because on CPU the time
  matters more and glibc's allocator keeps the freed memory resident anyway; turn it
  on for long unrolls of large images or batches, and on GPUs.
"""

from __future__ import annotations

import math
import weakref
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

from auditkit.operators.base import ForwardOperator, power_norm

State = tuple[torch.Tensor, ...]

#: how ``BaselineMap`` differentiates: at the converged fixed point, or through a fixed-count unroll
GRADIENTS = ("fixed_point", "unrolled")

_NORM_CACHE: "weakref.WeakKeyDictionary[ForwardOperator, float]" = weakref.WeakKeyDictionary()


def operator_norm_sq(op: ForwardOperator, iters: int = 100) -> float:
    """L = ‖A‖² (1 when A A* = I, else the operator's ``norm_squared`` or power iteration on A*A), cached per operator."""
    if op.has_orthonormal_rows:
        return 1.0
    try:
        return _NORM_CACHE[op]
    except (KeyError, TypeError):
        pass
    declared = op.norm_squared
    value = float(declared) if declared is not None and declared > 0 else power_norm(op, iters=iters) ** 2
    try:
        _NORM_CACHE[op] = value
    except TypeError:  # unhashable operator: no caching
        pass
    return value


def _real_view(t: torch.Tensor) -> torch.Tensor:
    """(B, ...) → (B, n) real: complex entries as (re, im) pairs (torch's complex reductions are slow)."""
    return (torch.view_as_real(t) if t.is_complex() else t).reshape(t.shape[0], -1)


def sq_norms(t: torch.Tensor) -> torch.Tensor:
    """‖t_b‖² per item (complex modulus), shape (B,)."""
    flat = _real_view(t)
    return (flat * flat).sum(dim=1)


def real_inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Re⟨a_b, b_b⟩ per item, shape (B,) (the same value as ``operators.base.inner``)."""
    return (_real_view(a) * _real_view(b)).sum(dim=1)


WARM_STARTS = ("pinv", "adjoint")


class Scheme(ABC):
    """One iterative solver for one operator and one set of parameters.

    The iteration state is a tuple of tensors whose first axis is the batch;
    ``context`` holds per-call constants (y, A*y, ...).
    """

    operator: ForwardOperator
    #: "pinv" starts from A†y; "adjoint" from A*y (cheaper where A† is itself iterative)
    warm_start: str = "pinv"

    def _set_warm_start(self, warm_start: str) -> None:
        if warm_start not in WARM_STARTS:
            raise ValueError(f"warm_start: must be one of {WARM_STARTS}, got {warm_start!r}")
        self.warm_start = warm_start

    def initial_image(self, y: torch.Tensor) -> torch.Tensor:
        """z_0 = A†y or A*y (``warm_start``)."""
        return self.operator.pinv(y) if self.warm_start == "pinv" else self.operator.adjoint(y)

    @abstractmethod
    def init(self, y: torch.Tensor) -> tuple[State, State]:
        """Initial state (warm start from A†y) and the per-call context."""

    @abstractmethod
    def step(self, state: State, context: State, k: int) -> State:
        """One iteration k = 0, 1, ... ."""

    @staticmethod
    def image(state: State) -> torch.Tensor:
        """The current image iterate z_k (first entry of the state by convention)."""
        return state[0]

    @abstractmethod
    def objective(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The objective the scheme minimises, per image, shape (B,)."""

    def resume(self, state: State) -> State:
        """A final state of an earlier solve made a starting state (schemes with momentum reset it)."""
        return state


@dataclass
class SolveInfo:
    """What the last call did, per image: iterations, final relative change, objective, convergence."""

    iterations: list[int]
    relative_change: list[float]
    objective: list[float]
    converged: list[bool]
    fixed_iterations: bool
    tol: float

    @property
    def all_converged(self) -> bool:
        """True when every image's final relative change is below ``tol``."""
        return all(self.converged)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for the evidence file."""
        return asdict(self)


def _relative_change(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """‖new − old‖ / ‖new‖ per image (0 when both vanish)."""
    den = sq_norms(new)
    return torch.sqrt(sq_norms(new - old) / torch.clamp(den, min=torch.finfo(den.dtype).tiny))


def _rows(state: State, index: torch.Tensor) -> State:
    """The images ``index`` of every tensor in ``state`` (all are batched along dimension 0)."""
    return tuple(t.index_select(0, index.to(t.device)) for t in state)


def _put_rows(full: State, index: torch.Tensor, part: State) -> State:
    """``full`` with its images ``index`` replaced by ``part`` (out of place, so graphs stay valid)."""
    return tuple(f.index_copy(0, index.to(f.device), p) for f, p in zip(full, part))


class BaselineMap:
    """f: y ↦ x̂ by a classical convex solver; a ``ReconstructionMap`` (see auditkit.reconstruction)."""

    def __init__(
        self,
        scheme: Scheme,
        *,
        method: str,
        params: dict[str, Any],
        max_iter: int,
        tol: float,
        unrolled_iters: int | None = None,
        checkpoint_segment: int = 0,
        gradient: str = "fixed_point",
        gradient_iters: int = 30,
        name: str | None = None,
    ):
        if max_iter < 1:
            raise ValueError(f"max_iter: must be ≥ 1, got {max_iter}")
        if not tol >= 0:
            raise ValueError(f"tol: must be ≥ 0, got {tol}")
        unrolled = max_iter if unrolled_iters is None else unrolled_iters
        if unrolled < 1:
            raise ValueError(f"unrolled_iters: must be ≥ 1, got {unrolled_iters}")
        if checkpoint_segment < 0:
            raise ValueError(f"checkpoint_segment: must be ≥ 0 (0 disables), got {checkpoint_segment}")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient: must be one of {GRADIENTS}, got {gradient!r}")
        if gradient_iters < 1:
            raise ValueError(f"gradient_iters: must be ≥ 1, got {gradient_iters}")
        self.gradient = gradient
        self.gradient_iters = int(gradient_iters)
        self.scheme = scheme
        self.operator: ForwardOperator = scheme.operator
        self.method = method
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.unrolled_iters = int(unrolled)
        self.checkpoint_segment = int(checkpoint_segment)
        self.params: dict[str, Any] = dict(params)
        self.params.update(max_iter=self.max_iter, tol=self.tol, unrolled_iters=self.unrolled_iters,
                           gradient=self.gradient, gradient_iters=self.gradient_iters)
        self.name = name or f"baseline ({method})"
        self.last_info: SolveInfo | None = None
        self._kept: State | None = None  # final state of the last fixed-point gradient call

    def forget(self) -> None:
        """Drop the state kept between gradient calls (the next one starts from the warm start again)."""
        self._kept = None

    def __repr__(self) -> str:
        return f"BaselineMap(method={self.method!r}, operator={type(self.operator).__name__}, params={self.params})"

    # -- input --------------------------------------------------------------
    def _check(self, y: torch.Tensor) -> torch.Tensor:
        op = self.operator
        if not isinstance(y, torch.Tensor):
            raise ValueError(f"y: expected a torch.Tensor of measurements, got {type(y).__name__}")
        expected = tuple(op.measurement_shape)
        if y.dim() != len(expected) + 1 or tuple(y.shape[1:]) != expected:
            raise ValueError(f"y: expected shape (B, {', '.join(map(str, expected))}), got {tuple(y.shape)}")
        if y.is_complex() and not op.is_complex:
            raise ValueError("y: complex measurements given to a real operator")
        return y.to(op.image_dtype if op.is_complex else op.real_dtype)

    # -- the map --------------------------------------------------------------
    def __call__(self, y: torch.Tensor, *, fixed: bool | None = None) -> torch.Tensor:
        """x̂ = f(y), shape (B, H, W); ``fixed`` forces (True) or forbids (False) the fixed-count unroll.

        By default a y that requires a gradient is differentiated as ``gradient`` says
        (see the module doc), and any other y is solved to the stopping rule.
        """
        y = self._check(y)
        needs_grad = y.requires_grad and torch.is_grad_enabled()
        if fixed is None and needs_grad and self.gradient == "fixed_point":
            return self._run_fixed_point(y)
        use_fixed = needs_grad if fixed is None else bool(fixed)
        if use_fixed:
            return self._run_fixed(y, with_grad=needs_grad)
        with torch.no_grad():
            return self.scheme.image(self._run_adaptive(y))

    def _finish(self, y: torch.Tensor, z: torch.Tensor, rel: torch.Tensor, iters: list[int], fixed: bool) -> None:
        with torch.no_grad():
            obj = self.scheme.objective(z.detach(), y.detach())
        rel_list = [float(r) for r in rel]
        self.last_info = SolveInfo(
            iterations=iters,
            relative_change=rel_list,
            objective=[float(o) for o in obj],
            converged=[r < self.tol for r in rel_list],
            fixed_iterations=fixed,
            tol=self.tol,
        )

    def _run_adaptive(self, y: torch.Tensor) -> State:
        """Iterate to the stopping rule from the warm start; returns the final state."""
        state, context = self.scheme.init(y)
        return self._iterate(y, state, context)

    def _iterate(self, y: torch.Tensor, state: State, context: State) -> State:
        """Iterate from ``state`` to the stopping rule; returns the final state.

        An image stops at the first iteration whose relative change is below ``tol``; it is
        then taken out of the batch that is stepped further, so a batch costs the sum of its
        images' iterations, not its slowest image's iterations times its size.
        """
        scheme = self.scheme
        batch = y.shape[0]
        iters = torch.zeros(batch, dtype=torch.long)
        rel = torch.full((batch,), math.inf, dtype=torch.float64)
        active = torch.arange(batch)  # images still iterating, as indices into the batch
        final = state
        for k in range(self.max_iter):
            new = scheme.step(state, context, k)
            change = _relative_change(scheme.image(new), scheme.image(state)).to(torch.float64).cpu()
            rel[active] = change
            iters[active] += 1
            state = new
            going = change >= self.tol  # a NaN change counts as stopped
            if bool(going.all()):
                continue
            done, keep = going.logical_not().nonzero().flatten(), going.nonzero().flatten()
            final = _put_rows(final, active[done], _rows(state, done))
            active, state, context = active[keep], _rows(state, keep), _rows(context, keep)
            if len(active) == 0:
                break
        final = _put_rows(final, active, state)
        self._finish(y, scheme.image(final), rel, [int(i) for i in iters], fixed=False)
        return final

    def _run_fixed_point(self, y: torch.Tensor) -> torch.Tensor:
        """Converged z* without a graph, then K = ``gradient_iters`` steps z ← T(z, y) with it (see module doc).

        ``init`` runs once: its context (y, A*y, ...) carries the graph for the K steps, and its
        detached copy drives the graph-free solve, which starts from the kept state when there is one.
        """
        scheme = self.scheme
        state, context = scheme.init(y)
        kept = self._kept
        if kept is not None and kept[0].shape[0] == y.shape[0] and kept[0].device == y.device:
            state = scheme.resume(kept)
        with torch.no_grad():
            state = self._iterate(y.detach(), tuple(t.detach() for t in state), tuple(c.detach() for c in context))
        self._kept = state
        for k in range(self.gradient_iters):
            state = scheme.step(state, context, self.max_iter + k)
        return scheme.image(state)

    def _segment(self, start: int, count: int, context: State, *state: torch.Tensor) -> State:
        for k in range(start, start + count):
            state = self.scheme.step(state, context, k)
        return state

    def _run_fixed(self, y: torch.Tensor, with_grad: bool) -> torch.Tensor:
        scheme = self.scheme
        state, context = scheme.init(y)
        total = self.unrolled_iters
        seg = self.checkpoint_segment if (with_grad and self.checkpoint_segment > 0) else total
        k = 0
        # all but the last iteration, in checkpointed segments when differentiating
        while k < total - 1:
            n = min(seg, total - 1 - k)
            if with_grad and seg < total:
                state = checkpoint(self._segment, k, n, context, *state, use_reentrant=False)
            else:
                state = self._segment(k, n, context, *state)
            k += n
        prev = scheme.image(state)
        state = scheme.step(state, context, total - 1)
        z = scheme.image(state)
        with torch.no_grad():
            rel = _relative_change(z.detach(), prev.detach()).to(torch.float64).cpu()
        self._finish(y, z, rel, [total] * y.shape[0], fixed=True)
        return z
