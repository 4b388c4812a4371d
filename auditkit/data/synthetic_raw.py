"""Synthetic raw k-space files: an image seen by synthetic coils, written as fastMRI HDF5 or ISMRMRD.

Nothing downloads scanner data here; tests and the raw-data sample build it. A real image x (H/2 × W,
for instance a template slice) is padded to a field of view twice as tall (readout oversampling, as
fastMRI's), weighted by smooth coil maps S_c (``operators.coils.synthetic_coil_maps``, or given ones) and transformed:
k_c = F(S_c x), optionally plus complex Gaussian noise. The header is the ISMRMRD XML both formats carry,
with the encoded (oversampled) and reconstructed matrix sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from auditkit.operators.coils import synthetic_coil_maps
from auditkit.operators.mri import fft2c

#: Readout oversampling of the synthetic files (fastMRI's: twice the displayed rows).
OVERSAMPLING = 2


def header_xml(encoded: tuple[int, int], recon: tuple[int, int], coils: int, trajectory: str = "cartesian") -> str:
    """A minimal ISMRMRD XML header: matrix sizes, phase-encode limits (centre W//2), coil count, trajectory."""
    (ex, ey), (rx, ry) = encoded, recon
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<ismrmrdHeader xmlns="http://www.ismrm.org/ISMRMRD">'
        f"<acquisitionSystemInformation><receiverChannels>{coils}</receiverChannels></acquisitionSystemInformation>"
        "<experimentalConditions><H1resonanceFrequency_Hz>127000000</H1resonanceFrequency_Hz></experimentalConditions>"
        f"<encoding><encodedSpace><matrixSize><x>{ex}</x><y>{ey}</y><z>1</z></matrixSize>"
        f"<fieldOfView_mm><x>{2 * ex}</x><y>{2 * ey}</y><z>3</z></fieldOfView_mm></encodedSpace>"
        f"<reconSpace><matrixSize><x>{rx}</x><y>{ry}</y><z>1</z></matrixSize>"
        f"<fieldOfView_mm><x>{2 * rx}</x><y>{2 * ry}</y><z>3</z></fieldOfView_mm></reconSpace>"
        f"<encodingLimits><kspace_encoding_step_1><minimum>0</minimum><maximum>{ey - 1}</maximum><center>{ey // 2}</center>"
        "</kspace_encoding_step_1><kspace_encoding_step_2><minimum>0</minimum><maximum>0</maximum><center>0</center>"
        "</kspace_encoding_step_2><slice><minimum>0</minimum><maximum>0</maximum><center>0</center></slice></encodingLimits>"
        f"<trajectory>{trajectory}</trajectory></encoding></ismrmrdHeader>"
    )


def multicoil_kspace(images: np.ndarray, coils: int, noise: float = 0.0, seed: int = 0,
                     maps: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(k-space (S, C, 2H, W), maps (C, 2H, W)) of images (S, H, W), real or complex, padded to twice the rows.

    k_c = F(S_c x_pad) + σ n with n complex Gaussian (E|n|² = 1) and σ = ``noise`` · max|F(S_c x_pad)|.
    The maps are ``synthetic_coil_maps`` on the padded grid, or ``maps`` (C, H, W) on the displayed grid placed
    in its central rows (the rows outside meet only zeros of x_pad; there they are 1/√C).
    """
    slices, height, width = images.shape
    padded = np.zeros((slices, OVERSAMPLING * height, width), dtype=np.result_type(images.dtype, np.float64))
    top = (OVERSAMPLING * height - height) // 2
    padded[:, top:top + height] = images
    if maps is None:
        full = synthetic_coil_maps(coils, (OVERSAMPLING * height, width), seed=seed, dtype=torch.complex128)
    else:
        if maps.shape != (coils, height, width):
            raise ValueError(f"maps: expected shape {(coils, height, width)}, got {tuple(maps.shape)}")
        full = torch.full((coils, OVERSAMPLING * height, width), 1 / np.sqrt(coils), dtype=torch.complex128)
        full[:, top:top + height] = torch.from_numpy(np.asarray(maps, dtype=np.complex128))
    k = fft2c(full[None] * torch.from_numpy(padded)[:, None]).numpy()
    if noise > 0:
        rng = np.random.default_rng(seed)
        n = (rng.standard_normal(k.shape) + 1j * rng.standard_normal(k.shape)) / np.sqrt(2)
        k = k + noise * np.abs(k).max() * n
    return k, full.numpy()


def write_fastmri(path: str | Path, kspace: np.ndarray, recon: tuple[int, int], *, single_coil: bool = False,
                  attributes: dict | None = None) -> None:
    """A fastMRI-layout HDF5 file: ``kspace`` (S, C, H, W) complex64 (or (S, H, W) with ``single_coil``), the header."""
    import h5py

    data = kspace[:, 0] if single_coil else kspace
    with h5py.File(path, "w") as handle:
        handle.create_dataset("kspace", data=data.astype(np.complex64))
        handle.create_dataset("ismrmrd_header",
                              data=header_xml(tuple(kspace.shape[-2:]), recon, int(kspace.shape[1])).encode())
        for key, value in (attributes or {"acquisition": "SYNTHETIC", "patient_id": "synthetic-0001"}).items():
            handle.attrs[key] = value


def write_ismrmrd(path: str | Path, kspace: np.ndarray, recon: tuple[int, int], *, trajectory: str = "cartesian") -> None:
    """An ISMRMRD file: the header, one noise scan, then one acquisition per (slice, phase-encode line).

    Acquisition data is (coils, readout samples); ``idx.kspace_encode_step_1`` is the column, ``idx.slice``
    the slice. A ``trajectory`` other than cartesian is written to the header only (for tests of refusal).
    """
    import ismrmrd

    slices, coils, height, width = kspace.shape
    dataset = ismrmrd.Dataset(str(path), "dataset", create_if_needed=True)
    try:
        dataset.write_xml_header(header_xml((height, width), recon, coils, trajectory))
        noise = ismrmrd.Acquisition.from_array(np.zeros((coils, height), dtype=np.complex64))
        noise.set_flag(ismrmrd.ACQ_IS_NOISE_MEASUREMENT)
        dataset.append_acquisition(noise)
        for s in range(slices):
            for column in range(width):
                acq = ismrmrd.Acquisition.from_array(np.ascontiguousarray(kspace[s, :, :, column]).astype(np.complex64),
                                                     center_sample=height // 2)
                acq.idx.kspace_encode_step_1 = column
                acq.idx.slice = s
                if column == width - 1:
                    acq.set_flag(ismrmrd.ACQ_LAST_IN_SLICE)
                dataset.append_acquisition(acq)
    finally:
        dataset.close()
