"""load_manifest on the fixture manifests: every problem at once, as FILE:LINE: field.path: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditkit.errors import InputError
from auditkit.manifest import load_manifest


def reported(path: Path) -> list[str]:
    """The formatted problems load_manifest raises for ``path``."""
    with pytest.raises(InputError) as info:
        load_manifest(path)
    return [p.format() for p in info.value.problems]


@pytest.mark.parametrize("name,snippet,field,message", [
    ("bad_missing_field.yaml", "submission:", "submission.vendor", "missing required field"),
    ("bad_unknown_field.yaml", "ration: 0.33", "modality.sampling.ration", "unknown field (did you mean 'ratio'?)"),
    ("bad_wrong_type.yaml", "image_shape: big", "modality.image_shape", "expected a list, found a string 'big'"),
    ("bad_ratio_range.yaml", "ratio: 1.5", "modality.sampling.ratio", "Input should be less than or equal to 1 (got 1.5)"),
    ("bad_password.yaml", "password: hunter2", "signing.password",
     "unknown field: a password never goes into the manifest; put the name of the environment variable that "
     "holds it in signing.password_env"),
])
def test_one_problem_at_the_right_line(fixtures, line_with, name, snippet, field, message):
    path = fixtures / name
    assert reported(path) == [f"{path}:{line_with(path, snippet)}: {field}: {message}"]


def test_missing_field_line_is_hard_coded_too(fixtures):
    """One literal line number, in case the snippet search itself were wrong."""
    path = fixtures / "bad_missing_field.yaml"
    assert reported(path) == [f"{path}:4: submission.vendor: missing required field"]


def test_malformed_yaml_line_and_column(fixtures, line_with):
    path = fixtures / "bad_malformed.yaml"
    line = line_with(path, "sampling:")
    assert reported(path) == [
        f"{path}:{line}:11: malformed YAML: expected ',' or ']', but got ':' "
        f"(while parsing a flow sequence at line {line_with(path, 'image_shape: [32, 32')})"
    ]


def test_every_problem_reported_at_once_in_line_order(fixtures, line_with):
    path = fixtures / "bad_many.yaml"
    at = lambda snippet: f"{path}:{line_with(path, snippet)}:"  # noqa: E731
    assert reported(path) == [
        f"{at('submission:')} submission.vendor: missing required field",
        f"{at('ratio: 0')} modality.sampling.ratio: Input should be greater than 0 (got 0)",
        f"{at('centre_fraction')} modality.sampling.centre_fraction: unknown field (did you mean 'center_fraction'?)",
        f"{at('entrypoint: other:build')} network.entrypoint: duplicate key "
        f"(first given at line {line_with(path, 'entrypoint: identity_net:build')})",
        f"{at('device: gpu')} network.device: Input should be 'auto', 'cpu' or 'cuda' (got 'gpu')",
        f"{at('count: 0')} data.phantoms.1.count: Input should be greater than or equal to 1 (got 0)",
    ]


def test_valid_manifest_resolves_paths_against_its_folder(fixtures, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    m = load_manifest(fixtures / "valid_full.yaml")
    assert m.folder == fixtures
    assert m.network.path == fixtures / "net" / "scaled_net.py"
    assert m.network.path.given == "net/scaled_net.py"
    assert m.modality.sampling.mask_file == fixtures / "arrays" / "mask_32.npy"
    assert [i.file.given for i in m.data.images] == ["arrays/disk_32.png", "arrays/gradient_32.npy"]
    assert m.baseline.lam == 1e-3  # written 1e-3: a number, not a string
    assert m.checks.structural.details[0].position == (0.25, 0.25)


def test_relative_manifest_path_from_another_directory(fixtures, monkeypatch):
    monkeypatch.chdir(fixtures.parent)
    m = load_manifest(Path("manifests") / "valid.yaml")
    assert m.network.path == fixtures / "net" / "identity_net.py"


def test_json_manifest_is_accepted(fixtures):
    m = load_manifest(fixtures / "valid.json")
    assert m.modality.kind == "ct_parallel" and m.modality.sampling.n_angles == 30
    assert m.checks.sampling.n_angles == [15, 30, 60]
    assert m.network.path == fixtures / "net" / "identity_net.py"


def test_json_problems_have_lines(fixtures, write, line_with):
    text = (fixtures / "valid.json").read_text(encoding="utf-8").replace('"n_angles": 30', '"n_angles": 0')
    path = write("m.json", text)
    line = line_with(path, '"n_angles": 0')
    assert reported(path) == [f"{path}:{line}: modality.sampling.n_angles: Input should be greater than or equal to 1 (got 0)"]


def test_cross_field_problem_for_missing_field_points_at_parent(fixtures, write, line_with):
    text = (fixtures / "valid.yaml").read_text(encoding="utf-8").replace("    ratio: 0.33\n", "")
    path = write("m.yaml", text)
    assert reported(path) == [f"{path}:{line_with(path, 'sampling:')}: modality.sampling.ratio: "
                              "required for mri_singlecoil with pattern 'cartesian_random'"]


def test_missing_manifest_file(tmp_path):
    path = tmp_path / "nothing.yaml"
    assert reported(path) == [f"{path}: file not found"]


def test_parse_manifest_keeps_the_sections_that_are_valid_on_their_own(fixtures):
    """bad_many breaks submission, modality, network and data; baseline and checks are left out (defaults)."""
    from auditkit.manifest.load import parse_manifest
    from auditkit.manifest.models import Baseline, Checks

    parsed = parse_manifest(fixtures / "bad_many.yaml")
    assert parsed.manifest is None and len(parsed.problems) == 6
    assert sorted(parsed.sections) == ["baseline", "checks"]
    assert parsed.sections["baseline"] == Baseline() and parsed.sections["checks"] == Checks()
    whole = parse_manifest(fixtures / "valid.yaml")
    assert whole.manifest is not None and whole.problems == []
    assert sorted(whole.sections) == ["baseline", "checks", "data", "modality", "network", "submission"]
