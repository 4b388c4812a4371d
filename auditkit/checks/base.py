"""What every check receives, what it returns, and how a misbehaving network becomes ERROR.

A check runs the same experiment on two *subjects* — the submitted network and
the classical baseline — with the same images, operator, seeds and
perturbations, and returns a ``CheckResult`` with criteria and verdict.
Checks never import the report layer.

What every check does alike lives in ``Check``: its work units (``plan``, ``compute``: one
subject on one image, ``auditkit.checks.units``), the result assembled from their outcomes
(``assemble``, around the check's own ``measure`` and ``decide``), ``run`` (everything in this
process; ``auditkit.execution`` runs units elsewhere), ``select`` (which test images, quick mode
included) and ``result`` (the ``CheckResult`` with its arrays saved). Beside it, the module's
functions ``effective_parameters`` (the evidence's parameters block) and ``setting_key`` (the
key of a budget, level or ratio in every per-setting dict).

Misbehaviour of the network (an exception, ``MemoryError``, ``SystemExit``, an
uninvited ``KeyboardInterrupt``, a wrong or unmeasurable output) ends a check as
ERROR naming the check and the image, never as the auditor's own crash; a stop the
user asked for (``auditkit.interrupts``) ends the run, keeping what finished.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, ClassVar, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar

import torch

from auditkit import activity, interrupts
from auditkit.arrays import ArraySink
from auditkit.attacks.convergence import LEVELLED_SHARE
from auditkit.attacks.objective import Reconstruct, evaluate
from auditkit.errors import NetworkRaised, NetworkRuntimeError
from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict
from auditkit.checks.units import BOTH, Failure, Phase, Unit, failure_of, join
from auditkit.data.raw import RawReference
from auditkit.manifest.models import CheckConfig
from auditkit.metrics import as_magnitude
from auditkit.networks.python_source import one_line
from auditkit.operators.base import ForwardOperator
from auditkit.progress import NullProgress, Progress
from auditkit.reconstruction import ReconstructionMap

#: the settings model of a check (``auditkit.manifest.models``: ``NoiseConfig``, …).
ConfigT = TypeVar("ConfigT", bound=CheckConfig)
#: why a check the manifest turns off is NOT_RUN.
DISABLED = "disabled in the manifest (enabled: false)"
#: a check's arrays, by file stem (``arrays/<stem>.npz``), then by name.
Arrays = Mapping[str, Mapping[str, Any]]


@dataclass
class Subject:
    """A reconstruction method under audit: its map at the audit's operator, and at any other."""

    key: str  # "network" or "baseline"
    fmap: ReconstructionMap
    at: Callable[[ForwardOperator], ReconstructionMap]

    @property
    def name(self) -> str:
        return self.fmap.name


@dataclass
class AuditContext:
    """Everything a check may use; built once per audit by the pipeline."""

    operator: ForwardOperator
    network: Subject
    baseline: Subject
    images: torch.Tensor  # (N, H, W), real, in [0, 1], operator's real dtype and device
    image_ids: list[str]
    seed: int = 0
    quick: bool = False
    arrays: ArraySink | None = None
    progress: Progress = field(default_factory=NullProgress)
    trained_ratio: float | None = None
    #: per image, its raw data (``auditkit.data.raw.RawReference``: acquired k-space on the audit's grid and scale,
    #: coil maps) or None for an image whose measurements are simulated; empty when no image came from raw data.
    measured: Sequence[RawReference | None] = ()

    def subjects(self) -> tuple[Subject, Subject]:
        return (self.network, self.baseline)

    def raw(self, index: int) -> RawReference | None:
        """The raw data of test image ``index``, or None when its measurements are simulated."""
        return self.measured[index] if index < len(self.measured) else None

    def measurements(self, op: ForwardOperator, images: Selection) -> torch.Tensor:
        """The unperturbed measurements y (B, *measurement_shape) of a selection under ``op`` (the audit's mask or
        another ratio's): y = P_Ω k, the acquired k-space on op's mask, for an image from raw data; y = A x,
        simulated, for every other image."""
        y = op.forward(images.x).detach()
        for row, index in enumerate(images.indices):
            ref = self.raw(index)
            if ref is not None:
                grid = torch.from_numpy(ref.kspace).to(device=y.device, dtype=y.dtype)
                y[row] = op.extract(grid.reshape(*op.measurement_shape[:-1], *op.image_shape))
        return y

    def operator_for(self, index: int) -> ForwardOperator:
        """The operator of test image ``index``: the audit's, or for a multi-coil raw slice the same mask with that
        slice's own coil maps."""
        ref = self.raw(index)
        if ref is None or ref.maps is None:
            return self.operator
        return self.operator.with_maps(torch.from_numpy(ref.maps))  # type: ignore[attr-defined]

    def for_image(self, index: int) -> AuditContext:
        """The context a unit of test image ``index`` runs in: ``operator_for(index)``, with both subjects at it."""
        op = self.operator_for(index)
        if op is self.operator:
            return self
        return replace(
            self, operator=op,
            network=Subject(self.network.key, self.network.at(op), self.network.at),
            baseline=Subject(self.baseline.key, self.baseline.at(op), self.baseline.at),
        )

    def generator(self, *salt: int) -> torch.Generator:
        """A torch generator seeded from the audit seed and a per-use salt (reproducible, independent)."""
        s = hash_seed(self.seed, *salt)
        return torch.Generator(device="cpu").manual_seed(s)


