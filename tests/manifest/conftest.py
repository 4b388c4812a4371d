"""Fixture manifests and a way to find the line a snippet is written on (instead of magic line numbers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


@pytest.fixture
def fixtures() -> Path:
    """Folder of the fixture manifests."""
    return FIXTURES


@pytest.fixture
def line_with() -> Callable[[Path, str], int]:
    """``line_with(path, snippet)``: the 1-based line of the one line of ``path`` containing ``snippet``."""

    def find(path: Path, snippet: str) -> int:
        hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if snippet in line]
        assert len(hits) == 1, f"{snippet!r} occurs on lines {hits} of {path}"
        return hits[0]

    return find


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """``write(name, text)``: a file in a fresh temporary folder."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
