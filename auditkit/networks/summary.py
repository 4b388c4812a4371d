"""What the dossier says of the network under test, measured from the loaded module."""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

#: leaf layer kinds listed by name, most frequent first; the rest are counted together.
MAX_KINDS = 8


def describe(module: Any) -> dict[str, Any]:
    """Class, parameter count and the kinds of its leaf layers with their counts.

    ``parameters = Σ numel`` over ``module.parameters()`` (shared tensors once); a module that is not a
    ``torch.nn.Module`` is described by its class alone. (Whether a parameter is trainable says nothing
    here: the loader freezes every parameter for the audit.)
    """
    record: dict[str, Any] = {"class": _class_name(module)}
    if not isinstance(module, torch.nn.Module):
        return record
    params = list(module.parameters())
    record["parameters"] = sum(p.numel() for p in params)
    leaves = Counter(_class_name(m) for m in module.modules() if not list(m.children()) and m is not module)
    kinds = [f"{name} × {count}" for name, count in leaves.most_common(MAX_KINDS)]
    rest = sum(count for _, count in leaves.most_common()[MAX_KINDS:])
    if rest:
        kinds.append(f"{rest} other")
    record["layers"] = ", ".join(kinds) if kinds else "none (a single module)"
    return record


def _class_name(obj: Any) -> str:
    kind = type(obj)
    original = getattr(obj, "original_name", None)  # TorchScript keeps the scripted class's name here
    return str(original) if isinstance(original, str) and original else kind.__qualname__
