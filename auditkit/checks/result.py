"""What one check concluded: its criteria, its verdict and each subject's numbers.

A check builds these; ``auditkit.evidence`` gathers them, with the audit's inputs and
environment, into the record written to evidence.json.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

class Verdict(str, Enum):
    """Outcome of a criterion or a check.

    PRELIMINARY: every criterion was met, but by a quick-mode run, whose searches, draws and images are capped:
    a first look, never a PASS. A failure found by a quick run is a FAIL (less search found it all the same).
    INCONCLUSIVE: no criterion on the network failed, but the check's searches, tried on a map whose worst case
    is known, found too little of it for a PASS to mean anything.
    """

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    PRELIMINARY = "PRELIMINARY"
    NOT_RUN = "NOT_RUN"
    ERROR = "ERROR"


class StrictModel(BaseModel):
    """A record model that refuses unknown fields (a stored file with an unexpected key is invalid)."""

    model_config = ConfigDict(extra="forbid")


class Criterion(StrictModel):
    """One pass/fail rule: ``measured <comparison> threshold``."""

    name: str = Field(description="Stable identifier, e.g. 'adversarial.change_vs_baseline[eps=0.02]'.")
    description: str = Field(description="The rule in words, with the formula.")
    threshold: float | None = Field(description="The bound the measured value is compared with.")
    measured: float | None = Field(description="The measured value (None when it could not be measured).")
    comparison: str = Field(default="<=", description="'<=' or '>=': measured must be on this side of threshold.")
    passed: bool | None = Field(description="True/False, or None when not evaluated.")
    compares_to_baseline: bool = Field(description="True when the threshold is derived from the baseline's result.")
    per_image: dict[str, float | None] | None = Field(
        default=None,
        description="The measured quantity on each test image it rests on (its count is the number of images used); "
        "None when the criterion has no per-image value.",
    )
    setup: bool = Field(
        default=False,
        description="True for a check of the audit's own setup (the baseline's sanity, the searches' power on a known "
        "map), not a judgement of the network; counted apart in the summary.",
    )

    @classmethod
    def evaluate(
        cls,
        name: str,
        description: str,
        measured: float | None,
        threshold: float,
        *,
        comparison: str = "<=",
        compares_to_baseline: bool = False,
        per_image: dict[str, float | None] | None = None,
        setup: bool = False,
    ) -> "Criterion":
        """Build a criterion and decide it; a missing or non-finite measurement fails. ``per_image``: the
        quantity on each image (what a worst case or a mean over the images is taken of)."""
        if comparison not in ("<=", ">="):
            raise ValueError(f"comparison must be '<=' or '>=', not {comparison!r}")
        ok: bool | None
        if measured is None or not math.isfinite(measured):
            ok = False
        elif comparison == "<=":
            ok = measured <= threshold
        else:
            ok = measured >= threshold
        return cls(
            name=name,
            description=description,
            threshold=float(threshold),
            measured=None if measured is None else float(measured),
            comparison=comparison,
            passed=ok,
            compares_to_baseline=compares_to_baseline,
            per_image=None if per_image is None else {
                str(k): (None if v is None or not math.isfinite(v) else float(v)) for k, v in per_image.items()
            },
            setup=setup,
        )


    def not_judged(self, why: str) -> "Criterion":
        """This criterion reported with its measurement but not decided (``passed`` None), saying ``why``."""
        return self.model_copy(update={"passed": None, "description": f"{self.description} Not judged: {why}."})


class SubjectResult(StrictModel):
    """What one reconstruction method (network or baseline) did in a check."""

    name: str = Field(description="Human-readable name of the method.")
    summary: dict[str, Any] = Field(default_factory=dict, description="Headline numbers, keyed as the check documents.")
    per_image: list[dict[str, Any]] = Field(default_factory=list, description="One row per test image.")


class UnitRecord(StrictModel):
    """One work unit of a check: what it ran on and where its result came from."""

    unit: str = Field(description="The unit's id: check.phase.subject.image index.")
    subject: str = Field(description="'network', 'baseline', or 'both' for a comparison.")
    image: str
    source: str = Field(description="'computed' by this run, or 'reused' from the baseline cache.")
    cache_key: str | None = Field(
        default=None, description="For a network-free (baseline) unit, the sha256 key of its cache entry."
    )
    seconds: float = Field(default=0.0, description="Wall time of the unit where it ran (0 when reused).")


class CheckResult(StrictModel):
    """The outcome of one check on network and baseline."""

    name: str
    title: str = ""
    verdict: Verdict
    reason: str | None = Field(default=None, description="Why NOT_RUN, or the ERROR message.")
    internal_error: bool = Field(
        default=False, description="True when ERROR came from auditkit itself rather than from the network or setup."
    )
    criteria: list[Criterion] = Field(default_factory=list)
    subjects: dict[str, SubjectResult] = Field(default_factory=dict, description="'network' and 'baseline'.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Effective parameters after defaults.")
    seed: int | None = None
    wall_time_s: float = 0.0
    arrays: list[str] = Field(default_factory=list, description="Files under arrays/ written by this check.")
    notes: list[str] = Field(default_factory=list, description="Observations that are not criteria.")
    units: list[UnitRecord] = Field(default_factory=list, description="The work units, in plan order.")

    @staticmethod
    def verdict_from(criteria: list[Criterion], *, quick: bool = False) -> Verdict:
        """FAIL when any criterion failed; else PASS (PRELIMINARY for a quick run) when at least one was judged;
        NOT_RUN when none was (a criterion with ``passed`` None is reported, not judged)."""
        judged = [c.passed for c in criteria if c.passed is not None]
        if not judged:
            return Verdict.NOT_RUN
        if not all(judged):
            return Verdict.FAIL
        return Verdict.PRELIMINARY if quick else Verdict.PASS
