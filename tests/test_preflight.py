"""check_files: files named by a valid manifest exist, fit, match their SHA-256 and load."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from auditkit.errors import InputError
from auditkit.manifest import load_manifest
from auditkit.preflight import check_files, validate_manifest


@pytest.fixture
def submission(fixtures, tmp_path) -> Path:
    """A private copy of the fixture folder, free to modify."""
    return Path(shutil.copytree(fixtures, tmp_path / "sub"))


def edit(path: Path, old: str, new: str, name: str = "m.yaml") -> Path:
    """A manifest beside ``path`` with one exact text replacement."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    out = path.with_name(name)
    out.write_text(text.replace(old, new), encoding="utf-8")
    return out


def found(path: Path, **kwargs) -> list[str]:
    """Formatted file problems of the manifest at ``path`` (its schema must pass)."""
    return [p.format() for p in check_files(load_manifest(path), **kwargs)]


@pytest.mark.parametrize("name", ["valid.yaml", "valid.json", "valid_full.yaml"])
def test_valid_fixtures_have_no_file_problems(fixtures, name):
    assert found(fixtures / name) == []


def test_missing_file(fixtures, line_with):
    path = fixtures / "bad_missing_file.yaml"
    assert found(path) == [
        f"{path}:{line_with(path, 'no_such_image.png')}: data.images.0.file: file not found: "
        f"'arrays/no_such_image.png' (looked for {fixtures / 'arrays' / 'no_such_image.png'})"
    ]


def test_sha256_mismatch_is_reported_at_the_files_entry(fixtures, line_with):
    path = fixtures / "bad_sha256.yaml"
    assert found(path) == [
        f"{path}:{line_with(path, 'net/identity_net.py: dead')}: network.sha256.net/identity_net.py: "
        "sha256 mismatch for 'net/identity_net.py': manifest lists " + "deadbeef" * 8 +
        ", file has 4523d39cc3764d737dfc7bf883469292b001ab1b0d2efbf6f0ae2139ba514de4"
    ]


def test_mask_shape_must_equal_image_shape(fixtures, line_with):
    path = fixtures / "bad_mask_shape.yaml"
    assert found(path) == [
        f"{path}:{line_with(path, 'mask_file:')}: modality.sampling.mask_file: 'arrays/mask_64.npy' "
        "has shape (64, 64), but image_shape is (32, 32)"
    ]


def test_not_torchscript(fixtures, line_with):
    path = fixtures / "bad_not_torchscript.yaml"
    (problem,) = found(path)
    assert problem.startswith(f"{path}:{line_with(path, 'path: net/not_torchscript.pt')}: network.path: "
                              "not a TorchScript archive: ")


def test_entry_point_that_does_not_import(fixtures, line_with):
    path = fixtures / "bad_entrypoint_import.yaml"
    assert found(path) == [
        f"{path}:{line_with(path, 'entrypoint:')}: network.entrypoint: importing 'broken_import' failed: "
        "ModuleNotFoundError: No module named 'auditkit_fixture_missing_dependency'"
    ]


def test_entry_point_that_returns_no_module(fixtures, line_with):
    path = fixtures / "bad_entrypoint_result.yaml"
    assert found(path) == [
        f"{path}:{line_with(path, 'entrypoint:')}: network.entrypoint: 'returns_int:build' returned "
        "builtins.int, expected a torch.nn.Module"
    ]
    assert found(path, load_network=False) == []  # hashes alone are fine


def test_no_vendor_code_runs_when_a_hash_mismatches(submission):
    marker = submission / "ran.txt"
    (submission / "net" / "identity_net.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef build():\n    return None\n", encoding="utf-8")
    (problem,) = found(submission / "valid.yaml")
    assert "sha256 mismatch for 'net/identity_net.py'" in problem
    assert not marker.exists()


def test_unlisted_network_file(submission, line_with):
    path = edit(submission / "valid_full.yaml",
                "    net/scaled_net.safetensors: 88dd95ff362300081364476abe495fc4a05f3f07f597e3b5af7f76e3c135025c\n", "")
    (problem,) = found(path)
    assert problem.startswith(f"{path}:{line_with(path, 'sha256:')}: network.sha256: "
                              "no sha256 entry for 'net/scaled_net.safetensors'")


def test_python_network_path_must_be_py_file_or_module_folder(submission):
    text_file = edit(submission / "valid.yaml", "path: net/identity_net.py", "path: arrays/mask_32.npy")
    assert found(text_file)[0].endswith(
        "network.path: 'arrays/mask_32.npy' must be a .py file or a folder of modules for format 'python'")
    (submission / "empty").mkdir()
    folder = edit(submission / "valid.yaml", "path: net/identity_net.py", "path: empty")
    assert found(folder)[0].endswith("network.path: folder 'empty' holds no .py file")
    image_folder = edit(submission / "valid_full.yaml", "file: arrays/disk_32.png", "file: arrays")
    assert found(image_folder)[0].endswith("data.images.0.file: 'arrays' is a folder, expected a file")


def test_coil_maps_shape(submission, line_with):
    np.save(submission / "arrays" / "coil_maps_2x32.npy", np.ones((3, 32, 32), np.complex64))
    path = submission / "valid_full.yaml"
    assert found(path, load_network=False) == [
        f"{path}:{line_with(path, 'maps_file:')}: modality.coils.maps_file: 'arrays/coil_maps_2x32.npy' "
        "has shape (3, 32, 32), expected (coils, H, W) = (2, 32, 32)"
    ]


def test_unreadable_image(submission, line_with):
    (submission / "arrays" / "disk_32.png").write_bytes(b"not a png")
    path = submission / "valid_full.yaml"
    (problem,) = found(path, load_network=False)
    assert problem.startswith(f"{path}:{line_with(path, 'disk_32.png')}: data.images.0.file: 'arrays/disk_32.png': ")


def test_all_file_problems_at_once_in_line_order(submission):
    np.save(submission / "arrays" / "mask_32.npy", np.ones((16, 16), bool))
    (submission / "arrays" / "gradient_32.npy").unlink()
    (submission / "net" / "scaled_net.py").write_text("# changed\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        validate_manifest(submission / "valid_full.yaml")
    fields = [p.field for p in info.value.problems]
    assert fields == ["modality.sampling.mask_file", "network.sha256.net/scaled_net.py", "data.images.1.file"]
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines)


def test_validate_manifest_returns_the_manifest(fixtures):
    m = validate_manifest(fixtures / "valid_full.yaml")
    assert m.network.weights == fixtures / "net" / "scaled_net.safetensors"


@pytest.mark.parametrize("content,message", [
    (np.zeros((32, 32), bool), "'arrays/mask_32.npy' samples no entries"),
    (b"junk", "'arrays/mask_32.npy': "),
])
def test_unusable_mask(submission, line_with, content, message):
    mask = submission / "arrays" / "mask_32.npy"
    if isinstance(content, bytes):
        mask.write_bytes(content)
    else:
        np.save(mask, content)
    path = submission / "valid_full.yaml"
    (problem,) = found(path, load_network=False)
    assert problem.startswith(f"{path}:{line_with(path, 'mask_file:')}: modality.sampling.mask_file: {message}")


def test_png_mask_is_read_like_the_audit_reads_it(submission):
    from skimage import io

    io.imsave(submission / "arrays" / "mask.png", (np.load(submission / "arrays" / "mask_32.npy") * 255).astype(np.uint8),
              check_contrast=False)
    path = edit(submission / "valid_full.yaml", "mask_file: arrays/mask_32.npy", "mask_file: arrays/mask.png")
    assert found(path, load_network=False) == []
