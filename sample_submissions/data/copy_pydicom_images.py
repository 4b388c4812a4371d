"""Copy the two DICOM test images that ship inside pydicom into this folder (no download).

MR_small.dcm (64×64 MR) and CT_small.dcm (128×128 CT) are the "real clinical" test images of the
sample submissions; they are used for testing only, never for training. Re-running this script
reproduces the files byte for byte from the installed pydicom and prints their SHA-256.

Run from the repository root:  .venv/bin/python sample_submissions/data/copy_pydicom_images.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydicom.data import get_testdata_file

from auditkit.fileio import sha256_file

HERE = Path(__file__).resolve().parent
NAMES = ("MR_small.dcm", "CT_small.dcm")


def copy_image(name: str, folder: Path = HERE) -> Path:
    """Copy pydicom's bundled test file ``name`` into ``folder``; ValueError if pydicom lacks it."""
    source = get_testdata_file(name, download=False)
    if not isinstance(source, str) or not Path(source).is_file():
        raise ValueError(f"name: {name} is not bundled with the installed pydicom")
    return Path(shutil.copyfile(source, folder / name))


def main() -> None:
    for name in NAMES:
        path = copy_image(name)
        print(f"{path.name}  sha256 {sha256_file(path)}")


if __name__ == "__main__":
    main()
