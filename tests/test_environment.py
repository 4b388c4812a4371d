"""The environment record: every installed package, the lock it came from, CPU, BLAS, threads; and its differences."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
import torch

from auditkit import environment as env_module
from auditkit.environment import (
    LOCK_RECORD,
    NOT_FROM_LOCK,
    cpu_flags,
    cpu_model,
    environment,
    environment_differences,
    lock_sha256,
    torch_blas,
)

CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Example CPU @ 2.10GHz
flags\t\t: sse2 avx2 fpu avx512f sse2
bugs\t\t: spectre_v1

processor\t: 1
model name\t: Example CPU @ 2.10GHz
flags\t\t: sse2 avx2 fpu avx512f
"""


@pytest.fixture(scope="module")
def record() -> dict:
    return environment(torch.device("cpu"))


def test_every_installed_package_with_its_real_version(record: dict):
    installed = {d.metadata["Name"]: d.version for d in importlib.metadata.distributions() if d.metadata["Name"]}
    assert record["packages"] == installed
    assert record["packages"]["ptwt"] == importlib.metadata.version("ptwt") != "unknown"
    assert record["packages"]["torch"] == torch.__version__
    assert list(record["packages"]) == sorted(record["packages"], key=str.lower)


def test_machine_facts_are_recorded_and_the_record_is_json(record: dict):
    assert record["device"] == "cpu" and record["torch_threads"] == torch.get_num_threads()
    assert record["torch_interop_threads"] == torch.get_num_interop_threads()
    assert record["cpu_model"] == cpu_model() and record["device_name"] == record["cpu_model"]
    assert record["cpu_flags"] == sorted(set(record["cpu_flags"]))
    assert set(record["blas"]) == {"torch", "numpy"} and all(record["blas"].values())
    assert json.loads(json.dumps(record)) == record


def test_cpu_model_and_flags_come_from_cpuinfo(tmp_path: Path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    assert cpu_model(path) == "Example CPU @ 2.10GHz"
    assert cpu_flags(path) == ["avx2", "avx512f", "fpu", "sse2"]
    assert cpu_flags(tmp_path / "missing") == []


def test_torch_blas_is_short():
    config = (
        "  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64\n"
        "  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, TORCH_VERSION=2.13.0,\n"
    )
    assert torch_blas(config) == "mkl 2024.2, LAPACK mkl"
    assert torch_blas("Build settings: BLAS_INFO=open, LAPACK_INFO=open,") == "open, LAPACK open"


def test_lock_hash_is_read_from_the_venv_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert lock_sha256(tmp_path) == NOT_FROM_LOCK
    (tmp_path / LOCK_RECORD).write_text("not a hash\n")
    assert lock_sha256(tmp_path) == NOT_FROM_LOCK
    digest = "0123456789abcdef" * 4
    (tmp_path / LOCK_RECORD).write_text(digest + "\n")
    assert lock_sha256(tmp_path) == digest
    monkeypatch.setattr(env_module.sys, "prefix", str(tmp_path))
    assert environment(torch.device("cpu"))["lock_sha256"] == digest


def _lines(archived: dict, now: dict) -> list[str]:
    return [c.format() for c in environment_differences(archived, now)]


def test_differences_name_packages_lock_cpu_blas_and_threads(record: dict):
    archived = json.loads(json.dumps(record))
    assert environment_differences(archived, record) == []
    archived["packages"]["numpy"] = "1.26.4"
    del archived["packages"]["ptwt"]
    archived["packages"]["sigpy"] = "0.1.26"
    archived["lock_sha256"] = "f" * 64
    archived["cpu_model"] = "Other CPU"
    archived["cpu_flags"] = [f for f in record["cpu_flags"] if f != record["cpu_flags"][0]] + ["zz_only_there"]
    archived["blas"]["numpy"] = "openblas 0.3.20"
    archived["torch_threads"] = record["torch_threads"] + 15
    lines = _lines(archived, record)
    assert f"numpy 1.26.4 → {record['packages']['numpy']}" in lines
    assert f"ptwt not installed → {record['packages']['ptwt']}" in lines
    assert "sigpy 0.1.26 → not installed" in lines
    assert f"lock file sha256 {'f' * 64} → {record['lock_sha256']}" in lines
    assert f"CPU model Other CPU → {record['cpu_model']}" in lines
    assert f"CPU flags only archived: zz_only_there → only here: {record['cpu_flags'][0]}" in lines
    assert f"BLAS (numpy) openblas 0.3.20 → {record['blas']['numpy']}" in lines
    assert f"torch threads {record['torch_threads'] + 15} → {record['torch_threads']}" in lines
    assert len(lines) == 8


def test_a_record_from_before_the_package_list_is_compared_on_what_it_named(record: dict):
    legacy = {
        "auditkit": record["auditkit"], "python": record["python"], "torch": record["torch"], "numpy": "1.26.4",
        "ptwt": "unknown", "device": "cpu", "torch_threads": record["torch_threads"],
    }
    lines = _lines(legacy, record)
    assert f"installed packages not recorded → {len(record['packages'])} packages" in lines
    assert f"numpy 1.26.4 → {record['packages']['numpy']}" in lines
    assert f"ptwt unknown → {record['packages']['ptwt']}" in lines
    assert "CPU model not recorded → " + record["cpu_model"] in lines
    assert not [line for line in lines if line.startswith(("scipy ", f"torch {record['torch']}"))]  # not named / same


def test_source_sha256_is_the_hash_of_auditkits_code():
    from auditkit.environment import environment, source_sha256

    digest = source_sha256()
    assert len(digest) == 64 and digest == source_sha256()
    assert environment(torch.device("cpu"))["auditkit_source_sha256"] == digest
