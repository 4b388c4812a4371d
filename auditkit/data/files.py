"""Reading one 2-D test image from a file a vendor supplies.

Supported: PNG/JPEG (grey, or RGB/RGBA reduced to luminance), NumPy ``.npy``,
DICOM (``.dcm``/``.dicom``, modality rescale applied, multi-frame by ``frame``) and
NIfTI (``.nii``/``.nii.gz``, scaling applied, one slice of a volume by
``slice_axis``/``slice_index``). Values are returned as stored (Hounsfield units,
raw grey levels); scaling to [0, 1] is a separate, recorded step (``normalise``).
No reorientation is done: rows and columns are the array's first and second
remaining axes. Every problem is a one-line ValueError that starts with the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from auditkit.data.resize import resize_to

__all__ = ["SUPPORTED_SUFFIXES", "load_image", "resize_to"]

#: Rec. 709 luma weights, the ones skimage.color.rgb2gray uses.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


class _Selection:
    """The slice/frame arguments of one ``load_image`` call, checked against the data found."""

    def __init__(self, path: Path, slice_axis: int | None, slice_index: int | None, frame: int | None):
        self.path, self.slice_axis, self.slice_index, self.frame = path, slice_axis, slice_index, frame

    def fail(self, message: str) -> ValueError:
        """A one-line ValueError that names the file."""
        return ValueError(f"{self.path}: {' '.join(message.split())}")

    def no_slice_args(self, kind: str) -> None:
        """Reject slice_axis/slice_index for data that has no third axis."""
        if self.slice_axis is not None or self.slice_index is not None:
            raise self.fail(f"slice_axis/slice_index apply to 3-D volumes only; this {kind} is 2-D")

    def no_frame_arg(self) -> None:
        """Reject ``frame`` for formats other than multi-frame DICOM."""
        if self.frame is not None:
            raise self.fail("frame applies to multi-frame DICOM only")

    def take_slice(self, vol: np.ndarray) -> np.ndarray:
        """vol[..., slice_index, ...] along slice_axis; both must be given and in range."""
        if self.slice_axis is None or self.slice_index is None:
            raise self.fail(f"is a 3-D volume of shape {vol.shape}; pass slice_axis and slice_index")
        if not isinstance(self.slice_index, (int, np.integer)) or isinstance(self.slice_index, bool):
            raise self.fail(f"slice_index must be an integer, got {self.slice_index!r}")
        if self.slice_axis not in (0, 1, 2, -1, -2, -3):
            raise self.fail(f"slice_axis must be 0, 1 or 2, got {self.slice_axis}")
        n = vol.shape[self.slice_axis]
        if not -n <= self.slice_index < n:
            raise self.fail(f"slice_index {self.slice_index} out of range for axis {self.slice_axis} of size {n}")
        return np.take(vol, self.slice_index, axis=self.slice_axis)

    def plane_or_slice(self, arr: np.ndarray, kind: str) -> np.ndarray:
        """A 2-D array as is, one slice of a 3-D one; any other dimensionality is an error."""
        if arr.ndim == 2:
            self.no_slice_args(kind)
            return arr
        if arr.ndim == 3:
            return self.take_slice(arr)
        raise self.fail(f"has {arr.ndim} dimensions (shape {arr.shape}); expected a 2-D image or 3-D volume")


def _read_raster(path: Path, sel: _Selection) -> np.ndarray:
    """PNG/JPEG → grey levels as stored; colour reduced to Rec. 709 luminance, alpha dropped."""
    sel.no_frame_arg()
    sel.no_slice_args("picture")
    import imageio.v3 as iio  # scikit-image's own reader; the Pillow plugin named so nothing else is tried

    try:
        arr = np.asarray(iio.imread(path, plugin="pillow"))
    except Exception as exc:  # any decoder failure means the file cannot be used
        raise sel.fail(f"cannot read as an image ({type(exc).__name__}: {exc})") from exc
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):  # grey+alpha or RGBA: drop alpha
        arr = arr[..., :-1]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[-1] == 3:
        return arr.astype(np.float64) @ _LUMA
    if arr.ndim != 2:
        raise sel.fail(f"has pixel array shape {arr.shape}; expected grey, RGB or RGBA")
    return arr


def _read_npy(path: Path, sel: _Selection) -> np.ndarray:
    """A 2-D array, or one slice of a 3-D array; object arrays (pickles) are refused."""
    sel.no_frame_arg()
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise sel.fail(f"cannot read as .npy ({type(exc).__name__}: {exc})") from exc
    if not isinstance(arr, np.ndarray) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise sel.fail(f"holds dtype {getattr(arr, 'dtype', type(arr))}; expected a numeric array")
    return sel.plane_or_slice(arr, "array")


def _read_dicom(path: Path, sel: _Selection) -> np.ndarray:
    """Pixel data after the modality LUT (RescaleSlope·x + RescaleIntercept); ``frame`` picks one of several."""
    if sel.slice_axis is not None or sel.slice_index is not None:
        raise sel.fail("slice_axis/slice_index do not apply to DICOM; pick a frame of a multi-frame file with frame")
    import pydicom
    from pydicom.pixels import apply_modality_lut

    try:
        ds = pydicom.dcmread(path)
        raw = ds.pixel_array
    except Exception as exc:
        raise sel.fail(f"cannot read DICOM pixel data ({type(exc).__name__}: {exc})") from exc
    if sel.frame is not None and (not isinstance(sel.frame, (int, np.integer)) or isinstance(sel.frame, bool)):
        raise sel.fail(f"frame must be an integer, got {sel.frame!r}")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    colour = int(ds.get("SamplesPerPixel", 1) or 1) > 1
    arr = apply_modality_lut(raw, ds) if not colour else raw
    arr = np.asarray(arr)
    if frames > 1:
        if sel.frame is None:
            raise sel.fail(f"is multi-frame DICOM with {frames} frames; pass frame=0..{frames - 1}")
        if not 0 <= sel.frame < frames:
            raise sel.fail(f"frame {sel.frame} out of range: the file has {frames} frames")
        arr = arr[sel.frame]
    elif sel.frame not in (None, 0):
        raise sel.fail(f"frame {sel.frame} out of range: the file has a single frame")
    if colour:
        arr = arr[..., :3].astype(np.float64) @ _LUMA
    if arr.ndim != 2:
        raise sel.fail(f"has pixel array shape {arr.shape} per frame; expected 2-D")
    return arr


def _read_nifti(path: Path, sel: _Selection) -> np.ndarray:
    """One 2-D image, or one slice of a volume; scl_slope/scl_inter applied, trailing unit axes dropped."""
    sel.no_frame_arg()
    import nibabel as nib

    try:
        arr = np.asanyarray(nib.load(path).dataobj)
    except Exception as exc:
        raise sel.fail(f"cannot read as NIfTI ({type(exc).__name__}: {exc})") from exc
    while arr.ndim > (2 if sel.slice_axis is None else 3) and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return sel.plane_or_slice(arr, "NIfTI image")


_READERS: dict[str, Callable[[Path, _Selection], np.ndarray]] = {
    ".png": _read_raster,
    ".jpg": _read_raster,
    ".jpeg": _read_raster,
    ".npy": _read_npy,
    ".dcm": _read_dicom,
    ".dicom": _read_dicom,
    ".nii": _read_nifti,
    ".nii.gz": _read_nifti,
}
#: file-name endings load_image understands (case-insensitive).
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_READERS)


def _suffix(path: Path) -> str:
    """The format-defining ending, ``.nii.gz`` counted as one."""
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def pixel_spacing(path: str | Path, slice_axis: int | None = None) -> list[float] | None:
    """The in-plane pixel spacing (mm, rows then columns) from a DICOM (PixelSpacing) or NIfTI (pixdim) header;
    None for formats without one, or a header that does not say."""
    p = Path(path)
    suffix = _suffix(p)
    try:
        if suffix in (".dcm", ".dicom"):
            import pydicom

            spacing = pydicom.dcmread(p, stop_before_pixels=True).get("PixelSpacing")
            return [float(v) for v in spacing] if spacing else None
        if suffix in (".nii", ".nii.gz"):
            import nibabel as nib

            zooms = [float(z) for z in nib.load(p).header.get_zooms()]
            if slice_axis is not None and len(zooms) > 2:
                zooms.pop(slice_axis)
            return zooms[:2]
    except Exception:  # the image itself was read; a header without spacing is not an error
        return None
    return None


def load_image(
    path: str | Path,
    *,
    slice_axis: int | None = None,
    slice_index: int | None = None,
    frame: int | None = None,
) -> np.ndarray:
    """Read one 2-D real image from ``path`` as float64 (H, W), values as stored in the file.

    3-D NumPy/NIfTI volumes need ``slice_axis`` and ``slice_index`` (no silent
    default slice); multi-frame DICOM needs ``frame``. Raises ValueError naming the
    file for an unsupported ending, an unreadable file, a wrong dimensionality,
    complex or non-finite values, or an all-constant image (which cannot be normalised).
    """
    p = Path(path)
    sel = _Selection(p, slice_axis, slice_index, frame)
    reader = _READERS.get(_suffix(p))
    if reader is None:
        raise sel.fail(f"unsupported file type {_suffix(p) or '(none)'!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    if not p.is_file():
        raise sel.fail("no such file")
    arr = np.asarray(reader(p, sel))
    if np.iscomplexobj(arr):
        raise sel.fail("holds complex values; test images are real (store the magnitude or real part)")
    img = arr.astype(np.float64)
    if img.size == 0:
        raise sel.fail(f"holds an empty image (shape {img.shape})")
    if not np.isfinite(img).all():
        raise sel.fail("contains NaN or infinite values")
    if img.min() == img.max():
        raise sel.fail(f"is constant (every pixel {img.flat[0]:.6g}); cannot normalise")
    return img
