"""``auditkit selftest``: the manifest's checks on the reference networks, compared with what is known of them.

Each reference network (``references``) replaces the network in the audit context that
``prepare`` builds from the manifest — same operator, images, baseline, budgets and seed —
and the selected checks run unit by unit in this process (``auditkit.execution``). The
baseline's units do not depend on the network, so they are computed for the first reference
and reused for the others (the unit cache: the user's, or a temporary one). Outcomes are
compared with each reference's expectations, and for the linear references the worst cases
the adversarial searches found with the known σ_max (``references.known_worst_cases``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Callable

from auditkit.clock import utc_now
from auditkit.arrays import ArraySink
from auditkit.checks.base import AuditContext, Subject
from auditkit.checks.result import CheckResult
from auditkit.checks.structural import details_from_config
from auditkit.dossier import layout
from auditkit.dossier.credentials import SigningSpec
from auditkit.dossier.signing import sign_cms
from auditkit.execution.cache import UnitCache
from auditkit.execution.driver import run_units
from auditkit.execution.executors import LocalExecutor
from auditkit.execution.store import UnitStore
from auditkit.errors import InputError, Problem
from auditkit.fileio import sha256_file, write_atomic
from auditkit.pipeline import load_check, selected_checks, unit_threads
from auditkit.preparation import prepare
from auditkit.progress import Progress
from auditkit.qualification.record import (
    ExpectationResult, Outcome, Record, ReferenceResult, WorstCase, qualified, setting_sha256, tool_identity,
)
from auditkit.qualification.references import MIN_FOUND, Expect, Expectation, Reference, known_worst_cases, references

ADVERSARIAL = "adversarial"


def run_selftest(
    manifest_path: Path, *, quick: bool = False, checks: list[str] | None = None, cache: Path | None = None,
    progress: Progress | None = None, on_reference: Callable[[ReferenceResult], None] | None = None, threads: int = 1,
) -> Record:
    """Run the selected checks of the manifest on every reference network; the record of what they showed.

    Units run with ``threads`` torch threads (``pipeline.unit_threads``), as ``run`` does: the baseline units
    they share through the cache must carry the bits a run would compute."""
    with unit_threads(threads):
        return _selftest(Path(manifest_path), quick=quick, checks=checks, cache=cache, progress=progress,
                         on_reference=on_reference)


def _selftest(
    manifest_path: Path, *, quick: bool, checks: list[str] | None, cache: Path | None, progress: Progress | None,
    on_reference: Callable[[ReferenceResult], None] | None,
) -> Record:
    prepared = prepare(Path(manifest_path), quick=quick, progress=progress, signing=False)
    manifest, base_ctx = prepared.manifest, prepared.context
    names = [n for n in selected_checks(manifest, checks) if getattr(manifest.checks, n).enabled]
    c_budget = float(manifest.checks.adversarial.c_budget)
    if c_budget < 1:  # the answers below assume it: the identity already changes by its perturbation's size
        raise InputError(Problem(manifest_path, "checks.adversarial.c_budget", f"is {c_budget:g}; the self-test's "
                                 f"known answers need c ≥ 1 (a map that passes the perturbation through has gain 1)"))
    height = base_ctx.operator.image_shape[0]
    detail_px = max(d.size for d in details_from_config(manifest.checks.structural, base_ctx.operator.image_shape)) * height
    results = []
    with tempfile.TemporaryDirectory(prefix="auditkit-selftest-") as tmp:
        unit_cache = UnitCache(cache if cache is not None else Path(tmp) / "cache")
        for ref in references(c_budget, detail_px):
            fmap = ref.build(base_ctx.operator)
            stage = Path(tmp) / ref.key
            ctx = dataclasses.replace(
                base_ctx, network=Subject("network", fmap, ref.build), arrays=ArraySink(stage),
            )
            found: dict[str, CheckResult] = {}
            run_units(
                ctx, manifest, [load_check(n)() for n in names], UnitStore(stage), cache=unit_cache,
                executor=lambda ctx=ctx: LocalExecutor(ctx, manifest), progress=ctx.progress,
                on_result=lambda r, found=found: found.__setitem__(r.name, r),
            )
            result = _assess(ref, found, fmap, ctx)
            results.append(result)
            if on_reference is not None:
                on_reference(result)
    return Record(
        tool=tool_identity(),
        manifest=str(manifest_path),
        manifest_sha256=sha256_file(Path(manifest_path)),
        setting_sha256=setting_sha256(manifest, base_ctx),
        quick=quick,
        checks=names,
        created_at=utc_now(),
        references=results,
        qualified=qualified(results),
    )


def _assess(ref: Reference, found: dict[str, CheckResult], fmap: Callable, ctx: AuditContext) -> ReferenceResult:
    """The reference's expectations and known worst cases against the checks' results."""
    worst = _worst_cases(found.get(ADVERSARIAL), fmap, ctx) if ref.linear else []
    return ReferenceResult(
        key=ref.key,
        title=ref.title,
        verdicts={name: r.verdict.value for name, r in found.items()},
        expectations=[_expectation(e, found) for e in ref.expectations],
        worst_cases=worst,
    )


def _expectation(e: Expectation, found: dict[str, CheckResult]) -> ExpectationResult:
    """Every criterion named ``e.prefix``… must have passed (PASS) or failed (FAIL); none found: not checked."""
    observed = {c.name: c.passed for r in found.values() for c in r.criteria if c.name.startswith(e.prefix)}
    wanted = e.expect is Expect.PASS
    if not observed:
        outcome = Outcome.NOT_CHECKED
    elif all(p is wanted for p in observed.values()):
        outcome = Outcome.HOLDS
    else:
        outcome = Outcome.VIOLATED
    return ExpectationResult(criteria=e.prefix, expected=e.expect.value, why=e.why, observed=observed, outcome=outcome)


def _worst_cases(result: CheckResult | None, fmap: Callable, ctx: AuditContext) -> list[WorstCase]:
    """Image-domain gain and measurement-domain amplification found, per image and budget, against σ_max."""
    image_known, noise_known = known_worst_cases(fmap, ctx.operator)
    rows = result.subjects["network"].per_image if result is not None and "network" in result.subjects else []
    gains = [v["gain"] for r in rows for v in r.get("image_domain", {}).values()]
    amps = [v["amplification"] for r in rows for v in r.get("measurement_domain", {}).values()]
    return [_worst("image domain: ‖f(A(x + r)) − f(Ax)‖/‖r‖", image_known, gains),
            _worst("measurement domain: ‖f(y + e) − f(y)‖/‖e‖", noise_known, amps)]


def _worst(domain: str, known: float, found: list[float]) -> WorstCase:
    share = min(found) / known if found and known > 0 else None
    outcome = Outcome.NOT_CHECKED if share is None else Outcome.HOLDS if share >= MIN_FOUND else Outcome.VIOLATED
    return WorstCase(domain=domain, known=known, least_share_found=share, required=MIN_FOUND, outcome=outcome)


def write_record(record: Record, out: Path, spec: SigningSpec | None) -> Path | None:
    """Write the record to ``out`` and, with ``spec``, its detached CMS signature ``<out>.p7s``; the signature's
    path, or None when unsigned. A signature left from an earlier record is removed first, so a record is
    never found beside a signature over other bytes; each file appears whole (written beside, then renamed)."""
    out = Path(out)
    signature = out.with_name(layout.signature_of(out.name))
    partial = out.with_name(f".{out.name}.partial")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(partial, record.to_json())
    try:
        signed = sign_cms(partial, spec, out_path=signature.with_name(f".{signature.name}.partial")) if spec else None
        signature.unlink(missing_ok=True)
        os.replace(partial, out)
        if signed is not None:
            os.replace(signed, signature)
            return signature
        return None
    finally:
        partial.unlink(missing_ok=True)
        signature.with_name(f".{signature.name}.partial").unlink(missing_ok=True)
