"""Reading test images from PNG/JPEG, NPY, DICOM and NIfTI files; resizing; one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid
from skimage import io

from auditkit.data import PYDICOM_TEST_IMAGES, load_image, load_pydicom_test_image, resize_to


def _ramp(shape: tuple[int, int] = (12, 16)) -> np.ndarray:
    """A non-constant uint8 test pattern."""
    return (np.arange(np.prod(shape)).reshape(shape) % 251).astype(np.uint8)


def _write_multiframe_dicom(path: Path, frames: np.ndarray, slope: float, intercept: float) -> None:
    """A minimal multi-frame MR DICOM with the given stored values and modality rescale."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.set_pixel_data(frames, photometric_interpretation="MONOCHROME2", bits_stored=16)
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.save_as(path, enforce_file_format=True)


# ---------------------------------------------------------------- round trips


def test_png_grey_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    io.imsave(path, _ramp(), check_contrast=False)
    img = load_image(path)
    assert img.dtype == np.float64 and img.shape == (12, 16)
    np.testing.assert_array_equal(img, _ramp())


def test_png_16_bit_keeps_stored_values(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    data = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
    io.imsave(path, data, check_contrast=False)
    np.testing.assert_array_equal(load_image(path), data)


def test_png_rgb_becomes_rec709_luminance(tmp_path: Path) -> None:
    rgb = np.zeros((4, 3, 3), dtype=np.uint8)
    rgb[:, 0, 0], rgb[:, 1, 1], rgb[:, 2, 2] = 200, 200, 200
    path = tmp_path / "rgb.png"
    io.imsave(path, rgb, check_contrast=False)
    np.testing.assert_allclose(load_image(path)[0], [0.2125 * 200, 0.7154 * 200, 0.0721 * 200])


def test_png_rgba_alpha_is_dropped(tmp_path: Path) -> None:
    rgba = np.zeros((5, 6, 4), dtype=np.uint8)
    rgba[..., :3] = _ramp((5, 6))[..., None]  # grey stored as RGB
    rgba[..., 3] = np.arange(6, dtype=np.uint8) * 40  # varying alpha must not matter
    path = tmp_path / "rgba.png"
    io.imsave(path, rgba, check_contrast=False)
    np.testing.assert_allclose(load_image(path), _ramp((5, 6)), rtol=1e-12)


def test_jpeg_grey_round_trip_within_compression_error(tmp_path: Path) -> None:
    data = np.tile(np.linspace(0, 255, 32), (32, 1)).astype(np.uint8)
    path = tmp_path / "photo.JPG"  # suffix is case-insensitive
    io.imsave(path, data, check_contrast=False)
    img = load_image(path)
    assert img.shape == (32, 32)
    assert np.abs(img - data).max() < 8


def test_npy_2d_and_3d_slices(tmp_path: Path) -> None:
    vol = np.random.default_rng(0).normal(size=(3, 5, 7))
    np.save(tmp_path / "plane.npy", vol[1])
    np.save(tmp_path / "vol.npy", vol)
    np.testing.assert_array_equal(load_image(tmp_path / "plane.npy"), vol[1])
    np.testing.assert_array_equal(load_image(tmp_path / "vol.npy", slice_axis=0, slice_index=2), vol[2])
    np.testing.assert_array_equal(load_image(str(tmp_path / "vol.npy"), slice_axis=2, slice_index=-1), vol[:, :, -1])


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_volume_slice_round_trip(tmp_path: Path, suffix: str) -> None:
    vol = np.random.default_rng(1).uniform(size=(6, 7, 5)).astype(np.float32)
    path = tmp_path / f"brain{suffix}"
    nib.save(nib.Nifti1Image(vol, np.eye(4)), path)
    np.testing.assert_array_equal(load_image(path, slice_axis=2, slice_index=3), vol[:, :, 3])
    np.testing.assert_array_equal(load_image(path, slice_axis=1, slice_index=0), vol[:, 0, :])


def test_nifti_scaling_applied_and_single_slice_volume_is_2d(tmp_path: Path) -> None:
    stored = np.arange(20, dtype=np.int16).reshape(4, 5, 1)
    image = nib.Nifti1Image(stored, np.eye(4))
    image.header.set_slope_inter(2.0, 1.0)
    path = tmp_path / "scaled.nii.gz"
    nib.save(image, path)
    np.testing.assert_array_equal(load_image(path), 2.0 * stored[..., 0] + 1.0)


@pytest.mark.parametrize("name", PYDICOM_TEST_IMAGES)
def test_pydicom_bundled_images(name: str) -> None:
    img = load_pydicom_test_image(name)
    ds = pydicom.dcmread(get_testdata_file(name, download=False))
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    assert img.dtype == np.float64 and img.shape == ds.pixel_array.shape
    np.testing.assert_array_equal(img, slope * ds.pixel_array + intercept)


def test_ct_small_is_in_hounsfield_units() -> None:
    img = load_pydicom_test_image("CT_small.dcm")
    assert img.shape == (128, 128) and img.min() < -500  # rescale intercept −1024 applied


def test_multiframe_dicom_frame_and_rescale(tmp_path: Path) -> None:
    frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    path = tmp_path / "cine.dcm"
    _write_multiframe_dicom(path, frames, slope=0.5, intercept=-10.0)
    np.testing.assert_array_equal(load_image(path, frame=2), 0.5 * frames[2] - 10.0)


def test_unknown_pydicom_name_rejected() -> None:
    with pytest.raises(ValueError, match="name must be one of"):
        load_pydicom_test_image("emri_small.dcm")


# ---------------------------------------------------------------- errors


def _assert_error_names_file(path: Path, pattern: str, **kwargs: object) -> None:
    with pytest.raises(ValueError, match=pattern) as info:
        load_image(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message


def test_error_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "scan.tiff"
    path.write_bytes(b"II*\x00")
    _assert_error_names_file(path, "unsupported file type '.tiff'")


def test_error_missing_file(tmp_path: Path) -> None:
    _assert_error_names_file(tmp_path / "absent.png", "no such file")


@pytest.mark.parametrize("name", ["junk.png", "junk.jpg", "junk.npy", "junk.dcm", "junk.nii", "junk.nii.gz"])
def test_error_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not an image\n" * 10)
    _assert_error_names_file(path, "cannot read")


def test_error_pickled_npy_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    _assert_error_names_file(path, "cannot read")


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4, 5)])
def test_error_wrong_dimensionality_npy(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, np.arange(np.prod(shape), dtype=float).reshape(shape))
    _assert_error_names_file(path, "dimensions", slice_axis=0, slice_index=0)


