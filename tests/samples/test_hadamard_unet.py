"""The ``hadamard_unet`` sample submission: a valid manifest, matching hashes, and a network that works.

The network is loaded the way an audit loads it (manifest → hash check → adapter) and must
reconstruct the manifest's held-out MNI152 slices at its training ratio (5 %) above a PSNR
floor set 2 dB below the value measured when the weights were trained, and better than the
direct image A*y on every test image.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.manifest.models import Manifest
from auditkit.metrics import psnr
from auditkit.networks import load_network
from auditkit.operators.factory import build_operator
from auditkit.operators.hadamard import HadamardSubsampled

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "hadamard_unet"
MANIFEST = SAMPLE / "manifest.yaml"
#: mean PSNR (dB, peak 1) over the manifest's 3 held-out MNI152 slices must exceed this;
#: measured 22.07 dB with the shipped weights (README.md: 22.09, 22.36, 21.76).
MNI_PSNR_FLOOR_DB = 20.0


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


@pytest.fixture(scope="module")
def operator(manifest: Manifest) -> HadamardSubsampled:
    return build_operator(manifest.modality)


@pytest.fixture(scope="module")
def test_images(manifest: Manifest):
    return collect_images(manifest.data, tuple(manifest.modality.image_shape))


def test_trained_at_the_audited_setting(manifest: Manifest):
    sampling = manifest.modality.sampling
    assert manifest.modality.kind == "hadamard"
    assert (sampling.pattern, sampling.ratio, manifest.network.trained_ratio) == ("variable_density", 0.05, 0.05)
    assert tuple(manifest.modality.image_shape) == (128, 128)


def test_reconstructs_held_out_slices_above_the_floor_and_beats_the_direct_image(manifest, operator, test_images):
    network = load_network(manifest.network, manifest.folder, operator, device="cpu")
    x = test_images.images.to(torch.float32)
    y = operator(x)
    with torch.no_grad():
        recon = network(y)
    assert recon.shape == x.shape and not recon.is_complex()
    ours, direct = psnr(recon, x), psnr(operator.adjoint(y), x)
    brains = torch.tensor([i.startswith("mni152_") for i in test_images.ids])
    assert int(brains.sum()) == 3
    assert float(ours[brains].mean()) > MNI_PSNR_FLOOR_DB
    assert bool((ours > direct).all()), f"network {ours.tolist()} vs direct image {direct.tolist()}"


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py (3 steps) write byte-identical weights."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.safetensors"
        subprocess.run([sys.executable, str(SAMPLE / "train.py"), "--crop-steps", "2", "--full-steps", "1",
                        "--out", str(out)], check=True, capture_output=True, timeout=600)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
