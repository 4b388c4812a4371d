"""Raw k-space test data as a scanner writes it: fastMRI HDF5 files and ISMRMRD files.

Both are read into the same form, one ``RawSlice`` per chosen slice: the fully sampled Cartesian
k-space of every coil on its encoding grid, (C, H, W) complex128 with H the readout
(frequency-encoding) axis and W the phase-encoding axis — the fastMRI layout — plus the sizes of the
encoded and the reconstructed field of view from the ISMRMRD XML header that both formats carry.

- fastMRI (https://fastmri.org, Zbontar et al. 2018): dataset ``kspace`` of shape (slices, coils, H, W)
  (multi-coil) or (slices, H, W) (single-coil), complex; dataset ``ismrmrd_header`` (the XML).
- ISMRMRD (Inati et al., MRM 2017): read with the ``ismrmrd`` package; each imaging acquisition is one
  readout line (coils, samples) placed on the grid by its ``kspace_encode_step_1`` index, shifted so
  that the header's ``encodingLimits/kspace_encoding_step_1/center`` lands in column W//2; noise,
  navigator, phase-correction and dummy-scan acquisitions are skipped. Only Cartesian data is
  supported: a non-Cartesian trajectory in the header or in any acquisition is refused.

Readout oversampling (fastMRI's H = 2 × the displayed rows) is removed by ``remove_readout_oversampling``
— inverse DFT along the readout, centre crop to the reconstructed rows, DFT back — which keeps the
k-space exact on the cropped field of view. ``reference`` turns a slice into what an audit uses: the
coil-combined reference image (maps given or estimated from the calibration centre) and the measured
k-space, on one scale. Every problem is a one-line ValueError that starts with the file and names the
dataset or field.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from auditkit.operators.coils import estimate_coil_maps, normalise_coil_maps, signal_support
from auditkit.operators.mri import fft2c, ifft2c

#: The ISMRMRD XML namespace.
ISMRMRD_NS = {"m": "http://www.ismrm.org/ISMRMRD"}
#: ISMRMRD acquisition flags (bit numbers, 1-based) of lines that are not imaging data.
SKIPPED_FLAGS: dict[int, str] = {19: "noise measurement", 23: "navigator", 24: "phase correction", 27: "dummy scan"}
#: The two raw formats.
FORMATS = ("fastmri", "ismrmrd")


@dataclass(frozen=True)
class RawSlice:
    """One slice of raw k-space: (C, H, W) complex128, readout along H, and where it came from."""

    kspace: np.ndarray
    encoded_shape: tuple[int, int]
    recon_shape: tuple[int, int]
    source: dict = field(default_factory=dict)

    @property
    def coils(self) -> int:
        """Number of receive channels C."""
        return int(self.kspace.shape[0])


class CoilMapsError(ValueError):
    """A problem with given coil maps: their file (missing, not an array, wrong shape) or maps that do not fit
    the data (another coil count or grid)."""


def _fail(path: Path, where: str, message: str, kind: type[ValueError] = ValueError) -> ValueError:
    """A one-line ValueError (or ``kind``): ``FILE: where: message``."""
    return kind(f"{path}: {where}: {' '.join(message.split())}")


def _existing(path: str | Path) -> Path:
    """``path`` as a Path, if a file is there."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file", "does not exist")
    return path


def _check_slices(path: Path, where: str, slices: Sequence[int], count: int) -> list[int]:
    """``slices`` as ints, each in [0, count); an error names the first one out of range."""
    chosen = [int(s) for s in slices]
    if not chosen:
        raise _fail(path, "slices", "choose at least one slice")
    for s in chosen:
        if not 0 <= s < count:
            raise _fail(path, "slices", f"slice {s} is out of range: {where} holds {count} slice(s), indices 0–{count - 1}")
    return chosen


