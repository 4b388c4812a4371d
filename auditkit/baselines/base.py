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
  default): the value is the same solve as without gradient, z* = f(y), from the
  same start, and its gradient is the implicit-function derivative at the fixed
  point z* = T(z*, y) of one solver step T (taken without momentum):
  ∂z*/∂y = (I − ∂_z T)⁻¹ ∂_y T. A backward pass with cotangent g solves
  (I − ∂_z T*) u = g by GMRES (``operators.gmres``: ``gradient_tol`` relative
  residual, at most ``gradient_iters`` iterations, each one backward pass through a
  single differentiated step) and returns ∂_y T* u. At the default 20 iterations its
  cosine with the converged implicit gradient was 0.86 (128² MRI) and 0.94 (CT), where
  differentiating 30 further FISTA steps (forward and back) gave 0.81
  (``bench/bench_baseline_gradient.py``). An attack therefore climbs the
  very map the checks report, at the cost of one solve and a few tens of one-step
  backward passes. No state is kept between calls. Starting each solve from the
  previous call's solution (momentum at rest) saved iterations only where a search
  moves by small steps, and it made the searched map depend on the search's path:
  from a nearby start the relative-change rule stops while the iterate is still
  pulled towards the previous solution, so the map looks flatter than it is. On the
  mri_unet sample the baseline's worst measurement-domain errors found by 2 × 100
  iterations were 0.163 / 0.204 / 0.264 with such starts and 0.191 / 0.222 / 0.287
  from A†y (η = 0.01 / 0.02 / 0.04), for 3 % more iterations;
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
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import torch
from torch.utils.checkpoint import checkpoint

from auditkit.operators.base import ForwardOperator, power_norm
from auditkit.operators.gmres import gmres_solve

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

    def initial_image(self, y: torch.Tensor, start: torch.Tensor | None = None) -> torch.Tensor:
        """z_0 = A†y or A*y (``warm_start``), or the given ``start`` image (H, W) or (B, H, W)."""
        if start is not None:
            dtype = self.operator.image_dtype if self.operator.is_complex else self.operator.real_dtype
            return start.to(device=y.device, dtype=dtype).expand(y.shape[0], *self.operator.image_shape).clone()
        return self.operator.pinv(y) if self.warm_start == "pinv" else self.operator.adjoint(y)

    @abstractmethod
    def init(self, y: torch.Tensor, start: torch.Tensor | None = None) -> tuple[State, State]:
        """Initial state (from ``initial_image``, duals and momentum at rest) and the per-call context."""

    @abstractmethod
    def context(self, y: torch.Tensor) -> State:
        """The per-call constants (y, A*y, ...) that ``init`` returns beside the state; the implicit gradient
        rebuilds them alone, with a graph, without computing a start image."""

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

    def variables(self, state: State) -> State:
        """The fixed-point variables: the part of a state that a step from it depends on once momentum is
        at rest. The implicit gradient solves its linear system on these alone (all of the state by default)."""
        return state

    def from_variables(self, variables: State, like: State) -> State:
        """The state holding ``variables`` with momentum at rest (inverse of ``variables``; ``like``, a state of
        the same batch, gives the rest)."""
        return variables


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


def _flatten(parts: list[torch.Tensor]) -> torch.Tensor:
    """Batched tensors (B, ...) → one real (B, N) matrix (complex entries as (re, im) pairs)."""
    return torch.cat([_real_view(t) for t in parts], dim=1)


def _unflatten(flat: torch.Tensor, layout: list[tuple[torch.Size, torch.dtype]]) -> list[torch.Tensor]:
    """Inverse of ``_flatten`` for tensors of the given (shape, dtype)."""
    parts, start = [], 0
    for shape, dtype in layout:
        size = math.prod(shape[1:]) * (2 if dtype.is_complex else 1)
        block = flat[:, start : start + size]
        start += size
        if dtype.is_complex:
            parts.append(torch.view_as_complex(block.reshape(*shape, 2).contiguous()))
        else:
            parts.append(block.reshape(shape).to(dtype))
    return parts


@dataclass(frozen=True)
class GradientInfo:
    """What the last implicit gradient did: GMRES iterations and each row's final relative residual."""

    iterations: int
    relative_residual: list[float]


