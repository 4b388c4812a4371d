"""Suite-wide settings and shared fixtures.

One torch thread: tests use small images, where a second thread only adds
synchronisation cost, and a loaded 2-core machine makes multi-threaded spin-waits very slow."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def plenty_of_memory(request, monkeypatch):
    """The memory check compares with this machine's free memory; tests assume plenty, so that a busy
    machine does not refuse their manifests (tests of the reading itself are marked ``real_memory``)."""
    if request.node.get_closest_marker("real_memory") is None:
        from auditkit.manifest import memory

        monkeypatch.setattr(memory, "available_memory_bytes", lambda: 1 << 40)


FIXTURES = Path(__file__).parent / "fixtures" / "manifests"


@pytest.fixture
def fixtures() -> Path:
    """Folder of the fixture manifests."""
    return FIXTURES


@pytest.fixture
def line_with() -> Callable[[Path, str], int]:
    """``line_with(path, snippet)``: the 1-based line of the one line of ``path`` containing ``snippet``."""

    def find(path: Path, snippet: str) -> int:
        hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if snippet in line]
        assert len(hits) == 1, f"{snippet!r} occurs on lines {hits} of {path}"
        return hits[0]

    return find


MANIFEST = """\
schema_version: 1
submission: {{id: T-1, vendor: V, device: D, version: "1", intended_use: tests, contact: qa@example.com}}
modality:
  kind: mri_singlecoil
  image_shape: [32, 32]
  sampling: {{pattern: cartesian_random, ratio: 0.33}}
network:
  format: python
  path: net/identity_net.py
  entrypoint: identity_net:build
  sha256: {{net/identity_net.py: {sha}}}
  input: zero_filled
  output: complex
  device: cpu
  trained_ratio: 0.33
data:
  phantoms: [{{kind: shepp_logan}}, {{kind: ellipses, count: 1, seed: 3}}]
baseline: {{method: l1_wavelet, max_iter: 15}}
checks:
  sampling: {{ratios: [0.2, 0.33, 0.5]}}
"""


@pytest.fixture
def tiny_manifest(tmp_path: Path) -> Path:
    """A tiny audit: the zero-filled reconstruction at 32×32, a 15-iteration baseline."""
    from auditkit.fileio import sha256_file

    (tmp_path / "net").mkdir()
    src = FIXTURES / "net" / "identity_net.py"
    shutil.copy(src, tmp_path / "net" / "identity_net.py")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.format(sha=sha256_file(src)), encoding="utf-8")
    return path


