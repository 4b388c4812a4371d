"""The manifest models: defaults, constraints and cross-field rules, each reported under the field to fix."""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from auditkit.manifest import models
from auditkit.manifest.load import schema_problems
from auditkit.manifest.models import Manifest
from auditkit.manifest.paths import MANIFEST_DIR, ManifestPath
from auditkit.manifest.source import ManifestSource, read_source

BASE: dict[str, Any] = {
    "schema_version": 1,
    "submission": {"id": "S", "vendor": "V", "device": "D", "version": "1", "intended_use": "U", "contact": "C"},
    "modality": {"kind": "mri_singlecoil", "image_shape": [32, 32],
                 "sampling": {"pattern": "cartesian_random", "ratio": 0.25}},
    "network": {"format": "python", "path": "net.py", "entrypoint": "net:build",
                "sha256": {"net.py": "a" * 64}, "input": "zero_filled", "output": "magnitude"},
    "data": {"phantoms": [{"kind": "shepp_logan"}]},
}


def variant(**changes: Any) -> dict[str, Any]:
    """BASE with dotted-path changes; the value ``...`` deletes the key."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def problems(data: dict[str, Any]) -> dict[str, str]:
    """field path → message for every problem of ``data`` (empty when valid)."""
    try:
        Manifest.model_validate(data, context={MANIFEST_DIR: Path("/sub")})
    except ValidationError as exc:
        return {p.field: p.message for p in schema_problems(exc, ManifestSource(Path("m.yaml"), data))}
    return {}


def test_base_is_valid_with_documented_defaults():
    m = Manifest.model_validate(BASE, context={MANIFEST_DIR: Path("/sub")})
    assert m.modality.image_shape == (32, 32)
    assert m.modality.sampling.center_fraction == 0.08 and m.modality.sampling.seed == 0
    assert m.network.complex_as == "complex" and m.network.device == "auto" and m.network.kwargs == {}
    assert m.data.normalisation == "minmax" and m.data.percentiles == (1.0, 99.5)
    assert m.baseline.method == "l1_wavelet" and m.baseline.params() == {}
    assert m.checks.enabled() == list(models.CHECK_NAMES)
    assert m.checks.adversarial.image_domain.budgets == [0.01, 0.02, 0.04]
    assert m.checks.adversarial.measurement_domain.lr == 5.0
    assert m.checks.structural.details is None  # null: the default details laid out for the image size
    assert m.checks.tradeoff.etas == [0.0, 0.02, 0.04, 0.06, 0.08]
    assert m.checks.sampling.ratios is None and m.checks.sampling.n_angles is None
    assert m.signing is None
    assert m.folder == Path("/sub")


def test_paths_resolve_against_the_manifest_folder_and_dump_as_written():
    data = variant(network__path="../models/net.py")
    m = Manifest.model_validate(data, context={MANIFEST_DIR: Path("/sub/dir")})
    assert isinstance(m.network.path, ManifestPath)
    assert m.network.path == Path("/sub/models/net.py")
    assert m.network.path.given == "../models/net.py"
    assert m.model_dump(mode="json")["network"]["path"] == "../models/net.py"
    assert [loc for loc, _ in m.file_fields()] == [("network", "path")]


@pytest.mark.parametrize("changes,expected", [
    ({"modality__sampling__ratio": 1.5}, {"modality.sampling.ratio": "Input should be less than or equal to 1 (got 1.5)"}),
    ({"modality__sampling__ratio": 0.0}, {"modality.sampling.ratio": "Input should be greater than 0 (got 0.0)"}),
    ({"modality__image_shape": [4, 32]}, {"modality.image_shape.0": "Input should be greater than or equal to 8 (got 4)"}),
    ({"modality__image_shape": [32]}, {"modality.image_shape": "too few items (item 1 is missing)"}),
    ({"modality__sampling__seed": 1.0}, {"modality.sampling.seed": "Input should be a valid integer (got 1.0)"}),
    ({"modality__sampling__ratio": "0.3"}, {"modality.sampling.ratio": "Input should be a valid number (got '0.3')"}),
    ({"submission__version": 1.1}, {"submission.version": "Input should be a valid string (got 1.1); put the value in quotes"}),
    ({"modality": [1]}, {"modality": "expected a mapping of fields, found a list"}),
    ({"schema_version": 2}, {"schema_version": "Input should be 1 (got 2)"}),
    ({"network__sha256": {"net.py": "xyz"}}, {"network.sha256.net.py": "String should match pattern '^[0-9a-fA-F]{64}$' (got 'xyz')"}),
    ({"network__sha256": {"/abs/net.py": "a" * 64}},
     {"network.sha256./abs/net.py": "sha256 key '/abs/net.py' must be a path relative to the manifest folder, with '/' separators"}),
    ({"checks": {"noise": {"levels": [0.02, 0.01]}}}, {"checks.noise.levels": "values must be strictly increasing"}),
    ({"baseline": {"wavelet": "db44"}}, {"baseline.wavelet": "unknown wavelet 'db44' (e.g. haar, db2, db4, sym8)"}),
    ({"baseline": {"wavelet": "bior2.2"}}, {"baseline.wavelet": "wavelet 'bior2.2' is not orthogonal (e.g. haar, db2, db4, sym8)"}),
    ({"data__phantoms": [{"kind": "teapot"}]},
     {"data.phantoms.0.kind": "Input tag 'teapot' found using 'kind' does not match any of the expected tags: "
                              "'shepp_logan', 'ellipses', 'mni152'"}),
    ({"data__phantoms": [{"kind": "ellipses", "cont": 3}]}, {"data.phantoms.0.cont": "unknown field (did you mean 'count'?)"}),
    ({"checks": {"noise": {"zzz": 1}}},
     {"checks.noise.zzz": "unknown field (allowed here: batch_size, confidence, draws, enabled, k_baseline, levels, "
                          "max_probability, survival_budget, survival_iterations, survival_ratios, threshold)"}),
])
def test_field_constraints(changes, expected):
    assert problems(variant(**changes)) == expected


@pytest.mark.parametrize("changes,expected", [
    # the pattern must fit the modality
    ({"modality__sampling__pattern": "equispaced_angles"},
     {"modality.sampling.pattern": "'equispaced_angles' does not fit mri_singlecoil; use cartesian_random, "
                                   "cartesian_equispaced, random_points, radial, file"}),
    ({"modality__kind": "hadamard"},
     {"modality.sampling.pattern": "'cartesian_random' does not fit hadamard; use variable_density"}),
    # ratio / n_angles / n_lines / mask_file
    ({"modality__sampling__ratio": ...},
     {"modality.sampling.ratio": "required for mri_singlecoil with pattern 'cartesian_random'"}),
    ({"modality__sampling__n_angles": 50}, {"modality.sampling.n_angles": "not allowed for mri_singlecoil (ct_parallel only)"}),
    ({"modality__sampling": {"pattern": "radial"}},
     {"modality.sampling.ratio": "required for pattern 'radial' (or give n_lines)"}),
    ({"modality__sampling": {"pattern": "radial", "ratio": 0.2, "n_lines": 30}},
     {"modality.sampling.n_lines": "give either ratio or n_lines for pattern 'radial', not both"}),
    ({"modality__sampling__n_lines": 30},
     {"modality.sampling.n_lines": "not allowed with pattern 'cartesian_random' (only with pattern 'radial')"}),
    ({"modality__sampling": {"pattern": "file", "ratio": 0.3}},
     {"modality.sampling.mask_file": "required when pattern is 'file'",
      "modality.sampling.ratio": "not allowed with pattern 'file' (the mask file gives the ratio)"}),
    ({"modality__sampling__mask_file": "m.npy"},
     {"modality.sampling.mask_file": "not allowed with pattern 'cartesian_random' (only with pattern 'file')"}),
    ({"modality__sampling": {"pattern": "file", "mask_file": "m.txt"}},
     {"modality.sampling.mask_file": "must end in .npy or .png, got 'm.txt'"}),
    # coils
    ({"modality__kind": "mri_multicoil"}, {"modality.coils": "required for mri_multicoil"}),
    ({"modality__coils": {"count": 4, "synthetic": True}}, {"modality.coils": "not allowed for mri_singlecoil (mri_multicoil only)"}),
    ({"modality__kind": "mri_multicoil", "modality__coils": {"count": 4}},
     {"modality.coils.maps_file": "give a maps_file or set synthetic: true"}),
    ({"modality__kind": "mri_multicoil", "modality__coils": {"count": 4, "synthetic": True, "maps_file": "s.npy"}},
     {"modality.coils.synthetic": "give either maps_file or synthetic: true, not both"}),
    # network
    ({"network__entrypoint": ...}, {"network.entrypoint": "required for format 'python'"}),
    ({"network__format": "torchscript", "network__kwargs": {"a": 1}},
     {"network.entrypoint": "not allowed for format 'torchscript'", "network.kwargs": "not allowed for format 'torchscript'"}),
    ({"network__weights": "w.bin"}, {"network.weights": "must end in .safetensors or .pt, got 'w.bin'"}),
    ({"network__trained_n_angles": 50}, {"network.trained_n_angles": "not allowed for mri_singlecoil (ct_parallel only)"}),
    # data
    ({"data": {}}, {"data.images": "give at least one image, phantom or raw file"}),
    ({"data": {"images": [{"file": "a.nii", "slice_index": 3}]}}, {"data.images.0.slice_axis": "required with slice_index"}),
    ({"data": {"phantoms": [{"kind": "shepp_logan"}], "percentiles": [99, 1]}},
     {"data.percentiles": "lower percentile must be below the upper one, got [99.0, 1.0]"}),
    # baseline
    ({"baseline": {"method": "tv", "wavelet": "db2", "levels": 2}},
     {"baseline.wavelet": "not allowed for method 'tv'", "baseline.levels": "not allowed for method 'tv'"}),
    # checks
    ({"checks": {"sampling": {"n_angles": [10, 20]}}},
     {"checks.sampling.n_angles": "not allowed for mri_singlecoil (ct_parallel only; use ratios)"}),
    ({"checks": {"adversarial": {"images": [0, 1]}}},
     {"checks.adversarial.images": "index out of range: the data section yields 1 image(s)"}),
])
def test_cross_field_rules_name_the_field(changes, expected):
    assert problems(variant(**changes)) == expected


def test_ct_rules():
    ct = variant(modality={"kind": "ct_parallel", "image_shape": [32, 32],
                           "sampling": {"pattern": "equispaced_angles", "n_angles": 50}})
    assert problems(ct) == {}
    ct["modality"]["sampling"].update(ratio=0.5)
    del ct["modality"]["sampling"]["n_angles"]
    ct["network"].update(input="kspace", trained_ratio=0.3)
    ct["checks"] = {"sampling": {"ratios": [0.1, 0.2]}}
    assert problems(ct) == {
        "modality.sampling.n_angles": "required for ct_parallel",
        "modality.sampling.ratio": "not allowed for ct_parallel (give n_angles)",
    }
    ct["modality"]["sampling"] = {"pattern": "equispaced_angles", "n_angles": 50}
    assert problems(ct) == {
        "network.trained_ratio": "not allowed for ct_parallel (use trained_n_angles)",
        "network.input": "'kspace' does not fit ct_parallel; use measurements or zero_filled",
        "checks.sampling.ratios": "not allowed for ct_parallel (use n_angles)",
    }


@pytest.mark.parametrize("signing,expected", [
    ({"certificate": "c.p12", "signer_name": "N", "meaning": "Author"}, {}),
    ({"certificate": "c.pem", "key": "k.pem", "signer_name": "N", "meaning": "Author"}, {}),
    ({"certificate": "c.pem", "signer_name": "N", "meaning": "Author"}, {"signing.key": "required with a PEM certificate"}),
    ({"certificate": "c.p12", "key": "k.pem", "signer_name": "N", "meaning": "Author"},
     {"signing.key": "not allowed with a PKCS#12 certificate (it holds the key)"}),
    ({"certificate": "c.p12", "signer_name": "N", "meaning": "Author", "password_env": "MY PASSWORD"},
     {"signing.password_env": "String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$' (got 'MY PASSWORD')"}),
    ({"certificate": "c.p12", "signer_name": "N", "meaning": "Author", "password": "secret"},
     {"signing.password": "unknown field: a password never goes into the manifest; put the name of the environment "
                          "variable that holds it in signing.password_env"}),
    ({"certificate": "c.p12", "signer_name": "N"}, {"signing.meaning": "missing required field"}),
])
def test_signing(signing, expected):
    assert problems(variant(signing=signing)) == expected


def test_every_problem_of_one_manifest_is_reported():
    data = variant(submission__vendor=..., modality__sampling__ratio=2.0, network__device="gpu",
                   checks={"noise": {"draws": 0}, "tradeoff": {"restarts": 0}})
    assert set(problems(data)) == {"submission.vendor", "modality.sampling.ratio", "network.device",
                                   "checks.noise.draws", "checks.tradeoff.restarts"}


def test_counts_and_params():
    data = variant(data={"images": [{"file": "a.png"}],
                         "phantoms": [{"kind": "ellipses", "count": 3}, {"kind": "mni152", "indices": [40, 50]},
                                      {"kind": "mni152"}, {"kind": "shepp_logan"}]},
                   baseline={"method": "sqrt_lasso", "lam": 1e-4, "levels": 3})
    m = Manifest.model_validate(data)
    assert m.data.n_images == 1 + 3 + 2 + 25 + 1  # mni152 without indices: the 25 held-out axial slices
    assert m.baseline.params() == {"lam": 1e-4, "levels": 3}
    disabled = variant(checks={"noise": {"enabled": False}, "tradeoff": {"enabled": False}})
    assert Manifest.model_validate(disabled).checks.enabled() == ["adversarial", "structural", "sampling", "hallucination"]


@pytest.mark.parametrize("ours,theirs", [
    ("NetworkFormat", "auditkit.networks.spec:NetworkFormat"),
    ("InputConvention", "auditkit.networks.spec:InputConvention"),
    ("ComplexConvention", "auditkit.networks.spec:ComplexConvention"),
    ("OutputConvention", "auditkit.networks.spec:OutputConvention"),
    ("DeviceChoice", "auditkit.networks.spec:DeviceChoice"),
    ("NormalisationMethod", "auditkit.data.normalise:NormalisationMethod"),
    ("RawFormat", "auditkit.data.raw:FORMATS"),
])
def test_value_sets_match_the_modules_that_use_them(ours, theirs):
    import importlib

    module, name = theirs.split(":")
    value = getattr(importlib.import_module(module), name)
    assert typing.get_args(getattr(models, ours)) == (value if isinstance(value, tuple) else typing.get_args(value))


def test_loaded_fixture_yaml_equals_its_model_dump(fixtures):
    """A dumped manifest validates to the same model (what a dossier archives can be re-read)."""
    data = read_source(fixtures / "valid_full.yaml").data
    m = Manifest.model_validate(data, context={MANIFEST_DIR: fixtures})
    again = Manifest.model_validate(m.model_dump(mode="json"), context={MANIFEST_DIR: fixtures})
    assert again == m


def test_noise_draws_must_be_able_to_pass():
    """With no harmful draw the Clopper–Pearson upper end is 1 − (α/2)^{1/n}: 72 draws for 0.05 at 95 %."""
    from auditkit.manifest.models import NoiseConfig, fewest_draws

    assert fewest_draws(0.05, 0.95) == 72
    NoiseConfig(draws=72)
    with pytest.raises(ValueError, match="use at least 72"):
        NoiseConfig(draws=71)
    NoiseConfig(draws=10, enabled=False)


def test_fewest_draws_is_the_exact_bound_where_the_closed_form_rounds_up():
    """At confidence 0.9 and max_probability 0.95 one draw suffices (its upper end is exactly 1 − 0.05 = 0.95), but
    ⌈ln(0.05)/ln(0.05)⌉ computed in floating point is 2: the manifest and the noise check both use the exact count."""
    from auditkit.checks.noise import _draws_notes, _Settings
    from auditkit.manifest.models import NoiseConfig, fewest_draws
    from auditkit.stats import clopper_pearson

    config = NoiseConfig(draws=1, confidence=0.9, max_probability=0.95)  # accepted by the manifest
    assert fewest_draws(0.95, 0.9) == 1
    assert clopper_pearson(0, 1, 0.9)[1] <= 0.95  # the interval the criterion judges agrees
    assert not any("cannot pass" in n for n in _draws_notes(_Settings.of(config, quick=False)))  # not hopeless
    assert _Settings.of(config, quick=True).draws == 1


def test_raw_entries():
    raw = {"format": "fastmri", "file": "scan.h5", "slices": [3, 4]}
    m = Manifest.model_validate(variant(data__raw=[raw]), context={MANIFEST_DIR: Path("/sub")})
    assert m.data.n_images == 3 and m.data.raw[0].calibration == 24 and m.data.raw[0].coil_maps is None
    assert problems(variant(data={"raw": [{**raw, "coil_maps": "maps.png", "slices": [1, 1]}]})) == {
        "data.raw.0.coil_maps": "must be a .npy file of complex (slices, coils, H, W) maps, got 'maps.png'",
        "data.raw.0.slices": "lists a slice more than once",
    }
    assert problems(variant(data={"raw": [{**raw, "format": "dicom"}]})) == {
        "data.raw.0.format": "Input should be 'fastmri' or 'ismrmrd' (got 'dicom')"}
    ct = variant(modality={"kind": "ct_parallel", "image_shape": [32, 32],
                           "sampling": {"pattern": "equispaced_angles", "n_angles": 50}}, data={"raw": [raw]})
    assert problems(ct) == {"data.raw": "raw k-space fits MRI only (mri_singlecoil, mri_multicoil), not ct_parallel"}
