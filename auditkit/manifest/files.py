"""Checks of the files a valid manifest names: present, consistent, hash-verified, loadable.

These run after the schema has passed, because they need its values (the image
shape to compare a mask with, the sha256 table). Every problem is collected and
located at the line of the field that names the file. The network is loaded
(which executes the vendor's code) only when all its files exist and every
SHA-256 matches; ``auditkit.networks.loader.load_module`` checks the hashes
before anything is imported, so a mismatch is reported without running code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditkit.errors import InputError, NetworkLoadError, Problem
from auditkit.manifest.load import load_manifest, source_of
from auditkit.manifest.models import Manifest
from auditkit.manifest.paths import ManifestPath
from auditkit.manifest.source import Loc, ManifestSource

#: Fields whose file may be a folder (a Python network's modules).
_FOLDER_ALLOWED: tuple[Loc, ...] = (("network", "path"),)
_NETWORK_FIELDS: tuple[Loc, ...] = (("network", "path"), ("network", "weights"))


def validate_manifest(path: Path | str, *, load_network: bool = True, signing: bool = True) -> Manifest:
    """``load_manifest`` then ``check_files``; raise ``InputError`` with every problem, else return the manifest.

    ``signing=False`` skips the signing block's files (``reproduce`` re-runs an archived manifest,
    whose signing key is never archived).
    """
    manifest = load_manifest(path)
    problems = check_files(manifest, load_network=load_network, signing=signing)
    if problems:
        raise InputError(problems)
    return manifest


def check_files(manifest: Manifest, *, load_network: bool = True, signing: bool = True) -> list[Problem]:
    """Every problem with the files ``manifest`` names, sorted by line.

    Existence of every path; a Python network's path is a ``.py`` file or a folder
    with ``.py`` files; the mask, the coil maps and each test image are read by the
    same functions the audit uses (so the mask's shape must equal
    ``modality.image_shape``, coil maps must have shape (count, H, W)); then the
    network's SHA-256 table, and (with ``load_network``) the network itself is built.
    """
    source = source_of(manifest)
    problems: list[Problem] = []
    missing: set[Loc] = set()
    for loc, path in manifest.file_fields():
        if not signing and loc[0] == "signing":
            continue
        message = _existence_problem(loc, path, manifest)
        if message is not None:
            problems.append(source.problem(loc, message))
            missing.add(loc)
    problems += _mask_problems(manifest, source, missing)
    problems += _coil_map_problems(manifest, source, missing)
    problems += _image_problems(manifest, source, missing)
    if not missing.intersection(_NETWORK_FIELDS):
        probe = not problems  # the probe needs the operator, which needs a readable mask and coil maps
        problems += _network_problems(manifest, source, load_network, probe=probe)
    return sorted(problems, key=lambda p: p.line or 0)


def _existence_problem(loc: Loc, path: ManifestPath, manifest: Manifest) -> str | None:
    """Why the file at ``loc`` cannot be used as a file (or module folder), or None."""
    if not path.exists():
        return f"file not found: '{path.given}' (looked for {path})"
    if path.is_dir():
        if loc not in _FOLDER_ALLOWED or manifest.network.format != "python":
            return f"'{path.given}' is a folder, expected a file"
        if not any(p.is_file() for p in path.rglob("*.py")):
            return f"folder '{path.given}' holds no .py file"
    elif loc == ("network", "path") and manifest.network.format == "python" and path.suffix != ".py":
        return f"'{path.given}' must be a .py file or a folder of modules for format 'python'"
    return None


def _mask_problems(manifest: Manifest, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """The mask file must be readable, sample something and have shape ``image_shape``."""
    loc = ("modality", "sampling", "mask_file")
    path = manifest.modality.sampling.mask_file
    if path is None or loc in missing:
        return []
    from auditkit.operators.masks import mask_from_file

    return _reader_problems(source, loc, path, lambda: mask_from_file(path, manifest.modality.image_shape))


def _coil_map_problems(manifest: Manifest, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """Coil maps must be a finite array of shape (count, H, W)."""
    coils = manifest.modality.coils
    loc = ("modality", "coils", "maps_file")
    if coils is None or coils.maps_file is None or loc in missing:
        return []
    from auditkit.operators.coils import load_coil_maps

    path = coils.maps_file
    return _reader_problems(source, loc, path, lambda: load_coil_maps(path, coils.count, manifest.modality.image_shape))


def _image_problems(manifest: Manifest, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """Each test image file must be readable as one 2-D image with the slice/frame given."""
    from auditkit.data.files import load_image

    problems = []
    for i, image in enumerate(manifest.data.images):
        loc = ("data", "images", i, "file")
        if loc not in missing:
            problems += _reader_problems(source, loc, image.file, lambda image=image: load_image(
                image.file, slice_axis=image.slice_axis, slice_index=image.slice_index, frame=image.frame))
    return problems


def _reader_problems(source: ManifestSource, loc: Loc, path: ManifestPath, read: Callable[[], object]) -> list[Problem]:
    """Run the reader the audit itself uses on ``path``; its complaint becomes a problem at ``loc``.

    The readers name the absolute path in their messages; it is replaced by the
    path as the manifest wrote it.
    """
    try:
        read()
    except (ValueError, OSError) as exc:
        message = " ".join(str(exc).split())
        _, found, rest = message.partition(str(path))
        return [source.problem(loc, f"'{path.given}'{rest}" if found else f"'{path.given}': {message}")]
    return []


def _network_problems(manifest: Manifest, source: ManifestSource, load_network: bool, *, probe: bool) -> list[Problem]:
    """Hash check, and with ``load_network`` the network built and (with ``probe``) called once on the
    manifest's operator, so a wrong input/output convention or a NaN output is found before any audit."""
    try:
        if load_network and probe:
            from auditkit.networks.loader import load_network as load_and_probe
            from auditkit.operators.factory import build_operator

            load_and_probe(manifest.network, manifest.folder, build_operator(manifest.modality))
        elif load_network:
            from auditkit.networks.loader import load_module

            load_module(manifest.network, manifest.folder)
        else:
            from auditkit.networks.hashing import verify_hashes

            verify_hashes(manifest.network, manifest.folder)
    except NetworkLoadError as exc:
        return [_at_manifest_field(p, manifest, source) for p in exc.problems]
    return []


def _at_manifest_field(problem: Problem, manifest: Manifest, source: ManifestSource) -> Problem:
    """A network loader problem (``file`` = network file) moved to the manifest line of its field.

    For a sha256 finding the line is that of the file's own entry in the table when it has one.
    """
    loc: Loc = tuple(problem.field.split(".")) if problem.field else ("network",)
    if loc == ("network", "sha256"):
        target = (manifest.folder / str(problem.file)).resolve()
        for key in manifest.network.sha256:
            if (manifest.folder / key).resolve() == target:
                loc += (key,)
                break
    return source.problem(loc, problem.message)
