"""The audit's memory estimate: its terms follow the documented formulas and it matches a measured audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.manifest import load_manifest, memory
from auditkit.manifest.memory import GIB, MemoryEstimate, estimate_memory
from auditkit.manifest.models import Checks, Data, Modality

SAMPLES = Path(__file__).resolve().parents[2] / "sample_submissions"


def modality(kind: str = "mri_singlecoil", shape: tuple[int, int] = (128, 128), **extra) -> Modality:
    """A valid modality section of ``kind`` at ``shape``."""
    sampling = {"pattern": "equispaced_angles", "n_angles": 50} if kind == "ct_parallel" else \
        {"pattern": "cartesian_random", "ratio": 0.25}
    return Modality.model_validate({"kind": kind, "image_shape": list(shape), "sampling": sampling, **extra})


def data(n: int) -> Data:
    """``n`` random-ellipse test images."""
    return Data.model_validate({"phantoms": [{"kind": "ellipses", "count": n}]})


def test_the_sample_estimate_does_not_exceed_the_measured_peak():
    """The model leaves out what it cannot know (the network's activations, the runtime beyond its floor),
    so on mri_unet's default audit it must stay below the measured peak (bench/bench_audit.py)."""
    m = load_manifest(SAMPLES / "mri_unet" / "manifest.yaml")
    estimate = estimate_memory(m.modality, m.data, m.checks, m.network.trained_n_angles)
    assert estimate.total < 2.0e9
    assert estimate.largest == "the runtime"


def test_search_term_is_rows_times_step_and_krylov_vectors():
    """S = b·(12·P + 2·M), V = b·(4·P + M); searches G·(S + 21·V) with G the most rows per image
    of any search (here the trade-off: 4 η × 2 restarts), whatever the number of images."""
    state, vector = 8 * (12 + 2) * 128 * 128, 8 * (4 + 1) * 128 * 128
    for n in (1, 9, 100):
        e = estimate_memory(modality(), data(n), Checks())
        assert e.searches == (4 * 2) * (state + 21 * vector)
        assert e.evaluations == 50 * state  # the noise batch
        assert e.total == e.runtime + e.operator + e.images + e.searches


def test_large_images_are_refused_by_the_estimate():
    """At 4096² one image's searches alone need hundreds of GiB: no machine here audits it."""
    e = estimate_memory(modality(shape=(4096, 4096)), data(9), Checks())
    assert e.searches == 8 * 8 * (14 + 21 * 5) * 4096 * 4096
    assert e.total > 100 * GIB


def test_ct_counts_the_largest_system_matrix():
    """40 bytes × 3·P·n_max, n_max twice the audit's angles by default, or the sampling check's largest count."""
    ct = modality("ct_parallel")
    assert estimate_memory(ct, data(1), Checks()).operator == 40 * 3 * 128 * 128 * 100
    custom = Checks.model_validate({"sampling": {"n_angles": [25, 50, 400]}})
    assert estimate_memory(ct, data(1), custom).operator == 40 * 3 * 128 * 128 * 400
    off = Checks.model_validate({"sampling": {"enabled": False}})
    assert estimate_memory(ct, data(1), off, trained_n_angles=60).operator == 40 * 3 * 128 * 128 * 60


def test_multicoil_counts_coil_measurements_and_maps():
    mc = modality("mri_multicoil", coils={"count": 8, "synthetic": True})
    e = estimate_memory(mc, data(1), Checks())
    assert e.operator == 8 * 8 * 128 * 128
    assert e.evaluations == 50 * 8 * (12 + 2 * 8) * 128 * 128


def test_disabled_checks_need_no_search_memory():
    off = Checks.model_validate({name: {"enabled": False} for name in ("adversarial", "noise", "tradeoff")})
    e = estimate_memory(modality(), data(2), off)
    assert e.searches == 0
    assert e.evaluations == 8 * 14 * 128 * 128  # one image per evaluation call


def test_largest_names_the_dominant_term():
    assert MemoryEstimate(runtime=1, operator=5, images=0, searches=2, evaluations=3).largest == "the CT system matrix"
    assert MemoryEstimate(runtime=9, operator=0, images=0, searches=2, evaluations=3).largest == "the runtime"


def test_the_model_s_constants_are_the_code_s():
    """The constants the estimate counts with are the ones the allocating code uses."""
    import inspect

    from auditkit.baselines.base import BaselineMap
    from auditkit.operators.radon_matrix import default_det_count

    assert memory.KRYLOV_ITERATIONS == inspect.signature(BaselineMap).parameters["gradient_iters"].default
    for shape in [(32, 32), (128, 96), (100, 257)]:
        assert memory._detector_bins(*shape) == default_det_count(shape)


@pytest.mark.real_memory
def test_available_memory_reads_meminfo(monkeypatch, tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemAvailable:    2048 kB\n", encoding="ascii")
    real_path = memory.Path
    monkeypatch.setattr(memory, "Path", lambda p: meminfo if p == "/proc/meminfo" else real_path(p))
    assert memory.available_memory_bytes() == 2048 * 1024


@pytest.mark.real_memory
def test_available_memory_falls_back_to_sysconf(monkeypatch, tmp_path):
    monkeypatch.setattr(memory, "Path", lambda p: tmp_path / "absent")
    monkeypatch.setattr(memory.os, "sysconf", lambda name: {"SC_AVPHYS_PAGES": 10, "SC_PAGE_SIZE": 4096}[name])
    assert memory.available_memory_bytes() == 40960

    def unsupported(name):
        raise ValueError(name)

    monkeypatch.setattr(memory.os, "sysconf", unsupported)
    assert memory.available_memory_bytes() is None


@pytest.mark.parametrize("size,text", [(GIB // 2, "0.5 GiB"), (int(421.5 * GIB), "421.5 GiB")])
def test_gib(size, text):
    assert memory.gib(size) == text
