"""The audit context the check tests run a check in, and the one-thread setting they run under."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import torch

from auditkit.checks.base import AuditContext, Subject
from auditkit.data.phantoms import shepp_logan
from auditkit.operators.base import ForwardOperator
from auditkit.reconstruction import ReconstructionMap


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread for the module: the small FFTs of these tests run fastest so on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def audit_context(
    operator: ForwardOperator,
    network: ReconstructionMap,
    baseline: ReconstructionMap,
    images: torch.Tensor | None = None,
    ids: list[str] | None = None,
    **kw: Any,
) -> AuditContext:
    """A context auditing ``network`` against ``baseline``, both kept as they are at any other operator.

    ``images`` default to the Shepp–Logan phantom at the operator's image size, ``ids`` to
    img0, img1, …; ``kw`` (arrays, seed, quick, …) go to ``AuditContext`` unchanged.
    """
    images = shepp_logan(tuple(operator.image_shape))[None] if images is None else images
    ids = ids or [f"img{i}" for i in range(images.shape[0])]
    return AuditContext(
        operator=operator,
        network=Subject("network", network, lambda o: network),
        baseline=Subject("baseline", baseline, lambda o: baseline),
        images=images,
        image_ids=ids,
        **kw,
    )
