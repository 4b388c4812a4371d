"""Building a submitted Python network from exactly the source bytes whose hashes were checked.

A temporary import finder, placed first on ``sys.meta_path`` only while the
entry point is imported and called, serves the submission's modules from the
verified bytes (so nothing is read from disk after the hash check, and a module
the manifest does not list cannot be imported from the submission's folder).
The modules keep their own names (``import layers`` inside ``model.py`` works
as it would from the folder) but are removed from ``sys.modules`` afterwards,
so two submissions with equally named modules never see each other. A module
name that would shadow the standard library or an already imported module is
refused, since other code running meanwhile could pick it up.

Loaded code runs with the auditor's privileges: the hash check, not this
module, is the guard against running unreviewed code. Whatever it raises while it
is imported or built (``SystemExit`` and a ``KeyboardInterrupt`` the user did not
cause included) is a ``SubmissionImportError``; the files it was compiled from are
remembered (``is_submitted_code``) so that an exception raised later from inside
them, e.g. during back-propagation, is recognised as the network's.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from auditkit import interrupts

#: Source files of submitted code compiled in this process (as named in its code objects).
_SUBMITTED_FILES: set[str] = set()


class SubmissionImportError(Exception):
    """The submission's source cannot be imported or its entry point cannot be called.

    ``field`` is the manifest field the vendor must look at.
    """

    def __init__(self, message: str, field: str = "network.entrypoint"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ModuleSource:
    """One importable module: its file, its verified source (None: implicit namespace package)."""

    path: Path
    source: bytes | None
    is_package: bool


class _VerifiedLoader(importlib.abc.InspectLoader):
    """Executes a module from verified bytes; also serves them to ``inspect`` and tracebacks."""

    def __init__(self, module: ModuleSource):
        self._module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        if self._module.source is None:
            return
        _SUBMITTED_FILES.add(str(self._module.path))
        code = compile(self._module.source, str(self._module.path), "exec", dont_inherit=True)
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> str | None:
        if self._module.source is None:
            return None
        return importlib.util.decode_source(self._module.source)


class _VerifiedFinder(importlib.abc.MetaPathFinder):
    """Claims exactly the submission's module names; everything else falls through."""

    def __init__(self, modules: Mapping[str, ModuleSource]):
        self._modules = modules

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        module = self._modules.get(fullname)
        if module is None:
            return None
        loader = _VerifiedLoader(module)
        if module.source is None:
            spec = importlib.machinery.ModuleSpec(fullname, loader, is_package=True)
            spec.submodule_search_locations = [str(module.path)]
            return spec
        search = [str(module.path.parent)] if module.is_package else None
        return importlib.util.spec_from_file_location(
            fullname, module.path, loader=loader, submodule_search_locations=search)


def module_table(root: Path, sources: Mapping[Path, bytes]) -> dict[str, ModuleSource]:
    """Dotted module name → source for a ``.py`` file or for every ``.py`` file under a folder.

    Sub-folders become packages (implicit namespace packages when they lack
    ``__init__.py``); files whose names are not identifiers are not importable
    and are skipped.
    """
    if root in sources:
        return {root.stem: ModuleSource(root, sources[root], is_package=False)}
    table: dict[str, ModuleSource] = {}
    for path, data in sources.items():
        if path.suffix != ".py" or not path.is_relative_to(root):
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        if parts and all(p.isidentifier() for p in parts):
            table[".".join(parts)] = ModuleSource(path, data, is_package)
    for name in list(table):
        parts = name.split(".")
        for depth in range(1, len(parts)):
            table.setdefault(".".join(parts[:depth]),
                             ModuleSource(root.joinpath(*parts[:depth]), None, is_package=True))
    return table


def check_no_shadowing(table: Mapping[str, ModuleSource]) -> None:
    """Refuse top-level names of the standard library or of modules already imported."""
    clashes = sorted({name.split(".")[0] for name in table}
                     & (set(sys.stdlib_module_names) | set(sys.modules)))
    if clashes:
        raise SubmissionImportError(
            f"module name(s) {', '.join(clashes)} would shadow an installed or standard module; rename them",
            field="network.path")


@contextmanager
def submission_importable(table: Mapping[str, ModuleSource]) -> Iterator[None]:
    """Make the submission's modules importable for the duration of the block, then forget them."""
    check_no_shadowing(table)
    finder = _VerifiedFinder(table)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in table:
            sys.modules.pop(name, None)


def call_entrypoint(root: Path, sources: Mapping[Path, bytes], entrypoint: str | None,
                    kwargs: Mapping[str, Any]) -> Any:
    """Import ``module`` of ``module:function`` from the verified sources and return ``function(**kwargs)``."""
    module_name, attr_path = parse_entrypoint(entrypoint)
    table = module_table(root, sources)
    if not table:
        raise SubmissionImportError(f"no importable .py module under {root}", field="network.path")
    if module_name not in table:
        known = ", ".join(sorted(table))
        raise SubmissionImportError(f"module '{module_name}' is not part of the submission (it provides: {known})")
    with submission_importable(table):
        try:
            target: Any = importlib.import_module(module_name)
        except BaseException as exc:  # noqa: BLE001 - whatever the submitted code raises is its failure
            interrupts.raise_if_requested()
            raise SubmissionImportError(f"importing '{module_name}' failed: {one_line(exc)}") from exc
        for attr in attr_path.split("."):
            if not hasattr(target, attr):
                raise SubmissionImportError(f"'{module_name}' has no attribute '{attr_path}'")
            target = getattr(target, attr)
        if not callable(target):
            raise SubmissionImportError(f"'{entrypoint}' is not callable (type {type(target).__name__})")
        try:
            built = target(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - whatever the submitted code raises is its failure
            interrupts.raise_if_requested()
            raise SubmissionImportError(f"calling '{entrypoint}' failed: {one_line(exc)}") from exc
        interrupts.raise_if_requested()
        return built


def is_submitted_code(exc: BaseException) -> bool:
    """True when any frame of ``exc``'s traceback (or of its causes) runs a submitted source file."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in _SUBMITTED_FILES:
                return True
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return False


def parse_entrypoint(entrypoint: str | None) -> tuple[str, str]:
    """Split ``module:function`` (the function may be a dotted attribute path)."""
    if not entrypoint or entrypoint.count(":") != 1:
        raise SubmissionImportError(f"expected 'module:function', got {entrypoint!r}")
    module_name, attr_path = (part.strip() for part in entrypoint.split(":"))
    names = module_name.split(".") + attr_path.split(".")
    if not all(n.isidentifier() for n in names):
        raise SubmissionImportError(f"expected 'module:function' made of Python identifiers, got {entrypoint!r}")
    return module_name, attr_path


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``; syntax errors name the file and line."""
    if isinstance(exc, SyntaxError):
        where = f" ({Path(exc.filename).name}, line {exc.lineno})" if exc.filename else ""
        return f"SyntaxError: {exc.msg}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