def test_error_4d_nifti(tmp_path: Path) -> None:
    path = tmp_path / "fmri.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).uniform(size=(3, 4, 5, 2)).astype(np.float32), np.eye(4)), path)
    _assert_error_names_file(path, "4 dimensions", slice_axis=2, slice_index=0)


def test_error_volume_without_slice_selection(tmp_path: Path) -> None:
    path = tmp_path / "vol.nii"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).uniform(size=(3, 4, 5)).astype(np.float32), np.eye(4)), path)
    _assert_error_names_file(path, "pass slice_axis and slice_index")
    _assert_error_names_file(path, "out of range", slice_axis=2, slice_index=5)
    _assert_error_names_file(path, "slice_axis must be", slice_axis=3, slice_index=0)
    _assert_error_names_file(path, "slice_index must be an integer", slice_axis=0, slice_index=1.0)


def test_error_slice_arguments_on_2d_image(tmp_path: Path) -> None:
    path = tmp_path / "plane.npy"
    np.save(path, np.eye(4))
    _assert_error_names_file(path, "3-D volumes only", slice_axis=0, slice_index=1)


def test_error_frame_arguments(tmp_path: Path) -> None:
    path = tmp_path / "cine.dcm"
    _write_multiframe_dicom(path, np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4), 1.0, 0.0)
    _assert_error_names_file(path, r"2 frames; pass frame=0\.\.1")
    _assert_error_names_file(path, "frame 2 out of range", frame=2)
    _assert_error_names_file(path, "frame must be an integer", frame="1")
    _assert_error_names_file(path, "do not apply to DICOM", slice_axis=0, slice_index=0)
    png = tmp_path / "grey.png"
    io.imsave(png, _ramp(), check_contrast=False)
    _assert_error_names_file(png, "frame applies to multi-frame DICOM only", frame=0)


@pytest.mark.parametrize("suffix", [".npy", ".nii.gz"])
def test_error_complex_data(tmp_path: Path, suffix: str) -> None:
    data = (np.random.default_rng(0).normal(size=(4, 5)) * (1 + 1j)).astype(np.complex64)
    path = tmp_path / f"kspace{suffix}"
    if suffix == ".npy":
        np.save(path, data)
    else:
        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    _assert_error_names_file(path, "complex values")


@pytest.mark.parametrize("suffix", [".png", ".npy"])
def test_error_constant_image(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"flat{suffix}"
    data = np.full((6, 6), 7, dtype=np.uint8)
    if suffix == ".png":
        io.imsave(path, data, check_contrast=False)
    else:
        np.save(path, data)
    _assert_error_names_file(path, "is constant .every pixel 7.; cannot normalise")


def test_error_non_finite_values(tmp_path: Path) -> None:
    path = tmp_path / "nan.npy"
    np.save(path, np.array([[0.0, np.nan], [1.0, 2.0]]))
    _assert_error_names_file(path, "NaN or infinite")


# ---------------------------------------------------------------- resizing


def test_resize_shape_and_range_preserved() -> None:
    img = np.random.default_rng(0).uniform(size=(50, 70))
    out = resize_to(img, (32, 24))
    assert out.shape == (32, 24) and out.dtype == np.float64
    assert out.min() >= img.min() and out.max() <= img.max()


def test_resize_anti_aliases_a_checkerboard() -> None:
    # a pixel checkerboard shrunk 8× must become flat grey, not a moiré of 0s and 1s
    board = (np.indices((128, 128)).sum(axis=0) % 2).astype(float)
    out = resize_to(board, (16, 16))
    assert np.abs(out - 0.5).max() < 0.05


def test_resize_stack_matches_per_image_and_identity_is_copy() -> None:
    stack = np.random.default_rng(1).uniform(size=(3, 40, 40))
    out = resize_to(stack, (20, 30))
    np.testing.assert_allclose(out[1], resize_to(stack[1], (20, 30)), atol=1e-12)
    same = resize_to(stack[0], (40, 40))
    np.testing.assert_array_equal(same, stack[0])
    assert same is not stack[0]


@pytest.mark.parametrize("shape", [(0, 4), (4,), (4.0, 4)])
def test_resize_rejects_bad_shape(shape: tuple) -> None:
    with pytest.raises(ValueError, match="shape must be"):
        resize_to(np.eye(4), shape)
