"""``verify_dossier``: a sealed dossier verifies, and any changed byte, edited number or swapped PDF fails by name."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import weasyprint
from rich.console import Console

from auditkit.dossier.auditlog import AuditLog, read_entries
from auditkit.dossier.checksums import write_sums
from auditkit.dossier.credentials import SigningConfig, load_credentials
from auditkit.dossier.keygen import keygen
from auditkit.dossier.sign_existing import sign_existing_dossier
from auditkit.dossier.signing import seal_dossier, sign_dossier
from auditkit.dossier.validation import report_table, verify_dossier
from auditkit.errors import InputError
from auditkit.evidence import Evidence
from auditkit.fileio import sha256_file

PASSWORD = "pw-for-tests"

SIGNED_FILES = [
    "SHA256SUMS",
    "SHA256SUMS.p7s",
    "arrays/adversarial.npz",
    "audit.log",
    "dossier.html",
    "dossier.pdf",
    "evidence.json",
    "evidence.json.p7s",
    "figures/adversarial_ladder.png",
    "figures/adversarial_ladder.svg",
    "inputs/manifest.yaml",
]


def build_dossier(root: Path, spec: SigningConfig | None, *, seed: int) -> Path:
    """A small dossier laid out as REPORT.md says, sealed (and signed when ``spec`` is given)."""
    for folder in ("arrays", "inputs", "figures"):
        (root / folder).mkdir(parents=True)
    log = AuditLog(root / "audit.log")
    log.append("start", manifest="inputs/manifest.yaml")
    buffer = io.BytesIO()
    np.savez(buffer, perturbation=np.arange(16, dtype=np.float32).reshape(4, 4) * seed)
    (root / "arrays" / "adversarial.npz").write_bytes(buffer.getvalue())
    (root / "inputs" / "manifest.yaml").write_text(f"schema_version: 1\nsubmission: {{id: s{seed}}}\n")
    files = {p: sha256_file(root / p) for p in ("arrays/adversarial.npz", "inputs/manifest.yaml")}
    log.append("inputs", files=files)
    evidence = Evidence(
        tool={"name": "auditkit", "version": "0.1.0"}, submission={"id": f"s{seed}"}, seed=seed, files=files,
        wall_time_s=12.25,
    )
    (root / "evidence.json").write_text(evidence.to_json(), encoding="utf-8")
    log.append("check", name="adversarial", verdict="PASS")
    (root / "figures" / "adversarial_ladder.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    (root / "figures" / "adversarial_ladder.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(64)))
    (root / "dossier.html").write_text(f"<html><body><h1>Audit s{seed}</h1></body></html>\n")
    log.append("render", figures=1)
    attachments = [
        weasyprint.Attachment(file_obj=io.BytesIO((root / name).read_bytes()), name=name.rsplit("/", 1)[-1])
        for name in ("evidence.json", "inputs/manifest.yaml", "audit.log")
    ]
    pdf = weasyprint.HTML(string=f"<h1>Audit s{seed}</h1>").write_pdf(pdf_variant="pdf/a-3b", attachments=attachments)
    (root / "dossier.pdf").write_bytes(pdf)
    credentials = load_credentials(spec) if spec is not None else None
    if spec is not None:
        sign_dossier(root, spec, log=log, credentials=credentials)
    log.append("finish", verdict="PASS")
    seal_dossier(root, spec, credentials=credentials)
    return root


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Keys, two signed dossiers of different evidence, and one unsigned dossier (built once)."""
    base = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
        keys = keygen(base / "keys", "Jane Reviewer")
        foreign = keygen(base / "foreign", "Mallory", key_type="ec-p256")
        spec = SigningConfig(keys.certificate, keys.key, signer_name="Jane Reviewer", meaning="Author")
        return {
            "keys": keys,
            "foreign": foreign,
            "a": build_dossier(base / "a", spec, seed=7),
            "b": build_dossier(base / "b", spec, seed=8),
            "unsigned": build_dossier(base / "unsigned", None, seed=7),
        }


