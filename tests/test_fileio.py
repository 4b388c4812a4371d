"""write_atomic leaves the old file or the whole new one; the debris of a killed write is recognisable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auditkit.fileio import sha256_bytes, sha256_file, stale_temporaries, write_atomic


def test_write_atomic_writes_text_and_bytes(tmp_path: Path) -> None:
    assert write_atomic(tmp_path / "a.txt", "grüße").read_bytes() == "grüße".encode()
    assert write_atomic(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert sha256_file(tmp_path / "b.bin") == sha256_bytes(b"\x00\x01")


def test_write_atomic_uses_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    target = write_atomic(tmp_path / "a.txt", "old")

    def refuse(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_stale_temporaries_finds_only_write_atomic_debris(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    debris = [tmp_path / ".evidence.json.0123456789ab.tmp", tmp_path / "sub" / ".x.npz.abcdef012345.tmp"]
    kept = [tmp_path / ".hidden.tmp", tmp_path / "notes.tmp", tmp_path / ".a.txt.xyz.tmp", tmp_path / "a.txt"]
    for path in debris + kept:
        path.write_text("")
    assert list(stale_temporaries(tmp_path)) == sorted(debris)
