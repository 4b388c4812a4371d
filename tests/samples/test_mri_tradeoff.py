"""The ``mri_tradeoff`` trio: three networks of one architecture and one setting, trained at three jittering levels.

Each network is loaded the way an audit loads it (manifest → hash check → adapter). They must share
the model code and every audit setting (only the weights, the submission's id and device name and the training statement differ), each must
reconstruct the manifest's test images (Shepp–Logan and nine ellipse images) above a PSNR floor set
about 2 dB below the value measured when the weights were trained and better than the zero-filled
image on every test image, and their accuracy must keep the order the README reports (the paper's:
less training noise, more accurate).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from auditkit.data.collect import collect_images
from auditkit.manifest import load_manifest
from auditkit.metrics import psnr
from auditkit.networks import load_network
from auditkit.operators.factory import build_operator

FAMILY = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_tradeoff"
NETWORKS = ("noise_free", "low_noise", "high_noise")
#: mean PSNR (dB, peak 1) over the manifest's 10 test images must exceed this for each network;
#: measured with the shipped weights (README.md): noise_free 26.61, low_noise 26.38, high_noise 26.07.
PSNR_FLOOR_DB = {"noise_free": 24.5, "low_noise": 24.3, "high_noise": 24.0}
#: less training noise, more accurate, by at least this (dB) at each step; measured 0.23 and 0.31.
ACCURACY_GAP_DB = 0.1

sys.path.insert(0, str(FAMILY))
from overlay import curve  # noqa: E402


@pytest.fixture(scope="module")
def manifests():
    return {name: load_manifest(FAMILY / name / "manifest.yaml") for name in NETWORKS}


@pytest.fixture(scope="module")
def reconstructions(manifests):
    """{name: (x, |f(Ax)|, |A*Ax|)} on the manifest's test images, noise-free."""
    first = manifests["noise_free"]
    op = build_operator(first.modality)
    x = collect_images(first.data, tuple(first.modality.image_shape)).images.to(op.real_dtype)
    y = op(x)
    out = {}
    for name, manifest in manifests.items():
        f = load_network(manifest.network, manifest.folder, op, device="cpu")
        with torch.no_grad():
            out[name] = (x, f(y).abs(), op.adjoint(y).abs())
    return out


def test_the_three_differ_only_in_weights_and_words(manifests):
    assert {m.network.path.resolve() for m in manifests.values()} == {(FAMILY / "model.py").resolve()}  # one file
    dumps = [m.model_dump(mode="json") for m in manifests.values()]
    for dump in dumps:
        dump["submission"].pop("id")
        dump["submission"].pop("device")
        dump["network"].pop("training_data")
        dump["network"]["sha256"].pop("weights.safetensors")
    assert dumps[0] == dumps[1] == dumps[2]
    weights = {m.network.sha256["weights.safetensors"] for m in manifests.values()}
    assert len(weights) == 3


def test_the_setting_is_the_papers_scaled_down(manifests):
    modality = manifests["noise_free"].modality
    assert modality.kind == "mri_singlecoil" and tuple(modality.image_shape) == (64, 64)
    assert (modality.sampling.pattern, modality.sampling.ratio) == ("radial", 0.17)
    details = manifests["noise_free"].checks.structural.details
    assert details is not None and [d.text for d in details] == ["SIAM"]


@pytest.mark.parametrize("name", NETWORKS)
def test_reconstructs_above_the_floor_and_beats_zero_filled(reconstructions, name: str):
    x, recon, zero_filled = reconstructions[name]
    ours, direct = psnr(recon, x), psnr(zero_filled, x)
    assert float(ours.mean()) > PSNR_FLOOR_DB[name]
    assert bool((ours > direct).all()), f"network {ours.tolist()} vs zero-filled {direct.tolist()}"


def test_less_training_noise_is_more_accurate(reconstructions):
    mean_db = {name: float(psnr(r[1], r[0]).mean()) for name, r in reconstructions.items()}
    assert mean_db["noise_free"] > mean_db["low_noise"] + ACCURACY_GAP_DB, mean_db
    assert mean_db["low_noise"] > mean_db["high_noise"] + ACCURACY_GAP_DB, mean_db


def test_overlay_reads_both_subjects_curves(tmp_path: Path):
    summary = {"worst_case_error_by_eta": {"0.02": {"mean": 0.2, "std": 0.01}, "0": {"mean": 0.1, "std": 0.0}}}
    evidence = {"checks": [{"name": "tradeoff", "subjects": {"network": {"summary": summary},
                                                              "baseline": {"summary": summary}}}]}
    assert curve(evidence, "network") == ([0.0, 0.02], [0.1, 0.2], [0.0, 0.01])
    for name in NETWORKS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "evidence.json").write_text(json.dumps(evidence), encoding="utf-8")
    out = subprocess.run([sys.executable, str(FAMILY / "overlay.py"), "--evidence", str(tmp_path),
                          "--out", str(tmp_path / "overlay.png")], check=True, capture_output=True, text=True)
    assert (tmp_path / "overlay.png").stat().st_size > 0
    assert "| ℓ1 baseline | 0.1000 | 0.2000 |" in out.stdout


def test_overlay_names_missing_evidence(tmp_path: Path):
    done = subprocess.run([sys.executable, str(FAMILY / "overlay.py"), "--evidence", str(tmp_path),
                           "--out", str(tmp_path / "overlay.png")], capture_output=True, text=True)
    assert done.returncode == 2 and "noise_free, low_noise, high_noise" in done.stderr


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py (2 steps per stage) write byte-identical weights for all three networks."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}"
        subprocess.run([sys.executable, str(FAMILY / "train.py"), "--stage1", "2", "--stage2", "2", "--stage3", "2",
                        "--out", str(out)], check=True, capture_output=True, timeout=600)
        outputs.append([(out / name / "weights.safetensors").read_bytes() for name in NETWORKS])
    assert outputs[0] == outputs[1]
