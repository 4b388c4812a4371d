"""The ``mri_automap`` sample submission: a valid manifest, matching hashes, and a network that works.

The network is loaded the way an audit loads it (manifest → hash check → adapter) and must
reconstruct the manifest's held-out MNI152 slices at its training ratio (60 %) above a PSNR
floor set 2 dB below the value measured with the shipped weights. Its input is the k-space grid,
so it must also run unchanged at other ratios of the nested pattern (the sampling check needs it).
"""

from __future__ import annotations

import importlib.util
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

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_automap"
MANIFEST = SAMPLE / "manifest.yaml"
#: mean PSNR (dB, peak 1) over the manifest's 7 held-out MNI152 slices must exceed this;
#: measured 34.15 dB with the shipped weights (README.md).
MNI_PSNR_FLOOR_DB = 32.1


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
    sampling, network = manifest.modality.sampling, manifest.network
    assert (sampling.pattern, sampling.ratio, network.trained_ratio) == ("random_points", 0.6, 0.6)
    assert (network.input, network.complex_as, network.output) == ("kspace", "channels", "real")
    assert tuple(manifest.modality.image_shape) == (32, 32)


def test_reconstructs_held_out_slices_above_the_floor(manifest, operator, test_images):
    network = load_network(manifest.network, manifest.folder, operator, device="cpu")
    x = test_images.images.to(torch.float32)
    with torch.no_grad():
        recon = network(operator(x))
    assert recon.shape == x.shape and not recon.is_complex()
    brains = torch.tensor([i.startswith("mni152_") for i in test_images.ids])
    assert int(brains.sum()) == 7
    assert float(psnr(recon, x)[brains].mean()) > MNI_PSNR_FLOOR_DB


@pytest.mark.parametrize("ratio", [0.3, 1.0])
def test_runs_unchanged_at_other_ratios_of_the_nested_pattern(manifest, operator, test_images, ratio):
    """The k-space grid has the same size at every ratio, so the network reconstructs there too."""
    other = operator.with_ratio(ratio)
    network = load_network(manifest.network, manifest.folder, other, device="cpu")
    x = test_images.images[:2].to(torch.float32)
    with torch.no_grad():
        recon = network(other(x))
    assert recon.shape == x.shape and bool(torch.isfinite(recon).all())


def test_model_refuses_a_grid_of_the_wrong_size():
    spec = importlib.util.spec_from_file_location("mri_automap_model", SAMPLE / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.build(size=8, channels=4)
    assert net(torch.zeros(3, 2, 8, 8)).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="kspace must have shape"):
        net(torch.zeros(3, 2, 16, 16))


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py (3 steps) write byte-identical weights."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.safetensors"
        subprocess.run([sys.executable, str(SAMPLE / "train.py"), "--steps", "3", "--out", str(out)],
                       check=True, capture_output=True, timeout=600)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