@pytest.fixture
def dossier(made, tmp_path) -> Path:
    return Path(shutil.copytree(made["a"], tmp_path / "dossier"))


def _failing_items(report) -> set[str]:
    return {row.item for row in report.failures()}


def test_signed_dossier_verifies_with_its_ca(dossier, made):
    report = verify_dossier(dossier, made["keys"].ca)
    assert report.ok, report.failures()
    items = [row.item for row in report.rows]
    assert set(SIGNED_FILES) <= set(items)
    assert {"signer"} <= set(items)
    pdf_rows = [r.detail for r in report.rows if r.item == "dossier.pdf"]
    assert any("trusted" in d and "covers the whole file" in d and "'Author'" in d for d in pdf_rows)
    assert any("attached evidence.json is identical" in d for d in pdf_rows)
    assert any("begins with the audit.log attached" in r.detail for r in report.rows if r.item == "audit.log")


def test_sorted_file_list_of_the_dossier(dossier):
    assert sorted(str(p.relative_to(dossier)) for p in dossier.rglob("*") if p.is_file()) == SIGNED_FILES


@pytest.mark.parametrize("name", SIGNED_FILES)
def test_a_flipped_byte_in_any_file_fails_naming_it(dossier, name):
    path = dossier / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_dossier(dossier)
    assert not report.ok
    assert name in _failing_items(report), report.failures()


@pytest.mark.parametrize("name", ["SHA256SUMS.p7s", "evidence.json.p7s", "dossier.pdf"])
@pytest.mark.parametrize("where", [0.1, 0.9])
def test_flips_across_signature_files_fail(dossier, name, where):
    path = dossier / name
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x04
    path.write_bytes(bytes(data))
    report = verify_dossier(dossier)
    assert name in _failing_items(report), report.failures()


def test_edited_number_in_evidence_fails_naming_it(dossier):
    path = dossier / "evidence.json"
    text = path.read_text()
    assert '"wall_time_s": 12.25' in text
    path.write_text(text.replace('"wall_time_s": 12.25', '"wall_time_s": 12.5'))
    report = verify_dossier(dossier)
    assert not report.ok and "evidence.json" in _failing_items(report)


def test_resealed_edit_fails_on_the_signatures(dossier):
    """An edit followed by a fresh, unsigned SHA256SUMS still breaks the CMS signatures."""
    path = dossier / "evidence.json"
    path.write_text(path.read_text().replace('"seed": 7', '"seed": 9'))
    write_sums(dossier)
    report = verify_dossier(dossier)
    assert {"evidence.json", "SHA256SUMS"} <= _failing_items(report)


def test_pdf_of_another_audit_fails_naming_the_pdf(dossier, made):
    shutil.copyfile(made["b"] / "dossier.pdf", dossier / "dossier.pdf")
    report = verify_dossier(dossier, made["keys"].ca)
    assert not report.ok
    details = [r.detail for r in report.failures() if r.item == "dossier.pdf"]
    assert any("attached evidence.json differs" in d for d in details)


def test_pdf_without_the_audit_log_attachment_fails_naming_the_pdf(made, tmp_path):
    root = shutil.copytree(made["unsigned"], tmp_path / "u")
    attachment = weasyprint.Attachment(file_obj=io.BytesIO((root / "evidence.json").read_bytes()), name="evidence.json")
    pdf = weasyprint.HTML(string="<h1>Audit s7</h1>").write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment])
    (root / "dossier.pdf").write_bytes(pdf)
    write_sums(root)
    report = verify_dossier(root, allow_unsigned=True)
    assert not report.ok
    assert [r.detail for r in report.failures()] == ["has no audit.log attachment"]
    assert _failing_items(report) == {"dossier.pdf"}


def test_foreign_ca_fails_every_signature(dossier, made):
    report = verify_dossier(dossier, made["foreign"].ca)
    assert {"dossier.pdf", "evidence.json.p7s", "SHA256SUMS.p7s"} <= _failing_items(report)


