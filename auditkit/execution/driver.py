"""The run's units from plan to results: skip what is finished or cached, execute the rest, assemble each check.

Each selected check's units are planned (``Check.plan``) in the registry's order. A unit whose
result is in the staging folder (a resumed run) is not run again; a network-free unit whose
result the baseline cache holds is copied from it (``REUSED``); every other unit goes to the
executor as soon as the units it needs have finished. Results are stored as they arrive, then
each check is assembled (``Check.settle``) from its units' stored outcomes in plan order, as
soon as it and every check before it are complete, so results are reported in order and the
evidence is the same whoever ran the units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from auditkit.checks.base import AuditContext, Check
from auditkit.checks.result import CheckResult, UnitRecord
from auditkit.checks.units import Failure, Unit
from auditkit.execution.cache import UnitCache, unit_key
from auditkit.execution.executors import Executor
from auditkit.execution.store import COMPUTED, REUSED, Entry, UnitStore
from auditkit.manifest import Manifest
from auditkit.payload import PayloadError, decode
from auditkit.progress import Progress


@dataclass
class _Planned:
    check: Check
    config: Any
    units: list[Unit]


def _plan(check: Check, ctx: AuditContext, config: Any) -> list[Unit]:
    """The check's units; none when it ends before any (a precondition, or planning fails: ``settle`` says why)."""
    try:
        return [] if check.precondition(ctx, config) is not None else check.plan(ctx, config)
    except Exception:  # noqa: BLE001 - settle raises it again and records it as the check's ERROR
        return []


def _cached(cache: UnitCache, key: str) -> bytes | None:
    """A cache entry that decodes to a result (never a failure), else None."""
    data = cache.get(key)
    if data is None:
        return None
    try:
        return None if isinstance(decode(data), Failure) else data
    except PayloadError:
        return None


def run_units(
    ctx: AuditContext,
    manifest: Manifest,
    checks: list[Check],
    store: UnitStore,
    *,
    cache: UnitCache | None,
    executor: Callable[[], Executor],
    progress: Progress,
    on_result: Callable[[CheckResult], None],
) -> None:
    """Run ``checks`` (enabled, in order) unit by unit; ``on_result`` gets each check's result, in order.
    ``executor`` is called once, and only when some unit must run."""
    plans = [_Planned(c, getattr(manifest.checks, c.name), []) for c in checks]
    for p in plans:
        p.units = _plan(p.check, ctx, p.config)
    units = [u for p in plans for u in p.units]
    keys = {u: unit_key(u, ctx, p.config, manifest.modality) for p in plans for u in p.units if u.network_free} if cache else {}
    done = {u for u in units if store.has(u)}
    for unit, key in keys.items():
        if unit not in done and cache is not None and (data := _cached(cache, key)) is not None:
            store.put(unit, data, Entry(REUSED, key, 0.0))
            done.add(unit)
    emitted = 0

    def emit_ready() -> None:
        nonlocal emitted
        while emitted < len(plans) and all(u in done for u in plans[emitted].units):
            on_result(_settle(plans[emitted], ctx, store))
            emitted += 1

    emit_ready()
    if len(done) == len(units):
        return
    runner = executor()
    submitted: set[Unit] = set()
    try:
        with progress.task("units", total=len(units)) as task:
            task.advance(len(done))
            while len(done) < len(units):
                for unit in units:
                    if unit not in done and unit not in submitted and all(n in done for n in unit.needs()):
                        runner.submit(unit, {n: _data(store, n) for n in unit.needs()})
                        submitted.add(unit)
                unit, data, seconds = runner.next()
                key = keys.get(unit)
                store.put(unit, data, Entry(COMPUTED, key, round(seconds, 3)))
                if key is not None and cache is not None and not isinstance(decode(data), Failure):
                    cache.put(key, data)
                done.add(unit)
                task.advance()
                emit_ready()
    finally:
        runner.close()


def _data(store: UnitStore, unit: Unit) -> bytes:
    data = store.data(unit)
    if data is None:
        raise KeyError(f"unit {unit.id}: finished but its result cannot be read")
    return data


def _settle(planned: _Planned, ctx: AuditContext, store: UnitStore) -> CheckResult:
    """The check's result from its stored units, with their records and its wall time (the units' seconds,
    wherever they ran, plus assembling)."""
    t0 = time.perf_counter()
    result = planned.check.settle(ctx, planned.config, lambda units: {u: store.outcome(u) for u in units})
    entries = {u: store.entry(u) for u in planned.units}
    result.units = [
        UnitRecord(unit=u.id, subject=u.subject, image=u.image_id, source=e.source if e else COMPUTED,
                   cache_key=e.cache_key if e else None, seconds=e.seconds if e else 0.0)
        for u, e in entries.items()
    ]
    unit_seconds = sum(e.seconds for e in entries.values() if e is not None)
    result.wall_time_s = round(unit_seconds + time.perf_counter() - t0, 3)
    return result
