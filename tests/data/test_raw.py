"""Raw k-space files: fastMRI HDF5 and ISMRMRD round trips, readout oversampling, and one clear error per problem."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from auditkit.data import shepp_logan
from auditkit.data.raw import (
    coil_images, read_fastmri, read_ismrmrd, reference, remove_readout_oversampling, root_sum_of_squares,
)
from auditkit.data.synthetic_raw import multicoil_kspace, write_fastmri, write_ismrmrd

SHAPE = (32, 24)  # displayed rows × phase-encode columns; the files hold 64 × 24 (2× readout oversampling)


@pytest.fixture(scope="module")
def kspace() -> np.ndarray:
    """Two slices seen by 4 synthetic coils, with a little noise: (2, 4, 64, 24)."""
    x = shepp_logan((32, 32), dtype=torch.float64).numpy()[:, 4:28]
    k, _ = multicoil_kspace(np.stack([x, 0.5 * x]), coils=4, noise=1e-3, seed=1)
    return k


def test_fastmri_round_trip_gives_back_kspace_and_header(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "scan.h5"
    write_fastmri(path, kspace, SHAPE, attributes={"acquisition": "AXT1", "patient_id": "p1"})
    (second,) = read_fastmri(path, [1])
    np.testing.assert_array_equal(second.kspace, kspace[1].astype(np.complex64))
    assert second.encoded_shape == (64, 24) and second.recon_shape == SHAPE and second.coils == 4
    assert second.source == {"format": "fastmri", "file": str(path), "slice": 1, "coils": 4,
                             "attributes": {"acquisition": "AXT1", "patient_id": "p1"}}


def test_fastmri_single_coil_layout_reads_as_one_coil(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "single.h5"
    write_fastmri(path, kspace, SHAPE, single_coil=True)
    (first,) = read_fastmri(path, [0])
    assert first.kspace.shape == (1, 64, 24)
    np.testing.assert_array_equal(first.kspace[0], kspace[0, 0].astype(np.complex64))


def test_ismrmrd_round_trip_places_every_line_on_its_grid(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "scan.mrd"
    write_ismrmrd(path, kspace, SHAPE)
    slices = read_ismrmrd(path, [0, 1])
    for s, raw in enumerate(slices):
        np.testing.assert_array_equal(raw.kspace, kspace[s].astype(np.complex64))
        assert raw.encoded_shape == (64, 24) and raw.recon_shape == SHAPE and raw.source["slice"] == s


def test_removing_readout_oversampling_keeps_the_central_rows_exactly(kspace: np.ndarray):
    first = kspace[0]
    cropped = remove_readout_oversampling(first, 32)
    assert cropped.shape == (4, 32, 24)
    np.testing.assert_allclose(coil_images(cropped), coil_images(first)[:, 16:48], atol=1e-12)
    assert remove_readout_oversampling(first, 64) is first


def test_root_sum_of_squares_of_the_synthetic_coils_is_the_image():
    x = shepp_logan((32, 32), dtype=torch.float64).numpy()
    k, _ = multicoil_kspace(x[None], coils=6, seed=2)
    rss = root_sum_of_squares(coil_images(remove_readout_oversampling(k[0], 32)))
    np.testing.assert_allclose(rss, x, atol=1e-10)  # the synthetic maps satisfy Σ|S_c|² = 1


# --- one located line per problem ------------------------------------------------------------------------------


def _message(excinfo: pytest.ExceptionInfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    return text


def test_missing_kspace_dataset(tmp_path: Path):
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("image", data=np.zeros(3))
    with pytest.raises(ValueError) as excinfo:
        read_fastmri(path, [0])
    assert _message(excinfo).startswith(f"{path}: kspace: dataset missing")


def test_wrong_kspace_shape(tmp_path: Path):
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("kspace", data=np.zeros((4, 5), dtype=np.complex64))
    with pytest.raises(ValueError) as excinfo:
        read_fastmri(path, [0])
    assert _message(excinfo) == f"{path}: kspace: has shape (4, 5); expected (slices, coils, H, W) or (slices, H, W)"


def test_slice_index_out_of_range(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "scan.h5"
    write_fastmri(path, kspace, SHAPE)
    with pytest.raises(ValueError) as excinfo:
        read_fastmri(path, [0, 2])
    assert _message(excinfo) == f"{path}: slices: slice 2 is out of range: kspace holds 2 slice(s), indices 0–1"
    ismrmrd_path = tmp_path / "scan.mrd"
    write_ismrmrd(ismrmrd_path, kspace, SHAPE)
    with pytest.raises(ValueError, match="slice 5 is out of range"):
        read_ismrmrd(ismrmrd_path, [5])


def test_non_cartesian_ismrmrd_is_refused_plainly(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "radial.mrd"
    write_ismrmrd(path, kspace[:1], SHAPE, trajectory="radial")
    with pytest.raises(ValueError) as excinfo:
        read_ismrmrd(path, [0])
    assert _message(excinfo) == (f"{path}: encoding.trajectory: is 'radial'; only Cartesian ISMRMRD data is "
                                 "supported yet")


def test_a_file_that_is_not_there_or_not_hdf5(tmp_path: Path):
    with pytest.raises(ValueError, match="file: does not exist"):
        read_fastmri(tmp_path / "nothing.h5", [0])
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5", encoding="utf-8")
    with pytest.raises(ValueError, match="file: is not an HDF5 file"):
        read_fastmri(text, [0])
    with pytest.raises(ValueError, match="dataset: is not an ISMRMRD file"):
        read_ismrmrd(text, [0])


def test_reference_combines_the_coils_and_scales_image_and_kspace_together(tmp_path: Path):
    x = shepp_logan((32, 32), dtype=torch.float64).numpy()[:, 4:28]
    k, maps = multicoil_kspace(x[None], coils=4, seed=1)
    path = tmp_path / "scan.h5"
    write_fastmri(path, k, SHAPE)
    (raw,) = read_fastmri(path, [0])
    given = reference(raw, maps=maps[:, 16:48])  # the true maps, on the cropped field of view
    np.testing.assert_allclose(given.image, x / x.max(), atol=1e-5)  # complex64 storage
    assert given.image.max() == pytest.approx(1.0) and given.kspace.shape == (4, 32, 24)
    np.testing.assert_allclose(given.kspace * given.scale, remove_readout_oversampling(raw.kspace, 32))
    estimated = reference(raw, calibration=16)
    inside = x > 0.1
    assert np.abs(estimated.image - given.image)[inside].max() < 0.05


def test_reference_of_single_coil_data_is_the_inverse_transform(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "single.h5"
    write_fastmri(path, kspace, SHAPE, single_coil=True)
    (raw,) = read_fastmri(path, [0])
    ref = reference(raw)
    assert ref.maps is None
    np.testing.assert_allclose(ref.complex_image * ref.scale, coil_images(remove_readout_oversampling(raw.kspace, 32))[0])


def test_maps_with_another_coil_count_are_refused_in_one_line(tmp_path: Path, kspace: np.ndarray):
    path = tmp_path / "scan.h5"
    write_fastmri(path, kspace, SHAPE)
    (raw,) = read_fastmri(path, [0])
    with pytest.raises(ValueError) as excinfo:
        reference(raw, maps=np.ones((8, 32, 24), dtype=np.complex64))
    assert _message(excinfo) == (f"{path}: slice 0: coil_maps: have shape (8, 32, 24) but the data has 4 coils on a "
                                 "32×24 grid, expected (4, 32, 24)")


def test_given_maps_on_the_displayed_grid_give_back_a_complex_image_exactly():
    """Data made with maps S on the shown rows and an image with phase: de-oversampling and Σ conj(S_c) F⁻¹k_c
    recover the image itself (up to the stated scale), so the raw path loses nothing."""
    from auditkit.data.raw import RawSlice
    from auditkit.operators.coils import synthetic_coil_maps

    x = shepp_logan((32, 24), dtype=torch.float64).numpy() * np.exp(1j * np.linspace(0, 1, 24))[None, :]
    maps = synthetic_coil_maps(3, (32, 24), seed=4, dtype=torch.complex128).numpy()
    k, full = multicoil_kspace(x[None], coils=3, maps=maps)
    np.testing.assert_allclose(full[:, 16:48], maps)
    ref = reference(RawSlice(k[0], (64, 24), SHAPE), maps)
    np.testing.assert_allclose(ref.complex_image * ref.scale, x, atol=1e-12)
    np.testing.assert_allclose(ref.image, np.abs(x) / np.abs(x).max(), atol=1e-12)
    with pytest.raises(ValueError, match=r"maps: expected shape \(3, 32, 24\)"):
        multicoil_kspace(x[None], coils=3, maps=maps[:2])
