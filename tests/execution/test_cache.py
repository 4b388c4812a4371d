"""The baseline cache: a hit for an unchanged network-free unit, a miss when anything it depends on changes,
and an entry that fails its hash recomputed, never trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import auditkit
from auditkit.checks.units import Phase, Unit
from auditkit.execution.cache import UnitCache, unit_key
from auditkit.pipeline import RunOptions, run_audit
from auditkit.preparation import prepare

UNIT = Unit("structural", Phase.MEASURE, "baseline", 0, "shepp_logan")


def _key(manifest: Path, **changes) -> str:
    prepared = prepare(manifest, quick=True, signing=False)
    ctx = prepared.context
    if "pixel" in changes:
        ctx.images = ctx.images.clone()
        ctx.images[0, 5, 7] += 1e-6
    return unit_key(UNIT, ctx, prepared.manifest.checks.structural, prepared.manifest.modality)


def _edited(manifest: Path, old: str, new: str) -> Path:
    text = manifest.read_text(encoding="utf-8")
    assert old in text
    manifest.write_text(text.replace(old, new), encoding="utf-8")
    return manifest


def test_the_key_changes_with_every_input_it_depends_on(tiny_manifest: Path, monkeypatch):
    base = _key(tiny_manifest)
    assert _key(tiny_manifest) == base  # unchanged: the same key
    assert _key(tiny_manifest, pixel=True) != base  # one image value
    monkeypatch.setattr(auditkit, "__version__", "0.0.0-other")
    assert _key(tiny_manifest) != base  # auditkit's version
    monkeypatch.undo()
    monkeypatch.setattr("auditkit.execution.cache.source_sha256", lambda: "0" * 64)
    assert _key(tiny_manifest) != base  # auditkit's code, at the same version
    monkeypatch.undo()
    lam = _key(_edited(tiny_manifest, "max_iter: 15}", "max_iter: 15, lam: 0.02}"))
    assert lam != base  # the baseline's λ
    seed = _key(_edited(tiny_manifest, "ratio: 0.33}", "ratio: 0.33, seed: 7}"))
    assert seed not in (base, lam)  # the mask's seed


def _retrained(manifest: Path) -> Path:
    """The manifest with its network's file changed (a comment added) and its hash updated."""
    from auditkit.fileio import sha256_file

    net = manifest.parent / "net" / "identity_net.py"
    old = sha256_file(net)
    net.write_text(net.read_text(encoding="utf-8") + "\n# retrained\n", encoding="utf-8")
    return _edited(manifest, old, sha256_file(net))


def test_the_key_ignores_the_network(tiny_manifest: Path):
    base = _key(tiny_manifest)
    assert _key(_retrained(tiny_manifest)) == base


def test_an_entry_that_fails_its_hash_is_not_returned(tmp_path: Path):
    cache = UnitCache(tmp_path)
    key = "ab" * 32
    cache.put(key, b"result bytes")
    assert cache.get(key) == b"result bytes"
    (tmp_path / "ab" / f"{key}.safetensors").write_bytes(b"result byteZ")
    assert cache.get(key) is None
    assert cache.get("cd" * 32) is None


def _units(out: Path) -> dict[str, dict]:
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    return {u["unit"]: u for c in evidence["checks"] for u in c.get("units", [])}


def test_a_second_audit_reuses_the_baseline_and_recomputes_the_network(tiny_manifest: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    options = dict(checks=["structural", "hallucination"], quick=True, cache=cache)
    run_audit(tiny_manifest, RunOptions(out=tmp_path / "first", **options), render=False)
    first = _units(tmp_path / "first")
    assert first and all(u["source"] == "computed" for u in first.values())
    assert all((u["cache_key"] is not None) == (u["subject"] == "baseline") for u in first.values())

    # the network changes, the baseline's units do not
    run_audit(_retrained(tiny_manifest),
              RunOptions(out=tmp_path / "second", **options), render=False)
    second = _units(tmp_path / "second")
    assert second.keys() == first.keys()
    for uid, unit in second.items():
        assert unit["source"] == ("reused" if unit["subject"] == "baseline" else "computed"), uid
        assert unit["cache_key"] == first[uid]["cache_key"]
    ev1 = json.loads((tmp_path / "first" / "evidence.json").read_text(encoding="utf-8"))
    ev2 = json.loads((tmp_path / "second" / "evidence.json").read_text(encoding="utf-8"))
    for c1, c2 in zip(ev1["checks"], ev2["checks"]):
        assert c1["subjects"]["baseline"] == c2["subjects"]["baseline"]


def test_no_cache_writes_nothing(tiny_manifest: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run_audit(tiny_manifest, RunOptions(out=tmp_path / "out", checks=["structural"], quick=True), render=False)
    assert not (tmp_path / "xdg").exists()
    assert all(u["source"] == "computed" for u in _units(tmp_path / "out").values())


@pytest.mark.parametrize("damage", [b"", b"not a payload"])
def test_a_damaged_entry_is_recomputed(tiny_manifest: Path, tmp_path: Path, damage: bytes):
    cache = tmp_path / "cache"
    options = dict(checks=["structural"], quick=True, cache=cache)
    run_audit(tiny_manifest, RunOptions(out=tmp_path / "a", **options), render=False)
    entries = sorted(cache.rglob("*.safetensors"))
    assert entries
    for entry in entries:
        entry.write_bytes(damage)
    run_audit(tiny_manifest, RunOptions(out=tmp_path / "b", **options), render=False)
    assert all(u["source"] == "computed" for u in _units(tmp_path / "b").values())
    assert UnitCache(cache).get(entries[0].stem) is not None  # written again


def test_sparse_operator_tensors_are_hashed_by_their_entries():
    """The CT system matrix is sparse CSR: its key follows its entries (a changed value changes it)."""
    import torch

    from auditkit.execution.cache import tensor_sha256

    dense = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]])
    csr = dense.to_sparse_csr()
    assert tensor_sha256(csr) == tensor_sha256(dense.to_sparse_csr())
    changed = dense.clone()
    changed[1, 2] = 4.0
    assert tensor_sha256(changed.to_sparse_csr()) != tensor_sha256(csr)
    assert tensor_sha256(dense.to_sparse()) != tensor_sha256(dense)



def test_the_thread_count_is_part_of_a_units_key(tiny_manifest: Path):
    """The bits of a unit depend on the torch thread count it ran with: another count must not reuse them."""
    from auditkit.pipeline import unit_threads

    with unit_threads(1):
        one = _key(tiny_manifest)
    with unit_threads(2):
        two = _key(tiny_manifest)
    assert one != two
