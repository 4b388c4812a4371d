"""Reading the files embedded in a PDF, so that verification can compare them with the dossier's own."""

from __future__ import annotations

from pathlib import Path


def pdf_attachments(path: Path | str) -> dict[str, bytes]:
    """The embedded files of a PDF (``/Names /EmbeddedFiles`` name tree), by name, decoded."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    found: dict[str, bytes] = {}
    with open(path, "rb") as fh:
        root = PdfFileReader(fh, strict=False).root
        names = _entry(root, "/Names")
        tree = _entry(names, "/EmbeddedFiles") if names is not None else None
        if tree is not None:
            _walk_name_tree(tree, found)
    return found


def _walk_name_tree(node, found: dict[str, bytes], depth: int = 0) -> None:
    """Collect ``name → file bytes`` from a name-tree node and its kids (depth-limited against loops)."""
    if depth > 32:
        raise ValueError("embedded-file name tree is nested too deeply")
    entries = _entry(node, "/Names")
    if entries is not None:
        for i in range(0, len(entries) - 1, 2):
            streams = entries[i + 1]["/EF"]
            found[str(entries[i])] = (streams["/UF"] if "/UF" in streams else streams["/F"]).data
    kids = _entry(node, "/Kids")
    for index in range(len(kids) if kids is not None else 0):
        _walk_name_tree(kids[index], found, depth + 1)


def _entry(dictionary, key: str):
    """``dictionary[key]`` with indirect references resolved, or None when absent."""
    return dictionary[key] if key in dictionary else None
