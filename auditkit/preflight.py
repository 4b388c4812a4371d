"""Checks of what a manifest names on this machine: files present, consistent, hash-verified and
loadable; enough memory for the audit; the device and the signing password it asks for.

These need the schema's values (the image shape to compare a mask with, the sha256 table),
so they run on the sections that passed it: the whole manifest when it is valid, else each
root section that is valid on its own, so that one pass reports the schema's problems and
the missing files of the other sections together. Every problem is collected and located at
the line of the field it concerns. The network is loaded (which executes the vendor's code)
only when the whole manifest is valid, all its files exist and every SHA-256 matches;
``auditkit.networks.loader.load_module`` checks the hashes before anything is imported, so
a mismatch is reported without running code. It is probed (called on the manifest's
operator) only when nothing else is wrong, the memory estimate included, since building the
operator allocates what the estimate counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from auditkit.errors import InputError, NetworkLoadError, Problem
from auditkit.manifest import memory
from auditkit.manifest.load import ParsedManifest, parse_manifest, source_of
from auditkit.manifest.models import Checks, Data, Manifest, Modality, Network, Signing, paths_in
from auditkit.manifest.paths import ManifestPath
from auditkit.manifest.source import Loc, ManifestSource

#: Fields whose file may be a folder (a Python network's modules).
_FOLDER_ALLOWED: tuple[Loc, ...] = (("network", "path"),)
_NETWORK_FIELDS: tuple[Loc, ...] = (("network", "path"), ("network", "weights"))
#: Where a memory problem is reported: the size that drives the estimate most.
_MEMORY_FIELD: Loc = ("modality", "image_shape")

SectionModel = TypeVar("SectionModel", bound=BaseModel)


@dataclass(frozen=True)
class Sections:
    """The sections whose files and settings can be checked, with where they were read from.

    ``complete`` is true when they come from a manifest that passed the whole schema: only then
    is the network executed. A section that did not validate is None.
    """

    source: ManifestSource
    folder: Path
    modality: Modality | None
    network: Network | None
    data: Data | None
    checks: Checks | None
    signing: Signing | None
    complete: bool

    @classmethod
    def of(cls, manifest: Manifest) -> Sections:
        """Every section of a valid manifest."""
        return cls(source_of(manifest), manifest.folder, manifest.modality, manifest.network, manifest.data,
                   manifest.checks, manifest.signing, complete=True)

    @classmethod
    def valid_in(cls, parsed: ParsedManifest) -> Sections:
        """The sections of a manifest that failed the schema that are valid on their own."""

        def valid(name: str, model: type[SectionModel]) -> SectionModel | None:
            """Section ``name`` if it validated as ``model``, else None."""
            section = parsed.sections.get(name)
            return section if isinstance(section, model) else None

        return cls(parsed.source, parsed.source.folder, valid("modality", Modality), valid("network", Network),
                   valid("data", Data), valid("checks", Checks), valid("signing", Signing), complete=False)

    def file_fields(self, *, signing: bool) -> Iterator[tuple[Loc, ManifestPath]]:
        """Every file path of the present sections with its location (the signing block's only with ``signing``)."""
        named = {"modality": self.modality, "network": self.network, "data": self.data}
        if signing:
            named["signing"] = self.signing
        for name, section in named.items():
            if section is not None:
                yield from paths_in(section, (name,))


def validate_manifest(path: Path | str, *, load_network: bool = True, signing: bool = True) -> Manifest:
    """Schema, then files and machine (``check_files``); raise ``InputError`` with every problem, else return the manifest.

    When the schema fails, the sections that are valid on their own still have their files,
    sha256 entries and hashes checked (the network is not executed), and everything is
    reported together. ``signing=False`` skips the signing block's files and password
    (``reproduce`` re-runs an archived manifest, whose signing key is never archived).
    """
    parsed = parse_manifest(path)
    if parsed.manifest is not None and not parsed.problems:
        problems = check_files(parsed.manifest, load_network=load_network, signing=signing)
    else:
        problems = parsed.problems + check_sections(Sections.valid_in(parsed), load_network=False, signing=signing)
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.line or 0))
    assert parsed.manifest is not None
    return parsed.manifest


def check_files(manifest: Manifest, *, load_network: bool = True, signing: bool = True) -> list[Problem]:
    """Every problem with the files ``manifest`` names and with this machine, sorted by line (see ``check_sections``)."""
    return check_sections(Sections.of(manifest), load_network=load_network, signing=signing)


