"""verify rejects anything that is not part of the dossier, and the audit log must end at the chain head
signed with SHA256SUMS (issue 12, section 4, item 4)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditkit.dossier.auditlog import AuditLog, ChainHead, chain_head, read_entries
from auditkit.dossier.chain_attribute import signed_chain_head
from auditkit.dossier.checksums import write_sums
from auditkit.dossier.credentials import SigningConfig
from auditkit.dossier.keygen import keygen
from auditkit.dossier.sign_existing import sign_existing_dossier
from auditkit.dossier.validation import verify_dossier
from tests.dossier.test_validation import PASSWORD, build_dossier

OPENSSL = shutil.which("openssl")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Keys, a signed dossier and an unsigned one (built once)."""
    base = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
        keys = keygen(base / "keys", "Jane Reviewer")
        spec = SigningConfig(keys.certificate, keys.key, signer_name="Jane Reviewer", meaning="Author")
        return {
            "keys": keys,
            "spec": spec,
            "signed": build_dossier(base / "signed", spec, seed=7),
            "unsigned": build_dossier(base / "unsigned", None, seed=7),
        }


@pytest.fixture
def signed(made, tmp_path) -> Path:
    return Path(shutil.copytree(made["signed"], tmp_path / "signed", symlinks=True))


@pytest.fixture
def unsigned(made, tmp_path) -> Path:
    return Path(shutil.copytree(made["unsigned"], tmp_path / "unsigned", symlinks=True))


def _failures(report) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in report.failures():
        found.setdefault(row.item, []).append(row.detail)
    return found


# --- nothing but the dossier -------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["figures/empty", "notes", "inputs/deeper/still"])
def test_an_added_empty_folder_fails_naming_it(signed, made, folder):
    (signed / folder).mkdir(parents=True)
    report = verify_dossier(signed, made["keys"].ca)
    first = folder.split("/")[0] if folder.startswith("notes") else "/".join(folder.split("/")[:2])
    assert not report.ok
    assert any("folder that is not part of a dossier" in d for d in _failures(report)[first])


def test_a_symbolic_link_fails_naming_it_and_the_sums_still_read(signed, made):
    (signed / "figures" / "adversarial_ladder.png").unlink()
    (signed / "figures" / "adversarial_ladder.png").symlink_to(made["signed"] / "figures" / "adversarial_ladder.png")
    failures = _failures(verify_dossier(signed, made["keys"].ca))
    assert any("symbolic link" in d for d in failures["figures/adversarial_ladder.png"])
    assert "SHA256SUMS" not in failures  # still readable: the link is named, not the list


def test_a_file_added_and_listed_in_a_rewritten_unsigned_sums_fails(unsigned):
    (unsigned / "notes.txt").write_text("added later")
    write_sums(unsigned)
    report = verify_dossier(unsigned, allow_unsigned=True)
    assert not report.ok and "notes.txt" in _failures(report)


def test_the_untouched_dossiers_still_verify(signed, unsigned, made):
    assert verify_dossier(signed, made["keys"].ca).ok
    assert verify_dossier(unsigned, allow_unsigned=True).ok


# --- the signed chain head ---------------------------------------------------------------------


def test_sealing_signs_the_head_of_the_log(signed):
    head = signed_chain_head(signed / "SHA256SUMS.p7s")
    assert head == chain_head(signed / "audit.log")
    assert head.entries == len(read_entries(signed / "audit.log"))


def test_a_correctly_chained_line_appended_after_sealing_fails_on_the_log(signed, made):
    AuditLog(signed / "audit.log").append("finish", verdict="FAIL")  # chains correctly onto the sealed log
    write_sums(signed)  # and the list is rewritten to match
    report = verify_dossier(signed, made["keys"].ca)
    details = _failures(report)["audit.log"]
    assert details == ["signed chain head: 1 entry after the signed head (entry 6): added after the dossier was sealed"]
    chain_rows = [r for r in report.rows if r.item == "audit.log" and r.detail.startswith("hash chain:")]
    assert [r.status for r in chain_rows] == ["ok"]  # the chain alone cannot tell


def test_a_last_line_removed_after_sealing_fails_on_the_log(signed, made):
    log = signed / "audit.log"
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    write_sums(signed)
    details = _failures(verify_dossier(signed, made["keys"].ca))["audit.log"]
    assert len(details) == 1 and details[0].startswith("signed chain head: does not match the signed head (6 entries")
    assert details[0].endswith("5 entries on disk, entry 6 missing")


def test_signing_an_existing_dossier_signs_the_head_after_its_sign_event(unsigned, made, monkeypatch):
    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    sign_existing_dossier(unsigned, made["spec"])
    entries = read_entries(unsigned / "audit.log")
    assert entries[-1]["event"] == "sign"
    assert signed_chain_head(unsigned / "SHA256SUMS.p7s") == chain_head(unsigned / "audit.log")
    report = verify_dossier(unsigned, made["keys"].ca)
    assert report.ok, report.failures()
    assert f"signed chain head: ends at the signed head ({len(entries)} entries)" in [r.detail for r in report.rows]


def test_a_signature_without_a_head_is_named(signed, made, monkeypatch):
    from auditkit.dossier.credentials import load_credentials
    from auditkit.dossier.signing import sign_cms

    monkeypatch.setenv("AUDITKIT_KEY_PASSWORD", PASSWORD)
    sign_cms(signed / "SHA256SUMS", made["spec"], credentials=load_credentials(made["spec"]))
    assert signed_chain_head(signed / "SHA256SUMS.p7s") is None
    assert "records no audit-log chain head" in " ".join(_failures(verify_dossier(signed))["SHA256SUMS.p7s"])


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_openssl_accepts_the_signature_that_carries_the_head(signed, made):
    done = subprocess.run(
        [OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", "SHA256SUMS.p7s", "-content", "SHA256SUMS",
         "-CAfile", str(made["keys"].ca), "-purpose", "any", "-out", "/dev/null"],
        cwd=signed, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr


def test_chain_head_of_an_empty_log(tmp_path):
    (tmp_path / "audit.log").write_bytes(b"")
    assert chain_head(tmp_path / "audit.log") == ChainHead(0, "0" * 64)


_CMS_THEN_PDF = """
import os, sys
from pathlib import Path
import weasyprint
from auditkit.dossier.credentials import SigningConfig
from auditkit.dossier.keygen import keygen
from auditkit.dossier.signing import sign_cms, sign_pdf
os.environ["AUDITKIT_KEY_PASSWORD"] = "pw"
root = Path(sys.argv[1])
keys = keygen(root / "keys", "J")
spec = SigningConfig(keys.certificate, keys.key, signer_name="J", meaning="m")
(root / "data").write_text("x")
sign_cms(root / "data", spec)
weasyprint.HTML(string="<p>x</p>").write_pdf(root / "a.pdf", pdf_variant="pdf/a-3b")
sign_pdf(root / "a.pdf", spec, root / "a.pdf")
print("signed")
"""


def test_a_cms_signature_made_first_in_a_process_leaves_pdf_signing_working(tmp_path):
    """The chain-head signature builds its attributes by name; pyHanko's names must be registered before that."""
    done = subprocess.run([sys.executable, "-c", _CMS_THEN_PDF, str(tmp_path)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "signed\n", done.stderr[-2000:]
