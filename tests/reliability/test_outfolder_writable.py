"""An --out the finished dossier could not be moved onto is refused before the audit, not after it
(issue 12, section 4, item 3). Permissions do not bind root, so those cases run as an ordinary user."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditkit import pipeline
from auditkit.dossier import outfolder
from auditkit.cli import app
from auditkit.errors import InputError
from auditkit.dossier.outfolder import check_out_folder

from .unprivileged import as_user, is_root, world_folder


def _never(*args, **kwargs):
    raise AssertionError("the refused run went on to prepare the audit")


def _refusal(out: Path) -> str:
    """What check_out_folder says about ``out``, run as an ordinary user ('' when it accepts it)."""

    def check() -> str:
        try:
            check_out_folder(out)
        except InputError as exc:
            return str(exc)
        return ""

    return as_user(check)


def test_a_read_only_parent_is_refused_before_the_audit_with_exit_2(tiny_manifest: Path, monkeypatch):
    monkeypatch.setattr(pipeline, "prepare", _never)
    with world_folder() as shared:
        parent = shared / "read-only"
        parent.mkdir()
        parent.chmod(0o555)
        out = parent / "dossier"

        def run() -> tuple[int, str]:
            result = CliRunner().invoke(app, ["run", str(tiny_manifest), "--out", str(out), "--quick"])
            return result.exit_code, result.stderr

        code, stderr = as_user(run)
        assert code == 2, stderr
        assert stderr == (
            f"{out}: --out: cannot write in {parent}: Permission denied "
            "(the dossier is built beside --out, then moved into place)\n"
        )
        assert list(parent.iterdir()) == []


def test_a_missing_out_under_a_read_only_folder_is_refused():
    with world_folder() as shared:
        (shared / "ro").mkdir()
        (shared / "ro").chmod(0o555)
        assert "cannot write in" in _refusal(shared / "ro" / "new" / "deeper" / "dossier")


@pytest.mark.skipif(not is_root(), reason="needs a folder owned by another user (the suite runs as root to make one)")
def test_an_empty_out_that_cannot_be_renamed_is_refused():
    with world_folder() as shared:
        sticky = shared / "sticky"
        sticky.mkdir()
        sticky.chmod(0o1777)  # like /tmp: anyone may add files, only owners rename theirs
        out = sticky / "dossier"
        out.mkdir()
        message = _refusal(out)
        assert message.startswith(f"{out}: --out: cannot be replaced: {sticky} has the sticky bit")


def test_an_earlier_dossier_that_cannot_be_emptied_is_refused():
    with world_folder() as shared:
        parent = shared / "writable"
        parent.mkdir()
        parent.chmod(0o777)
        out = parent / "dossier"
        (out / "figures").mkdir(parents=True)
        (out / "evidence.json").write_text("{}")
        if not is_root():
            (out / "figures").chmod(0o555)
        message = _refusal(out)
        assert "cannot be replaced: no permission to remove the files in" in message


def test_a_mount_point_is_refused(tmp_path: Path, monkeypatch):
    out = tmp_path / "mounted"
    out.mkdir()
    monkeypatch.setattr(outfolder.os.path, "ismount", lambda path: Path(path) == out)
    with pytest.raises(InputError, match="is a mount point .* which needs one filesystem"):
        check_out_folder(out)


def test_a_symbolic_link_is_refused(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(InputError, match="is a symbolic link"):
        check_out_folder(tmp_path / "link")


def test_the_current_folder_or_its_parent_is_refused(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (".", "..", "sub/.."):
        with pytest.raises(InputError, match="must name the dossier's folder itself"):
            check_out_folder(Path(name))


def test_the_probe_leaves_nothing_behind(tmp_path: Path):
    check_out_folder(tmp_path / "out")
    assert os.listdir(tmp_path) == []
