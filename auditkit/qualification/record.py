"""The qualification record: what the reference networks showed, for which setting and which tool.

A record is one JSON file (``RECORD_SCHEMA_VERSION``), optionally with a detached CMS signature
beside it (``<file>.p7s``, ``auditkit.dossier.signing.sign_cms``). It qualifies one auditkit
(version and ``environment.source_sha256``) in one setting — the sha256 of the operator's
specification, the test images' bytes, the baseline and every check's settings, the seed and
quick mode (``setting_sha256``) — so an audit attaches it only when both match its own.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import auditkit
from auditkit.checks.base import AuditContext
from auditkit.environment import source_sha256
from auditkit.execution.cache import operator_spec, tensor_sha256
from auditkit.fileio import sha256_bytes
from auditkit.manifest import Manifest

RECORD_SCHEMA_VERSION = 1


class Outcome(enum.Enum):
    """How one expectation came out."""

    HOLDS = "holds"
    VIOLATED = "violated"
    NOT_CHECKED = "not checked"  # the check did not run or produced no criterion of that name


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExpectationResult(_Frozen):
    """One expectation on one reference network, with the criteria it looked at."""

    criteria: str = Field(description="criterion names starting with this prefix")
    expected: str = Field(description="PASS or FAIL, every one of them")
    why: str
    observed: dict[str, bool | None] = Field(description="criterion name → passed (None: not judged)")
    outcome: Outcome


class WorstCase(_Frozen):
    """A linear reference's known worst case in one domain, and the least share of it the search found."""

    domain: str
    known: float = Field(description="σ_max by power iteration")
    least_share_found: float | None = Field(description="min over images and budgets of found / known")
    required: float
    outcome: Outcome


class ReferenceResult(_Frozen):
    """Everything the audit showed on one reference network."""

    key: str
    title: str
    verdicts: dict[str, str] = Field(description="check → verdict")
    expectations: list[ExpectationResult]
    worst_cases: list[WorstCase] = Field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return [e.outcome for e in self.expectations] + [w.outcome for w in self.worst_cases]


class Record(_Frozen):
    """The qualification record written by ``auditkit selftest``."""

    schema_version: int = RECORD_SCHEMA_VERSION
    tool: dict[str, str] = Field(description="auditkit name, version and source sha256")
    manifest: str = Field(description="the manifest's path as given")
    manifest_sha256: str
    setting_sha256: str = Field(description="what the record qualifies (see the module doc)")
    quick: bool
    checks: list[str]
    created_at: str
    references: list[ReferenceResult]
    qualified: bool = Field(description="every expectation held and every known worst case was found")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> "Record":
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def tool_identity() -> dict[str, str]:
    """The auditkit a record qualifies: name, version and the sha256 of its source code."""
    return {"name": "auditkit", "version": auditkit.__version__, "source_sha256": source_sha256()}


def setting_sha256(manifest: Manifest, ctx: AuditContext) -> str:
    """sha256 of the setting a qualification holds for: operator, images' bytes, baseline, checks, seed, quick
    mode and the trained ratio."""
    payload: dict[str, Any] = {
        "operator": operator_spec(manifest.modality, ctx.operator),
        "images": [tensor_sha256(image) for image in ctx.images],
        "baseline": manifest.baseline.model_dump(mode="json"),
        "checks": manifest.checks.model_dump(mode="json"),
        "seed": ctx.seed,
        "quick": ctx.quick,
        "trained_ratio": ctx.trained_ratio,  # sets the sampling check's ratios
    }
    return sha256_bytes(json.dumps(payload, sort_keys=True, default=str).encode("utf-8"))


def qualified(references: list[ReferenceResult]) -> bool:
    """True when every expectation held and every worst case was found (nothing violated or unchecked)."""
    return all(o is Outcome.HOLDS for r in references for o in r.outcomes)
