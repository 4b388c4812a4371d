"""The ``mri_unrolled`` sample submission: a valid manifest, matching hashes, and a network that works.

The network is loaded the way an audit loads it (manifest → hash check → adapter). Its Fourier
transform must be auditkit's, its data-consistency step must be exact at μ = 1, and it must
reconstruct the manifest's held-out MNI152 slices at its training ratio (33 %) above a PSNR
floor set 2 dB below the value measured when the weights were trained, better than the
zero-filled image on every test image, and better still from a nested mask with more samples.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.manifest.models import Manifest
from auditkit.metrics import psnr
from auditkit.networks import load_network
from auditkit.operators.mri import MRISingleCoil, fft2c, ifft2c

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_unrolled"
MANIFEST = SAMPLE / "manifest.yaml"
#: mean PSNR (dB, peak 1) over the manifest's 7 held-out MNI152 slices must exceed this;
#: measured 34.91 dB with the shipped weights (README.md).
MNI_PSNR_FLOOR_DB = 32.9


@pytest.fixture(scope="module")
def model() -> ModuleType:
    """The submission's model.py, imported from its file as the loader does."""
    spec = importlib.util.spec_from_file_location("mri_unrolled_model", SAMPLE / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


@pytest.fixture(scope="module")
def network(manifest: Manifest, operator: MRISingleCoil):
    return load_network(manifest.network, manifest.folder, operator, device="cpu")


def test_trained_at_the_audited_setting_with_kspace_input(manifest: Manifest):
    sampling = manifest.modality.sampling
    assert (sampling.pattern, sampling.ratio, sampling.center_fraction, sampling.seed) == ("cartesian_random", 0.33, 0.08, 0)
    assert manifest.network.trained_ratio == 0.33
    assert (manifest.network.input, manifest.network.complex_as, manifest.network.output) == ("kspace", "channels", "magnitude")
    assert tuple(manifest.modality.image_shape) == (128, 128)


def test_fourier_transform_is_auditkits(model: ModuleType):
    """Same centring convention and normalisation as the audit's operator, both directions."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 128, 128, dtype=torch.complex128, generator=gen)
    torch.testing.assert_close(model.fft2c(x), fft2c(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(model.ifft2c(x), ifft2c(x), rtol=0, atol=1e-12)


def test_mask_is_read_off_the_zero_filled_kspace(model: ModuleType, operator: MRISingleCoil, test_images):
    kspace = operator.embed(operator(test_images.images.float()))
    assert torch.equal(model.sampling_mask(kspace).bool(), operator.mask)


def test_hard_data_consistency_restores_the_measurements(model: ModuleType, operator: MRISingleCoil):
    """At μ = 1 the step replaces the sampled k-space entries by the measured ones: A x_new = y."""
    gen = torch.Generator().manual_seed(1)
    y = operator(torch.rand(2, 128, 128, generator=gen))
    kspace = operator.embed(y)
    step = model.SoftDataConsistency()
    with torch.no_grad():
        step.logit.fill_(float("inf"))
        x = step(torch.randn(2, 128, 128, dtype=torch.complex64, generator=gen), kspace, model.sampling_mask(kspace))
    torch.testing.assert_close(operator(x), y, rtol=0, atol=1e-5)


def test_reconstructs_held_out_slices_above_the_floor_and_beats_zero_filling(network, operator, test_images):
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


def test_more_samples_from_a_nested_mask_give_a_better_reconstruction(manifest, operator, test_images):
    """The same weights at ratio 0.66 (a superset of the training mask) beat themselves at 0.33 (first 4 images)."""
    x = test_images.images[:4].to(torch.float32)
    denser = operator.with_ratio(0.66)
    assert bool((denser.mask | operator.mask).eq(denser.mask).all())
    scores = []
    for op in (operator, denser):
        network = load_network(manifest.network, manifest.folder, op, device="cpu")
        with torch.no_grad():
            scores.append(float(psnr(network(op(x)), x).mean()))
    assert scores[1] > scores[0] + 1.0, f"PSNR at 0.33 and 0.66: {scores}"


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py (2 steps) write byte-identical weights."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.safetensors"
        subprocess.run([sys.executable, str(SAMPLE / "train.py"), "--steps", "2", "--out", str(out)],
                       check=True, capture_output=True, timeout=600)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
