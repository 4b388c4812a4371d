"""The software and hardware an audit ran on, as recorded in the evidence, and how two records differ.

The record names everything that can change the numbers' last bits: every installed
distribution and its version, the lock file the environment was installed from (the hash
that ``scripts/bootstrap.sh`` writes into the virtual environment), the CPU model and its
flags, the BLAS/LAPACK that torch and numpy use, torch's kernel dispatch level, thread counts
and the device. ``reproduce`` compares a dossier's record with this machine's before comparing
numbers, and compares exactly only when nothing that affects the bits differs.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import auditkit
from auditkit.fileio import sha256_bytes

#: The file in the virtual environment holding the sha256 of the lock file it was installed from.
LOCK_RECORD = "auditkit-lock.sha256"
#: What the record says when the environment was not installed by ``scripts/bootstrap.sh`` from the lock.
NOT_FROM_LOCK = "not installed from the lock"
#: What the record says for a fact this machine does not report.
UNKNOWN = "unknown"
#: Flat facts compared by ``environment_differences``, in report order, with their printed names.
FACTS: dict[str, str] = {
    "auditkit": "auditkit",
    "auditkit_source_sha256": "auditkit source sha256",
    "python": "Python",
    "platform": "platform",
    "machine": "machine",
    "cpu_model": "CPU model",
    "torch": "torch",
    "torch_cpu_capability": "torch CPU capability",
    "torch_threads": "torch threads",
    "torch_interop_threads": "torch interop threads",
    "device": "device",
    "device_name": "device name",
    "deterministic_algorithms": "deterministic algorithms",
    "lock_sha256": "lock file sha256",
}
#: Packages that records written before the full package list was kept named at the top level.
LEGACY_PACKAGE_KEYS = ("torch", "numpy", "scipy", "scikit-image", "ptwt", "PyWavelets")
#: Packages whose version is a fact of its own (listed once, among the facts, when it differs).
FACT_PACKAGES = frozenset({"auditkit", "torch"})


def environment(device: torch.device) -> dict[str, Any]:
    """Software versions, CPU, BLAS, threads and compute device, as recorded in the evidence."""
    model = cpu_model()
    return {
        "auditkit": auditkit.__version__,
        "auditkit_source_sha256": source_sha256(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": model,
        "cpu_flags": cpu_flags(),
        "torch": torch.__version__,
        "torch_cpu_capability": torch_cpu_capability(),
        "blas": {"torch": torch_blas(), "numpy": numpy_blas()},
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else model,
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "lock_sha256": lock_sha256(),
        "packages": installed_packages(),
    }


@functools.lru_cache(maxsize=1)
def source_sha256() -> str:
    """sha256 of auditkit's own code: every ``.py`` file of the package, in path order, each as its path relative to
    the package, a NUL, its bytes and a NUL. Two runs with the same version string but edited code differ here."""
    root = Path(auditkit.__file__).resolve().parent
    parts = []
    for path in sorted(root.rglob("*.py")):
        parts += [path.relative_to(root).as_posix().encode("utf-8"), b"\0", path.read_bytes(), b"\0"]
    return sha256_bytes(b"".join(parts))


def installed_packages() -> dict[str, str]:
    """Every installed distribution, name → version, sorted by name (the first found wins, as for imports)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name not in found:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def lock_sha256(prefix: Path | None = None) -> str:
    """sha256 of the lock file this environment was installed from, read from the record bootstrap.sh leaves in it."""
    record = Path(sys.prefix if prefix is None else prefix) / LOCK_RECORD
    try:
        text = record.read_text(encoding="utf-8").strip()
    except OSError:
        return NOT_FROM_LOCK
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else NOT_FROM_LOCK


def _cpuinfo_field(name: str, cpuinfo: Path) -> str | None:
    """The first value of field ``name`` in /proc/cpuinfo (None where the file or field is missing)."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (/proc/cpuinfo 'model name'; the platform's processor string elsewhere)."""
    return _cpuinfo_field("model name", cpuinfo) or platform.processor() or platform.machine() or UNKNOWN


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The CPU's feature flags, sorted (/proc/cpuinfo 'flags', 'Features' on ARM; empty where not reported)."""
    value = _cpuinfo_field("flags", cpuinfo) or _cpuinfo_field("Features", cpuinfo) or ""
    return sorted(set(value.split()))


