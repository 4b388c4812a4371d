"""Loading the submitted network: hashes first, then deserialisation, then freezing.

Order of operations in ``load_module``:
1. every file is read once and its SHA-256 checked against the manifest
   (nothing is imported, unpickled or jit-loaded before this succeeds);
2. the network is built from those same bytes: a TorchScript archive via
   ``torch.jit.load``, or a Python entry point ``module:function(**kwargs)``;
3. weights, if given, are loaded with strict key and shape checking:
   ``.safetensors`` (preferred) or ``.pt`` through ``torch.load(weights_only=True)``;
4. the module is put in eval mode, every parameter gets ``requires_grad=False``,
   and it is moved to the device (``auto``: CUDA when available, else CPU).
Steps 2 to 4 run the submission's own code; whatever it raises there is a
``NetworkLoadError``, and a supervising process is told (``auditkit.activity``)
that the network file is being loaded, so that a network ending the process
itself is reported against it.

Every failure is a ``NetworkLoadError`` whose problems name, as ``file``, the
network file involved relative to the manifest folder (the same convention as
the hash problems), and as ``field`` the manifest field to fix.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import safetensors.torch
import torch

from auditkit import activity, interrupts
from auditkit.errors import NetworkLoadError, Problem
from auditkit.networks.adapter import NetworkAdapter
from auditkit.networks.hashing import absolute, manifest_relative, verified_contents
from auditkit.networks.python_source import SubmissionImportError, call_entrypoint, one_line
from auditkit.networks.spec import NetworkSpecLike
from auditkit.operators.base import ForwardOperator

_LIST_AT_MOST = 5


def load_module(spec: NetworkSpecLike, manifest_dir: Path, *,
                device: str | torch.device = "cpu") -> torch.nn.Module:
    """The submitted network, hash-verified, with weights, frozen, in eval mode, on ``device``.

    ``device`` is ``"auto"``, ``"cpu"``, ``"cuda"`` or a ``torch.device``; the caller
    chooses (the manifest's ``network.device`` for an audit, ``"cpu"`` for validation).
    """
    manifest_dir = Path(manifest_dir)
    path = absolute(spec.path, manifest_dir)
    where = manifest_relative(path, manifest_dir)
    target = resolve_device(device, file=where)
    contents = verified_contents(spec, manifest_dir)
    activity.tell("loading", file=where)
    if spec.format == "torchscript":
        module = _load_torchscript(contents[path], where)
    elif spec.format == "python":
        module = _build_python(spec, path, contents, where)
    else:
        raise NetworkLoadError(Problem(where, "network.format", f"unknown format {spec.format!r}"))
    if spec.weights is not None:
        weights = absolute(spec.weights, manifest_dir)
        state = _read_state_dict(weights, contents[weights], manifest_relative(weights, manifest_dir))
        _load_state_strict(module, state, manifest_relative(weights, manifest_dir))
    try:
        return freeze(module).to(target)
    except BaseException as exc:  # noqa: BLE001 - the module's own eval()/to() may be overridden
        interrupts.raise_if_requested()
        raise NetworkLoadError(Problem(where, "network.path",
                                       f"the network failed when frozen or moved to {target}: {one_line(exc)}")) from exc


def load_network(spec: NetworkSpecLike, manifest_dir: Path, operator: ForwardOperator, *,
                 device: str | torch.device = "cpu", name: str = "network") -> NetworkAdapter:
    """``load_module``, wrapped per the manifest's conventions and probed once (see ``NetworkAdapter``).

    Convention problems name the network file (relative to the manifest folder).
    """
    module = load_module(spec, manifest_dir, device=device)
    adapter = NetworkAdapter(module, operator, input=spec.input, complex_as=spec.complex_as,
                             output=spec.output, name=name,
                             problem_file=manifest_relative(absolute(spec.path, Path(manifest_dir)),
                                                            Path(manifest_dir)))
    adapter.probe()
    activity.tell("loaded", file=adapter.problem_file)
    return adapter


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    """Eval mode and ``requires_grad=False`` on every parameter (gradients still flow to inputs)."""
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


def resolve_device(device: str | torch.device, *, file: str = "") -> torch.device:
    """``auto`` → CUDA when available else CPU; ``cuda`` when unavailable is an input error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise NetworkLoadError(Problem(file, "network.device", f"expected auto, cpu or cuda, got {device!r}"))
    if device == "cuda" and not torch.cuda.is_available():
        raise NetworkLoadError(Problem(file, "network.device", "'cuda' requested but no CUDA device is available"))
    return torch.device(device)


def _load_torchscript(data: bytes, where: str) -> torch.nn.Module:
    """``torch.jit.load`` on the verified bytes (its deprecation warning silenced here only)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:
        raise NetworkLoadError(Problem(where, "network.path", f"not a TorchScript archive: {one_line(exc)}")) from exc


def _build_python(spec: NetworkSpecLike, path: Path, contents: Mapping[Path, bytes], where: str) -> torch.nn.Module:
    """Call the entry point on the verified sources and insist on a ``torch.nn.Module``."""
    try:
        built = call_entrypoint(path, contents, spec.entrypoint, dict(spec.kwargs or {}))
    except SubmissionImportError as exc:
        raise NetworkLoadError(Problem(where, exc.field, str(exc))) from exc
    if not isinstance(built, torch.nn.Module):
        raise NetworkLoadError(Problem(
            where, "network.entrypoint",
            f"'{spec.entrypoint}' returned {type(built).__module__}.{type(built).__qualname__}, "
            "expected a torch.nn.Module"))
    return built


def _read_state_dict(path: Path, data: bytes, where: str) -> dict[str, torch.Tensor]:
    """Tensors from ``.safetensors``, or from ``.pt`` via ``torch.load(weights_only=True)`` only."""
    suffix = path.suffix.lower()
    if suffix not in (".safetensors", ".pt"):
        raise NetworkLoadError(Problem(where, "network.weights",
                                       f"unsupported weights file '{path.name}'; use .safetensors or .pt"))
    try:
        if suffix == ".safetensors":
            return safetensors.torch.load(data)
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise NetworkLoadError(Problem(where, "network.weights",
                                       f"cannot read weights (only tensors are accepted): {one_line(exc)}")) from exc
    if not isinstance(state, Mapping):
        raise NetworkLoadError(Problem(where, "network.weights",
                                       f"expected a state dict (name → tensor), found {type(state).__name__}"))
    bad = [str(k) for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise NetworkLoadError(Problem(where, "network.weights",
                                       f"expected a state dict (name → tensor); not tensors: {_brief(bad)}"))
    return dict(state)


def _load_state_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], where: str) -> None:
    """``load_state_dict(strict=True)``, reporting missing, unexpected and mis-shaped keys briefly."""
    try:
        own = module.state_dict()
    except BaseException as exc:  # noqa: BLE001 - the module's own state_dict() may be overridden
        interrupts.raise_if_requested()
        raise NetworkLoadError(Problem(where, "network.weights", f"cannot list the network's parameters: {one_line(exc)}")) from exc
    findings = []
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mis_shaped = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)} expected"
                  for k in sorted(set(own) & set(state)) if own[k].shape != state[k].shape]
    if missing:
        findings.append(f"missing keys: {_brief(missing)}")
    if unexpected:
        findings.append(f"unexpected keys: {_brief(unexpected)}")
    if mis_shaped:
        findings.append(f"shape mismatch: {_brief(mis_shaped)}")
    if findings:
        raise NetworkLoadError(Problem(where, "network.weights", "; ".join(findings)))
    try:
        module.load_state_dict(dict(state), strict=True)
    except BaseException as exc:  # noqa: BLE001 - the module's own loading hooks may raise anything
        interrupts.raise_if_requested()
        raise NetworkLoadError(Problem(where, "network.weights", f"cannot load weights: {one_line(exc)}")) from exc


def _brief(items: list[str]) -> str:
    """At most a few items, then how many more."""
    shown = ", ".join(items[:_LIST_AT_MOST])
    rest = len(items) - _LIST_AT_MOST
    return f"{shown} (+{rest} more)" if rest > 0 else shown
