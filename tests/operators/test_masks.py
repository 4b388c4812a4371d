"""Sampling masks: nesting, ratio accuracy, centre, determinism, radial line counts, files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from auditkit.operators.masks import (
    MaskSpec,
    as_mask,
    make_mask,
    radial_angles,
    radial_line_count,
    radial_line_pixels,
)

GENERATED = ["cartesian_random", "cartesian_equispaced", "random_points", "radial", "variable_density"]
RATIOS = [0.1, 0.2, 0.33, 0.5]


def contains(big: torch.Tensor, small: torch.Tensor) -> bool:
    return bool((small & ~big).sum() == 0)


@pytest.mark.parametrize("pattern", GENERATED)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_masks_are_nested_across_ratios(pattern: str, seed: int) -> None:
    masks = [make_mask(pattern, (64, 48), r, seed=seed) for r in RATIOS]
    for low, high in zip(masks, masks[1:]):
        assert contains(high, low)
        assert int(high.sum()) > int(low.sum())


@settings(max_examples=40, deadline=None)
@given(
    pattern=st.sampled_from(GENERATED),
    seed=st.integers(0, 2**31 - 1),
    r1=st.floats(0.01, 1.0),
    r2=st.floats(0.01, 1.0),
    center_fraction=st.floats(0.0, 0.3),
)
def test_nesting_property(pattern: str, seed: int, r1: float, r2: float, center_fraction: float) -> None:
    low, high = sorted((r1, r2))
    small = make_mask(pattern, (32, 40), low, center_fraction=center_fraction, seed=seed)
    large = make_mask(pattern, (32, 40), high, center_fraction=center_fraction, seed=seed)
    assert contains(large, small)


@pytest.mark.parametrize("pattern", ["cartesian_random", "cartesian_equispaced"])
@pytest.mark.parametrize("ratio", RATIOS + [0.05, 0.77])
def test_line_patterns_hit_the_ratio_to_one_line(pattern: str, ratio: float) -> None:
    mask = make_mask(pattern, (128, 128), ratio, seed=3)
    columns = mask.any(dim=0)
    assert bool((mask == columns.unsqueeze(0)).all()), "Cartesian masks sample full columns"
    achieved = float(mask.float().mean())
    assert abs(achieved - ratio) <= 0.5 / 128 + 1e-12
    assert abs(achieved - ratio) < 0.01


@pytest.mark.parametrize("pattern", ["random_points", "variable_density"])
@pytest.mark.parametrize("ratio", RATIOS + [0.05, 0.77])
def test_point_patterns_hit_the_ratio_to_one_point(pattern: str, ratio: float) -> None:
    mask = make_mask(pattern, (64, 64), ratio, seed=2)
    assert abs(float(mask.float().mean()) - ratio) <= 0.5 / 64**2 + 1e-12


@pytest.mark.parametrize("pattern", GENERATED)
def test_full_ratio_samples_everything(pattern: str) -> None:
    assert bool(make_mask(pattern, (24, 32), 1.0, seed=5).all())


@pytest.mark.parametrize("pattern", GENERATED)
def test_same_seed_same_mask_other_seed_other_mask(pattern: str) -> None:
    a = make_mask(pattern, (64, 64), 0.25, seed=11)
    b = make_mask(pattern, (64, 64), 0.25, seed=11)
    c = make_mask(pattern, (64, 64), 0.25, seed=12)
    assert a.dtype == torch.bool and tuple(a.shape) == (64, 64)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_cartesian_centre_is_fully_sampled_and_dc_first() -> None:
    width = 100
    for pattern in ("cartesian_random", "cartesian_equispaced"):
        mask = make_mask(pattern, (64, width), 0.2, center_fraction=0.1, seed=4)
        centre = torch.arange(width // 2 - 5, width // 2 + 5)
        assert bool(mask[:, centre].all())
        tiny = make_mask(pattern, (64, width), 0.01, center_fraction=0.1, seed=4)
        assert bool(tiny[:, width // 2].all()) and int(tiny.any(dim=0).sum()) == 1


def test_points_centre_disc_and_density_decay() -> None:
    shape = (128, 128)
    mask = make_mask("random_points", shape, 0.2, center_fraction=0.1, seed=9)
    ky, kx = torch.meshgrid(torch.arange(128) - 64, torch.arange(128) - 64, indexing="ij")
    rho = torch.sqrt((ky / 64.0) ** 2 + (kx / 64.0) ** 2)
    assert bool(mask[rho <= 0.1].all())
    inner, outer = mask[(rho > 0.1) & (rho < 0.5)], mask[rho > 0.8]
    assert float(inner.float().mean()) > 2 * float(outer.float().mean())


def test_variable_density_favours_low_sequencies() -> None:
    mask = make_mask("variable_density", (64, 64), 0.2, center_fraction=0.1, seed=1)
    i, j = torch.meshgrid(torch.arange(64) / 64.0, torch.arange(64) / 64.0, indexing="ij")
    rho = torch.sqrt(i**2 + j**2)
    assert bool(mask[rho <= 0.1].all()) and bool(mask[0, 0])
    assert float(mask[rho < 0.5].float().mean()) > 2 * float(mask[rho > 1.0].float().mean())


@pytest.mark.parametrize("n_lines", [1, 2, 13, 40])
def test_radial_line_count_is_exact(n_lines: int) -> None:
    shape = (96, 80)
    mask = make_mask("radial", shape, n_lines=n_lines, seed=3)
    angles = radial_angles(n_lines, seed=3)
    assert len(angles) == n_lines
    folded = np.sort(np.mod(angles, math.pi))
    assert np.all(np.diff(folded) > 1e-3), "golden-angle lines never repeat"
    union = np.zeros(shape[0] * shape[1], dtype=bool)
    for angle in angles:
        union[radial_line_pixels(shape, angle)] = True
    assert np.array_equal(mask.numpy().ravel(), union)
    assert bool(mask[shape[0] // 2, shape[1] // 2])


def test_radial_ratio_picks_the_closest_line_count() -> None:
    shape = (64, 64)
    for ratio in (0.1, 0.33):
        count = radial_line_count(shape, ratio, seed=2)
        frac = lambda n: float(make_mask("radial", shape, n_lines=n, seed=2).float().mean())  # noqa: E731
        gap = abs(frac(count) - ratio)
        assert gap <= abs(frac(count + 1) - ratio)
        if count > 1:
            assert gap <= abs(frac(count - 1) - ratio)
        assert torch.equal(make_mask("radial", shape, ratio, seed=2), make_mask("radial", shape, n_lines=count, seed=2))


def test_mask_files_npy_and_png(tmp_path) -> None:
    reference = make_mask("random_points", (32, 48), 0.3, seed=0)
    npy = tmp_path / "mask.npy"
    np.save(npy, reference.numpy().astype(np.uint8))
    assert torch.equal(make_mask("file", (32, 48), mask_file=npy), reference)
    png = tmp_path / "mask.png"
    Image.fromarray(reference.numpy().astype(np.uint8) * 255).save(png)
    assert torch.equal(make_mask("file", (32, 48), mask_file=png), reference)
    rgba = tmp_path / "mask_rgba.png"
    colour = np.zeros((32, 48, 4), dtype=np.uint8)
    colour[..., 1] = reference.numpy() * 200
    colour[..., 3] = 255
    Image.fromarray(colour, mode="RGBA").save(rgba)
    assert torch.equal(make_mask("file", (32, 48), mask_file=rgba), reference)


def test_mask_file_shape_mismatch_names_file_and_shapes(tmp_path) -> None:
    path = tmp_path / "wrong.npy"
    np.save(path, np.ones((16, 16)))
    with pytest.raises(ValueError, match=r"wrong\.npy.*\(16, 16\).*\(32, 32\)"):
        make_mask("file", (32, 32), mask_file=path)
    with pytest.raises(ValueError, match="mask_file"):
        make_mask("file", (32, 32), mask_file=tmp_path / "mask.jpg")
    with pytest.raises(ValueError, match="mask_file"):
        make_mask("file", (32, 32))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"pattern": "spiral", "ratio": 0.2}, "pattern"),
        ({"pattern": "cartesian_random", "ratio": 0.0}, "ratio"),
        ({"pattern": "cartesian_random", "ratio": 1.5}, "ratio"),
        ({"pattern": "cartesian_random", "ratio": None}, "ratio"),
        ({"pattern": "random_points", "ratio": 0.2, "center_fraction": 1.0}, "center_fraction"),
        ({"pattern": "random_points", "ratio": 0.2, "seed": -1}, "seed"),
        ({"pattern": "radial", "ratio": 0.2, "n_lines": 5}, "n_lines"),
        ({"pattern": "radial"}, "n_lines"),
        ({"pattern": "radial", "n_lines": 0}, "n_lines"),
    ],
)
def test_bad_arguments_raise_naming_the_parameter(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        make_mask(shape=(16, 16), **kwargs)


def test_bad_shape_raises() -> None:
    with pytest.raises(ValueError, match="shape"):
        make_mask("random_points", (0, 16), 0.2)


def test_spec_rebuilds_and_changes_ratio() -> None:
    spec = MaskSpec("cartesian_random", (32, 32), 0.2, seed=3)
    assert torch.equal(spec.build(), make_mask("cartesian_random", (32, 32), 0.2, seed=3))
    assert contains(spec.with_ratio(0.4).build(), spec.build())
    radial_spec = MaskSpec("radial", (32, 32), n_lines=6)
    assert radial_spec.with_ratio(0.5).n_lines is None
    with pytest.raises(ValueError, match="fixed"):
        MaskSpec("file", (32, 32), mask_file="m.npy").with_ratio(0.5)


def test_as_mask_checks() -> None:
    assert as_mask(np.eye(4)).dtype == torch.bool
    with pytest.raises(ValueError, match="mask"):
        as_mask(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="mask"):
        as_mask(np.ones(4))
