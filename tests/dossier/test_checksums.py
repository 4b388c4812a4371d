"""SHA256SUMS: deterministic, sha256sum-compatible, and every change, loss or addition reported."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from auditkit.dossier.checksums import FileStatus, check_sums, read_sums, write_sums


@pytest.fixture
def root(tmp_path):
    (tmp_path / "arrays").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "evidence.json").write_bytes(b"{}\n")
    (tmp_path / "arrays" / "b.npz").write_bytes(b"\x00\x01binary")
    (tmp_path / "figures" / "a b.png").write_bytes(b"png")
    (tmp_path / "SHA256SUMS.p7s").write_bytes(b"sig")
    return tmp_path


def test_lines_are_sorted_sha256sum_format_and_cover_everything_but_itself(root):
    path = write_sums(root)
    lines = path.read_text().splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == ["arrays/b.npz", "evidence.json", "figures/a b.png"]
    assert lines[0] == hashlib.sha256(b"\x00\x01binary").hexdigest() + "  arrays/b.npz"
    before = path.read_bytes()
    assert write_sums(root).read_bytes() == before  # deterministic, and SHA256SUMS never lists itself
    assert read_sums(path)["evidence.json"] == hashlib.sha256(b"{}\n").hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_sha256sum_check_accepts_it(root):
    write_sums(root)
    done = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_reports_changed_missing_and_unlisted(root):
    write_sums(root)
    assert all(status == FileStatus.OK for _, status in check_sums(root))
    (root / "evidence.json").write_bytes(b"{ }\n")
    (root / "arrays" / "b.npz").unlink()
    (root / "figures" / "new.svg").write_bytes(b"<svg/>")
    assert dict(check_sums(root)) == {
        "arrays/b.npz": FileStatus.MISSING,
        "evidence.json": FileStatus.CHANGED,
        "figures/a b.png": FileStatus.OK,
        "figures/new.svg": FileStatus.UNLISTED,
    }


@pytest.mark.parametrize("line", ["nothex  evidence.json", "ab" * 32 + " evidence.json", "ab" * 32 + "  ../etc/passwd"])
def test_malformed_lines_are_named(root, line):
    (root / "SHA256SUMS").write_text(line + "\n")
    with pytest.raises(ValueError, match="line 1"):
        read_sums(root / "SHA256SUMS")


def test_symlinks_are_refused(root):
    (root / "link.json").symlink_to(root / "evidence.json")
    with pytest.raises(ValueError, match="symbolic links"):
        write_sums(root)
