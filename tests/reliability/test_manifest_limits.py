"""Manifests that would exhaust the machine are bad input, found in seconds (issue 12, section 3, items 1 and 3).

Sizes that drive memory are bounded by the schema, the audit's peak memory is estimated from the
manifest and compared with what the machine has before anything is allocated, and every text,
list and the file itself are bounded, so that nothing a manifest says can make validate or run
allocate without limit.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auditkit import cli
from auditkit.manifest import memory
from auditkit.manifest.limits import MAX_MANIFEST_BYTES
from auditkit.manifest.schema import manifest_schema

from .manifest_edits import FIXTURES, edited, line_of, validate


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    """A private copy of the fixture submissions (manifests, network files, arrays)."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "sub"))








# --- item 1: sizes that drive memory ------------------------------------------------------------


@pytest.mark.parametrize("side", [100_000, 20_000])
def test_huge_image_shape_is_bad_input_at_its_line(submission, side):
    """[100000, 100000] raised MemoryError (exit 3); [20000, 20000] took 4 min and 22 GB to fail."""
    path = edited(submission, "image_shape: [32, 32]", f"image_shape: [{side}, {side}]")
    result = validate(path)
    assert result.exit_code == 2, result.output
    line = line_of(path, "image_shape:")
    assert result.stderr.splitlines() == [
        f"{path}:{line}: modality.image_shape.{i}: Input should be less than or equal to 4096 (got {side})" for i in (0, 1)
    ]


@pytest.mark.parametrize("old,new,field,limit", [
    ("data:\n  phantoms:\n    - kind: shepp_logan",
     "data:\n  phantoms:\n    - {kind: ellipses, count: 5000}", "data.phantoms.0.count", 1000),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  noise: {draws: 10000000}\n", "checks.noise.draws", 100_000),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  noise: {batch_size: 100000}\n", "checks.noise.batch_size", 1024),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  tradeoff: {restarts: 1000}\n", "checks.tradeoff.restarts", 100),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  tradeoff: {iterations: 1000000}\n", "checks.tradeoff.iterations", 100_000),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  adversarial: {measurement_domain: {restarts: 500}}\n",
     "checks.adversarial.measurement_domain.restarts", 100),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  adversarial: {image_domain: {max_iter: 1000000}}\n",
     "checks.adversarial.image_domain.max_iter", 100_000),
    ("    ratio: 0.33\n", "    ratio: 0.33\nbaseline: {max_iter: 10000000}\n", "baseline.max_iter", 100_000),
])
def test_counts_that_drive_memory_and_time_are_bounded(submission, old, new, field, limit):
    result = validate(edited(submission, old, new))
    assert result.exit_code == 2
    assert f": {field}: Input should be less than or equal to {limit} (got " in result.stderr


def test_ct_angles_and_coils_are_bounded(submission):
    ct = edited(submission, '"n_angles": 30}', '"n_angles": 100000}', base="valid.json")
    assert "modality.sampling.n_angles: Input should be less than or equal to 8192" in validate(ct).stderr
    coils = edited(submission, "count: 2", "count: 1000", base="valid_full.yaml")
    assert "modality.coils.count: Input should be less than or equal to 128" in validate(coils).stderr


def test_too_many_test_images_in_all(submission):
    path = edited(submission, "    - kind: shepp_logan", "    - {kind: ellipses, count: 600}\n    - {kind: ellipses, count: 600}")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr.endswith("data.phantoms: 1200 test images in all; at most 1000 are allowed\n")


def test_memory_the_machine_lacks_is_bad_input_at_image_shape(submission, monkeypatch):
    """Within the schema's limits, the estimated peak is compared with the available memory, in validate…"""
    path = edited(submission, "image_shape: [32, 32]", "image_shape: [2048, 2048]")
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 8 * memory.GIB)
    result = validate(path)
    assert result.exit_code == 2
    needed = memory.gib(_estimate(path).total)
    assert result.stderr == (
        f"{path}:{line_of(path, 'image_shape:')}: modality.image_shape: the audit would need about {needed} "
        "(mostly the searches' gradient graphs), this machine has 8.0 GiB available; use a smaller image_shape or "
        "fewer images, restarts or draws per batch\n")


def test_memory_is_checked_at_the_start_of_run_before_the_operator(submission, monkeypatch, tmp_path):
    """…and at the start of run, before the operator is built and before anything is written."""
    import auditkit.operators.factory as factory

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the operator was built")

    monkeypatch.setattr(factory, "build_operator", refuse)
    monkeypatch.setattr("auditkit.preparation.build_operator", refuse)
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: memory.GIB // 4)  # the runtime alone needs 0.5
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["run", str(submission / "valid.yaml"), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "modality.image_shape: the audit would need about 0.5 GiB (mostly the runtime), this machine has 0.2 GiB" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_memory_that_fits_is_no_problem(submission, monkeypatch):
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: memory.GIB)
    assert validate(submission / "valid.yaml").exit_code == 0
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: None)  # unknown: not checked
    assert validate(submission / "valid.yaml").exit_code == 0