def torch_cpu_capability() -> str:
    """The vector instruction set torch's CPU kernels dispatch to (e.g. AVX512, AVX2): it changes the last bits."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except (AttributeError, RuntimeError):
        return UNKNOWN


def torch_blas(config: str | None = None) -> str:
    """The BLAS and LAPACK torch was built with, from ``torch.__config__.show()``, e.g. 'mkl 2024.2, LAPACK mkl'."""
    text = torch.__config__.show() if config is None else config
    settings = dict(re.findall(r"\b(BLAS_INFO|LAPACK_INFO)=([^,\s]+)", text))
    blas = settings.get("BLAS_INFO", UNKNOWN)
    mkl = re.search(r"Math Kernel Library Version ([0-9][0-9.]*)", text)
    if blas == "mkl" and mkl:
        blas = f"mkl {mkl.group(1).rstrip('.')}"
    lapack = settings.get("LAPACK_INFO")
    return f"{blas}, LAPACK {lapack}" if lapack else blas


def numpy_blas() -> str:
    """The BLAS (and LAPACK, where different) numpy was built with, from its build configuration."""
    try:
        import numpy

        deps = numpy.show_config(mode="dicts")["Build Dependencies"]
    except Exception:  # an old or unusual numpy: its configuration is not worth failing an audit for
        return UNKNOWN

    def name(part: str) -> str:
        entry = deps.get(part, {})
        return " ".join(str(entry[k]) for k in ("name", "version") if entry.get(k)) or UNKNOWN

    blas, lapack = name("blas"), name("lapack")
    return blas if lapack == blas else f"{blas}, LAPACK {lapack}"


# --- differences between two records --------------------------------------------------------------


@dataclass(frozen=True)
class EnvironmentChange:
    """One entry of the environment that differs between an archived record and this machine's."""

    key: str
    """The record's key: a fact's name, ``blas``, ``cpu_flags`` or ``packages``."""
    what: str
    """What differs, as printed: 'numpy', 'CPU model', 'BLAS (torch)'."""
    archived: str
    now: str

    def format(self) -> str:
        """One line: 'numpy 1.26.4 → 2.0.1'."""
        return f"{self.what} {self.archived} → {self.now}"


def _shown(value: Any) -> str:
    """A recorded value as printed; a missing one is 'not recorded'."""
    return "not recorded" if value is None else str(value)


def _canonical(name: str) -> str:
    """A distribution name compared the way pip compares them: lower case, runs of '-', '_', '.' as one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _packages(record: dict[str, Any]) -> tuple[dict[str, tuple[str, str]], bool]:
    """(canonical name → (name, version), complete): the full list, or for older records the few they named."""
    packages = record.get("packages")
    complete = isinstance(packages, dict)
    named = packages if complete else {k: record[k] for k in LEGACY_PACKAGE_KEYS if k in record}
    return {_canonical(str(k)): (str(k), str(v)) for k, v in named.items()}, complete


def package_changes(archived: dict[str, Any], now: dict[str, Any]) -> list[EnvironmentChange]:
    """Packages added, removed or at another version (auditkit and torch are facts of their own).

    An archived record without the full list (written before it was kept) is compared on the packages it named.
    """
    old, complete = _packages(archived)
    new, _ = _packages(now)
    changes: list[EnvironmentChange] = []
    if not complete:
        changes.append(EnvironmentChange("packages", "installed packages", "not recorded", f"{len(new)} packages"))
        new = {key: item for key, item in new.items() if key in old}
    for key in sorted((old.keys() | new.keys()) - FACT_PACKAGES):
        name, before = old.get(key, (key, "not installed"))
        name, after = new.get(key, (name, "not installed"))
        if before != after:
            changes.append(EnvironmentChange("packages", name, before, after))
    return changes


def flag_changes(archived: dict[str, Any], now: dict[str, Any]) -> list[EnvironmentChange]:
    """The CPU flags only one of the two machines has (the common ones are not listed)."""
    old, new = archived.get("cpu_flags"), now.get("cpu_flags")
    if old is None or new is None:
        if old == new:
            return []
        shown = [_shown(None if flags is None else f"{len(flags)} flags") for flags in (old, new)]
        return [EnvironmentChange("cpu_flags", "CPU flags", shown[0], shown[1])]
    only_old, only_new = sorted(set(old) - set(new)), sorted(set(new) - set(old))
    if not only_old and not only_new:
        return []
    return [
        EnvironmentChange(
            "cpu_flags",
            "CPU flags",
            "only archived: " + (" ".join(only_old) or "none"),
            "only here: " + (" ".join(only_new) or "none"),
        )
    ]


def environment_differences(archived: dict[str, Any], now: dict[str, Any]) -> list[EnvironmentChange]:
    """Every entry that differs between the archived record and ``now``: facts first, then CPU flags, BLAS, packages."""
    changes = [
        EnvironmentChange(key, label, _shown(archived.get(key)), _shown(now.get(key)))
        for key, label in FACTS.items()
        if archived.get(key) != now.get(key)
    ]
    changes += flag_changes(archived, now)
    old_blas, new_blas = archived.get("blas") or {}, now.get("blas") or {}
    changes += [
        EnvironmentChange("blas", f"BLAS ({lib})", _shown(old_blas.get(lib)), _shown(new_blas.get(lib)))
        for lib in sorted(set(old_blas) | set(new_blas) | {"torch", "numpy"})
        if old_blas.get(lib) != new_blas.get(lib)
    ]
    return changes + package_changes(archived, now)
