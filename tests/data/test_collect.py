"""Where each test image comes from, as the evidence records it."""

from pathlib import Path

import pydicom
import pytest

from auditkit.data.collect import collect_images
from auditkit.manifest.load import load_manifest

DICOM = Path(__file__).parents[2] / "sample_submissions" / "data" / "MR_small.dcm"


def test_a_files_size_spacing_and_resampling_and_a_phantoms_generation_are_recorded(tmp_path):
    pytest.importorskip("pydicom")
    manifest = load_manifest(Path(__file__).parents[2] / "sample_submissions" / "mri_unet" / "manifest.yaml")
    images = collect_images(manifest.data, (48, 48))
    source = images.sources[0]
    header = pydicom.dcmread(DICOM, stop_before_pixels=True)
    assert source["original_size"] == f"{header.Rows}×{header.Columns}"
    assert source["pixel_spacing_mm"] == [float(v) for v in header.PixelSpacing]
    assert source["resampling"].endswith(f"{header.Rows}×{header.Columns} → 48×48")
    assert source["normalisation"] == manifest.data.normalisation
    generated = [s for s in images.sources if s.get("phantom") == "shepp_logan"]
    assert not generated or generated[0]["generated"].startswith("at 48×48")
