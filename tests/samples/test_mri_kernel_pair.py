"""The ``mri_kernel_pair`` sample: a network built to be too accurate to be stable, and an audit that says so.

Fast: the manifest's setting, the pair built as its README states (‖Ad‖ = 0.05‖d‖, the 'M' exactly in the
kernel), a network that reconstructs both members of the pair (so its secant along d is large) and the held-out
slice above a floor. Slow: the quick audit's verdict on every criterion of the README's audit table.
"""

from __future__ import annotations

import json
import re
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

SAMPLE = Path(__file__).resolve().parents[2] / "sample_submissions" / "mri_kernel_pair"
sys.path.insert(0, str(SAMPLE))

from details import VISIBILITY, brain_with_thumb, sample_images  # noqa: E402

#: the network must show at least this share of the pair's difference |x + d| − x (README: 0.943 measured).
MIN_SHOWN = 0.8
#: PSNR floor (dB) on the held-out coronal slice 112, 2 dB below the 27.81 dB of README.md.
HELD_OUT_PSNR_FLOOR_DB = 25.8


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(SAMPLE / "manifest.yaml")


def test_the_pair_and_the_kernel_detail_are_built_as_stated(manifest: Manifest):
    op = build_operator(manifest.modality, dtype=torch.float64)
    s = sample_images()
    assert float(op(s.d[None]).norm() / s.d.norm()) == pytest.approx(VISIBILITY, rel=1e-6)
    assert float(op(s.mickey[None]).norm() / s.mickey.norm()) < 1e-12
    shipped = collect_images(manifest.data, tuple(manifest.modality.image_shape)).images[0]
    assert torch.allclose(shipped, torch.from_numpy(brain_with_thumb(s)).double(), atol=1e-6)


def test_reconstructs_both_members_of_the_pair_and_the_held_out_slice(manifest: Manifest):
    op = build_operator(manifest.modality)
    f = load_network(manifest.network, manifest.folder, op, device="cpu")
    s = sample_images()
    pair = torch.stack([s.x, s.x + s.d]).to(torch.complex64)
    with torch.no_grad():
        out = f(op(pair)).abs()
    target = pair.abs()
    shown = float((out[1] - out[0]).norm() / (target[1] - target[0]).norm())
    assert shown > MIN_SHOWN
    test = collect_images(manifest.data, tuple(manifest.modality.image_shape))
    held_out = test.ids.index("mni152_coronal_112")
    x = test.images[held_out:held_out + 1].float()
    with torch.no_grad():
        assert float(psnr(f(op(x)).abs(), x)) > HELD_OUT_PSNR_FLOOR_DB


def readme_results() -> dict[str, str]:
    """{criterion: PASS/FAIL} from the README's generated audit table."""
    text = (SAMPLE / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"\| `([^`]+)` \| [^|]+ \| [^|]+ \| (PASS|FAIL|—) \|", text))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_the_quick_audit_finds_what_the_readme_says(tmp_path: Path):
    out = tmp_path / "audit"
    code = subprocess.call([str(Path(sys.executable).parent / "auditkit"), "run", str(SAMPLE / "manifest.yaml"),
                            "--out", str(out), "--quick", "--checks", "adversarial,hallucination"])
    assert code in (0, 1)
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    found = {c["name"]: ("PASS" if c["passed"] else "FAIL" if c["passed"] is False else "—")
             for check in evidence["checks"] for c in check["criteria"]}
    expected = readme_results()
    assert found and all(expected[name] == result for name, result in found.items())


@pytest.mark.slow
def test_training_script_is_deterministic(tmp_path: Path):
    """Two short runs of train.py write byte-identical weights."""
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.safetensors"
        subprocess.run([sys.executable, str(SAMPLE / "train.py"), "--crop-steps", "2", "--full-steps", "1",
                        "--out", str(out)], check=True, capture_output=True, timeout=600)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
