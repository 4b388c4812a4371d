"""Loading submissions: hashes before deserialisation, formats, entry points, weights, freezing."""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import pytest
import safetensors.torch
import torch

from auditkit.errors import NetworkLoadError
from auditkit.networks.loader import load_module, load_network, resolve_device

from .conftest import MaskedFFT, Spec, digest, save_torchscript, write_files

MODEL = """
import torch

class Net(torch.nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.lin = torch.nn.Linear(width, 2)
        self.drop = torch.nn.Dropout(0.5)
        self.norm = torch.nn.BatchNorm1d(2)

    def forward(self, x):
        return self.norm(self.drop(self.lin(x)))

def build(width=3):
    return Net(width)
"""


def python_submission(root: Path, files: dict[str, str | bytes], **spec_fields) -> Spec:
    """Write files under root and a Spec listing all of them."""
    return Spec(sha256=write_files(root, files), **spec_fields)


# -- hashes come first ----------------------------------------------------------
def test_python_module_is_not_executed_when_its_hash_mismatches(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    source = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n" + MODEL
    spec = python_submission(tmp_path, {"net/model.py": source}, path=tmp_path / "net")
    spec.sha256["net/model.py"] = "f" * 64
    with pytest.raises(NetworkLoadError, match="sha256 mismatch"):
        load_module(spec, tmp_path)
    assert not marker.exists()
    spec.sha256 = write_files(tmp_path, {"net/model.py": source})
    load_module(spec, tmp_path)
    assert marker.exists()  # control: with the right hash the side effect does happen


def test_unlisted_sibling_module_blocks_loading(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    spec = python_submission(tmp_path, {"net/model.py": f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"},
                             path=tmp_path / "net")
    write_files(tmp_path, {"net/extra.py": ""})
    with pytest.raises(NetworkLoadError) as info:
        load_module(spec, tmp_path)
    assert [(p.file, p.field) for p in info.value.problems] == [("net/extra.py", "network.sha256")]
    assert not marker.exists()


def test_tampered_torchscript_is_never_jit_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_torchscript(torch.nn.Linear(3, 2), tmp_path / "net.ts")
    spec = Spec(format="torchscript", path=tmp_path / "net.ts", entrypoint=None,
                sha256={"net.ts": digest(tmp_path / "net.ts")})
    with open(tmp_path / "net.ts", "ab") as fh:
        fh.write(b"tampered")
    calls: list[object] = []
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(NetworkLoadError, match="sha256 mismatch"):
        load_module(spec, tmp_path)
    assert calls == []


def test_missing_weights_entry_is_refused(tmp_path: Path) -> None:
    spec = python_submission(tmp_path, {"net/model.py": MODEL}, path=tmp_path / "net", weights=tmp_path / "w.pt")
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(NetworkLoadError, match="no sha256 entry for 'w.pt'"):
        load_module(spec, tmp_path)


# -- TorchScript ------------------------------------------------------------------
def test_torchscript_round_trip_without_deprecation_warning(tmp_path: Path) -> None:
    original = torch.nn.Linear(3, 2)
    save_torchscript(original, tmp_path / "net.ts")
    spec = Spec(format="torchscript", path=tmp_path / "net.ts", entrypoint=None,
                sha256={"net.ts": digest(tmp_path / "net.ts")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = load_module(spec, tmp_path)
    x = torch.randn(4, 3)
    torch.testing.assert_close(module(x), original(x).detach())
    assert not module.training and not any(p.requires_grad for p in module.parameters())


@pytest.mark.parametrize("content", [b"not an archive", "state_dict"])
def test_not_a_torchscript_archive(tmp_path: Path, content: object) -> None:
    if content == "state_dict":
        buffer = io.BytesIO()
        torch.save(torch.nn.Linear(3, 2).state_dict(), buffer)
        content = buffer.getvalue()
    spec = Spec(format="torchscript", path=tmp_path / "net.pt", entrypoint=None,
                sha256=write_files(tmp_path, {"net.pt": content}))
    with pytest.raises(NetworkLoadError) as info:
        load_module(spec, tmp_path)
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("net.pt", "network.path")
    assert problem.message.startswith("not a TorchScript archive: ") and "\n" not in problem.message


# -- Python entry points ------------------------------------------------------------
def test_entry_point_kwargs_reach_the_builder(tmp_path: Path) -> None:
    spec = python_submission(tmp_path, {"net/model.py": MODEL}, path=tmp_path / "net", kwargs={"width": 5})
    module = load_module(spec, tmp_path)
    assert module.lin.in_features == 5
    assert "model" not in sys.modules


@pytest.mark.parametrize(("source", "entrypoint", "expected"), [
    ("def build(:\n", "model:build", "SyntaxError: invalid syntax (model.py, line 1)"),
    (MODEL, "model:missing", "'model' has no attribute 'missing'"),
    (MODEL, "nomodule:build", "module 'nomodule' is not part of the submission"),
    (MODEL, "model.build", "expected 'module:function'"),
    ("raise ValueError('bad config\\nsecond line')\n", "model:build", "ValueError: bad config"),
    ("import torch\ndef build():\n    raise RuntimeError('boom')\n", "model:build", "calling 'model:build' failed: "
                                                                                   "RuntimeError: boom"),
])
def test_entry_point_errors(tmp_path: Path, source: str, entrypoint: str, expected: str) -> None:
    spec = python_submission(tmp_path, {"net/model.py": source}, path=tmp_path / "net", entrypoint=entrypoint)
    with pytest.raises(NetworkLoadError) as info:
        load_module(spec, tmp_path)
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("net", "network.entrypoint")
    assert expected in problem.message and "\n" not in problem.message


def test_entry_point_returning_a_non_module(tmp_path: Path) -> None:
    spec = python_submission(tmp_path, {"model.py": "def build():\n    return {'w': 1}\n"}, path=tmp_path / "model.py")
    with pytest.raises(NetworkLoadError, match=r"returned builtins\.dict, expected a torch\.nn\.Module"):
        load_module(spec, tmp_path)


# -- weights ----------------------------------------------------------------------
def weights_bytes(state: dict[str, torch.Tensor], kind: str) -> bytes:
    if kind == "safetensors":
        return safetensors.torch.save(state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["safetensors", "pt"])
def test_weights_are_loaded(tmp_path: Path, kind: str) -> None:
    state = {"lin.weight": torch.randn(2, 3), "lin.bias": torch.randn(2), "norm.weight": torch.rand(2),
             "norm.bias": torch.randn(2), "norm.running_mean": torch.randn(2), "norm.running_var": torch.rand(2),
             "norm.num_batches_tracked": torch.tensor(7)}
    spec = python_submission(tmp_path, {"net/model.py": MODEL, f"w.{kind}": weights_bytes(state, kind)},
                             path=tmp_path / "net", weights=tmp_path / f"w.{kind}")
    module = load_module(spec, tmp_path)
    for key, value in state.items():
        torch.testing.assert_close(module.state_dict()[key], value)


def test_safetensors_strict_keys_and_shapes_are_reported(tmp_path: Path) -> None:
    state = {"lin.weight": torch.randn(2, 4), "extra.weight": torch.randn(1)}
    spec = python_submission(tmp_path, {"net/model.py": MODEL, "w.safetensors": weights_bytes(state, "safetensors")},
                             path=tmp_path / "net", weights=tmp_path / "w.safetensors")
    with pytest.raises(NetworkLoadError) as info:
        load_module(spec, tmp_path)
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("w.safetensors", "network.weights")
    assert "missing keys: lin.bias, norm.bias, norm.num_batches_tracked, norm.running_mean, norm.running_var (+1 more)" \
        in problem.message
    assert "unexpected keys: extra.weight" in problem.message
    assert "shape mismatch: lin.weight (2, 4) vs (2, 3) expected" in problem.message


class Payload:
    """A custom class whose unpickling would touch a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pt_weights_with_custom_objects_are_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    buffer = io.BytesIO()
    torch.save({"lin.weight": Payload(marker)}, buffer)
    spec = python_submission(tmp_path, {"net/model.py": MODEL, "w.pt": buffer.getvalue()},
                             path=tmp_path / "net", weights=tmp_path / "w.pt")
    with pytest.raises(NetworkLoadError, match=r"network\.weights: cannot read weights \(only tensors are accepted\)"):
        load_module(spec, tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(("payload", "name", "expected"), [
    ([torch.zeros(2)], "w.pt", "expected a state dict (name → tensor), found list"),
    ({"lin.weight": 3}, "w.pt", "not tensors: lin.weight"),
    ({}, "w.bin", "unsupported weights file 'w.bin'"),
])
def test_pt_weights_must_be_a_state_dict_of_tensors(tmp_path: Path, payload: object, name: str, expected: str) -> None:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    spec = python_submission(tmp_path, {"net/model.py": MODEL, name: buffer.getvalue()},
                             path=tmp_path / "net", weights=tmp_path / name)
    with pytest.raises(NetworkLoadError) as info:
        load_module(spec, tmp_path)
    assert expected in info.value.problems[0].message


def test_torchscript_with_safetensors_weights(tmp_path: Path) -> None:
    save_torchscript(torch.nn.Linear(3, 2), tmp_path / "net.ts")
    state = {"weight": torch.randn(2, 3), "bias": torch.randn(2)}
    table = write_files(tmp_path, {"w.safetensors": weights_bytes(state, "safetensors")})
    table["net.ts"] = digest(tmp_path / "net.ts")
    spec = Spec(format="torchscript", path=tmp_path / "net.ts", entrypoint=None, weights=tmp_path / "w.safetensors",
                sha256=table)
    module = load_module(spec, tmp_path)
    torch.testing.assert_close(module.weight, state["weight"])


# -- freezing and placement ------------------------------------------------------------
def test_loaded_module_is_frozen_and_in_eval_mode(tmp_path: Path) -> None:
    spec = python_submission(tmp_path, {"net/model.py": MODEL}, path=tmp_path / "net")
    module = load_module(spec, tmp_path)
    assert not any(m.training for m in module.modules())
    assert not any(p.requires_grad for p in module.parameters())
    x = torch.randn(2, 3, requires_grad=True)
    module(x).sum().backward()  # frozen parameters, but gradients still reach the input
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0
    torch.testing.assert_close(module(x), module(x))  # dropout off


def test_device_auto_falls_back_to_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    spec = python_submission(tmp_path, {"net/model.py": MODEL}, path=tmp_path / "net", device="auto")
    module = load_module(spec, tmp_path, device="auto")
    assert {p.device.type for p in module.parameters()} == {"cpu"}
    with pytest.raises(NetworkLoadError, match=r"network\.device: 'cuda' requested but no CUDA device"):
        load_module(spec, tmp_path, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_auto_picks_cuda_when_available(tmp_path: Path) -> None:
    spec = python_submission(tmp_path, {"net/model.py": MODEL}, path=tmp_path / "net")
    module = load_module(spec, tmp_path, device="auto")
    assert {p.device.type for p in module.parameters()} == {"cuda"}


# -- load, wrap and probe -------------------------------------------------------------
ZERO_FILLED_NET = """
import torch

class Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, u):
        return u * self.gain

def build():
    return Scale()
"""


def test_load_network_wraps_and_probes(tmp_path: Path) -> None:
    op = MaskedFFT()
    spec = python_submission(tmp_path, {"net/model.py": ZERO_FILLED_NET}, path=tmp_path / "net")
    f = load_network(spec, tmp_path, op)
    y = op(torch.rand(2, *op.image_shape))
    torch.testing.assert_close(f(y), op.pinv(y))
    assert f.name == "network" and f.operator is op


def test_load_network_probe_failure_names_the_network_file(tmp_path: Path) -> None:
    op = MaskedFFT()
    spec = python_submission(tmp_path, {"net/model.py": ZERO_FILLED_NET}, path=tmp_path / "net",
                             output="channels")
    with pytest.raises(NetworkLoadError) as info:
        load_network(spec, tmp_path, op)
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("net", "network.output")