def _estimate(path: Path) -> memory.MemoryEstimate:
    """The estimate for the manifest at ``path`` (its schema passes)."""
    from auditkit.manifest import load_manifest

    m = load_manifest(path)
    return memory.estimate_memory(m.modality, m.data, m.checks, m.network.trained_n_angles)


# --- item 3: texts, lists and the file ----------------------------------------------------------


def test_a_10_mb_submission_id_is_refused_before_parsing(submission):
    """A 10 MB id used to validate and then make run render for minutes."""
    path = edited(submission, "id: FIX-001", "id: " + "x" * (10 << 20))
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}: the file is larger than a manifest may be (10 MiB > 1 MiB); a manifest holds "
                             "settings and file names, the data go in files it names\n")


def test_the_file_limit_is_one_mebibyte(submission):
    text = (submission / "valid.yaml").read_text(encoding="utf-8")
    padding = "#" * (MAX_MANIFEST_BYTES - len(text.encode()) - 1) + "\n"
    at_limit = submission / "at.yaml"
    at_limit.write_text(text + padding, encoding="utf-8")
    assert validate(at_limit).exit_code == 0
    over = submission / "over.yaml"
    over.write_text(text + padding + "\n", encoding="utf-8")
    assert "the file is larger than a manifest may be" in validate(over).stderr


@pytest.mark.parametrize("old,new,field,limit", [
    ("id: FIX-001", "id: " + "x" * 129, "submission.id", 128),
    ("vendor: Example Imaging", "vendor: " + "v" * 257, "submission.vendor", 256),
    ("device: Example Recon", "device: " + "d" * 257, "submission.device", 256),
    ('version: "1.0"', 'version: "' + "9" * 129 + '"', "submission.version", 128),
    ("intended_use: Fixture for the manifest tests.", "intended_use: " + "u " * 2001, "submission.intended_use", 4000),
    ("contact: qa@example.com", "contact: " + "c" * 257, "submission.contact", 256),
    ("entrypoint: identity_net:build", "entrypoint: identity_net:" + "b" * 300, "network.entrypoint", 256),
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  structural: {details: [{text: " + "T" * 65 + "}]}\n",
     "checks.structural.details.0.text", 64),
])
def test_free_texts_are_bounded(submission, old, new, field, limit):
    path = edited(submission, old, new)
    result = validate(path)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.endswith(f": {field}: String should have at most {limit} characters")


def test_signing_texts_are_bounded(submission):
    path = edited(submission, "    ratio: 0.33\n", "    ratio: 0.33\nsigning:\n  certificate: c.p12\n  signer_name: "
                  + "n" * 257 + "\n  meaning: " + "m" * 257 + "\n")
    fields = [line.split(": ")[1] for line in validate(path).stderr.splitlines()]
    assert fields == ["signing.signer_name", "signing.meaning"]


@pytest.mark.parametrize("old,new,field,limit", [
    ("    ratio: 0.33\n", "    ratio: 0.33\nchecks:\n  noise: {levels: [" + ", ".join(f"{i / 1000}" for i in range(1, 66)) + "]}\n",
     "checks.noise.levels", 64),
    ("    - kind: shepp_logan", "    - kind: shepp_logan\n" + "    - {kind: shepp_logan}\n" * 1000, "data.phantoms", 1000),
    ("  input: zero_filled", "  kwargs: {" + ", ".join(f"k{i}: {i}" for i in range(101)) + "}\n  input: zero_filled",
     "network.kwargs", 100),
])
def test_lists_are_bounded(submission, old, new, field, limit):
    result = validate(edited(submission, old, new))
    assert result.exit_code == 2
    assert f": {field}: " in result.stderr and f"at most {limit} " in result.stderr


def test_long_paths_are_bounded(submission):
    path = edited(submission, "path: net/identity_net.py", "path: " + "p/" * 2100 + "net.py")
    result = validate(path)
    assert result.exit_code == 2
    assert result.stderr.endswith(": network.path: File path should have at most 4096 characters\n")


def test_every_text_list_and_table_of_the_schema_has_a_stated_limit():
    """Editors and other tools see the same limits as validate: in the JSON Schema."""
    unbounded: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            pattern = node.get("pattern")
            fixed = isinstance(pattern, str) and re.search(r"[*+]|\{\d+,\}", pattern) is None  # e.g. 64 hex digits
            if kind == "string" and not ({"maxLength", "enum", "const"} & node.keys() or fixed):
                unbounded.append(where)
            if kind == "array" and "maxItems" not in node:
                unbounded.append(where)
            if kind == "object" and node.get("additionalProperties", False) is not False and "maxProperties" not in node:
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(manifest_schema(), "#")
    assert unbounded == []


def test_counts_in_the_schema_have_maxima():
    defs = manifest_schema()["$defs"]
    assert defs["Modality"]["properties"]["image_shape"]["prefixItems"][0]["maximum"] == 4096
    assert defs["NoiseConfig"]["properties"]["draws"]["maximum"] == 100_000
    assert defs["Coils"]["properties"]["count"]["maximum"] == 128
    assert defs["Submission"]["properties"]["intended_use"]["maxLength"] == 4000
