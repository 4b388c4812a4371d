"""The ``mri_raw_fastmri`` sample: its scan is what ``make_kspace.py`` says, and the audit reads it back.

The file is checked against a fresh run of the script's own recipe within float32 rounding (the
template's resampling may differ in the last bits on another CPU, so not bit for bit), and the
audit's view of it (de-oversampling, estimated maps, reference) gives back the objects' magnitudes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from auditkit.data.collect import collect_images
from auditkit.data.raw import read_fastmri
from auditkit.data.synthetic_raw import multicoil_kspace
from auditkit.manifest import load_manifest
from auditkit.operators.coils import synthetic_coil_maps

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_raw_fastmri"


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("make_kspace", SAMPLE / "make_kspace.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_scan_is_what_its_script_writes(recipe):
    x, indices = recipe.objects()
    assert indices == [53, 83]
    maps = synthetic_coil_maps(recipe.COILS, recipe.SHAPE, seed=recipe.MAPS_SEED, dtype=torch.complex128).numpy()
    expected, _ = multicoil_kspace(x, coils=recipe.COILS, noise=recipe.NOISE, seed=recipe.NOISE_SEED, maps=maps)
    slices = read_fastmri(SAMPLE / "kspace.h5", [0, 1])
    assert [s.encoded_shape for s in slices] == [(256, 128)] * 2 and slices[0].recon_shape == (128, 128)
    assert slices[0].source["attributes"] == {"acquisition": "SYNTHETIC_AXT1", "patient_id": "synthetic-mni152"}
    for raw, k in zip(slices, expected):
        assert np.abs(raw.kspace - k).max() <= 1e-5 * np.abs(k).max()


def test_the_audit_reads_back_the_objects_magnitudes(recipe):
    manifest = load_manifest(SAMPLE / "manifest.yaml")
    images = collect_images(manifest.data, manifest.modality.image_shape, coils=manifest.modality.coils.count)
    x, _ = recipe.objects()
    assert images.ids == ["kspace_s0", "kspace_s1"]
    for image, truth, ref in zip(images.images.numpy(), x, images.measured):
        shown = np.abs(truth) / np.abs(truth).max()
        assert np.linalg.norm(image - shown) / np.linalg.norm(shown) < 0.01  # measured 0.0039 and 0.0033
        assert ref.maps.shape == (8, 128, 128) and 0.3 < ref.known.mean() < 0.6  # 0.43 and 0.47
