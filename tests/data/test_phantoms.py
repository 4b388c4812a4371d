"""Shepp–Logan and random-ellipse phantoms: ranges, shapes, determinism, geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from auditkit.data.phantoms import EllipseFamily, _axes, _rasterise, random_ellipses, shepp_logan


@pytest.mark.parametrize("shape", [(128, 128), (64, 96), (50, 32)])
def test_shepp_logan_shape_range_dtype(shape: tuple[int, int]) -> None:
    img = shepp_logan(shape)
    assert img.shape == shape and img.dtype == torch.float32
    assert float(img.min()) == 0.0 and 0.5 < float(img.max()) <= 1.0  # a thin bright rim blurs when shrunk
    assert shepp_logan(shape, dtype=torch.float64).dtype == torch.float64


def test_shepp_logan_not_stretched_on_wide_grid() -> None:
    # the phantom's head is taller than wide; on a 64×128 grid it must keep that aspect
    img = shepp_logan((64, 128)).numpy() > 0
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert 1.1 < height / width < 1.5


@pytest.mark.parametrize("shape", [(128, 128), (48, 64)])
def test_random_ellipses_shape_and_range(shape: tuple[int, int]) -> None:
    imgs = random_ellipses(shape, count=6, seed=1)
    assert imgs.shape == (6, *shape) and imgs.dtype == torch.float32
    assert float(imgs.min()) >= 0.0 and float(imgs.max()) <= 1.0
    assert all(float(im.std()) > 0.05 for im in imgs)  # non-trivial images
    # nothing outside the outer ellipse: the corners are empty
    assert torch.all(imgs[:, 0, 0] == 0) and torch.all(imgs[:, -1, -1] == 0)


def test_image_i_independent_of_count_and_start() -> None:
    three = random_ellipses((64, 64), count=3, seed=11)
    ten = random_ellipses((64, 64), count=10, seed=11)
    assert torch.equal(three, ten[:3])
    assert torch.equal(random_ellipses((64, 64), count=4, seed=11, start=6), ten[6:10])


def test_same_seed_reproduces_exactly_and_seeds_differ() -> None:
    a = random_ellipses((64, 64), count=4, seed=5)
    assert torch.equal(a, random_ellipses((64, 64), count=4, seed=5))
    b = random_ellipses((64, 64), count=4, seed=6)
    assert all(not torch.equal(a[i], b[i]) for i in range(4))
    assert not torch.equal(a[0], a[1])


def test_zero_count_gives_empty_stack() -> None:
    assert random_ellipses((32, 32), count=0, seed=0).shape == (0, 32, 32)


def test_outer_ellipse_alone_has_analytic_area() -> None:
    # no inner ellipses, outer semi-axes exactly 0.5 of the half-extent: a disc of radius 32 px
    family = EllipseFamily(ellipse_count=(0, 0), outer_axes=(0.5, 0.5), outer_intensity=(0.3, 0.3))
    img = random_ellipses((128, 128), count=1, seed=0, family=family, dtype=torch.float64)[0]
    assert set(torch.unique(img).tolist()) == {0.0, 0.3}
    area = int((img > 0).sum())
    assert abs(area - np.pi * 32**2) < 2 * np.pi * 32 * 0.5  # within half a pixel along the rim


def test_supersampling_keeps_range_and_mean() -> None:
    family = EllipseFamily(supersample=3)
    fine = random_ellipses((64, 64), count=2, seed=2, family=family)
    coarse = random_ellipses((64, 64), count=2, seed=2)
    assert float(fine.min()) >= 0.0 and float(fine.max()) <= 1.0
    assert torch.allclose(fine.mean(dim=(1, 2)), coarse.mean(dim=(1, 2)), atol=0.02)
    assert len(torch.unique(fine)) > len(torch.unique(coarse))  # edges now take intermediate values


def test_rasterise_matches_direct_rotated_ellipse_formula() -> None:
    # outer ellipse covering the grid, one rotated inner ellipse of intensity 0.5
    table = torch.tensor([[[0.0, 0.0, 5.0, 5.0, 0.0, 0.2], [0.2, -0.1, 0.6, 0.2, 0.7, 0.5]]], dtype=torch.float64)
    x, y = _axes((40, 40), 20.0)
    img = _rasterise(table.numpy(), x, y)[0]
    xx, yy = np.meshgrid(x, y)
    u = (xx - 0.2) * np.cos(0.7) + (yy + 0.1) * np.sin(0.7)
    v = -(xx - 0.2) * np.sin(0.7) + (yy + 0.1) * np.cos(0.7)
    expected = 0.2 + 0.5 * ((u / 0.6) ** 2 + (v / 0.2) ** 2 <= 1.0)
    np.testing.assert_allclose(img, expected)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"ellipse_count": (5, 2)}, "ellipse_count"),
        ({"axes": (0.0, 0.3)}, "axes"),
        ({"outer_axes": (0.8, 1.2)}, "outer_axes"),
        ({"intensity": (0.5, 0.1)}, "intensity"),
        ({"centre_spread": 1.5}, "centre_spread"),
        ({"supersample": 0}, "supersample"),
    ],
)
def test_family_rejects_bad_parameters(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        EllipseFamily(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"count": -1}, "count"), ({"seed": -3}, "seed"), ({"start": 1.5}, "start"), ({"shape": (0, 8)}, "shape")],
)
def test_random_ellipses_rejects_bad_arguments(kwargs: dict, name: str) -> None:
    args = {"shape": (16, 16), "count": 1, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=name):
        random_ellipses(**args)


def test_family_as_dict_round_trips() -> None:
    family = EllipseFamily(ellipse_count=(3, 4), supersample=2)
    assert EllipseFamily(**family.as_dict()) == family


def test_chunking_and_row_bands_do_not_change_a_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    import auditkit.data.phantoms as phantoms

    family = EllipseFamily(supersample=2)
    whole = random_ellipses((40, 56), count=3, seed=4, family=family)
    monkeypatch.setattr(phantoms, "_CHUNK_ELEMENTS", 500)  # one image per step, a few rows per band
    assert torch.equal(random_ellipses((40, 56), count=3, seed=4, family=family), whole)
