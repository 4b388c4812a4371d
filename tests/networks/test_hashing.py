"""Hash checking of submission files: what must be listed, what is reported, all at once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from auditkit.errors import NetworkLoadError
from auditkit.fileio import sha256_file
from auditkit.networks.hashing import files_to_hash, manifest_relative, verified_contents, verify_hashes

from .conftest import Spec, write_files


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # > 2 MiB: several 1 MiB chunks
    (tmp_path / "blob").write_bytes(data)
    assert sha256_file(tmp_path / "blob") == hashlib.sha256(data).hexdigest()


def test_files_to_hash_lists_every_py_under_a_folder_and_the_weights(tmp_path: Path) -> None:
    write_files(tmp_path, {"net/model.py": "", "net/sub/layers.py": "", "net/notes.txt": "", "w.pt": b"x"})
    spec = Spec(path=tmp_path / "net", weights=tmp_path / "w.pt")
    rel = [manifest_relative(p, tmp_path) for p in files_to_hash(spec, tmp_path)]
    assert rel == ["net/model.py", "net/sub/layers.py", "w.pt"]


def test_files_to_hash_single_file_and_torchscript(tmp_path: Path) -> None:
    write_files(tmp_path, {"model.py": "", "other.py": "", "net.ts": b"x"})
    assert files_to_hash(Spec(path=tmp_path / "model.py"), tmp_path) == [tmp_path / "model.py"]
    assert files_to_hash(Spec(format="torchscript", path=Path("net.ts")), tmp_path) == [tmp_path / "net.ts"]


def test_verify_accepts_equivalent_keys_and_upper_case_digests(tmp_path: Path) -> None:
    table = write_files(tmp_path, {"net/model.py": "x = 1\n"})
    spec = Spec(path=tmp_path / "net", sha256={"./net/model.py": table["net/model.py"].upper()})
    verify_hashes(spec, tmp_path)
    assert verified_contents(spec, tmp_path) == {tmp_path / "net/model.py": b"x = 1\n"}


def test_every_missing_entry_and_mismatch_is_reported_at_once(tmp_path: Path) -> None:
    table = write_files(tmp_path, {"net/model.py": "", "net/util.py": "", "w.safetensors": b"w"})
    spec = Spec(path=tmp_path / "net", weights=tmp_path / "w.safetensors",
                sha256={"net/model.py": "0" * 64, "w.safetensors": table["w.safetensors"]})
    for check in (verify_hashes, verified_contents):
        with pytest.raises(NetworkLoadError) as info:
            check(spec, tmp_path)
        problems = {p.file: p for p in info.value.problems}
        assert set(problems) == {"net/model.py", "net/util.py"}
        assert all(p.field == "network.sha256" for p in problems.values())
        assert "mismatch" in problems["net/model.py"].message and "0" * 64 in problems["net/model.py"].message
        assert "no sha256 entry" in problems["net/util.py"].message
        assert table["net/util.py"] in problems["net/util.py"].message


def test_malformed_digest_is_a_mismatch(tmp_path: Path) -> None:
    write_files(tmp_path, {"model.py": ""})
    with pytest.raises(NetworkLoadError, match="not 64 hex digits"):
        verify_hashes(Spec(path=tmp_path / "model.py", sha256={"model.py": "abc"}), tmp_path)


def test_missing_files_are_reported_against_their_field(tmp_path: Path) -> None:
    spec = Spec(path=tmp_path / "absent.py", weights=tmp_path / "absent.pt")
    with pytest.raises(NetworkLoadError) as info:
        verify_hashes(spec, tmp_path)
    assert [(p.file, p.field) for p in info.value.problems] == [
        ("absent.py", "network.path"), ("absent.pt", "network.weights")]
