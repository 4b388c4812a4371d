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


def _raw_data(tmp_path: Path, coils: int = 4, **entry):
    """A Data section auditing slices 1 and 0 of a two-slice synthetic fastMRI file (32×32 shown) before a phantom."""
    import numpy as np
    import torch

    from auditkit.data.phantoms import shepp_logan
    from auditkit.data.synthetic_raw import multicoil_kspace, write_fastmri
    from auditkit.manifest.models import Data
    from auditkit.manifest.paths import MANIFEST_DIR

    x = shepp_logan((32, 32), dtype=torch.float64).numpy()
    k, _ = multicoil_kspace(np.stack([x, 0.5 * x]), coils=coils, noise=1e-3, seed=1)
    write_fastmri(tmp_path / "scan.h5", k, (32, 32))
    raw = {"format": "fastmri", "file": "scan.h5", "slices": [1, 0], **entry}
    return Data.model_validate({"raw": [raw], "phantoms": [{"kind": "shepp_logan"}]}, context={MANIFEST_DIR: tmp_path})


def test_raw_slices_come_after_files_with_their_provenance_and_measurements(tmp_path):
    images = collect_images(_raw_data(tmp_path), (32, 32), coils=4)
    assert images.ids == ["scan_s1", "scan_s0", "shepp_logan"]
    assert [m is not None for m in images.measured] == [True, True, False]
    first = images.sources[0]
    assert first["raw"] == "fastmri" and first["slice"] == 1 and first["coils"] == 4 and first["encoded_size"] == "64×32"
    assert first["coil_maps"].startswith("estimated: low-resolution method from the central 24×24 samples")
    assert first["readout_oversampling"].startswith("removed:") and "32 of 64 rows" in first["readout_oversampling"]
    assert float(images.images[0].max()) == 1.0 and float(images.images[:2].min()) >= 0.0
    assert images.measured[0].kspace.shape == (4, 32, 32) and images.measured[0].maps.shape == (4, 32, 32)


@pytest.mark.parametrize("shape,coils,message", [
    ((48, 48), 4, "kspace: gives a 32×32 image (readout 64×32 cropped to the header's reconSpace rows), but "
                  "modality.image_shape is 48×48; raw k-space is not resampled"),
    ((32, 32), 8, "kspace: has 4 coil(s), but the audit's operator takes 8 coils (modality.coils.count)"),
    ((32, 32), 1, "kspace: has 4 coil(s), but the audit's operator takes single-coil data (mri_singlecoil)"),
])
def test_raw_data_that_does_not_fit_the_operator_is_refused_in_one_line(tmp_path, shape, coils, message):
    with pytest.raises(ValueError) as info:
        collect_images(_raw_data(tmp_path), shape, coils=coils)
    assert str(info.value) == f"{tmp_path / 'scan.h5'}: {message}"


@pytest.mark.parametrize("layout", ["ismrmrd", "fastmri_single_coil"])
def test_other_raw_layouts_give_the_same_audit_view(tmp_path, layout):
    """The same scan written as ISMRMRD (line by line) reads back as the fastMRI file does; a single-coil
    fastMRI file gives a one-coil slice with no maps, for mri_singlecoil."""
    import numpy as np
    import torch

    from auditkit.data.phantoms import shepp_logan
    from auditkit.data.synthetic_raw import multicoil_kspace, write_fastmri, write_ismrmrd
    from auditkit.manifest.models import Data
    from auditkit.manifest.paths import MANIFEST_DIR

    x = shepp_logan((32, 32), dtype=torch.float64).numpy()
    coils = 1 if layout == "fastmri_single_coil" else 4
    k, _ = multicoil_kspace(np.stack([x, 0.5 * x]), coils=coils, noise=1e-3, seed=1)
    write_fastmri(tmp_path / "scan.h5", k, (32, 32), single_coil=coils == 1)
    if layout == "ismrmrd":
        write_ismrmrd(tmp_path / "scan_ismrmrd.h5", k, (32, 32))
    other = "scan_ismrmrd.h5" if layout == "ismrmrd" else "scan.h5"
    data = Data.model_validate({"raw": [{"format": "fastmri", "file": "scan.h5", "slices": [1]},
                                        {"format": layout.split("_")[0], "file": other, "slices": [1]}]},
                               context={MANIFEST_DIR: tmp_path})
    images = collect_images(data, (32, 32), coils=coils)
    np.testing.assert_allclose(images.images[1].numpy(), images.images[0].numpy(), atol=1e-12)
    assert (images.measured[1].maps is None) == (coils == 1)
    assert images.sources[1]["raw"] == layout.split("_")[0] and images.sources[1]["coils"] == coils