class _ImplicitSolution(torch.autograd.Function):
    """y ↦ z*(y), the converged solution, whose backward is the implicit-function gradient."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, owner: "BaselineMap") -> torch.Tensor:  # type: ignore[override]
        state = owner._run_adaptive(y.detach())
        ctx.owner, ctx.state = owner, state
        ctx.save_for_backward(y)
        return owner.scheme.image(state).clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return ctx.owner._implicit_vjp(y, ctx.state, grad), None


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
        gradient_iters: int = 20,
        gradient_tol: float = 1e-2,
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
        if not gradient_tol > 0:
            raise ValueError(f"gradient_tol: must be > 0, got {gradient_tol}")
        self.gradient = gradient
        self.gradient_iters = int(gradient_iters)
        self.gradient_tol = float(gradient_tol)
        self.scheme = scheme
        self.operator: ForwardOperator = scheme.operator
        self.method = method
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.unrolled_iters = int(unrolled)
        self.checkpoint_segment = int(checkpoint_segment)
        self.params: dict[str, Any] = dict(params)
        self.params.update(max_iter=self.max_iter, tol=self.tol, unrolled_iters=self.unrolled_iters,
                           gradient=self.gradient, gradient_iters=self.gradient_iters,
                           gradient_tol=self.gradient_tol)
        self.name = name or f"baseline ({method})"
        self.last_info: SolveInfo | None = None
        self.last_gradient: GradientInfo | None = None
        self._start: torch.Tensor | None = None  # start image of solves without gradient (``starting_at``)

    @contextmanager
    def starting_at(self, image: torch.Tensor, y: torch.Tensor) -> Iterator[None]:
        """Inside the block, solves without gradient start from ``image`` (H, W) instead of A†y, when ``image``
        is a solution for the measurements ``y`` (*meas) by the stopping rule (one step from it changes it by
        less than ``tol``); otherwise, e.g. when ``max_iter`` cut its solve short, they start as usual.

        For many solves near one solved problem (noise draws around y start at f(y)): they need a
        fraction of the iterations and end by the same rule, as close to the exact solution as a solve
        from A†y. A start that is not itself a solution would add its own distance from one to every result.
        """
        with torch.no_grad():
            state, context = self.scheme.init(self._check(y.unsqueeze(0)), image.detach())
            moved = self.scheme.image(self.scheme.step(state, context, 0))
            solved = bool(_relative_change(moved, self.scheme.image(state))[0] < self.tol)
        previous, self._start = self._start, (image.detach() if solved else None)
        try:
            yield
        finally:
            self._start = previous

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
        state, context = self.scheme.init(y, self._start)
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
        """z* = f(y) solved without a graph, differentiated by the implicit-function theorem (see module doc)."""
        return _ImplicitSolution.apply(y, self)

    def _implicit_vjp(self, y: torch.Tensor, state: State, grad_image: torch.Tensor) -> torch.Tensor:
        """∂_y Tᵀ u with u solving (I − ∂_s Tᵀ) u = g at the fixed point s* = T(s*, y), g = (grad_image, 0, …).

        T(s, y) = step(from_variables(s), context(y)), one solver step with momentum at rest; u by
        GMRES (``operators.gmres``) to ``gradient_tol`` in at most ``gradient_iters`` iterations,
        each one backward pass through the one-step graph, which is built once and kept.
        """
        scheme = self.scheme
        with torch.enable_grad():
            y_in = y.detach().requires_grad_(True)
            s_in = tuple(t.detach().requires_grad_(True) for t in scheme.variables(state))
            out = scheme.variables(scheme.step(scheme.from_variables(s_in, state), scheme.context(y_in), self.max_iter))
        live = [i for i, t in enumerate(out) if t.requires_grad]
        if 0 not in live:
            return torch.zeros_like(y)
        cotangent = [torch.zeros_like(out[i]) for i in live]
        cotangent[live.index(0)] = grad_image.to(out[0].dtype)
        layout = [(out[i].shape, out[i].dtype) for i in live]

        def transpose_jacobian(flat: torch.Tensor) -> torch.Tensor:
            grads = torch.autograd.grad([out[i] for i in live], s_in, _unflatten(flat, layout),
                                        retain_graph=True, allow_unused=True)
            return _flatten([grads[i] if grads[i] is not None else torch.zeros_like(s_in[i]) for i in live])

        rhs = _flatten(cotangent)
        solved = gmres_solve(lambda u: u - transpose_jacobian(u), rhs, iters=self.gradient_iters, tol=self.gradient_tol)
        self.last_gradient = GradientInfo(solved.iterations, [float(r) for r in solved.relative_residual])
        (grad_y,) = torch.autograd.grad([out[i] for i in live], y_in, _unflatten(solved.x, layout), allow_unused=True)
        return torch.zeros_like(y) if grad_y is None else grad_y

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
