"""Test images for an audit: phantoms, MNI152 brain slices, and images read from files.

Every source yields real images with intensities in [0, 1] (PSNR and SSIM take
the peak as 1), as torch tensors (H, W) or stacks (N, H, W); files are read as
stored and then scaled by an explicit, recorded ``normalise`` method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from auditkit.data.files import SUPPORTED_SUFFIXES, load_image
from auditkit.data.mni import PLANES, SliceSplit, default_split, foreground_fraction, mni152_slices, template_volume
from auditkit.data.normalise import METHODS, NormalisationMethod, normalise
from auditkit.data.phantoms import EllipseFamily, random_ellipses, shepp_logan
from auditkit.data.resize import resize_to

#: DICOM images bundled inside the pydicom package (no download): a 64×64 MR and a 128×128 CT slice.
PYDICOM_TEST_IMAGES: tuple[str, ...] = ("MR_small.dcm", "CT_small.dcm")


def load_pydicom_test_image(name: str) -> np.ndarray:
    """Read one of PYDICOM_TEST_IMAGES with ``load_image`` (float64, modality rescale applied, not normalised).

    Only files that ship with pydicom are offered, and pydicom is told never to
    download, so this works offline.
    """
    if name not in PYDICOM_TEST_IMAGES:
        raise ValueError(f"name must be one of {', '.join(PYDICOM_TEST_IMAGES)}; got {name!r}")
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if not isinstance(path, str) or not Path(path).is_file():
        raise ValueError(f"name: {name} is not bundled with the installed pydicom")
    return load_image(path)


__all__ = [
    "METHODS",
    "PLANES",
    "PYDICOM_TEST_IMAGES",
    "SUPPORTED_SUFFIXES",
    "EllipseFamily",
    "NormalisationMethod",
    "SliceSplit",
    "default_split",
    "foreground_fraction",
    "load_image",
    "load_pydicom_test_image",
    "mni152_slices",
    "normalise",
    "random_ellipses",
    "resize_to",
    "shepp_logan",
    "template_volume",
]
