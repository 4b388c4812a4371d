"""--out holds nothing but an earlier dossier, or the run refuses before any work, naming what else is there
(issue 12, section 4, item 2); what a dossier consists of is named in one place (auditkit.dossier.layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditkit import pipeline
from auditkit.cli import app
from auditkit.dossier.checksums import write_sums
from auditkit.dossier.layout import Stray, StrayKind, staging_dir, strays
from auditkit.dossier.outfolder import check_out_folder
from auditkit.errors import InputError
from auditkit.evidence import Evidence
from auditkit.pipeline import RunOptions, run_audit


def _earlier_dossier(out: Path) -> Path:
    """A small sealed dossier as an earlier run leaves it (evidence, arrays, figures, log, SHA256SUMS)."""
    for folder in ("arrays", "figures", "inputs/net"):
        (out / folder).mkdir(parents=True)
    (out / "evidence.json").write_text('{"earlier": true}\n')
    (out / "arrays" / "sampling.npz").write_bytes(b"earlier arrays")
    (out / "figures" / "sampling.png").write_bytes(b"earlier figure")
    (out / "inputs" / "net" / "identity_net.py").write_text("# earlier input\n")
    (out / "audit.log").write_text("{}\n")
    write_sums(out)
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _never(*args, **kwargs):
    raise AssertionError("the refused run went on to prepare the audit")


def _run(manifest: Path, out: Path):
    return CliRunner().invoke(app, ["run", str(manifest), "--out", str(out), "--checks", "sampling", "--quick"])


def test_an_earlier_dossier_with_a_users_file_is_refused_naming_it(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    out = _earlier_dossier(tmp_path / "out")
    (out / "notes.txt").write_text("my review notes")
    before = _snapshot(out)
    monkeypatch.setattr(pipeline, "prepare", _never)
    result = _run(tiny_manifest, out)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{out}: --out: holds notes.txt, which is not part of the earlier dossier there;")
    assert _snapshot(out) == before
    assert not staging_dir(out).exists()


@pytest.mark.parametrize(
    "added,named",
    [
        ("figures/extra.png", "figures/extra.png"),
        ("review/notes.txt", "review/ (folder)"),
        ("inputs/mine/a.txt", "inputs/mine/ (folder)"),
    ],
)
def test_files_added_inside_or_beside_the_dossier_folders_are_named(tmp_path: Path, added: str, named: str):
    out = _earlier_dossier(tmp_path / "out")
    (out / added).parent.mkdir(parents=True, exist_ok=True)
    (out / added).write_text("user's")
    with pytest.raises(InputError) as refused:
        check_out_folder(out)
    (problem,) = refused.value.problems
    assert problem.message.startswith(f"holds {named}, which is not part of the earlier dossier there;")


def test_a_folder_that_is_no_dossier_is_refused_naming_its_entries(tmp_path: Path):
    out = tmp_path / "mine"
    (out / "chapters").mkdir(parents=True)
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match=r"is not an auditkit output folder \(it holds chapters/ \(folder\), thesis.tex\)"):
        check_out_folder(out)


def test_a_dossier_without_readable_sums_cannot_vouch_for_its_folders(tmp_path: Path):
    out = _earlier_dossier(tmp_path / "out")
    (out / "SHA256SUMS").unlink()
    with pytest.raises(InputError, match="no readable SHA256SUMS"):
        check_out_folder(out)


def test_an_earlier_dossier_alone_is_replaced(tiny_manifest: Path, tmp_path: Path):
    out = _earlier_dossier(tmp_path / "out")
    run_audit(tiny_manifest, RunOptions(out=out, checks=["sampling"], quick=True), render=False)
    assert Evidence.read(out / "evidence.json").checks[0].name == "sampling"
    assert not (out / "figures" / "sampling.png").exists()
    assert not staging_dir(out).exists() and not (tmp_path / ".out.old").exists()


def test_the_layout_names_every_stray_once(tmp_path: Path):
    root = _earlier_dossier(tmp_path / "d")
    (root / "figures" / "empty").mkdir()
    (root / "notes").mkdir()
    (root / "notes" / "a.txt").write_text("x")
    (root / "figures" / "unlisted.svg").write_text("<svg/>")
    (root / "arrays" / "link.npz").symlink_to(root / "arrays" / "sampling.npz")
    (root / "extra.json").write_text("{}")
    listed = {"arrays/sampling.npz", "figures/sampling.png", "inputs/net/identity_net.py"}
    assert strays(root, listed) == [
        Stray("arrays/link.npz", StrayKind.LINK),
        Stray("extra.json", StrayKind.FILE),
        Stray("figures/empty", StrayKind.FOLDER),
        Stray("figures/unlisted.svg", StrayKind.FILE),
        Stray("notes", StrayKind.FOLDER),
    ]
    # without a list, files inside the dossier folders are taken to belong; folders, links and extras are still named
    assert [s.path for s in strays(root, None)] == ["arrays/link.npz", "extra.json", "figures/empty", "notes"]


def test_empty_dossier_folders_are_part_of_a_dossier(tmp_path: Path):
    for folder in ("arrays", "figures", "inputs"):
        (tmp_path / folder).mkdir()
    (tmp_path / "evidence.json").write_text("{}")
    assert strays(tmp_path, set()) == []
