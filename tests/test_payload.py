"""Unit results as bytes: every value comes back bit for bit, and nothing but auditkit's own classes is rebuilt."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from auditkit.checks.result import Verdict
from auditkit.checks.units import Failure
from auditkit.payload import PayloadError, decode, encode
from auditkit.stats import Proportion


def test_a_tree_of_tensors_arrays_and_values_round_trips_exactly():
    value = {
        "real": torch.randn(3, 4, dtype=torch.float32),
        "complex": torch.randn(2, 3, dtype=torch.complex64),
        "long": torch.arange(5),
        "flags": np.array([True, False]),
        "psnr": np.random.default_rng(0).normal(size=(2, 3)),
        "floats": [0.1, math.inf, -0.0, 1e-310],
        "tuple": (1, "two", None, False),
        "numpy_scalar": np.float64(0.3),
        "verdict": Verdict.FAIL,
        "failure": Failure("boom", internal=True),
        "proportion": Proportion.of_flags(np.array([True, False, False]), 0.95),
    }
    back = decode(encode(value))
    assert back.keys() == value.keys()
    for key in ("real", "complex", "long"):
        assert back[key].dtype == value[key].dtype and torch.equal(back[key], value[key])
    assert np.array_equal(back["flags"], value["flags"]) and np.array_equal(back["psnr"], value["psnr"])
    assert [x.hex() for x in back["floats"]] == [x.hex() for x in value["floats"]]
    assert back["tuple"] == value["tuple"] and isinstance(back["tuple"], tuple)
    assert type(back["numpy_scalar"]) is np.float64 and back["numpy_scalar"] == 0.3
    assert back["verdict"] is Verdict.FAIL and back["failure"] == value["failure"]
    assert back["proportion"] == value["proportion"]
    assert math.isnan(decode(encode(math.nan)))


def test_the_same_value_gives_the_same_bytes():
    value = {"x": torch.ones(2, 2), "n": [1, 2.5]}
    assert encode(value) == encode(value)


@dataclass
class _Outside:
    x: int = field(default=1)


def test_classes_outside_auditkit_are_refused():
    with pytest.raises(PayloadError, match="outside auditkit"):
        decode(encode(_Outside()))


def test_garbage_is_not_a_payload():
    with pytest.raises(PayloadError, match="not a unit payload"):
        decode(b"\x00" * 40)


def test_values_that_cannot_be_stored_are_named():
    with pytest.raises(ValueError, match=r"result\['f'\]: a function cannot be stored"):
        encode({"f": lambda: 0})
