"""Intensity normalisation to [0, 1]: each method against hand-computed values, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from auditkit.data.normalise import METHODS, normalise


def test_minmax_maps_extremes_to_0_and_1() -> None:
    img = np.array([[-1000.0, 0.0], [500.0, 1000.0]])
    np.testing.assert_allclose(normalise(img, "minmax"), [[0.0, 0.5], [0.75, 1.0]])


def test_max_keeps_zero() -> None:
    img = np.array([[0.0, 2.0], [4.0, 8.0]])
    np.testing.assert_allclose(normalise(img, "max"), [[0.0, 0.25], [0.5, 1.0]])


def test_max_divides_complex_by_peak_modulus_keeping_phase() -> None:
    img = np.array([[3 + 4j, 1j], [0, -2.5]])
    out = normalise(img, "max")
    assert out.dtype == np.complex128
    np.testing.assert_allclose(out, img / 5.0)


def test_percentile_clips_outliers() -> None:
    img = np.linspace(0.0, 1.0, 1001)
    img[0], img[-1] = -50.0, 1e6  # a dead and a hot pixel
    out = normalise(img, "percentile", percentiles=(1.0, 99.0))
    lo, hi = np.percentile(img, [1.0, 99.0])
    assert out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_allclose(out[500], (img[500] - lo) / (hi - lo))
    assert np.count_nonzero(out == 1.0) >= 10  # the top 1 % is clipped to 1


def test_percentile_default_is_1_and_99_5() -> None:
    img = np.arange(2001, dtype=float)
    out = normalise(img, "percentile")
    np.testing.assert_allclose(out[1000], (1000 - 20.0) / (1990.0 - 20.0))


def test_none_passes_unit_range_unchanged() -> None:
    img = np.array([[0.0, 0.3], [0.9, 1.0]])
    np.testing.assert_array_equal(normalise(img, "none"), img)


def test_stack_is_scaled_as_one() -> None:
    stack = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)])
    stack[0, 0, 0] = 0.0
    out = normalise(stack, "max")
    np.testing.assert_allclose(out[1], 1.0)
    np.testing.assert_allclose(out[0, 1, 1], 1 / 3)


@pytest.mark.parametrize("method", METHODS)
def test_outputs_lie_in_unit_interval(method: str) -> None:
    rng = np.random.default_rng(0)
    img = rng.uniform(0.0, 1.0, (16, 16))
    out = normalise(img, method)
    assert out.dtype == np.float64 and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize(
    ("img", "method", "kwargs", "pattern"),
    [
        (np.ones((4, 4)), "minmax", {}, "constant"),
        (np.zeros((4, 4)), "max", {}, "constant"),
        (np.array([[-1.0, 2.0]]), "max", {}, "negative"),
        (np.array([[-0.5, 1.5]]), "none", {}, r"span \[-0.5, 1.5\]"),
        (np.array([[2.0 + 0j]]), "none", {}, "modulus"),
        (np.array([[1j, 1.0]]), "minmax", {}, "complex"),
        (np.array([[np.nan, 1.0]]), "minmax", {}, "NaN"),
        (np.array([[0.0, 1.0]]), "percentile", {"percentiles": (90.0, 10.0)}, "percentiles"),
        (np.array([[0.0, 1.0]]), "zscore", {}, "method"),
        (np.zeros((0, 3)), "minmax", {}, "empty"),
    ],
)
def test_errors_are_one_line_value_errors(img: np.ndarray, method: str, kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern) as info:
        normalise(img, method, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_label_names_the_source() -> None:
    with pytest.raises(ValueError, match="scan.dcm is constant"):
        normalise(np.ones((3, 3)), "minmax", label="scan.dcm")
