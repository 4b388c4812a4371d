"""The evidence record: every number, criterion, verdict, hash, version and seed of an audit.

``evidence.json`` is the single source of truth from which figures, the HTML
and the PDF are rendered; the report never recomputes a number. The models are
pydantic so that ``verify`` and ``reproduce`` can re-validate a stored file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from auditkit.checks.result import CheckResult, StrictModel, Verdict

EVIDENCE_SCHEMA_VERSION = 1


class InputRecord(StrictModel):
    """A file the audit read, with its hash."""

    role: str
    path: str
    sha256: str


class Evidence(StrictModel):
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
    qualification: dict[str, Any] | None = Field(
        default=None, description="The attached tool-qualification record of `auditkit selftest`: its file under inputs/ "
                                  "and what it showed (auditkit.qualification.attachment.summary)."
    )
    overall_verdict: Verdict = Verdict.NOT_RUN
    started_at: str | None = None
    wall_time_s: float = 0.0

    def decide(self) -> Verdict:
        """Overall verdict: the first of ERROR, FAIL, INCONCLUSIVE, PRELIMINARY, PASS that any check has, else NOT_RUN."""
        verdicts = {c.verdict for c in self.checks}
        for verdict in (Verdict.ERROR, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PRELIMINARY, Verdict.PASS):
            if verdict in verdicts:
                return verdict
        return Verdict.NOT_RUN

    def to_json(self) -> str:
        """Canonical JSON text: sorted keys, 2-space indent, trailing newline (stable for hashing)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, path: Path) -> "Evidence":
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
