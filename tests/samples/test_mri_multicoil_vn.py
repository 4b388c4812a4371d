"""The ``mri_multicoil_vn`` sample submission: a valid manifest, matching hashes, and a network that works.

The network is loaded the way an audit loads it (manifest → hash check → adapter, operator from
the manifest's modality) and must reconstruct the manifest's held-out MNI152 slices at its
training ratio (20 %) above a PSNR floor set 2 dB below the value measured when the weights
were trained, better than the zero-filled image on every test image. Its stored coil maps
must be the synthetic maps the audit's operator uses, and it must run at other ratios
(the sampling check feeds nested masks).
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
from auditkit.networks.loader import load_module
from auditkit.operators.factory import build_operator
from auditkit.operators.mri_multicoil import MRIMultiCoil

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_multicoil_vn"
MANIFEST = SAMPLE / "manifest.yaml"
#: mean PSNR (dB, peak 1) over the manifest's 7 held-out MNI152 slices must exceed this;
#: measured 30.47 dB with the shipped weights (README.md).
MNI_PSNR_FLOOR_DB = 28.5


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST)


@pytest.fixture(scope="module")
def operator(manifest: Manifest) -> MRIMultiCoil:
    op = build_operator(manifest.modality)
    assert isinstance(op, MRIMultiCoil)
    return op


@pytest.fixture(scope="module")
def test_images(manifest: Manifest):
    return collect_images(manifest.data, tuple(manifest.modality.image_shape))


def test_trained_at_the_audited_setting(manifest: Manifest):
    modality, sampling = manifest.modality, manifest.modality.sampling
    assert (sampling.pattern, sampling.ratio, manifest.network.trained_ratio) == ("cartesian_equispaced", 0.2, 0.2)
    assert (modality.kind, tuple(modality.image_shape)) == ("mri_multicoil", (128, 128))
    assert (modality.coils.count, modality.coils.synthetic) == (8, True)
    assert manifest.network.input == "kspace"


def test_stored_coil_maps_are_the_audit_operators_maps(manifest: Manifest, operator: MRIMultiCoil):
    module = load_module(manifest.network, manifest.folder, device="cpu")
    stored = torch.complex(module.coil_maps[0], module.coil_maps[1]).to(torch.complex64)
    assert torch.allclose(stored, operator.maps.to(torch.complex64), atol=1e-6)


def test_reconstructs_held_out_slices_above_the_floor_and_beats_zero_filling(manifest, operator, test_images):
    network = load_network(manifest.network, manifest.folder, operator, device="cpu")
    x = test_images.images.to(torch.float32)
    y = operator(x)
    with torch.no_grad():
        recon = network(y)
    assert recon.shape == x.shape and not recon.is_complex()
    ours, zero_filled = psnr(recon, x), psnr(operator.adjoint(y).abs(), x)
    brains = torch.tensor([i.startswith("mni152_") for i in test_images.ids])
    assert int(brains.sum()) == 7
    assert float(ours[brains].mean()) > MNI_PSNR_FLOOR_DB
    assert bool((ours > zero_filled).all()), f"network {ours.tolist()} vs zero-filled {zero_filled.tolist()}"


def test_runs_at_other_ratios_of_the_nested_pattern(manifest, operator, test_images):
    """The mask is read from the k-space input, so the same weights reconstruct at 10 % and 40 %."""
    x = test_images.images[2:3].to(torch.float32)
    for ratio in (0.1, 0.4):
        op = operator.with_ratio(ratio)
        network = load_network(manifest.network, manifest.folder, op, device="cpu")
        with torch.no_grad():
            recon = network(op(x))
        assert recon.shape == x.shape and bool(torch.isfinite(recon).all())
        assert float(psnr(recon, x)) > float(psnr(op.adjoint(op(x)).abs(), x))


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py (3 steps) write byte-identical weights."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.safetensors"
        subprocess.run([sys.executable, str(SAMPLE / "train.py"), "--steps", "3", "--skip-eval",
                        "--out", str(out)], check=True, capture_output=True, timeout=600)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