def header_sizes(path: Path, xml: bytes | str) -> dict[str, int]:
    """Encoded and reconstructed matrix sizes and the phase-encode centre from the ISMRMRD XML header.

    Returns enc_x, enc_y, recon_x, recon_y (the first ``encoding``'s matrixSize) and, when present,
    pe_center and pe_max (``encodingLimits/kspace_encoding_step_1``), plus ``trajectory``.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise _fail(path, "ismrmrd_header", f"is not valid XML ({exc})") from None
    except TypeError:
        raise _fail(path, "ismrmrd_header", f"is not text (got {type(xml).__name__})") from None
    encoding = root.find("m:encoding", ISMRMRD_NS)
    if encoding is None:
        raise _fail(path, "ismrmrd_header", "has no <encoding> element in the ISMRMRD namespace")

    def number(tag: str, required: bool = True) -> int | None:
        node = encoding.find(tag, ISMRMRD_NS)
        if node is None or node.text is None:
            if required:
                raise _fail(path, "ismrmrd_header", f"has no {tag.replace('m:', '')}")
            return None
        try:
            return int(float(node.text))
        except ValueError:
            raise _fail(path, "ismrmrd_header", f"{tag.replace('m:', '')} is not a number: {node.text!r}") from None

    sizes = {
        "enc_x": number("m:encodedSpace/m:matrixSize/m:x"), "enc_y": number("m:encodedSpace/m:matrixSize/m:y"),
        "recon_x": number("m:reconSpace/m:matrixSize/m:x"), "recon_y": number("m:reconSpace/m:matrixSize/m:y"),
        "pe_center": number("m:encodingLimits/m:kspace_encoding_step_1/m:center", required=False),
        "pe_max": number("m:encodingLimits/m:kspace_encoding_step_1/m:maximum", required=False),
    }
    trajectory = encoding.find("m:trajectory", ISMRMRD_NS)
    sizes["trajectory"] = (trajectory.text or "").strip() if trajectory is not None else "cartesian"
    return sizes


def read_fastmri(path: str | Path, slices: Sequence[int]) -> list[RawSlice]:
    """The chosen slices of a fastMRI HDF5 file: ``kspace`` (slices, coils, H, W) or (slices, H, W)."""
    import h5py

    path = _existing(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise _fail(path, "file", f"is not an HDF5 file ({exc})") from None
    with handle:
        if "kspace" not in handle:
            raise _fail(path, "kspace", "dataset missing: a fastMRI file holds k-space as 'kspace' of shape "
                                        "(slices, coils, H, W) or (slices, H, W)")
        data = handle["kspace"]
        if not isinstance(data, h5py.Dataset):
            raise _fail(path, "kspace", "is a group, not a dataset")
        if data.ndim not in (3, 4):
            raise _fail(path, "kspace", f"has shape {tuple(data.shape)}; expected (slices, coils, H, W) or (slices, H, W)")
        if not np.issubdtype(data.dtype, np.complexfloating):
            raise _fail(path, "kspace", f"has dtype {data.dtype}; expected complex k-space")
        if "ismrmrd_header" not in handle:
            raise _fail(path, "ismrmrd_header", "dataset missing: a fastMRI file holds the ISMRMRD XML header")
        sizes = header_sizes(path, handle["ismrmrd_header"][()])
        chosen = _check_slices(path, "kspace", slices, int(data.shape[0]))
        shape = tuple(int(n) for n in data.shape[-2:])
        if shape != (sizes["enc_x"], sizes["enc_y"]):
            raise _fail(path, "kspace", f"has a {shape[0]}×{shape[1]} grid but the header's encodedSpace is "
                                        f"{sizes['enc_x']}×{sizes['enc_y']}")
        attrs = {k: _plain(v) for k, v in handle.attrs.items() if k in ("acquisition", "patient_id", "max", "norm")}
        out = []
        for s in chosen:
            k = np.asarray(data[s], dtype=np.complex128)
            k = k[None] if k.ndim == 2 else k
            _check_fully_sampled(path, s, k)
            out.append(RawSlice(k, shape, (sizes["recon_x"], sizes["recon_y"]),
                                {"format": "fastmri", "file": str(path), "slice": s, "coils": int(k.shape[0]),
                                 "attributes": attrs}))
        return out


def read_ismrmrd(path: str | Path, slices: Sequence[int]) -> list[RawSlice]:
    """The chosen slices of an ISMRMRD file (Cartesian 2-D acquisitions), each line placed on its grid."""
    import ismrmrd

    path = _existing(path)
    try:
        dataset = ismrmrd.Dataset(str(path), "dataset", mode="r")
    except Exception as exc:  # noqa: BLE001 — the package raises h5py's and its own errors alike
        raise _fail(path, "dataset", f"is not an ISMRMRD file with a 'dataset' group ({exc})") from None
    try:
        try:
            xml = dataset.read_xml_header()
        except Exception:  # noqa: BLE001
            raise _fail(path, "dataset/xml", "header missing") from None
        sizes = header_sizes(path, xml)
        if sizes["trajectory"].lower() != "cartesian":
            raise _fail(path, "encoding.trajectory", f"is {sizes['trajectory']!r}; only Cartesian ISMRMRD data is "
                                                     "supported yet")
        try:
            lines = _ismrmrd_lines(path, dataset, ismrmrd)
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 — the package raises LookupError, KeyError, h5py errors alike
            raise _fail(path, "dataset/data", f"holds no readable acquisitions ({type(exc).__name__}: {exc})") from None
    finally:
        dataset.close()
    enc_x, enc_y = sizes["enc_x"], sizes["enc_y"]
    shift = enc_y // 2 - (sizes["pe_center"] if sizes["pe_center"] is not None else enc_y // 2)
    present = sorted({s for s, _, _ in lines})
    count = max(present) + 1 if present else 0
    chosen = _check_slices(path, "the imaging acquisitions", slices, count)
    coils = {data.shape[0] for _, _, data in lines}
    if len(coils) != 1:
        raise _fail(path, "acquisitions", f"have different coil counts {sorted(coils)}")
    (n_coils,) = coils
    out = []
    for s in chosen:
        grid = np.zeros((n_coils, enc_x, enc_y), dtype=np.complex128)
        placed: set[int] = set()
        for slice_index, step, data in lines:
            if slice_index != s:
                continue
            column = step + shift
            if not 0 <= column < enc_y or data.shape[1] != enc_x:
                raise _fail(path, "acquisitions", f"line {step} of slice {s} ({data.shape[1]} samples) does not fit the "
                                                  f"{enc_x}×{enc_y} encoded grid")
            if column in placed:
                raise _fail(path, "acquisitions", f"line {step} of slice {s} was acquired more than once (averages, "
                                                  "repetitions or contrasts): not supported yet")
            placed.add(column)
            grid[:, :, column] = data
        _check_fully_sampled(path, s, grid)
        out.append(RawSlice(grid, (enc_x, enc_y), (sizes["recon_x"], sizes["recon_y"]),
                            {"format": "ismrmrd", "file": str(path), "slice": s, "coils": n_coils}))
    return out


def _ismrmrd_lines(path: Path, dataset, ismrmrd) -> list[tuple[int, int, np.ndarray]]:
    """(slice, kspace_encode_step_1, data (coils, samples)) of every imaging acquisition."""
    lines = []
    for i in range(dataset.number_of_acquisitions()):
        acq = dataset.read_acquisition(i)
        if any(acq.is_flag_set(flag) for flag in SKIPPED_FLAGS):
            continue
        if acq.trajectory_dimensions > 0:
            raise _fail(path, f"acquisition {i}", "carries a k-space trajectory; only Cartesian ISMRMRD data is supported yet")
        lines.append((int(acq.idx.slice), int(acq.idx.kspace_encode_step_1), np.asarray(acq.data, dtype=np.complex128)))
    return lines


def _check_fully_sampled(path: Path, slice_index: int, kspace: np.ndarray) -> None:
    """A raw test slice gives the reference image, so every phase-encode column must hold data (not all zero)."""
    empty = np.flatnonzero(~np.any(kspace != 0, axis=(0, 1)))
    if empty.size:
        shown = ", ".join(str(int(c)) for c in empty[:5]) + (", …" if empty.size > 5 else "")
        raise _fail(path, "kspace", f"slice {slice_index}: {empty.size} of {kspace.shape[-1]} phase-encode columns hold "
                                    f"no data ({shown}): the slice is not fully sampled; a raw test slice must be, "
                                    "since it gives the reference image")


def _plain(value):
    """An HDF5 attribute as a JSON-friendly value (bytes decoded, numpy scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.item() if hasattr(value, "item") else value


def remove_readout_oversampling(kspace: np.ndarray, rows: int) -> np.ndarray:
    """k-space (C, H, W) of the central ``rows`` of the image: inverse DFT along H, centre crop, DFT back.

    The crop keeps rows (H − rows)//2 … (H − rows)//2 + rows − 1 of the centred image (fastMRI's
    centre crop), so F⁻¹ of the result is exactly that part of the full field of view.
    """
    height = int(kspace.shape[-2])
    if not 0 < rows <= height:
        raise ValueError(f"rows: {rows} must be in (0, {height}]")
    if rows == height:
        return kspace
    top = (height - rows) // 2
    image = _centred(kspace, inverse=True)
    return _centred(image[..., top:top + rows, :], inverse=False)


def _centred(a: np.ndarray, inverse: bool) -> np.ndarray:
    """Orthonormal centred DFT along the readout axis (−2) only, via the 2-D one of ``operators.mri`` per column."""
    t = torch.from_numpy(np.ascontiguousarray(a)).to(torch.complex128)
    moved = t.transpose(-2, -1).unsqueeze(-2)  # (..., W, 1, H): a 1×H image per column
    done = (ifft2c(moved) if inverse else fft2c(moved)).squeeze(-2).transpose(-2, -1)
    return done.numpy()


def coil_images(kspace: np.ndarray) -> np.ndarray:
    """F⁻¹ of each coil's k-space (C, H, W), centred and orthonormal."""
    return ifft2c(torch.from_numpy(np.ascontiguousarray(kspace)).to(torch.complex128)).numpy()


def root_sum_of_squares(images: np.ndarray) -> np.ndarray:
    """√(Σ_c |x_c|²) over the coil axis of (C, H, W) coil images."""
    return np.sqrt((np.abs(images) ** 2).sum(axis=0))


@dataclass(frozen=True)
class RawReference:
    """What an audit takes from one raw slice: the reference image and the measured k-space, on one scale.

    ``kspace`` (C, H, W) is the de-oversampled k-space divided by ``scale``; ``complex_image`` the
    coil-combined image x_c = Σ_c conj(S_c) F⁻¹k_c (F⁻¹k for one coil) on that scale, ``image`` = |x_c| in
    [0, 1] (scale = max |x_c| before division); ``maps`` the S_c used, None for one coil. ``known`` (H, W) marks
    where the maps are known: everywhere for one coil or given maps; for estimated maps only where the data
    have signal (``operators.coils.signal_support``), elsewhere they are extrapolated.
    """

    image: np.ndarray
    complex_image: np.ndarray
    kspace: np.ndarray
    maps: np.ndarray | None
    scale: float
    known: np.ndarray


def reference(raw: RawSlice, maps: np.ndarray | None = None, calibration: int = 24) -> RawReference:
    """The reference of ``raw``: readout oversampling removed (to ``recon_shape[0]`` rows), coils combined with
    ``maps`` (C, H, W) when given, else with maps estimated from the central ``calibration`` samples
    (``operators.coils.estimate_coil_maps``), and everything scaled so that max |x_c| = 1."""
    where = f"{raw.source.get('file', 'raw data')}: slice {raw.source.get('slice', '?')}"
    if not 0 < raw.recon_shape[0] <= raw.kspace.shape[1]:
        raise ValueError(f"{where}: ismrmrd_header: reconSpace has {raw.recon_shape[0]} rows, but the encoded k-space "
                         f"has {raw.kspace.shape[1]} readout samples; it cannot be cropped to that")
    kspace = remove_readout_oversampling(raw.kspace, raw.recon_shape[0])
    images = coil_images(kspace)
    known = np.ones(kspace.shape[1:], dtype=bool)
    if raw.coils == 1:
        used, combined = None, images[0]
    else:
        if maps is not None and tuple(maps.shape) != tuple(kspace.shape):
            raise CoilMapsError(f"{where}: coil_maps: have shape {tuple(maps.shape)} but the data has "
                             f"{raw.coils} coils on a {kspace.shape[1]}×{kspace.shape[2]} grid, expected {tuple(kspace.shape)}")
        torch_k = torch.from_numpy(kspace)
        s = (normalise_coil_maps(torch.from_numpy(np.asarray(maps, dtype=np.complex128))) if maps is not None
             else estimate_coil_maps(torch_k, calibration)).numpy()
        used, combined = s, (np.conj(s) * images).sum(axis=0)
        if maps is None:
            known = signal_support(torch_k, calibration).numpy()
    scale = float(np.abs(combined).max())
    if not scale > 0:
        raise ValueError(f"{where}: kspace: is all zero; there is no image to audit")
    return RawReference(np.abs(combined) / scale, combined / scale, kspace / scale, used, scale, known)


def read_raw(format: str, path: str | Path, slices: Sequence[int]) -> list[RawSlice]:
    """The chosen slices of a raw file in ``format`` (one of ``FORMATS``)."""
    if format == "fastmri":
        return read_fastmri(path, slices)
    if format == "ismrmrd":
        return read_ismrmrd(path, slices)
    raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")


def load_maps(path: str | Path, count: int) -> np.ndarray:
    """Complex coil maps (slices, C, H, W) for ``count`` slices from a .npy file; a (C, H, W) array serves one slice."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "coil_maps", "does not exist", CoilMapsError)
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise _fail(path, "coil_maps", f"is not a NumPy .npy array ({exc})", CoilMapsError) from None
    if array.ndim == 3 and count == 1:
        array = array[None]
    if array.ndim != 4 or array.shape[0] != count:
        raise _fail(path, "coil_maps", f"has shape {tuple(array.shape)}; expected (slices, coils, H, W) with "
                                       f"{count} slice(s), one per entry of slices", CoilMapsError)
    if not np.all(np.isfinite(array)):
        raise _fail(path, "coil_maps", "contains NaN or infinite values", CoilMapsError)
    return array.astype(np.complex128)


def audit_view(format: str, path: str | Path, slices: Sequence[int], *, maps_file: str | Path | None = None,
               calibration: int = 24) -> list[tuple[RawSlice, RawReference]]:
    """Each chosen slice with its ``reference``: maps from ``maps_file`` when given, else estimated."""
    raws = read_raw(format, path, slices)
    maps = load_maps(maps_file, len(raws)) if maps_file is not None else [None] * len(raws)
    return [(raw, reference(raw, m, calibration)) for raw, m in zip(raws, maps)]