def check_sections(sections: Sections, *, load_network: bool = True, signing: bool = True) -> list[Problem]:
    """Every problem with the files the sections name and with this machine, sorted by line.

    The audit's memory estimate against the memory available; a ``cuda`` device where there
    is none; an unset signing password (with ``signing``). Existence of every path and of every
    sha256 entry's file; a Python network's path is a ``.py`` file or a folder with ``.py``
    files; the mask, the coil maps and each test image are read by the same functions the audit
    uses (so the mask's shape must equal ``modality.image_shape``, coil maps must have shape
    (count, H, W)); then the network's SHA-256 table, and (with ``load_network``, for a complete
    manifest) the network itself is built, and probed when nothing else is wrong.
    """
    source = sections.source
    problems = _memory_problems(sections) + _device_problems(sections)
    if signing:
        problems += _password_problems(sections)
    missing: set[Loc] = set()
    for loc, path in sections.file_fields(signing=signing):
        message = _existence_problem(loc, path, sections)
        if message is not None:
            problems.append(source.problem(loc, message))
            missing.add(loc)
    problems += _sha256_entry_problems(sections)
    if sections.modality is not None:
        problems += _mask_problems(sections.modality, source, missing)
        problems += _coil_map_problems(sections.modality, source, missing)
    if sections.data is not None:
        problems += _image_problems(sections.data, source, missing)
        problems += _raw_problems(sections.data, sections.modality, source, missing)
    if sections.network is not None and not missing.intersection(_NETWORK_FIELDS):
        probe = not problems and sections.modality is not None  # the probe builds the operator
        problems += _network_problems(sections, load_network and sections.complete, probe=probe)
    return sorted(problems, key=lambda p: p.line or 0)


def _memory_problems(sections: Sections) -> list[Problem]:
    """The audit's estimated peak memory (``auditkit.manifest.memory``) must fit in what the machine has available."""
    if sections.modality is None or sections.data is None or sections.checks is None:
        return []
    trained = sections.network.trained_n_angles if sections.network is not None else None
    needed = memory.estimate_memory(sections.modality, sections.data, sections.checks, trained)
    available = memory.available_memory_bytes()
    if available is None or needed.total <= available:
        return []
    return [sections.source.problem(_MEMORY_FIELD, (
        f"the audit would need about {memory.gib(needed.total)} (mostly {needed.largest}), this machine has "
        f"{memory.gib(available)} available; use a smaller image_shape or fewer images, restarts or draws per batch"))]


def _device_problems(sections: Sections) -> list[Problem]:
    """``device: cuda`` needs a CUDA device on this machine (the rule of ``auditkit.networks.loader.resolve_device``)."""
    network = sections.network
    if network is None or network.device != "cuda":
        return []
    from auditkit.networks.loader import resolve_device

    try:
        resolve_device(network.device)
    except NetworkLoadError as exc:
        return [sections.source.problem(("network", "device"), f"{p.message} on this machine") for p in exc.problems]
    return []


def _password_problems(sections: Sections) -> list[Problem]:
    """The environment variable ``signing.password_env`` names must hold the key's password (as signing reads it)."""
    if sections.signing is None:
        return []
    from auditkit.key_password import password_from_env

    loc = ("signing", "password_env")
    try:
        password_from_env(sections.signing.password_env, file=sections.source.file, field=".".join(loc))
    except InputError as exc:
        return [sections.source.problem(loc, p.message) for p in exc.problems]
    return []


def _sha256_entry_problems(sections: Sections) -> list[Problem]:
    """Each network.sha256 key must name a file (an entry for a file that is not there is a typo)."""
    network = sections.network
    if network is None:
        return []
    problems = []
    for key in network.sha256:
        path = ManifestPath.resolve_against(key, sections.folder)
        if path.is_dir():
            problems.append(sections.source.problem(("network", "sha256", key), (
                f"'{key}' is a folder; list each file under it that is read or executed")))
        elif not path.is_file():
            problems.append(sections.source.problem(("network", "sha256", key), f"no such file: '{key}' (looked for {path})"))
    return problems


def _existence_problem(loc: Loc, path: ManifestPath, sections: Sections) -> str | None:
    """Why the file at ``loc`` cannot be used as a file (or module folder), or None."""
    python = sections.network is not None and sections.network.format == "python"
    if not path.exists():
        return f"file not found: '{path.given}' (looked for {path})"
    if path.is_dir():
        if loc not in _FOLDER_ALLOWED or not python:
            return f"'{path.given}' is a folder, expected a file"
        if not any(p.is_file() for p in path.rglob("*.py")):
            return f"folder '{path.given}' holds no .py file"
    elif loc == ("network", "path") and python and path.suffix != ".py":
        return f"'{path.given}' must be a .py file or a folder of modules for format 'python'"
    return None


