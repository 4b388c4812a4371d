"""The ``mri_unet`` sample submission: a valid manifest, matching hashes, and a network that works.

The network is loaded the way an audit loads it (manifest → hash check → adapter) and must
reconstruct the manifest's held-out MNI152 slices at its training ratio (33 %) above a PSNR
floor set 2 dB below the value measured when the weights were trained, and better than the
zero-filled image on every test image.
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
from auditkit.operators.mri import MRISingleCoil

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_unet"
MANIFEST = SAMPLE / "manifest.yaml"
#: mean PSNR (dB, peak 1) over the manifest's 7 held-out MNI152 slices must exceed this;
#: measured 30.73 dB with the shipped weights (README.md).
MNI_PSNR_FLOOR_DB = 28.7


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


@pytest.fixture(scope="module")
def operator(manifest: Manifest) -> MRISingleCoil:
    s = manifest.modality.sampling
    return MRISingleCoil.from_pattern(s.pattern, tuple(manifest.modality.image_shape), ratio=s.ratio,
                                      center_fraction=s.center_fraction, seed=s.seed)


@pytest.fixture(scope="module")
def test_images(manifest: Manifest):
    return collect_images(manifest.data, tuple(manifest.modality.image_shape))


def test_trained_at_the_audited_setting(manifest: Manifest):
    sampling = manifest.modality.sampling
    assert (sampling.pattern, sampling.ratio, manifest.network.trained_ratio) == ("cartesian_random", 0.33, 0.33)
    assert tuple(manifest.modality.image_shape) == (128, 128)


def test_reconstructs_held_out_slices_above_the_floor_and_beats_zero_filling(manifest, operator, test_images):
    network = load_network(manifest.network, manifest.folder, operator, device="cpu")
    x = test_images.images.to(torch.float32)
    y = operator(x)
    with torch.no_grad():
        recon = network(y)
    assert recon.shape == x.shape and not recon.is_complex()
    ours, zero_filled = psnr(recon, x), psnr(operator.adjoint(y), x)
    brains = torch.tensor([i.startswith("mni152_") for i in test_images.ids])
    assert int(brains.sum()) == 7
    assert float(ours[brains].mean()) > MNI_PSNR_FLOOR_DB
    assert bool((ours > zero_filled).all()), f"network {ours.tolist()} vs zero-filled {zero_filled.tolist()}"


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
