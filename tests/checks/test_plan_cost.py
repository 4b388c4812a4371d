"""The plan states each unit's cost in gradient evaluations, and a run makes exactly that many."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from auditkit.checks import registry
from auditkit.checks.base import Subject
from auditkit.execution.job import compute_unit
from auditkit.preparation import prepare


class Counting:
    """A reconstruction map that counts the rows a gradient flows back through (one gradient evaluation per row:
    a forward pass with gradient tracking and no backward pass is not one), and otherwise is ``inner``."""

    def __init__(self, inner: Any, tally: Counter, key: str):
        self.inner, self.tally, self.key = inner, tally, key

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        if y.requires_grad:
            rows = y.shape[0]
            y.register_hook(lambda grad: self.tally.update({self.key: rows}))
        return self.inner(y)

    def __getattr__(self, name: str) -> Any:  # name, operator, starting_at, … of the wrapped map
        return getattr(self.inner, name)


def _counting(subject: Subject, tally: Counter) -> Subject:
    return dataclasses.replace(subject, fmap=Counting(subject.fmap, tally, subject.key))


def test_each_unit_makes_the_gradient_evaluations_its_plan_states(tiny_manifest: Path):
    prepared = prepare(tiny_manifest, quick=True, signing=False)
    tally: Counter = Counter()
    ctx = dataclasses.replace(
        prepared.context, network=_counting(prepared.context.network, tally),
        baseline=_counting(prepared.context.baseline, tally),
    )
    searched = set()
    for entry in registry.CHECKS:
        check, config = entry.check(), getattr(prepared.manifest.checks, entry.name)
        outcomes: dict = {}
        for unit in check.plan(ctx, config):
            tally.clear()
            outcomes[unit] = compute_unit(ctx, prepared.manifest, unit, {u: outcomes[u] for u in unit.needs()})
            planned = check.gradient_evaluations(ctx, config, unit)
            counted = tally[unit.subject]
            assert counted == planned, f"{unit.id}: {counted} gradient evaluations, the plan says {planned}"
            assert sum(tally.values()) == counted  # a unit differentiates its own subject only
            if planned:
                searched.add(entry.name)
    assert searched == {"adversarial", "noise", "tradeoff"}
