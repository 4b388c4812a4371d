"""MNI152 template slices: offline loading, ranges, orientation, and the fixed train / held-out split."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from auditkit.data import mni
from auditkit.data.mni import PLANES, default_split, foreground_fraction, mni152_slices, template_volume

#: template grid sizes (x, y, z) at 1 mm and 2 mm.
GRID = {1: (197, 233, 189), 2: (99, 117, 95)}


def test_template_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from nilearn.datasets import load_mni152_template

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the MNI152 template must not be downloaded")

    mni._load_template.cache_clear()
    load_mni152_template.cache_clear()
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    vol = template_volume(1)
    assert vol.shape == GRID[1]
    assert vol.min() == 0.0 and vol.max() == 1.0 and not vol.flags.writeable


@pytest.mark.parametrize("resolution", [1, 2])
def test_volume_grid_is_cached(resolution: int) -> None:
    assert template_volume(resolution).shape == GRID[resolution]
    assert template_volume(resolution) is template_volume(resolution=resolution)


@pytest.mark.parametrize("plane", PLANES)
def test_held_out_slices_are_nontrivial_images(plane: str) -> None:
    imgs = mni152_slices(plane, shape=(64, 64), resolution=2)
    assert imgs.shape == (len(default_split(2)[plane].held_out), 64, 64) and imgs.dtype == torch.float32
    assert float(imgs.min()) >= 0.0
    assert torch.allclose(imgs.amax(dim=(1, 2)), torch.ones(len(imgs)))  # each slice peaks at 1
    assert all(float((im > 0.1).float().mean()) > 0.05 and float(im.std()) > 0.1 for im in imgs)


def test_shape_dtype_and_aspect_kept() -> None:
    # the axial brain is longer front-to-back than wide; on a square grid it stays so
    img = mni152_slices("axial", [45], shape=(96, 96), resolution=2, dtype=torch.float64)[0]
    assert img.dtype == torch.float64
    mask = img.numpy() > 0.1
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert np.ptp(rows) > np.ptp(cols)


def test_axial_slice_is_shown_anterior_up() -> None:
    # a low axial slice cuts the cerebellum, which lies posterior: at the bottom of the image
    split = default_split(2)["axial"]
    img = mni152_slices("axial", [split.held_out[0]], shape=(64, 64), resolution=2)[0].numpy()
    assert img[32:].sum() > 2 * img[:32].sum()


def test_explicit_indices_follow_request_order() -> None:
    both = mni152_slices("coronal", [60, 40], shape=(32, 32), resolution=2)
    assert torch.equal(both[1], mni152_slices("coronal", [40], shape=(32, 32), resolution=2)[0])
    assert not torch.equal(both[0], both[1])


@pytest.mark.parametrize("resolution", [1, 2])
def test_split_disjoint_informative_and_separated(resolution: int) -> None:
    split = default_split(resolution)
    assert set(split) == set(PLANES)
    for plane, s in split.items():
        train, held = set(s.train), set(s.held_out)
        assert not train & held
        assert len(held) >= 10 and len(train) >= len(held)
        assert min(abs(t - h) for t in train for h in held) >= 2  # a one-slice gap on each side
        fraction = foreground_fraction(plane, resolution)
        assert all(fraction[i] >= 0.1 for i in train | held)
        assert list(s.held_out) == sorted(held) and np.all(np.diff(s.held_out) == 5)


def test_split_is_deterministic_and_configurable() -> None:
    assert default_split(2) == default_split(2)
    denser = default_split(2, every=4, gap=0)["axial"]
    assert np.all(np.diff(denser.held_out) == 4)
    assert not set(denser.train) & set(denser.held_out)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"plane": "transverse"}, "plane"), ({"resolution": 3}, "resolution"), ({"indices": [500]}, "indices"),
     ({"plane": "coronal", "indices": [0]}, "empty"), ({"shape": (64,)}, "shape")],
)
def test_slice_arguments_validated(kwargs: dict, name: str) -> None:
    args = {"plane": "axial", "indices": [40], "shape": (32, 32), "resolution": 2} | kwargs
    with pytest.raises(ValueError, match=name):
        mni152_slices(**args)


@pytest.mark.parametrize(("kwargs", "name"), [({"every": 1}, "every"), ({"gap": 2}, "gap"), ({"min_foreground": 0}, "min_foreground")])
def test_split_arguments_validated(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        default_split(2, **kwargs)


def test_manifest_counts_the_held_out_slices():
    from auditkit.manifest.models import MNI152_HELD_OUT

    split = default_split()
    assert {plane: len(split[plane].held_out) for plane in MNI152_HELD_OUT} == MNI152_HELD_OUT
