"""Fixtures of the attack tests: a dense operator with a map B that reconstructs the test images exactly."""

import pytest
import torch

from .toys import SHAPE, Dense, consistent_map, gaussian


@pytest.fixture(params=[False, True], ids=["real", "complex"])
def dense_setup(request):
    """(operator A 256 × 1024, images x (2, 32, 32), map B with B A x = x)."""
    g = torch.Generator().manual_seed(7 + int(request.param))
    op = Dense(gaussian(256, SHAPE[0] * SHAPE[1], g, request.param) * 2.0)
    x = torch.rand((2, *SHAPE), generator=g, dtype=torch.float64)
    return op, x, consistent_map(op, x, g)
