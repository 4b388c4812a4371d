"""How full each page of a rendered dossier is, and which pages are near-empty in the middle of a section."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

#: a page whose content reaches less than this share of the body's height is near-empty.
MIN_FILL = 1 / 3
#: the body of an A4 page without the running header and footer, as shares of its height.
BODY = (0.08, 0.93)


def tools_missing() -> str | None:
    """The poppler tool this needs that is not installed, or None."""
    return next((t for t in ("pdftoppm", "pdftotext") if shutil.which(t) is None), None)


def fills(pdf: Path) -> list[float]:
    """Per page: how far down the body its last ink reaches (0 empty, 1 full)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pdftoppm", "-r", "30", "-gray", "-png", str(pdf), f"{tmp}/p"], check=True)
        out = []
        for png in sorted(Path(tmp).glob("p-*.png")):
            a = np.asarray(Image.open(png), dtype=float)
            top, bottom = int(BODY[0] * a.shape[0]), int(BODY[1] * a.shape[0])
            rows = np.flatnonzero((a[top:bottom] < 200).any(axis=1))
            out.append((rows.max() + 1) / (bottom - top) if rows.size else 0.0)
    return out


def section_starts(pdf: Path, html: Path, pages: int) -> list[bool]:
    """Per page: whether it begins a chapter (its first body line is one of the HTML's h2 titles)."""
    titles = [" ".join(re.sub(r"<[^>]+>", "", t).split()) for t in re.findall(r"<h2[^>]*>(.*?)</h2>", html.read_text(encoding="utf-8"), re.S)]
    starts = []
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
        body = lines[1] if len(lines) > 1 else ""
        starts.append(any(t and body.startswith(t[:25]) for t in titles))
    return starts


def sparse_pages(pdf: Path, html: Path) -> list[tuple[int, float]]:
    """(page number, fill) of every page under ``MIN_FILL`` that is not the last of its section."""
    fill = fills(pdf)
    starts = section_starts(pdf, html, len(fill))
    last = [i + 1 == len(fill) or starts[i + 1] for i in range(len(fill))]
    return [(i + 1, round(f, 2)) for i, f in enumerate(fill) if f < MIN_FILL and not last[i]]