def hash_seed(*parts: int) -> int:
    """Combine integers into one 63-bit seed deterministically (not Python's salted hash)."""
    acc = 0x9E3779B97F4A7C15
    for p in parts:
        acc = (acc ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        acc ^= acc >> 31
    return acc & 0x7FFFFFFFFFFFFFFF


def guarded_call(
    fmap: ReconstructionMap, y: torch.Tensor, *, check: str, image_ids: list[str], subject: str = "network"
) -> torch.Tensor:
    """f(y) with its output checked: shape (B, H, W), finite and measurable, else ``NetworkRuntimeError``
    naming check, subject and image(s); a supervising process is told which images the network is on."""
    names = [str(i) for i in image_ids[: y.shape[0]]] or [f"row {b}" for b in range(y.shape[0])]
    try:
        if subject == "network":
            with activity.network_call(names):
                out = fmap(y)
        else:
            out = fmap(y)
    except NetworkRuntimeError as exc:
        raise type(exc)(f"{check}: {subject} on image(s) {', '.join(names)}: {exc}") from exc
    h, w = fmap.operator.image_shape
    if out.ndim != 3 or tuple(out.shape[1:]) != (h, w) or out.shape[0] != y.shape[0]:
        raise NetworkRuntimeError(
            f"{check}: {subject} on image(s) {', '.join(names)} returned shape {tuple(out.shape)}, "
            f"expected ({y.shape[0]}, {h}, {w})"
        )
    per_image = out.detach().reshape(out.shape[0], -1)
    finite = torch.isfinite(per_image).all(dim=1)
    if not bool(finite.all()):
        bad = [names[i] for i in torch.nonzero(~finite).flatten().tolist()]
        raise NetworkRuntimeError(f"{check}: {subject} output contains NaN or Inf for image(s) {', '.join(bad)}")
    limit = measurable_limit(out)
    peaks = per_image.abs().amax(dim=1)
    if bool((peaks > limit).any()):
        bad = [f"{names[i]} (peak {float(peaks[i]):.3g})" for i in torch.nonzero(peaks > limit).flatten().tolist()]
        raise NetworkRuntimeError(
            f"{check}: {subject} output is too large to measure for image(s) {', '.join(bad)}: above {limit:.3g} "
            f"the sum of squares over {h}×{w} pixels overflows {_real_dtype_name(out)}"
        )
    return out


def measurable_limit(out: torch.Tensor) -> float:
    """The largest pixel magnitude whose image norm still fits the output's real dtype, with a 100× margin:
    √(finfo.max / (H·W)) / 100 (norms are sums of squares over every pixel)."""
    real = out.real.dtype if out.is_complex() else out.dtype
    pixels = max(1, out[0].numel()) if out.shape[0] else 1
    return math.sqrt(torch.finfo(real).max / pixels) / 100.0


def _real_dtype_name(out: torch.Tensor) -> str:
    real = out.real.dtype if out.is_complex() else out.dtype
    return str(real).removeprefix("torch.")


def guarded_recon(
    fmap: ReconstructionMap,
    *,
    check: str,
    image_ids: Sequence[str],
    subject: str = "network",
    modulus: bool = False,
) -> Reconstruct:
    """f as the attacks call it, ``recon(y, rows)``, through ``guarded_call``: an error names ``image_ids[rows[b]]``.

    With ``modulus`` a complex output is replaced by |f(y)| (a real one is returned as
    is), so that an attack maximises the error of the modulus, the one reported for a real x.
    Its ``backward(rows)`` guards the attacks' backward pass the same way for the network
    (see ``attacks.objective.Reconstruct``).
    """

    def recon(y: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        names = [image_ids[int(i)] for i in rows.tolist()]
        out = guarded_call(fmap, y, check=check, image_ids=names, subject=subject)
        return as_magnitude(out) if modulus else out

    @contextmanager
    def backward(rows: torch.Tensor) -> Iterator[None]:
        if subject != "network":
            yield
            return
        names = [image_ids[int(i)] for i in rows.tolist()]
        try:
            with activity.network_call(names):
                yield
        except NetworkRuntimeError:
            raise
        except BaseException as exc:  # noqa: BLE001 - a failure while differentiating the network is its own
            interrupts.raise_if_requested()
            raise NetworkRaised(f"{check}: {subject} on image(s) {', '.join(names)}: network raised "
                                f"{one_line(exc)} while the audit differentiated it") from exc

    recon.backward = backward  # type: ignore[attr-defined]
    return recon


def reconstruct_images(recon: Reconstruct, y: torch.Tensor, batch: int) -> torch.Tensor:
    """f(y) of a stack of measurements (N, *meas) as reported (``attacks.objective.evaluate``, no gradient
    tracking), f called on ``batch`` rows at a time; row n is image n."""
    return evaluate(recon, y, torch.arange(y.shape[0], device=y.device), batch)


def by_image(ids: Sequence[str], values: Iterable[Any]) -> dict[str, float]:
    """{image id: value} for one value per image in the images' order (tensor, array or list): a criterion's
    ``per_image``."""
    return {i: float(v) for i, v in zip(ids, values)}


def climbing_note(subject: str, search: str, shares: torch.Tensor, ids: Sequence[str], keys: Sequence[str]) -> str | None:
    """A note naming where a search was still climbing when its budget ran out: shares (N, K) of the final worst
    case found at half the evaluations (``auditkit.attacks.convergence``) below ``LEVELLED_SHARE``; None if nowhere."""
    where = [
        f"{key} on {', '.join(f'{ids[i]} ({float(shares[i, j]):.4f})' for i in low.nonzero().flatten().tolist())}"
        for j, key in enumerate(keys)
        if bool((low := shares[:, j] < LEVELLED_SHARE).any())
    ]
    if not where:
        return None
    return (
        f"{search}, {subject}: still climbing when its budget ran out ({'; '.join(where)}: the share of the final worst "
        f"case found after half the evaluations, below {LEVELLED_SHARE:g}). More evaluations would likely find a "
        f"larger worst case; the convergence figure shows the curves of one image, the one whose network search "
        f"levelled off least"
    )


def quick_cap(count: int, cap: int, quick: bool) -> int:
    """A count of evaluations, iterations or restarts as a run uses it: at most ``cap`` in quick mode."""
    return min(int(count), cap) if quick else int(count)


def setting_key(value: float) -> str:
    """The key of a budget, noise level or ratio in every per-setting dict of the evidence: ``f"{value:g}"``
    (0.01 → "0.01"), so that a setting reads the same in criteria names, summaries and tables."""
    return f"{value:g}"


@dataclass(frozen=True)
class Selection:
    """The test images a check runs on: their indices in the audit's test set, their ids, the images (N, H, W)."""

    indices: list[int]
    ids: list[str]
    x: torch.Tensor


class Check(ABC, Generic[ConfigT]):
    """One audit experiment, split into work units (``auditkit.checks.units``).

    A subclass sets ``name``/``title`` and implements ``measure`` (one subject on the images of a
    selection: the work of a unit) and ``decide`` (criteria and evidence from both subjects'
    measurements on every image), and ``compare`` when ``compares`` is set. What every check does
    alike lives here: ``plan`` (its units), ``compute`` (one unit, a failure captured as data),
    ``assemble`` (the result from every unit's outcome) and ``run`` (all of it in this process).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    #: how many images (the first of the selection) quick mode keeps.
    quick_images: ClassVar[int] = 1
    #: True when the check has a COMPARE phase (one subject measured under the other's perturbations).
    compares: ClassVar[bool] = False
    #: for a test image from raw k-space, the parts of the check that reconstruct from the acquired
    #: measurements (``AuditContext.measurements``) and the parts that simulate y = A(·) from its reference image
    #: with the slice's coil maps ("" for none); the dossier prints both.
    raw_measured: ClassVar[str] = ""
    raw_simulated: ClassVar[str] = ""

    def run(self, ctx: AuditContext, config: ConfigT) -> CheckResult:
        """The whole check in this process: NOT_RUN when the manifest disables it, else every unit in plan order,
        then ``assemble``, with the wall time. A misbehaving network or a failure inside the check becomes ERROR,
        once (``units.failure_of``); only a stop the user asked for goes through."""
        t0 = time.perf_counter()
        if not config.enabled:
            result = self.not_run(DISABLED, config)
        else:
            result = self.settle(ctx, config, lambda units: self._compute_all(ctx, config, units))
        result.wall_time_s = round(time.perf_counter() - t0, 3)
        return result

    def settle(
        self, ctx: AuditContext, config: ConfigT, outcomes_of: Callable[[list[Unit]], Mapping[Unit, Any]]
    ) -> CheckResult:
        """The result of an enabled check: its precondition, its plan, the units' outcomes as ``outcomes_of``
        returns them (computed here, by an executor, or reloaded), then ``assemble``; failures become ERROR."""
        try:
            early = self.precondition(ctx, config)
            if early is not None:
                return early
            return self.assemble(ctx, config, outcomes_of(self.plan(ctx, config)))
        except BaseException as exc:  # noqa: BLE001 - recorded as ERROR, with the type, never swallowed silently
            return self.failed(failure_of(exc, self.name), config)

    def _compute_all(self, ctx: AuditContext, config: ConfigT, units: list[Unit]) -> dict[Unit, Any]:
        outcomes: dict[Unit, Any] = {}
        for unit in units:
            outcomes[unit] = self.compute(ctx, config, unit, {u: outcomes[u] for u in unit.needs()})
        return outcomes

    # -- the units -----------------------------------------------------------------------------
    def images(self, ctx: AuditContext, config: ConfigT) -> Selection:
        """The test images this check runs on (every image, the first ``quick_images`` in quick mode)."""
        return self.select(ctx)

    def precondition(self, ctx: AuditContext, config: ConfigT) -> CheckResult | None:
        """A result reached before any unit runs (e.g. NOT_RUN when the setup does not allow the check), else None."""
        return None

    def plan(self, ctx: AuditContext, config: ConfigT) -> list[Unit]:
        """The units, in the order their outcomes are assembled: each subject on each image, then the comparisons."""
        images = self.images(ctx, config)
        units = [
            Unit(self.name, Phase.MEASURE, subject.key, i, image_id)
            for subject in ctx.subjects()
            for i, image_id in zip(images.indices, images.ids)
        ]
        if self.compares:
            units += [Unit(self.name, Phase.COMPARE, BOTH, i, image_id) for i, image_id in zip(images.indices, images.ids)]
        return units

    def gradient_evaluations(self, ctx: AuditContext, config: ConfigT, unit: Unit) -> int:
        """How many gradient evaluations of its subject (one forward and one backward pass for one row) ``unit``
        makes, as its settings fix them: the plan's cost, which a run must match. 0 for a check without searches."""
        return 0

    def compute(self, ctx: AuditContext, config: ConfigT, unit: Unit, inputs: Mapping[Unit, Any]) -> Any:
        """One unit's outcome: its result, or the ``Failure`` it raised. ``inputs`` holds the outcomes of
        ``unit.needs()``. Neither subject keeps state between calls, so nothing depends on what ran before."""
        image = self.one_image(ctx, unit)
        try:
            ctx = ctx.for_image(unit.image)
            if unit.phase is Phase.MEASURE:
                subject = ctx.network if unit.subject == ctx.network.key else ctx.baseline
                return self.measure(ctx, config, subject, image)
            measured = {u.subject: inputs[u] for u in unit.needs()}
            return self.compare(ctx, config, image, measured)
        except BaseException as exc:  # noqa: BLE001 - becomes the check's ERROR when assembled
            return failure_of(exc, self.name)

    @staticmethod
    def one_image(ctx: AuditContext, unit: Unit) -> Selection:
        """The selection holding only the unit's image."""
        return Selection([unit.image], [ctx.image_ids[unit.image]], ctx.images[unit.image : unit.image + 1])

    @abstractmethod
    def measure(self, ctx: AuditContext, config: ConfigT, subject: Subject, images: Selection) -> Any:
        """``subject`` measured on ``images`` (a unit: one image); the result is joined over images by ``units.join``."""

    def compare(self, ctx: AuditContext, config: ConfigT, images: Selection, measured: Mapping[str, Any]) -> Any:
        """One image's comparison of the two subjects' measurements (checks with ``compares`` only)."""
        raise NotImplementedError(f"{self.name} has no compare phase")

    def assemble(self, ctx: AuditContext, config: ConfigT, outcomes: Mapping[Unit, Any]) -> CheckResult:
        """The result from the outcomes of every planned unit: the first failure in plan order is the check's
        ERROR; otherwise each subject's results are joined over images and ``decide`` concludes."""
        units = list(outcomes)
        for unit in units:
            if isinstance(outcomes[unit], Failure):
                return self.failed(outcomes[unit], config)
        images = self.images(ctx, config)
        measured = {
            s.key: join([outcomes[u] for u in units if u.phase is Phase.MEASURE and u.subject == s.key])
            for s in ctx.subjects()
        }
        compared = join([outcomes[u] for u in units if u.phase is Phase.COMPARE]) if self.compares else None
        return self.decide(ctx, config, images, measured, compared)

    @abstractmethod
    def decide(
        self, ctx: AuditContext, config: ConfigT, images: Selection, measured: Mapping[str, Any], compared: Any
    ) -> CheckResult:
        """Criteria, verdict and evidence from both subjects' measurements on every image (``self.result``)."""

    def failed(self, failure: Failure, config: ConfigT) -> CheckResult:
        """The ERROR result of a failure (auditkit's own when ``failure.internal``)."""
        result = self.error(failure.message, config)
        result.internal_error = failure.internal
        return result

    def select(self, ctx: AuditContext, chosen: Sequence[int] | None = None) -> Selection:
        """The images to run on: ``chosen`` indices (every image when None), only the first ``quick_images``
        of them in quick mode; ValueError naming an index outside the test set."""
        n = ctx.images.shape[0]
        indices = list(range(n)) if chosen is None else [int(i) for i in chosen]
        bad = [i for i in indices if not 0 <= i < n]
        if bad:
            raise ValueError(f"images: index {bad[0]} is out of range for the {n} test image(s)")
        if ctx.quick:
            indices = indices[: self.quick_images]
        return Selection(indices, [ctx.image_ids[i] for i in indices], ctx.images[indices])

    def result(
        self,
        ctx: AuditContext,
        *,
        criteria: list[Criterion],
        subjects: dict[str, SubjectResult],
        parameters: dict[str, Any],
        notes: list[str],
        arrays: Callable[[], Arrays],
        verdict: Verdict | None = None,
        reason: str | None = None,
    ) -> CheckResult:
        """This check's result (verdict from the criteria unless given), with ``arrays()`` saved when the
        context collects arrays (``arrays/<stem>.npz`` per entry, in order)."""
        result = CheckResult(
            name=self.name,
            title=self.title,
            verdict=CheckResult.verdict_from(criteria, quick=ctx.quick) if verdict is None else verdict,
            reason=reason,
            criteria=criteria,
            subjects=subjects,
            parameters=parameters,
            seed=ctx.seed,
            notes=notes,
        )
        if ctx.arrays is not None:
            result.arrays.extend(ctx.arrays.save(stem, **named) for stem, named in arrays().items())
        return result

    @classmethod
    def not_run(cls, reason: str, config: CheckConfig) -> CheckResult:
        """A NOT_RUN result with its reason (disabled in the manifest, not applicable to the setup...)."""
        return cls._outcome(Verdict.NOT_RUN, reason, config)

    @classmethod
    def error(cls, message: str, config: CheckConfig) -> CheckResult:
        """An ERROR result of this check with ``message`` (the network misbehaved, or auditkit failed)."""
        return cls._outcome(Verdict.ERROR, message, config)

    @classmethod
    def _outcome(cls, verdict: Verdict, reason: str, config: CheckConfig) -> CheckResult:
        """A result without measurements: the verdict, why, and the manifest's block of settings."""
        return CheckResult(
            name=cls.name, title=cls.title, verdict=verdict, reason=reason, parameters=config.model_dump(mode="json")
        )


def effective_parameters(config: CheckConfig, ids: Sequence[str], quick: bool, **effective: Any) -> dict[str, Any]:
    """The evidence's parameters block, one shape for every check: the manifest's block as validated, and
    under ``effective`` what the run used: its images, quick mode, then ``effective``."""
    params = config.model_dump(mode="json")
    params["effective"] = {"images": list(ids), "quick": quick, **effective}
    return params
