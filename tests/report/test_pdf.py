"""The PDF dossier: PDF/A-3b metadata, attached sources, fixed dates and identifier, byte-identical output, visible pages."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import matplotlib.image
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from auditkit.report.html import Signature
from auditkit.report.pdf import pdf_bytes, render_pdf

from .dossier_samples import draw_stand_in_figures, sample_audit_events, sample_evidence, write_attachments

SIGNER = Signature("Dr. Jane Roe", "Author – I reviewed and approve this audit", "2026-01-02T03:04:05+00:00")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One PDF rendering shared by the tests (WeasyPrint takes seconds, not milliseconds)."""
    root = tmp_path_factory.mktemp("dossier")
    ev = sample_evidence()
    events = sample_audit_events()
    figures = draw_stand_in_figures(root)
    files = write_attachments(root, ev, events)
    path = render_pdf(ev, figures, root, attachments=files, audit_events=events, signature=SIGNER)
    return ev, figures, root, files, path


def _reader(path):
    return PdfFileReader(open(path, "rb"))  # noqa: SIM115 (the reader reads lazily from the open file)


def test_is_pdf_a_3b(rendered):
    *_, path = rendered
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.7")
    root = _reader(path).root
    xmp = root["/Metadata"].data.decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    intent = root["/OutputIntents"][0]
    assert intent["/S"] == "/GTS_PDFA1"


def test_evidence_manifest_and_audit_log_are_attached_byte_for_byte(rendered):
    *_, files, path = rendered
    root = _reader(path).root
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    attached = {str(names[i]): names[i + 1] for i in range(0, len(names), 2)}
    assert list(attached) == ["audit.log", "evidence.json", "manifest.yaml"]  # a name tree is sorted
    expected = {
        "evidence.json": ("/Data", "/application/json"),
        "manifest.yaml": ("/Source", "/application/yaml"),
        "audit.log": ("/Supplement", "/text/plain"),
    }
    for name, spec in attached.items():
        stream = spec["/EF"]["/F"]
        assert stream.data == files[name].read_bytes()
        assert (spec["/AFRelationship"], stream["/Subtype"]) == expected[name]
        assert str(spec["/Desc"])
    af = root["/AF"]
    assert len(af) == 3 and len({ref.idnum for ref in af}) == 3


def test_dates_and_identifier_come_from_the_evidence(rendered):
    ev, *_, path = rendered
    reader = _reader(path)
    info = reader.trailer["/Info"]
    assert info["/CreationDate"] == info["/ModDate"] == "D:20240502093000+00'00"
    digest = hashlib.sha256(ev.to_json().encode("utf-8")).hexdigest()
    assert str(reader.trailer["/ID"][0]) == digest[:32]
    assert "evidence-sha256:" + digest in info["/Keywords"]


def test_every_font_is_embedded(rendered):
    *_, path = rendered
    reader = _reader(path)
    seen = 0
    for page in reader.root["/Pages"]["/Kids"]:
        for ref in page.get_object()["/Resources"]["/Font"].values():
            font = ref.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"]
            assert "/FontFile2" in descriptor or "/FontFile3" in descriptor
            seen += 1
    assert seen > 0


@pytest.mark.slow
def test_same_evidence_gives_a_byte_identical_pdf(rendered):
    ev, figures, root, files, path = rendered
    again = pdf_bytes(ev, figures, root, attachments=files, audit_events=sample_audit_events(), signature=SIGNER)
    assert again == path.read_bytes()


def test_missing_attachment_is_named(rendered, tmp_path):
    ev, figures, root, _, _ = rendered
    with pytest.raises(FileNotFoundError, match="attachment 'audit.log'"):
        pdf_bytes(ev, figures, root, attachments={"audit.log": tmp_path / "nope.log"})


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_text_layer_holds_the_verdicts_and_criteria(rendered):
    ev, *_, path = rendered
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    for word in ("PASS", "FAIL", "ERROR", "NOT_RUN"):
        assert word in text
    assert "overall verdict" in text.lower()  # printed in capitals
    squeezed = re.sub(r"\s+", "", text)  # names may wrap inside their table cell
    for check in ev.checks:
        for c in check.criteria:
            assert re.sub(r"\s+", "", c.name) in squeezed
    assert "Dr. Jane Roe" in text and "Page 1 of" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_every_page_renders_non_blank(rendered, tmp_path):
    *_, path = rendered
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 10
    for page in pages:
        pixels = matplotlib.image.imread(page)[..., :3]
        assert (pixels < 0.5).mean() > 0.002, f"{page.name} looks blank"
    first = matplotlib.image.imread(pages[0])[..., :3]
    dark_red = (first[..., 0] > 0.35) & (first[..., 1] < 0.15) & (first[..., 2] < 0.15)
    assert dark_red.mean() > 0.01  # the ERROR verdict box on the title page
