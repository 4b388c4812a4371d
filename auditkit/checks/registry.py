"""The one table of the audit's checks: each check's name, title, class and settings model, in dossier order.

Everything that lists the checks derives from here: the pipeline runs ``CHECKS`` in
this order and records a disabled check under its real title; the report draws and
titles them by name (``auditkit.report.figures`` keys its drawers by ``names()``
and refuses to import when they differ). The manifest, a lower layer, cannot import
the checks, so it lists them once itself, as the fields of ``Checks``
(``manifest.models.CHECK_NAMES``); this module refuses to import unless its entries
match those fields name for name, in order, with the same settings model.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditkit.checks.adversarial import AdversarialCheck
from auditkit.checks.base import Check
from auditkit.checks.hallucination import HallucinationCheck
from auditkit.checks.noise import NoiseCheck
from auditkit.checks.sampling import SamplingCheck
from auditkit.checks.structural import StructuralCheck
from auditkit.checks.tradeoff import TradeoffCheck
from auditkit.manifest.models import (
    CHECK_NAMES,
    AdversarialConfig,
    CheckConfig,
    Checks,
    HallucinationConfig,
    NoiseConfig,
    SamplingConfig,
    StructuralConfig,
    TradeoffConfig,
)


@dataclass(frozen=True)
class CheckEntry:
    """One check: the class that runs it and the manifest model of its settings; name and title are the class's."""

    check: type[Check]
    config: type[CheckConfig]

    @property
    def name(self) -> str:
        """The check's name: its key in the manifest's ``checks`` section and in the evidence."""
        return self.check.name

    @property
    def title(self) -> str:
        """The check's title, as the dossier heads its section (also when it did not run)."""
        return self.check.title


#: every check, in the order the dossier presents them.
CHECKS: tuple[CheckEntry, ...] = (
    CheckEntry(AdversarialCheck, AdversarialConfig),
    CheckEntry(StructuralCheck, StructuralConfig),
    CheckEntry(SamplingCheck, SamplingConfig),
    CheckEntry(NoiseCheck, NoiseConfig),
    CheckEntry(HallucinationCheck, HallucinationConfig),
    CheckEntry(TradeoffCheck, TradeoffConfig),
)

_BY_NAME: dict[str, CheckEntry] = {entry.name: entry for entry in CHECKS}


def names() -> tuple[str, ...]:
    """The checks' names, in dossier order."""
    return tuple(entry.name for entry in CHECKS)


def entry(name: str) -> CheckEntry:
    """The entry of the check called ``name`` (KeyError for a name that is no check)."""
    return _BY_NAME[name]


def title_of(name: str) -> str:
    """The title of the check called ``name``; a name this version does not know stands for itself."""
    known = _BY_NAME.get(name)
    return name if known is None else known.title


def _agrees_with_manifest() -> None:
    """ImportError unless the entries are the manifest's ``Checks`` fields, in order, with the same models."""
    fields = {name: Checks.model_fields[name].annotation for name in CHECK_NAMES}
    listed = {entry.name: entry.config for entry in CHECKS}
    if names() != CHECK_NAMES or listed != fields:
        raise ImportError(
            f"auditkit.checks.registry lists {listed} but the manifest's Checks section has {fields}; "
            "the two must name the same checks, in the same order, with the same settings models"
        )


_agrees_with_manifest()

__all__ = ["CHECKS", "CheckEntry", "entry", "names", "title_of"]
