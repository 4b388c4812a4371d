"""The import graph of ``auditkit``: no cycle between modules, no import from a lower layer into a higher one.

Every ``import`` of ``auditkit.*`` counts, at module level or inside a function, absolute or
relative (``TYPE_CHECKING`` blocks included: a type is a dependency too). Each package is
also imported on its own in a fresh interpreter, so an import that works only after another
one is caught.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import auditkit

ROOT = "auditkit"
PACKAGE_DIR = Path(auditkit.__file__).parent

#: Layers of the top-level modules and packages, lowest first: a module may import its own
#: layer or a lower one, never a higher one. ``auditkit`` stands for the package's own __init__.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: helpers every layer may use (errors, files, processes, progress, the environment) and the manifest
    ("auditkit", "errors", "activity", "interrupts", "progress", "environment", "fileio", "key_password", "manifest",
     "clock"),
    # 1: the measurement physics and the test images
    ("operators", "data"),
    # 2: what reconstructs (network, baselines), what searches (attacks) and what measures
    ("reconstruction", "networks", "baselines", "attacks", "metrics", "stats", "arrays", "payload"),
    # 3: the submission checked on this machine before the audit (files, network, memory), and
    #    the checks, each run on the network and the baseline, with the results they conclude
    ("preflight", "checks"),
    # 4: the evidence record the checks' results go into
    ("evidence",),
    # 5: the dossier rendered from the evidence, its files and its seal
    ("report", "dossier"),
    # 6: running and reproducing an audit: the context built from the manifest, its units run, the whole run,
    #    and the tool qualification that runs it on reference networks
    ("preparation", "execution", "pipeline", "reproduce", "qualification"),
    # 7: the entry points and what only they use
    ("cli", "supervisor", "console_progress"),
)

#: Imports within one layer that are restricted: (importer, imported) → the only modules allowed.
SAME_LAYER_ONLY: dict[tuple[str, str], frozenset[str]] = {
    ("report", "dossier"): frozenset({"auditkit.dossier.layout"}),
}

#: Leaf modules any layer may import: they import nothing from auditkit (tested below).
ANY_LAYER: frozenset[str] = frozenset({"auditkit.dossier.layout"})

LAYER_OF: dict[str, int] = {name: level for level, names in enumerate(LAYERS) for name in names}


# -- the graph ---------------------------------------------------------------------------------
def module_files() -> dict[str, Path]:
    """Dotted name → file of every module under ``auditkit/`` (a package by its ``__init__.py``)."""
    modules: dict[str, Path] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = (ROOT, *path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of the dotted ``name`` that is an auditkit module (None outside auditkit)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _from_base(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from … import`` names: relative levels resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module if is_package else module.rsplit(".", 1)[0]
    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{anchor}.{node.module}" if node.module else anchor


def imported_modules(module: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every auditkit module that ``module`` imports (``from X import n`` counts X.n when it is a module)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, module, is_package)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _known(name, modules)
            if target is not None and target != module:
                yield target


def import_graph() -> dict[str, set[str]]:
    """Module → the auditkit modules it imports."""
    modules = module_files()
    return {name: set(imported_modules(name, path, modules)) for name, path in modules.items()}


def top_level(module: str) -> str:
    """The top-level module or package ``module`` belongs to (``auditkit`` for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for start in sorted(graph):
        if start not in index:
            visit(start)
    return sorted(found)


def layer_violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported`` (None when it may)."""
    if imported in ANY_LAYER:
        return None
    src, dst = top_level(importer), top_level(imported)
    if LAYER_OF[src] < LAYER_OF[dst]:
        return f"layer {LAYER_OF[src]} ({src}) imports layer {LAYER_OF[dst]} ({dst})"
    allowed = SAME_LAYER_ONLY.get((src, dst))
    if allowed is not None and imported not in allowed:
        return f"{src} may import only {', '.join(sorted(allowed))} from {dst}"
    return None


# -- the tests ---------------------------------------------------------------------------------
def test_every_top_level_module_has_a_layer() -> None:
    missing = sorted({top_level(name) for name in module_files()} - set(LAYER_OF))
    assert not missing, f"top-level modules without a layer in LAYERS: {', '.join(missing)}"


def test_no_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    lines = [
        " ↔ ".join(component) + ": " + "; ".join(
            f"{a} → {b}" for a in component for b in sorted(graph[a] & set(component)))
        for component in found
    ]
    assert not found, "import cycles:\n" + "\n".join(lines)


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    graph = import_graph()
    known = set(LAYER_OF)
    bad = [
        f"{importer} → {imported}: {why}"
        for importer, targets in sorted(graph.items())
        for imported in sorted(targets)
        if top_level(importer) in known and top_level(imported) in known
        and (why := layer_violation(importer, imported)) is not None
    ]
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_modules_any_layer_may_import_import_nothing_from_auditkit() -> None:
    graph = import_graph()
    assert {leaf: graph[leaf] for leaf in ANY_LAYER} == {leaf: set() for leaf in ANY_LAYER}


IMPORT_EACH = """
import importlib, sys, traceback
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "auditkit" or m.startswith("auditkit.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        print(f"FAIL {name}: " + traceback.format_exc().strip().splitlines()[-1])
    else:
        print(f"ok {name}")
"""


def test_each_package_imports_on_its_own() -> None:
    """Each ``auditkit.<name>`` imported with no other auditkit module loaded (third-party ones stay cached)."""
    names = sorted({f"{ROOT}.{top_level(m)}" for m in module_files() if m != ROOT})
    run = subprocess.run([sys.executable, "-c", IMPORT_EACH, *names], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    failures = [line for line in lines if line.startswith("FAIL ")]
    assert not failures, "\n".join(failures)
    assert lines == [f"ok {name}" for name in names], run.stdout
