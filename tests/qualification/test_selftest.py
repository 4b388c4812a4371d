"""``auditkit selftest`` end to end on the suite's tiny manifest, and the record attached to an audit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditkit.dossier.credentials import SigningConfig
from auditkit.dossier.keygen import keygen
from auditkit.dossier.signature_check import verify_cms
from auditkit.errors import InputError
from auditkit.fileio import sha256_file
from auditkit.pipeline import RunOptions, run_audit
from auditkit.qualification import references as refs
from auditkit.qualification.record import Outcome, Record
from auditkit.qualification.selftest import run_selftest, write_record
from tests.conftest import FIXTURES, MANIFEST

CHECKS = ["adversarial", "structural"]
#: short searches for the tiny setting (the selftest runs the manifest's own settings).
SETTINGS = "  adversarial: {image_domain: {max_iter: 40}, measurement_domain: {restarts: 1, iterations: 20}}\n"


def _manifest(folder: Path) -> Path:
    (folder / "net").mkdir(parents=True)
    src = FIXTURES / "net" / "identity_net.py"
    shutil.copy(src, folder / "net" / "identity_net.py")
    text = MANIFEST.format(sha=sha256_file(src)).replace("\nchecks:\n", "\nchecks:\n" + SETTINGS)
    path = folder / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def qualified(tmp_path_factory):
    folder = tmp_path_factory.mktemp("selftest")
    manifest = _manifest(folder)
    return manifest, run_selftest(manifest, checks=CHECKS, cache=folder / "cache")


def test_every_known_answer_is_found_on_the_tiny_setting(qualified):
    _, record = qualified
    assert record.qualified, record.to_json()
    by_key = {r.key: r for r in record.references}
    assert list(by_key) == ["adjoint", "planted", "blur"]
    assert by_key["planted"].verdicts["adversarial"] == "FAIL"
    assert by_key["blur"].verdicts["structural"] == "FAIL"
    for key in ("adjoint", "planted"):
        assert [w.outcome for w in by_key[key].worst_cases] == [Outcome.HOLDS, Outcome.HOLDS]
        assert all(0.95 <= w.least_share_found <= 1.0 + 1e-4 for w in by_key[key].worst_cases)
    assert record.checks == CHECKS


def test_a_reference_that_does_not_do_what_it_should_is_not_qualified(qualified, monkeypatch, tmp_path):
    """The self-test can fail: a 'planted' map too weak to exceed the bound violates its expectation."""
    manifest, _ = qualified
    monkeypatch.setattr(refs, "PLANTED_GAIN_OVER_C", 0.05)
    record = run_selftest(manifest, checks=["adversarial"], cache=tmp_path / "cache")
    planted = next(r for r in record.references if r.key == "planted")
    assert planted.expectations[0].outcome is Outcome.VIOLATED
    assert not record.qualified


def test_an_expectation_on_a_check_that_did_not_run_is_not_checked(qualified, tmp_path):
    manifest, _ = qualified
    record = run_selftest(manifest, checks=["structural"], cache=tmp_path / "cache")
    adjoint = next(r for r in record.references if r.key == "adjoint")
    assert adjoint.expectations[0].outcome is Outcome.NOT_CHECKED
    assert [w.outcome for w in adjoint.worst_cases] == [Outcome.NOT_CHECKED] * 2
    assert not record.qualified


@pytest.fixture(scope="module")
def signed_record(qualified, tmp_path_factory):
    manifest, record = qualified
    folder = tmp_path_factory.mktemp("signed")
    mp = pytest.MonkeyPatch()
    mp.setenv("AUDITKIT_TEST_KEY", "correct horse")
    keys = keygen(folder / "keys", "Test Qualifier", "AUDITKIT_TEST_KEY")
    spec = SigningConfig(certificate=keys.pkcs12, key=None, signer_name="Test Qualifier", meaning="qualification",
                         password_env="AUDITKIT_TEST_KEY")
    out = folder / "record" / "qualification.json"
    signature = write_record(record, out, spec)
    mp.undo()
    return manifest, out, signature


def test_the_record_is_written_whole_and_signed(signed_record, qualified):
    _, out, signature = signed_record
    assert Record.read(out) == qualified[1]
    check = verify_cms(out, signature)
    assert check.intact and check.valid and check.signer == "Test Qualifier"
    assert not list(out.parent.glob(".*")), "no partial file is left behind"


def test_an_audit_attaches_the_record_and_the_dossier_shows_it(signed_record, tmp_path):
    manifest, out, _ = signed_record
    dossier = tmp_path / "dossier"
    evidence = run_audit(manifest, RunOptions(out=dossier, checks=CHECKS, qualification=out))
    q = evidence.qualification
    assert q is not None and q["qualified"] and q["signed_by"] == "Test Qualifier"
    assert (dossier / q["file"]).read_bytes() == out.read_bytes()
    assert (dossier / q["file"]).with_suffix(".json.p7s").is_file()
    html = (dossier / "dossier.html").read_text(encoding="utf-8")
    assert "Tool qualification" in html and "every known answer was found" in html


def test_a_record_for_another_setting_is_refused(signed_record, tmp_path):
    manifest, out, _ = signed_record
    other = tmp_path / "other.yaml"
    other.write_text(manifest.read_text(encoding="utf-8").replace("checks:\n", "checks:\n  seed: 7\n", 1), encoding="utf-8")
    shutil.copytree(manifest.parent / "net", tmp_path / "net")
    with pytest.raises(InputError, match="another setting"):
        run_audit(other, RunOptions(out=tmp_path / "d", checks=CHECKS, qualification=out))
    assert not (tmp_path / "d").exists()


def test_a_changed_record_and_a_foreign_file_are_refused(signed_record, tmp_path):
    manifest, out, signature = signed_record
    changed = tmp_path / "qualification.json"
    data = json.loads(out.read_text(encoding="utf-8"))
    data["qualified"] = not data["qualified"]
    changed.write_text(json.dumps(data), encoding="utf-8")
    shutil.copy(signature, tmp_path / "qualification.json.p7s")
    with pytest.raises(InputError, match="signature does not hold"):
        run_audit(manifest, RunOptions(out=tmp_path / "d", checks=CHECKS, qualification=changed))
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(InputError, match="not a qualification record"):
        run_audit(manifest, RunOptions(out=tmp_path / "d", checks=CHECKS, qualification=foreign))


def test_the_dossier_archives_the_bytes_that_were_checked(signed_record, tmp_path):
    from auditkit.preparation import prepare
    from auditkit.qualification.attachment import accept, archive

    manifest, out, signature = signed_record
    record = tmp_path / "q.json"
    shutil.copy(out, record)
    shutil.copy(signature, tmp_path / "q.json.p7s")
    prepared = prepare(manifest, signing=False)
    attached = accept(record, prepared.manifest, prepared.context)
    record.write_text("{}", encoding="utf-8")  # replaced after the check (e.g. by another selftest)
    stage = tmp_path / "stage"
    archived = archive(attached, stage)
    assert (stage / archived).read_bytes() == out.read_bytes()
    assert (stage / archived).with_name("q.json.p7s").read_bytes() == signature.read_bytes()


def test_selftest_refuses_a_budget_factor_below_one(qualified, tmp_path):
    manifest, _ = qualified
    low = tmp_path / "low.yaml"
    low.write_text(manifest.read_text(encoding="utf-8").replace("  adversarial: {", "  adversarial: {c_budget: 0.5, ", 1),
                   encoding="utf-8")
    shutil.copytree(manifest.parent / "net", tmp_path / "net")
    with pytest.raises(InputError, match="c_budget"):
        run_selftest(low, checks=["adversarial"])
