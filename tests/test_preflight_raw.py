"""Raw k-space in the manifest: every problem with a raw file is one located line, and ``validate`` exits 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from auditkit import cli
from auditkit.data.phantoms import shepp_logan
from auditkit.data.synthetic_raw import multicoil_kspace, write_fastmri, write_ismrmrd
from auditkit.fileio import sha256_file
from auditkit.manifest import load_manifest
from auditkit.preflight import check_files

MANIFEST = """\
schema_version: 1
submission: {{id: T-1, vendor: V, device: D, version: "1", intended_use: tests, contact: qa@example.com}}
modality:
  kind: mri_multicoil
  image_shape: [32, 32]
  sampling: {{pattern: cartesian_random, ratio: 0.33}}
  coils: {{count: {coils}, synthetic: true}}
network:
  format: python
  path: net/identity_net.py
  entrypoint: identity_net:build
  sha256: {{net/identity_net.py: {sha}}}
  input: zero_filled
  output: complex
  device: cpu
data:
  raw:
    - format: {format}
      file: {file}
      slices: {slices}{maps}
"""


@pytest.fixture
def folder(fixtures, tmp_path) -> Path:
    """The identity network and a two-slice, 4-coil synthetic scan (fastMRI and ISMRMRD, 32×32 shown)."""
    (tmp_path / "net").mkdir()
    shutil.copy(fixtures / "net" / "identity_net.py", tmp_path / "net")
    x = shepp_logan((32, 32), dtype=torch.float64).numpy()
    k, _ = multicoil_kspace(np.stack([x, 0.5 * x]), coils=4, noise=1e-3, seed=1)
    write_fastmri(tmp_path / "scan.h5", k, (32, 32))
    write_ismrmrd(tmp_path / "radial.h5", k, (32, 32), trajectory="radial")
    return tmp_path


def manifest(folder: Path, *, format: str = "fastmri", file: str = "scan.h5", slices: str = "[0, 1]",
             coils: int = 4, maps: str | None = None) -> Path:
    path = folder / "manifest.yaml"
    path.write_text(MANIFEST.format(
        sha=sha256_file(folder / "net" / "identity_net.py"), format=format, file=file, slices=slices, coils=coils,
        maps="" if maps is None else f"\n      coil_maps: {maps}"), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    return [p.format() for p in check_files(load_manifest(path), load_network=False)]


def test_a_good_raw_entry_has_no_problem(folder):
    assert problems(manifest(folder)) == []


def test_missing_dataset(folder):
    with h5py.File(folder / "empty.h5", "w") as handle:
        handle.create_dataset("reconstruction_rss", data=np.zeros((2, 32, 32), np.float32))
    path = manifest(folder, file="empty.h5")
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'empty.h5': kspace: dataset missing: a fastMRI file holds "
                              "k-space as 'kspace' of shape (slices, coils, H, W) or (slices, H, W)"]


def test_wrong_shape(folder):
    with h5py.File(folder / "flat.h5", "w") as handle:
        handle.create_dataset("kspace", data=np.zeros((64, 32), np.complex64))
    path = manifest(folder, file="flat.h5")
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'flat.h5': kspace: has shape (64, 32); expected "
                              "(slices, coils, H, W) or (slices, H, W)"]


def test_slice_out_of_range(folder):
    path = manifest(folder, slices="[0, 5]")
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'scan.h5': slices: slice 5 is out of range: kspace holds "
                              "2 slice(s), indices 0–1"]


def test_non_cartesian_ismrmrd_is_not_supported_yet(folder):
    path = manifest(folder, format="ismrmrd", file="radial.h5")
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'radial.h5': encoding.trajectory: is 'radial'; only "
                              "Cartesian ISMRMRD data is supported yet"]


def test_coil_maps_of_another_coil_count(folder):
    np.save(folder / "maps.npy", np.ones((2, 3, 32, 32), np.complex64))
    path = manifest(folder, maps="maps.npy")
    assert problems(path) == [f"{path}:21: data.raw.0.coil_maps: 'scan.h5': slice 0: coil_maps: have shape (3, 32, 32) "
                              "but the data has 4 coils on a 32×32 grid, expected (4, 32, 32)"]


def test_coil_maps_for_another_number_of_slices(folder):
    np.save(folder / "maps.npy", np.ones((3, 4, 32, 32), np.complex64))
    path = manifest(folder, maps="maps.npy")
    assert problems(path) == [f"{path}:21: data.raw.0.coil_maps: 'maps.npy': coil_maps: has shape (3, 4, 32, 32); "
                              "expected (slices, coils, H, W) with 2 slice(s), one per entry of slices"]


def test_data_of_another_coil_count_than_the_operator(folder):
    path = manifest(folder, coils=8)
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'scan.h5': kspace: has 4 coil(s), but the audit's "
                              "operator takes 8 coils (modality.coils.count)"]


def test_validate_exits_2_with_one_line(folder):
    path = manifest(folder, slices="[7]")
    result = CliRunner().invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{path}:19: data.raw.0.file: 'scan.h5': slices: slice 7 is out of range")


def test_undersampled_data_is_not_a_reference(folder):
    with h5py.File(folder / "scan.h5", "r") as handle:
        k = handle["kspace"][()]
    k[..., ::4] = 0  # every fourth phase-encode column left out, as in an accelerated or challenge file
    write_fastmri(folder / "under.h5", k, (32, 32))
    path = manifest(folder, file="under.h5")
    assert problems(path) == [f"{path}:19: data.raw.0.file: 'under.h5': kspace: slice 0: 8 of 32 phase-encode columns "
                              "hold no data (0, 4, 8, 12, 16, …): the slice is not fully sampled; a raw test slice must "
                              "be, since it gives the reference image"]


def test_a_line_acquired_twice_is_not_supported_yet(folder):
    with h5py.File(folder / "scan.h5", "r") as handle:
        k = handle["kspace"][()]
    write_ismrmrd(folder / "twice.h5", np.concatenate([k, k[:1]]), (32, 32))
    import ismrmrd

    dataset = ismrmrd.Dataset(str(folder / "twice.h5"), "dataset", create_if_needed=False)
    for i in range(dataset.number_of_acquisitions()):  # the third slice's lines become repeats of slice 0's
        acq = dataset.read_acquisition(i)
        if acq.idx.slice == 2:
            acq.idx.slice = 0
            dataset.append_acquisition(acq)
    dataset.close()
    path = manifest(folder, format="ismrmrd", file="twice.h5", slices="[0]")
    (problem,) = problems(path)
    assert problem == (f"{path}:19: data.raw.0.file: 'twice.h5': acquisitions: line 0 of slice 0 was acquired more than "
                       "once (averages, repetitions or contrasts): not supported yet")


@pytest.mark.parametrize("content,message", [
    ("group", "kspace: is a group, not a dataset"),
    ("header", "ismrmrd_header: is not valid XML"),
])
def test_malformed_fastmri_files(folder, content, message):
    with h5py.File(folder / "bad.h5", "w") as handle:
        if content == "group":
            handle.create_group("kspace")
        else:
            handle.create_dataset("kspace", data=np.ones((1, 4, 64, 32), np.complex64))
            handle.create_dataset("ismrmrd_header", data=3.0)
    path = manifest(folder, file="bad.h5", slices="[0]")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:19: data.raw.0.file: 'bad.h5': {message}")


def test_an_ismrmrd_file_without_acquisitions(folder):
    import ismrmrd

    from auditkit.data.synthetic_raw import header_xml

    dataset = ismrmrd.Dataset(str(folder / "empty.h5"), "dataset", create_if_needed=True)
    dataset.write_xml_header(header_xml((64, 32), (32, 32), 4))
    dataset.close()
    path = manifest(folder, format="ismrmrd", file="empty.h5", slices="[0]")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:19: data.raw.0.file: 'empty.h5': ")
    assert "acquisitions" in problem
