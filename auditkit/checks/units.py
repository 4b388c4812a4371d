"""Work units: the pieces a check is split into, each a pure function of what it names.

A unit is (check, phase, subject, image). In the ``MEASURE`` phase one subject — the
network or the baseline — is measured on one test image: its searches, draws and
reconstructions, with the seeds already salted by the image's index in the test set. In the
``COMPARE`` phase (checks that measure one subject under the other's perturbations) one image's
two measurements meet. A unit's result depends on nothing else: not on which process runs it,
nor on what ran before it (each unit starts its subject afresh), so units can run in any order,
in any number of processes, and be kept on disk between runs.

Results of the units of one subject are joined image by image (``join``): tensors and arrays
along their image axis (the first, unless a field's ``JOIN`` metadata names another), lists
one after the other, dataclasses field by field; a value that is the same for every image
(settings) is kept once, and a field marked ``first_image`` is taken from the first unit.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from auditkit import interrupts
from auditkit.attacks.convergence import RECORD, concatenate
from auditkit.errors import NetworkRuntimeError
from auditkit.networks.python_source import is_submitted_code, one_line

#: The dataclass field metadata key saying how a field is joined across images.
JOIN = "join"
#: The subjects a measure unit can have; a compare unit has ``BOTH``.
NETWORK, BASELINE, BOTH = "network", "baseline", "both"


class Phase(enum.Enum):
    """What a unit does: measure one subject, or compare the two subjects' measurements on one image."""

    MEASURE = "measure"
    COMPARE = "compare"


@dataclass(frozen=True)
class Unit:
    """One piece of one check: ``phase`` on ``subject`` for the test image at ``image`` (its index in the test set)."""

    check: str
    phase: Phase
    subject: str
    image: int
    image_id: str = field(compare=False)

    @property
    def id(self) -> str:
        """A name unique within an audit and safe as a file name: ``check.phase.subject.0003``."""
        return f"{self.check}.{self.phase.value}.{self.subject}.{self.image:04d}"

    @property
    def network_free(self) -> bool:
        """True when the result cannot depend on the network (the baseline measured on its own)."""
        return self.phase is Phase.MEASURE and self.subject == BASELINE

    def needs(self) -> tuple["Unit", ...]:
        """The units whose results this one takes as input (a compare unit: both measure units of its image)."""
        if self.phase is Phase.MEASURE:
            return ()
        return tuple(Unit(self.check, Phase.MEASURE, s, self.image, self.image_id) for s in (NETWORK, BASELINE))


@dataclass(frozen=True)
class Failure:
    """A unit that raised: the message its check's ERROR shows, and whether auditkit (not the network) failed."""

    message: str
    internal: bool = False


def failure_of(exc: BaseException, check: str) -> Failure:
    """What a unit that raised ``exc`` tells its check: the network misbehaved (its own error, or code from its
    source files raised) or auditkit failed. A stop the user asked for, or a non-``Exception`` outside the
    network's code, is raised again."""
    if isinstance(exc, NetworkRuntimeError):
        return Failure(str(exc))
    interrupts.raise_if_requested()
    if is_submitted_code(exc):
        return Failure(f"{check}: the network's code raised {one_line(exc)}")
    if isinstance(exc, Exception):
        return Failure(f"{check}: internal error: {type(exc).__name__}: {exc}", internal=True)
    raise exc


def first_image(**kwargs: Any) -> Any:
    """A dataclass field taken from the first image's unit when units are joined (an example image)."""
    return field(metadata={JOIN: "first"}, **kwargs)


def image_axis(axis: int, **kwargs: Any) -> Any:
    """A dataclass field whose image axis is ``axis`` (not the first) when units are joined."""
    return field(metadata={JOIN: axis}, **kwargs)


def join(parts: Sequence[Any]) -> Any:
    """One result for all images from the per-image results ``parts``, in image order (see the module doc)."""
    return _join(list(parts), 0, "result")


def _join(parts: list[Any], axis: int, where: str) -> Any:
    first = parts[0]
    if len(parts) == 1:
        return first
    if isinstance(first, torch.Tensor):
        return torch.cat(parts, dim=axis)
    if isinstance(first, np.ndarray):
        return np.concatenate(parts, axis=axis)
    if isinstance(first, list):
        return [item for part in parts for item in part]
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        values = {}
        for f in dataclasses.fields(first):
            how = f.metadata.get(JOIN, 0)
            items = [getattr(p, f.name) for p in parts]
            if f.metadata.get(RECORD):  # convergence records: lengths differ between images
                values[f.name] = concatenate(items)
            else:
                values[f.name] = items[0] if how == "first" else _join(items, int(how), f"{where}.{f.name}")
        return dataclasses.replace(first, **{k: v for k, v in values.items() if _is_init(first, k)})
    if isinstance(first, (tuple, str, int, float, bool, enum.Enum)) or first is None:
        if any(p != first for p in parts[1:]):
            raise ValueError(f"{where}: differs between images ({first!r}, …) but has no image axis")
        return first
    raise ValueError(f"{where}: cannot join values of type {type(first).__name__}")


def _is_init(obj: Any, name: str) -> bool:
    return any(f.name == name and f.init for f in dataclasses.fields(obj))
