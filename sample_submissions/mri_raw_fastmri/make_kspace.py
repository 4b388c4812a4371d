"""Writes ``kspace.h5``: a synthetic scan in the fastMRI layout, the raw test data of the ``mri_raw_fastmri`` sample.

Run from the repository root:  .venv/bin/python sample_submissions/mri_raw_fastmri/make_kspace.py

Nothing is downloaded. The objects are two held-out axial slices of nilearn's MNI152 template
(``auditkit.data.default_split``: no sample network trains on them) at 128×128, given a smooth phase
(a linear ramp and a bowl, up to PHASE_PEAK radians), as a scanner's images have. They are seen by the
8 coils whose maps the ``mri_multicoil_vn`` network holds (``synthetic_coil_maps(8, (128, 128), seed=0)``),
with 2× readout oversampling (256 readout samples for the 128 shown rows, as fastMRI's files) and complex
Gaussian noise of NOISE × the largest k-space magnitude (``auditkit.data.synthetic_raw.multicoil_kspace``).
The file holds ``kspace`` (2, 8, 256, 128) complex64 and ``ismrmrd_header`` with encoded size 256×128 and
reconstructed size 128×128.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from auditkit.data import default_split, mni152_slices
from auditkit.data.raw import read_fastmri, reference
from auditkit.data.synthetic_raw import multicoil_kspace, write_fastmri
from auditkit.fileio import sha256_file
from auditkit.operators.coils import synthetic_coil_maps

HERE = Path(__file__).resolve().parent
SHAPE = (128, 128)
COILS, MAPS_SEED = 8, 0
#: the held-out axial slices scanned (positions in ``default_split()["axial"].held_out``: slices 53 and 83, which
#: the mri_multicoil_vn sample also tests on, simulated).
PICKS = (6, 12)
#: largest phase of the object (radians) and the noise of the k-space, relative to its largest magnitude.
PHASE_PEAK, NOISE, NOISE_SEED = 0.6, 2e-4, 2031


def objects() -> tuple[np.ndarray, list[int]]:
    """The complex objects (2, 128, 128): template slices in [0, 1] with a smooth phase; and their indices."""
    held = default_split()["axial"].held_out
    indices = [int(held[p]) for p in PICKS]
    magnitude = mni152_slices("axial", indices, shape=SHAPE, dtype=torch.float64).numpy()
    rows = np.linspace(-1, 1, SHAPE[0])[:, None]
    cols = np.linspace(-1, 1, SHAPE[1])[None, :]
    phase = PHASE_PEAK * (0.5 * (0.6 * rows + 0.8 * cols) + 0.5 * (rows**2 + cols**2) / 2)
    return magnitude * np.exp(1j * phase), indices


def main() -> None:
    x, indices = objects()
    maps = synthetic_coil_maps(COILS, SHAPE, seed=MAPS_SEED, dtype=torch.complex128).numpy()
    kspace, _ = multicoil_kspace(x, coils=COILS, noise=NOISE, seed=NOISE_SEED, maps=maps)
    path = HERE / "kspace.h5"
    write_fastmri(path, kspace, SHAPE, attributes={
        "acquisition": "SYNTHETIC_AXT1", "patient_id": "synthetic-mni152",
        "source": f"MNI152 axial slices {indices}, auditkit.data.synthetic_raw, seed {NOISE_SEED}"})
    print(f"wrote {path} ({path.stat().st_size:,} bytes), sha256 {sha256_file(path)}")
    for raw, truth in zip(read_fastmri(path, [0, 1]), x):
        ref = reference(raw)
        shown = np.abs(truth) / np.abs(truth).max()
        err = np.linalg.norm(ref.image - shown) / np.linalg.norm(shown)
        print(f"slice {raw.source['slice']}: reference with estimated maps vs |object|: relative error {err:.4f}")


if __name__ == "__main__":
    main()