def _mask_problems(modality: Modality, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """The mask file must be readable, sample something and have shape ``image_shape``."""
    loc = ("modality", "sampling", "mask_file")
    path = modality.sampling.mask_file
    if path is None or loc in missing:
        return []
    from auditkit.operators.masks import mask_from_file

    return _reader_problems(source, loc, path, lambda: mask_from_file(path, modality.image_shape))


def _coil_map_problems(modality: Modality, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """Coil maps must be a finite array of shape (count, H, W)."""
    coils = modality.coils
    loc = ("modality", "coils", "maps_file")
    if coils is None or coils.maps_file is None or loc in missing:
        return []
    from auditkit.operators.coils import load_coil_maps

    path = coils.maps_file
    return _reader_problems(source, loc, path, lambda: load_coil_maps(path, coils.count, modality.image_shape))


def _image_problems(data: Data, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """Each test image file must be readable as one 2-D image with the slice/frame given."""
    from auditkit.data.files import load_image

    problems = []
    for i, image in enumerate(data.images):
        loc = ("data", "images", i, "file")
        if loc not in missing:
            problems += _reader_problems(source, loc, image.file, lambda image=image: load_image(
                image.file, slice_axis=image.slice_axis, slice_index=image.slice_index, frame=image.frame))
    return problems


def _raw_problems(data: Data, modality: Modality | None, source: ManifestSource, missing: set[Loc]) -> list[Problem]:
    """Each raw k-space entry is read as the audit reads it: datasets, shape, slices, trajectory, coil maps, and
    (with a valid modality) the de-oversampled grid against ``image_shape`` and the coil count. A problem with
    the coil maps (``CoilMapsError``) is located at ``coil_maps``, every other at ``file``."""
    from auditkit.data.collect import raw_slices
    from auditkit.data.raw import CoilMapsError

    if modality is not None and modality.kind not in ("mri_singlecoil", "mri_multicoil"):
        return []  # the manifest's own rule says raw k-space fits MRI only
    shape = tuple(modality.image_shape) if modality is not None else None
    coils = modality.raw_coils if modality is not None else None
    problems = []
    for i, entry in enumerate(data.raw):
        loc = ("data", "raw", i, "file")
        maps_loc = ("data", "raw", i, "coil_maps")
        if loc in missing or maps_loc in missing:
            continue
        try:
            raw_slices(entry, shape, coils)
        except (ValueError, OSError) as exc:
            at = maps_loc if isinstance(exc, CoilMapsError) else loc
            problems.append(_read_problem(source, at, exc, [entry.file, entry.coil_maps]))
    return problems


def _reader_problems(source: ManifestSource, loc: Loc, path: ManifestPath, read: Callable[[], object]) -> list[Problem]:
    """Run the reader the audit itself uses on ``path``; its complaint becomes a problem at ``loc``."""
    try:
        read()
    except (ValueError, OSError) as exc:
        return [_read_problem(source, loc, exc, [path])]
    return []


def _read_problem(source: ManifestSource, loc: Loc, exc: BaseException, paths: list[ManifestPath | None]) -> Problem:
    """A reader's complaint as a problem at ``loc``. The readers name the absolute path in their messages; the first
    of ``paths`` found there is replaced by the path as the manifest wrote it (else the first path is prefixed)."""
    message = " ".join(str(exc).split())
    given = [p for p in paths if p is not None]
    for path in given:
        _, found, rest = message.partition(str(path))
        if found:
            return source.problem(loc, f"'{path.given}'{rest}")
    return source.problem(loc, f"'{given[0].given}': {message}")


def _network_problems(sections: Sections, load_network: bool, *, probe: bool) -> list[Problem]:
    """Hash check, and with ``load_network`` the network built and (with ``probe``) called once on the
    manifest's operator, so a wrong input/output convention or a NaN output is found before any audit."""
    network, folder = sections.network, sections.folder
    assert network is not None
    try:
        if load_network and probe and sections.modality is not None:
            from auditkit.networks.loader import load_network as load_and_probe
            from auditkit.operators.factory import build_operator

            load_and_probe(network, folder, build_operator(sections.modality))
        elif load_network:
            from auditkit.networks.loader import load_module

            load_module(network, folder)
        else:
            from auditkit.networks.hashing import verify_hashes

            verify_hashes(network, folder)
    except NetworkLoadError as exc:
        return [_at_manifest_field(p, network, folder, sections.source) for p in exc.problems]
    return []


def _at_manifest_field(problem: Problem, network: Network, folder: Path, source: ManifestSource) -> Problem:
    """A network loader problem (``file`` = network file) moved to the manifest line of its field.

    For a sha256 finding the line is that of the file's own entry in the table when it has one.
    """
    loc: Loc = tuple(problem.field.split(".")) if problem.field else ("network",)
    if loc == ("network", "sha256"):
        target = (folder / str(problem.file)).resolve()
        for key in network.sha256:
            if (folder / key).resolve() == target:
                loc += (key,)
                break
    return source.problem(loc, problem.message)