def test_added_file_fails_naming_it(dossier):
    (dossier / "figures" / "extra.png").write_bytes(b"x")
    assert "figures/extra.png" in _failing_items(verify_dossier(dossier))


def test_file_listed_in_evidence_missing(dossier):
    (dossier / "arrays" / "adversarial.npz").unlink()
    assert "arrays/adversarial.npz" in _failing_items(verify_dossier(dossier))


def test_unsigned_dossier_needs_allow_unsigned(made, tmp_path):
    root = shutil.copytree(made["unsigned"], tmp_path / "u")
    report = verify_dossier(root)
    assert not report.ok
    assert {r.item for r in report.rows if r.status == "absent"} == {"dossier.pdf", "evidence.json.p7s", "SHA256SUMS.p7s"}
    assert {r.status for r in report.failures()} == {"absent"}
    assert verify_dossier(root, allow_unsigned=True).ok


def test_partly_signed_dossier_fails_even_when_unsigned_is_allowed(dossier):
    (dossier / "SHA256SUMS.p7s").unlink()
    report = verify_dossier(dossier, allow_unsigned=True)
    assert not report.ok and "SHA256SUMS.p7s" in _failing_items(report)


def test_bad_input(tmp_path, dossier):
    with pytest.raises(InputError, match="not a folder"):
        verify_dossier(tmp_path / "missing")
    with pytest.raises(InputError, match="--trust"):
        verify_dossier(dossier, tmp_path / "no-ca.pem")


def test_table_renders_every_row(dossier):
    report = verify_dossier(dossier)
    console = Console(file=io.StringIO(), width=200, record=True)
    console.print(report_table(report))
    text = console.export_text()
    assert "SHA256SUMS.p7s" in text and "trust not checked" in text


def test_signing_an_existing_unsigned_dossier(made, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    root = shutil.copytree(made["unsigned"], tmp_path / "u")
    keys = made["keys"]
    spec = SigningConfig(keys.certificate, keys.key, signer_name="Jane Reviewer", meaning="Reviewer")
    signed = sign_existing_dossier(root, spec)
    assert signed.signer == "Jane Reviewer"
    assert verify_dossier(root, keys.ca).ok
    # rendered again with the signature page (figures, then documents), then signed
    assert [e["event"] for e in read_entries(root / "audit.log")][-4:] == ["finish", "render", "render", "sign"]
    html = (root / "dossier.html").read_text(encoding="utf-8")
    assert "Jane Reviewer" in html and "Not signed" not in html
    with pytest.raises(InputError, match="already signed"):
        sign_existing_dossier(root, spec)


def test_a_changed_dossier_is_not_signed(made, tmp_path, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    root = shutil.copytree(made["unsigned"], tmp_path / "u")
    (root / "dossier.html").write_text("<p>edited</p>")
    keys = made["keys"]
    spec = SigningConfig(keys.certificate, keys.key, signer_name="Jane Reviewer", meaning="Reviewer")
    with pytest.raises(InputError, match="dossier.html: does not verify"):
        sign_existing_dossier(root, spec)
    assert not (root / "evidence.json.p7s").exists()


def test_a_signature_that_fails_leaves_a_true_unsigned_dossier(made, tmp_path, monkeypatch):
    from auditkit.dossier import sign_existing

    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    root = shutil.copytree(made["unsigned"], tmp_path / "u")
    keys = made["keys"]
    spec = SigningConfig(keys.certificate, keys.key, signer_name="Jane Reviewer", meaning="Reviewer")

    def broken(*args, **kwargs):
        raise RuntimeError("the signing device went away")

    monkeypatch.setattr(sign_existing, "sign_dossier", broken)
    with pytest.raises(RuntimeError, match="went away"):
        sign_existing_dossier(root, spec)
    html = (root / "dossier.html").read_text(encoding="utf-8")
    assert "Not signed" in html and "Jane Reviewer" not in html
    assert verify_dossier(root, allow_unsigned=True).ok
