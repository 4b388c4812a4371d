"""Hostile manifests made from the valid fixture by one text edit, and ``auditkit validate`` on them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from auditkit import cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"


def edited(folder: Path, old: str, new: str, base: str = "valid.yaml") -> Path:
    """``folder/m.yaml`` (``m.json`` for a JSON ``base``): the fixture ``base`` with one exact text replacement."""
    text = (folder / base).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = folder / f"m{Path(base).suffix}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def line_of(path: Path, snippet: str) -> int:
    """The 1-based line of the one line of ``path`` holding ``snippet``."""
    (line,) = [i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if snippet in text]
    return line


def validate(path: Path):
    """``auditkit validate path`` through the CLI (in process)."""
    return CliRunner().invoke(cli.app, ["validate", str(path)])
