"""SHA-256 integrity of the submitted network files, checked before anything is loaded.

Every file the loader reads or executes must be listed in ``network.sha256``
under its path relative to the manifest folder: the TorchScript archive, or the
``.py`` file, or every ``.py`` file under the module folder; and the weights
file. A missing entry is as fatal as a wrong digest, and all findings are
reported at once.

Problems name, as ``file``, the offending file relative to the manifest folder
(``/``-separated, as the sha256 keys are written), so the vendor sees which
file to fix.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from auditkit.errors import NetworkLoadError, Problem
from auditkit.fileio import sha256_bytes, sha256_file
from auditkit.networks.spec import NetworkSpecLike

_HEX64 = re.compile(r"[0-9a-f]{64}")


def manifest_relative(path: Path, manifest_dir: Path) -> str:
    """``path`` relative to the manifest folder, ``/``-separated (``..`` when outside it)."""
    target, base = path.resolve(), manifest_dir.resolve()
    try:
        return target.relative_to(base).as_posix()
    except ValueError:
        return Path(os.path.relpath(target, base)).as_posix()


def absolute(path: Path, manifest_dir: Path) -> Path:
    """``path`` itself when absolute, else resolved against the manifest folder."""
    path = Path(path)
    return path if path.is_absolute() else Path(manifest_dir) / path


def files_to_hash(spec: NetworkSpecLike, manifest_dir: Path) -> list[Path]:
    """Every file the loader will read or execute, in a fixed order.

    TorchScript: the archive. Python: the ``.py`` file, or every ``.py`` file
    under the folder (recursively, sorted). Then the weights file, if any.
    """
    path = absolute(spec.path, manifest_dir)
    if spec.format == "python" and path.is_dir():
        files = sorted(p for p in path.rglob("*.py") if p.is_file())
    else:
        files = [path]
    if spec.weights is not None:
        files.append(absolute(spec.weights, manifest_dir))
    return files


def verify_hashes(spec: NetworkSpecLike, manifest_dir: Path) -> None:
    """Raise ``NetworkLoadError`` listing every unlisted, missing or mismatching file."""
    files = files_to_hash(spec, manifest_dir)
    actual = {f: sha256_file(f) if f.is_file() else None for f in files}
    _raise_if_problems(spec, manifest_dir, actual)


def verified_contents(spec: NetworkSpecLike, manifest_dir: Path) -> dict[Path, bytes]:
    """Read each file once, check its digest, and return exactly the bytes that were checked.

    The loader deserialises these bytes rather than re-opening the files, so a
    file swapped after the check is never used.
    """
    files = files_to_hash(spec, manifest_dir)
    contents = {f: f.read_bytes() for f in files if f.is_file()}
    actual = {f: sha256_bytes(contents[f]) if f in contents else None for f in files}
    _raise_if_problems(spec, manifest_dir, actual)
    return contents


def _raise_if_problems(spec: NetworkSpecLike, manifest_dir: Path, actual: dict[Path, str | None]) -> None:
    """Compare computed digests (None: file absent) with the manifest's, raising on any finding."""
    listed = _listed_digests(spec, manifest_dir)
    weights = absolute(spec.weights, manifest_dir).resolve() if spec.weights is not None else None
    problems: list[Problem] = []
    for path, digest in actual.items():
        rel = manifest_relative(path, manifest_dir)
        key = path.resolve()
        if digest is None:
            field = "network.weights" if key == weights else "network.path"
            problems.append(Problem(file=rel, field=field, message=f"file not found: {path}"))
        elif key not in listed:
            problems.append(Problem(
                file=rel, field="network.sha256",
                message=f"no sha256 entry for '{rel}' (the file's digest is {digest}); "
                        "every file that is read or executed must be listed"))
        elif listed[key] != digest:
            problems.append(Problem(
                file=rel, field="network.sha256",
                message=f"sha256 mismatch for '{rel}': manifest lists {listed[key]}, file has {digest}"))
    if problems:
        raise NetworkLoadError(problems)


def _listed_digests(spec: NetworkSpecLike, manifest_dir: Path) -> dict[Path, str]:
    """The manifest's sha256 table keyed by resolved path; digests lower-cased and stripped."""
    table: dict[Path, str] = {}
    for key, digest in spec.sha256.items():
        path = (Path(manifest_dir) / key.replace("\\", "/")).resolve()
        value = str(digest).strip().lower()
        table[path] = value if _HEX64.fullmatch(value) else f"{digest!r} (not 64 hex digits)"
    return table
