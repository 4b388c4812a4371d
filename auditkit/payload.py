"""A work unit's result as bytes and back: a tree of dataclasses, tensors, arrays and plain values.

A unit's result travels between processes and machines and is kept on disk (the staging
folder, the baseline cache), so it is written as data, never as a pickle: the tensors go
into a safetensors file, and the tree that holds them into one JSON document stored in the
same file (as the uint8 tensor ``__tree__``). Floats keep every bit (JSON writes the shortest
repr that reads back to the same double; NaN and ±Inf included). Decoding rebuilds only
dataclasses and enums defined in ``auditkit`` itself.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

#: The entry holding the JSON tree.
TREE = "__tree__"
#: Only classes from modules under this package are rebuilt.
TRUSTED_PREFIX = "auditkit."


class PayloadError(ValueError):
    """Bytes that are not a payload written by ``encode``, or that name a class outside auditkit."""


def encode(obj: Any) -> bytes:
    """The bytes of ``obj`` (see the module doc); ValueError naming the first value that cannot be stored."""
    tensors: dict[str, torch.Tensor] = {}
    tree = _encode(obj, tensors, "result")
    text = json.dumps(tree, sort_keys=True, separators=(",", ":")).encode("utf-8")
    tensors[TREE] = torch.frombuffer(bytearray(text), dtype=torch.uint8)
    return st_save(tensors)


def decode(data: bytes) -> Any:
    """The object ``encode`` wrote; ``PayloadError`` for anything else."""
    try:
        tensors = st_load(data)
        tree = json.loads(bytes(tensors.pop(TREE).numpy()).decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - any malformed input is the same error
        raise PayloadError(f"not a unit payload: {type(exc).__name__}: {exc}") from None
    return _decode(tree, tensors)


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _trusted_class(path: str) -> type:
    module, _, name = path.partition(":")
    if not module.startswith(TRUSTED_PREFIX):
        raise PayloadError(f"payload names a class outside auditkit: {path}")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _tensor(t: torch.Tensor, tensors: dict[str, torch.Tensor], complex_: bool) -> str:
    name = f"t{len(tensors)}"
    t = t.detach().cpu()
    tensors[name] = (torch.view_as_real(t.resolve_conj()) if complex_ else t).contiguous().clone()
    return name


def _encode(obj: Any, tensors: dict[str, torch.Tensor], where: str) -> Any:
    if isinstance(obj, np.generic):
        return {"numpy": obj.dtype.str, "value": _encode(obj.item(), tensors, where)}
    if isinstance(obj, enum.Enum):
        return {"enum": _class_path(type(obj)), "value": _encode(obj.value, tensors, where)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return {"float": float.__repr__(obj)}
    if isinstance(obj, torch.Tensor):
        return {"tensor": _tensor(obj, tensors, obj.is_complex()), "complex": obj.is_complex()}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc":
            raise ValueError(f"{where}: arrays of {obj.dtype} cannot be stored")
        t = torch.from_numpy(np.ascontiguousarray(obj))
        return {"ndarray": _tensor(t, tensors, obj.dtype.kind == "c"), "complex": obj.dtype.kind == "c"}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: _encode(getattr(obj, f.name), tensors, f"{where}.{f.name}") for f in dataclasses.fields(obj)}
        return {"dataclass": _class_path(type(obj)), "fields": fields}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, tensors, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": items}
    if isinstance(obj, dict):
        return {"dict": [[_encode(k, tensors, where), _encode(v, tensors, f"{where}[{k!r}]")] for k, v in obj.items()]}
    raise ValueError(f"{where}: a {type(obj).__name__} cannot be stored in a unit payload")


def _decode(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if tree is None or isinstance(tree, (bool, int, str)):
        return tree
    if not isinstance(tree, dict):
        raise PayloadError(f"unexpected node {tree!r}")
    if "float" in tree:
        return float(tree["float"])
    if "tensor" in tree or "ndarray" in tree:
        t = tensors[tree.get("tensor", tree.get("ndarray"))]
        t = torch.view_as_complex(t) if tree["complex"] else t
        return t if "tensor" in tree else t.numpy()
    if "numpy" in tree:
        return np.dtype(tree["numpy"]).type(_decode(tree["value"], tensors))
    if "enum" in tree:
        return _trusted_class(tree["enum"])(_decode(tree["value"], tensors))
    if "dataclass" in tree:
        cls = _trusted_class(tree["dataclass"])
        if not dataclasses.is_dataclass(cls):
            raise PayloadError(f"{tree['dataclass']} is not a dataclass")
        values = {k: _decode(v, tensors) for k, v in tree["fields"].items()}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        obj = cls(**{k: v for k, v in values.items() if k in init})
        for k, v in values.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj
    if "list" in tree:
        return [_decode(v, tensors) for v in tree["list"]]
    if "tuple" in tree:
        return tuple(_decode(v, tensors) for v in tree["tuple"])
    if "dict" in tree:
        return {_decode(k, tensors): _decode(v, tensors) for k, v in tree["dict"]}
    raise PayloadError(f"unexpected node {tree!r}")
