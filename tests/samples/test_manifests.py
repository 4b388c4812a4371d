"""What every sample submission must satisfy: a valid manifest whose hashes match, safetensors weights
under the 20 MB limit, and brain test images (where a sample has any) drawn only from the held-out
MNI152 slices."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from auditkit.data import default_split
from auditkit.manifest import load_manifest
from auditkit.preflight import validate_manifest
from auditkit.manifest.models import Mni152Phantom
from auditkit.networks import verify_hashes

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from sample_table import SAMPLES, sample_names  # noqa: E402

#: the weights file limit of the sample submissions (20 MB).
MAX_WEIGHTS_BYTES = 20 * 1000 * 1000
NAMES = sample_names()


#: test slices a sample trains on on purpose (its README says why): mri_kernel_pair is built to fail on them.
TRAINED_ON_PURPOSE = {"mri_kernel_pair": {("axial", 78), ("axial", 98)}}


def test_the_samples():
    assert NAMES == ["ct_fbpconvnet", "hadamard_unet", "mri_automap", "mri_kernel_pair", "mri_multicoil_vn",
                     "mri_raw_fastmri", "mri_tradeoff/high_noise", "mri_tradeoff/low_noise",
                     "mri_tradeoff/noise_free", "mri_unet", "mri_unrolled"]


@pytest.mark.parametrize("name", NAMES)
def test_manifest_validates_with_its_files_and_network(name: str):
    validate_manifest(SAMPLES / name / "manifest.yaml")


@pytest.mark.parametrize("name", NAMES)
def test_every_network_file_is_listed_and_matches(name: str):
    manifest = load_manifest(SAMPLES / name / "manifest.yaml")
    verify_hashes(manifest.network, manifest.folder)
    # a sample may audit another sample's network (mri_raw_fastmri: ../mri_multicoil_vn/)
    assert {Path(key).name for key in manifest.network.sha256} == {"model.py", "weights.safetensors"}


@pytest.mark.parametrize("name", NAMES)
def test_weights_are_safetensors_under_the_size_limit(name: str):
    weights = load_manifest(SAMPLES / name / "manifest.yaml").network.weights
    assert weights is not None and weights.suffix == ".safetensors"
    assert weights.stat().st_size <= MAX_WEIGHTS_BYTES


@pytest.mark.parametrize("name", NAMES)
def test_brain_test_images_are_held_out_slices(name: str):
    manifest = load_manifest(SAMPLES / name / "manifest.yaml")
    split = default_split()
    brains = [p for p in manifest.data.phantoms if isinstance(p, Mni152Phantom)]
    assert {p.plane for p in brains} <= {"axial", "coronal", "sagittal"}
    for phantom in brains:
        assert phantom.indices is not None
        assert set(phantom.indices) <= set(split[phantom.plane].held_out)


@pytest.mark.parametrize("name", NAMES)
def test_test_slices_trained_on_on_purpose_are_stated(name: str):
    """A sample that trains on a test slice on purpose says so in its training statement."""
    manifest = load_manifest(SAMPLES / name / "manifest.yaml")
    used = {(p.plane, i) for p in manifest.data.phantoms if isinstance(p, Mni152Phantom) for i in p.indices or ()}
    statement = manifest.network.training_data or ""
    for plane, index in TRAINED_ON_PURPOSE.get(name, set()):
        assert (plane, index) in used and f"slice {index}" in statement
