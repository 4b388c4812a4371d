"""The evidence record: every number, criterion, verdict, hash, version and seed of an audit.

``evidence.json`` is the single source of truth from which figures, the HTML
and the PDF are rendered; the report never recomputes a number. The models are
pydantic so that ``verify`` and ``reproduce`` can re-validate a stored file.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EVIDENCE_SCHEMA_VERSION = 1


class Verdict(str, Enum):
    """Outcome of a criterion or a check."""

    PASS = "PASS"
    FAIL = "FAIL"
    NOT_RUN = "NOT_RUN"
    ERROR = "ERROR"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Criterion(_Strict):
    """One pass/fail rule: ``measured <comparison> threshold``."""

    name: str = Field(description="Stable identifier, e.g. 'adversarial.change_vs_baseline[eps=0.02]'.")
    description: str = Field(description="The rule in words, with the formula.")
    threshold: float | None = Field(description="The bound the measured value is compared with.")
    measured: float | None = Field(description="The measured value (None when it could not be measured).")
    comparison: str = Field(default="<=", description="'<=' or '>=': measured must be on this side of threshold.")
    passed: bool | None = Field(description="True/False, or None when not evaluated.")
    compares_to_baseline: bool = Field(description="True when the threshold is derived from the baseline's result.")

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
    ) -> "Criterion":
        """Build a criterion and decide it; a missing or non-finite measurement fails."""
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
        )


class SubjectResult(_Strict):
    """What one reconstruction method (network or baseline) did in a check."""

    name: str = Field(description="Human-readable name of the method.")
    summary: dict[str, Any] = Field(default_factory=dict, description="Headline numbers, keyed as the check documents.")
    per_image: list[dict[str, Any]] = Field(default_factory=list, description="One row per test image.")


class CheckResult(_Strict):
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

    @staticmethod
    def verdict_from(criteria: list[Criterion]) -> Verdict:
        """PASS when every criterion passed, FAIL when any failed, NOT_RUN when there are none."""
        if not criteria:
            return Verdict.NOT_RUN
        return Verdict.PASS if all(c.passed for c in criteria) else Verdict.FAIL


class InputRecord(_Strict):
    """A file the audit read, with its hash."""

    role: str
    path: str
    sha256: str


class Evidence(_Strict):
    """The whole audit record written to evidence.json."""

    schema_version: int = EVIDENCE_SCHEMA_VERSION
    tool: dict[str, str] = Field(description="auditkit name and version.")
    submission: dict[str, Any] = Field(description="The manifest's submission block.")
    modality: dict[str, Any] = Field(default_factory=dict, description="Operator actually used.")
    baseline: dict[str, Any] = Field(default_factory=dict, description="Baseline method and effective parameters.")
    network: dict[str, Any] = Field(
        default_factory=dict, description="The network as loaded: its format and output dtype, with a note on its precision."
    )
    images: list[dict[str, Any]] = Field(default_factory=list, description="Test images: id and source.")
    inputs: list[InputRecord] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict, description="Software versions, platform, device.")
    seed: int = 0
    quick: bool = False
    checks: list[CheckResult] = Field(default_factory=list)
    files: dict[str, str] = Field(
        default_factory=dict, description="sha256 of every file under arrays/ and inputs/, by relative path."
    )
    archived_manifest: str | None = Field(
        default=None, description="Path of the archived manifest under inputs/, from which `reproduce` re-runs."
    )
    overall_verdict: Verdict = Verdict.NOT_RUN
    started_at: str | None = None
    wall_time_s: float = 0.0

    def decide(self) -> Verdict:
        """Overall verdict: ERROR if any check errored, else FAIL if any failed, else PASS if any passed."""
        verdicts = {c.verdict for c in self.checks}
        if Verdict.ERROR in verdicts:
            return Verdict.ERROR
        if Verdict.FAIL in verdicts:
            return Verdict.FAIL
        if Verdict.PASS in verdicts:
            return Verdict.PASS
        return Verdict.NOT_RUN

    def to_json(self) -> str:
        """Canonical JSON text: sorted keys, 2-space indent, trailing newline (stable for hashing)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> "Evidence":
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
