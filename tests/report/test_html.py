"""The HTML dossier: content from the evidence only, self-contained, escaped, deterministic, and visible in a browser."""

from __future__ import annotations

import copy
import dataclasses
import html
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.image
import pytest

from auditkit.checks.result import Verdict

from auditkit.evidence import Evidence
from auditkit.report.html import (
    Signature,
    breakable,
    cell,
    clipped_details,
    criterion_title,
    css_string,
    dossier_html,
    environment_facts,
    flatten,
    format_value,
    limitations,
    package_table,
    per_image_tables,
    render_html,
    subject_label,
    summary_table,
)

from .dossier_samples import StandInFigure, draw_stand_in_figures, sample_audit_events, sample_evidence

_VOID = {"meta", "link", "img", "br", "hr", "input", "col", "source", "wbr"}


class _TagBalance(HTMLParser):
    """Records unclosed or mismatched non-void tags, and every src/href value."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("dossier")
    figures = draw_stand_in_figures(root)
    ev = sample_evidence()
    path = render_html(ev, figures, root, audit_events=sample_audit_events())
    return ev, figures, root, path.read_text(encoding="utf-8")


def test_format_value_significant_digits_and_specials():
    assert format_value(0.8123456) == "0.8123"
    assert format_value(31.2) == "31.2"
    assert format_value(1.5e-5) == "1.5×10⁻⁵"
    assert format_value(123456.0) == "1.235×10⁵"
    assert format_value(float("nan")) == "NaN"
    assert format_value(float("-inf")) == "-∞"
    assert format_value(None) == "—"
    assert format_value(True) == "yes"
    assert format_value(7) == "7"
    assert format_value([0.125, 0.25]) == "0.125, 0.25"


def test_flatten_uses_dots_for_names_and_brackets_for_other_keys():
    row = {"psnr": {"0.125": 31.0}, "details": {"CAN U SEE IT": {"q": 0.7}}, "list": [{"a": 1}], "plain": [1, 2]}
    assert flatten(row) == {
        "psnr[0.125]": 31.0,
        "details[CAN U SEE IT].q": 0.7,
        "list[0].a": 1,
        "plain": [1, 2],
    }
    assert flatten({"scikit-image": "0.24"}) == {"scikit-image": "0.24"}


def test_environment_facts_and_a_compact_package_table():
    packages = {f"p{i}": f"{i}.0" for i in range(7)}
    env = {"python": "3.11", "cpu_flags": ["avx2", "sse2"], "blas": {"torch": "mkl"}, "packages": packages}
    assert environment_facts(env) == {"python": "3.11", "cpu_flags": "avx2 sse2", "blas": {"torch": "mkl"}}
    table = package_table(packages, pairs=3)
    assert table.columns == ["Package", "Version"] * 3 and table.caption == "7 installed Python packages"
    assert table.rows == [  # read down each pair of columns
        ["p0", "0.0", "p3", "3.0", "p6", "6.0"],
        ["p1", "1.0", "p4", "4.0", "", ""],
        ["p2", "2.0", "p5", "5.0", "", ""],
    ]
    assert package_table(None) is None and package_table({}) is None


def test_environment_section_lists_every_package(tmp_path):
    ev = sample_evidence()
    ev.environment = {"python": "3.11.2", "cpu_flags": ["avx2", "fma"], "packages": {"ptwt": "1.0.1", "numpy": "2.4.6"}}
    text = html.unescape(dossier_html(ev, [], tmp_path).replace("<wbr>", ""))
    section = text[text.index('<section id="environment"') :]
    assert "avx2 fma" in section and "2 installed Python packages" in section
    assert '<td class="pkg">ptwt</td><td class="ver">1.0.1</td>' in section


def test_per_image_tables_pair_subjects_per_image_and_split_wide_tables():
    check = sample_evidence().checks[0]  # structural: 3 images, network and baseline
    one = per_image_tables(check)
    assert len(one) == 1
    assert one[0].groups == [("", 1), ("Image img0", 2), ("Image img1", 2), ("Image img2", 2)]
    assert one[0].columns[:3] == ["Quantity", "Network", "Baseline"]
    assert one[0].rows[0][:3] == ["details[♠].recovered_fraction", "0.8123", "0.8123"]
    split = per_image_tables(check, columns=4)
    assert [len(t.groups) - 1 for t in split] == [2, 1]


def test_every_criterion_and_verdict_word_is_in_the_html(rendered):
    ev, _, _, text = rendered
    plain = html.unescape(text.replace("<wbr>", ""))
    for check in ev.checks:
        assert check.verdict.value in plain
        for c in check.criteria:
            assert c.name in plain
    assert ev.overall_verdict is Verdict.ERROR
    assert 'class="overall v-error"' in text
    for word in ("PASS", "FAIL", "ERROR", "NOT_RUN"):
        assert f">{word}</span>" in text
    assert "network output is NaN at budget 0.04" in plain  # the ERROR's message
    assert "disabled in the manifest" in plain  # the NOT_RUN's reason


def test_title_page_inputs_environment_seeds_audit_trail_and_glossary(rendered):
    ev, _, _, text = rendered
    plain = html.unescape(text.replace("<wbr>", ""))
    for value in ev.submission.values():
        assert value in plain
    assert ev.inputs[0].sha256 in plain
    assert "scikit-image" in plain and "2.13.0" in plain
    assert "sampling pattern (modality.sampling.seed)" in plain
    assert "render.start" in plain and "0" * 16 in plain
    assert "q = 1 − ε_R²" in plain  # glossary formula
    assert "Not signed" in plain


def test_html_is_self_contained_and_balanced(rendered):
    _, figures, _, text = rendered
    parser = _TagBalance()
    parser.feed(text)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    external = [r for r in parser.refs if not r.startswith(("data:", "#"))]
    assert external == []
    assert 'src="figures/' not in text and "http://" not in text and "https://" not in text
    assert text.count('src="data:image/svg+xml;base64,') == len(figures)
    assert "@media print" in text


def test_escaping_and_generic_section_for_an_unknown_check(rendered):
    _, _, _, text = rendered
    assert "Acme Imaging &lt;R&amp;D&gt;" in text and "<R&D>" not in text
    assert 'id="check-novel"' in text
    assert "has no fixed description of the <code>novel</code> check" in text


def test_signature_block_prints_name_meaning_and_time(tmp_path):
    ev = sample_evidence()
    sig = Signature("Dr. Jane Roe", "Author – I reviewed and approve this audit", "2024-06-01T10:00:00+00:00",
                    certificate="Jane Roe", certificate_sha256="ab" * 32)
    text = html.unescape(dossier_html(ev, [], tmp_path, signature=sig))
    assert "Dr. Jane Roe" in text and "I reviewed and approve this audit" in text and "Not signed" not in text
    assert "Date and time of signing" in text and "2024-06-01T10:00:00+00:00" in text
    assert "issued to Jane Roe" in text and "abab" in text
    unsigned = html.unescape(dossier_html(ev, [], tmp_path))
    assert "Not signed" in unsigned and "Dr. Jane Roe" not in unsigned


def test_same_evidence_gives_the_same_html(rendered):
    ev, figures, root, text = rendered
    assert dossier_html(ev, figures, root, audit_events=sample_audit_events()) == text


def test_figures_by_path_when_not_inlined_and_missing_figure_is_an_error(rendered, tmp_path):
    ev, figures, root, _ = rendered
    text = dossier_html(ev, figures, root, inline=False)
    assert 'src="figures/sampling_curves.svg"' in text
    ghost = StandInFigure("sampling", "ghost", "Ghost", "Missing.", "figures/ghost.png", "figures/ghost.svg")
    with pytest.raises(FileNotFoundError, match="sampling/ghost"):
        dossier_html(ev, [ghost], tmp_path)


def test_long_names_get_break_opportunities_and_stay_escaped():
    assert str(breakable("a.b_c[<x>]")) == "a.<wbr>b_<wbr>c<wbr>[&lt;x&gt;]"


def test_a_setting_in_brackets_is_never_broken():
    assert str(breakable("worst_case_error[0.02].found_at_eta")) == (
        "worst_<wbr>case_<wbr>error<wbr>[0.02].<wbr>found_<wbr>at_<wbr>eta"
    )


def test_digests_in_cells_stay_on_one_line_and_other_text_is_escaped():
    digest = "ab" * 32
    assert str(cell(digest)) == f'<span class="digest">{digest}</span>'
    assert str(cell("<b>")) == "&lt;b&gt;"


def test_a_noise_level_of_zero_is_titled_as_no_noise():
    assert "no noise" in criterion_title("tradeoff.error_vs_baseline[eta=0]")
    assert criterion_title("tradeoff.error_vs_baseline[eta=0.02]").endswith("η = 0.02")


def test_limitations_name_details_mostly_clipped_away():
    ev = sample_evidence()
    structural = next(c for c in ev.checks if c.name == "structural")
    rows = structural.subjects["network"].per_image
    rows[:] = [copy.deepcopy(r) for r in rows]  # the sample shares one row dict between images
    row = rows[0]
    name = next(iter(row["details"]))
    row["details"][name]["kept_fraction"] = 0.3
    assert clipped_details(ev) == [f"{name} on {row['image']}"]
    assert any("survived clipping" in line for line in limitations(ev))


def test_subject_columns_are_named_once():
    check = sample_evidence().checks[0]
    assert subject_label(check, "network") == "Network"
    assert subject_label(check, "baseline") == "Baseline: l1-wavelet (db4)"
    check.subjects["baseline"].name = "baseline (l1_wavelet)"
    assert subject_label(check, "baseline") == "Baseline (l1_wavelet)"
    assert summary_table(check).rows == [["worst_recovered_fraction", "0.71", "0.66"]]


def test_css_string_quotes_and_cannot_close_the_style_element():
    assert css_string('a"b\\c</style>') == '"a\\"b\\\\c\\3C /style>"'


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (chromium, google-chrome)")
def test_headless_chromium_shows_a_non_blank_page(rendered, tmp_path):
    _, _, root, _ = rendered
    shot = tmp_path / "shot.png"
    subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
         f"--screenshot={shot}", (root / "dossier.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # text, tables and the verdict box, not an empty page
    red = (pixels[..., 0] > 0.4) & (pixels[..., 1] < 0.2) & (pixels[..., 2] < 0.2)
    assert red.mean() > 0.005  # the dark-red ERROR verdict box on the title page


def test_minimal_evidence_renders_with_dashes_and_no_checks(tmp_path):
    ev = Evidence(tool={"name": "auditkit", "version": "x"}, submission={"id": "only-id"})
    text = dossier_html(ev, [], tmp_path)
    assert "only-id" in text and ">NOT_RUN<" in text and "No check was run." in text


def test_unknown_medium_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="medium"):
        dossier_html(sample_evidence(), [], tmp_path, medium="tv")


def test_rendered_file_is_dossier_html(rendered):
    _, _, root, _ = rendered
    assert (root / "dossier.html").is_file()
    assert re.search(r"<title>Audit dossier SUB-2024-017: DeepRecon MR 2\.3\.1 \(ERROR\)</title>", (root / "dossier.html").read_text(encoding="utf-8"))


def test_print_embeds_the_png_of_raster_figures_only(rendered):
    """Panels of pixel images print from their PNG (fast to lay out); plots stay vector in print,
    and the screen HTML shows every figure as SVG."""
    ev, figures, root, _ = rendered
    raster = [dataclasses.replace(f, raster=(i == 0)) for i, f in enumerate(figures)]
    screen = dossier_html(ev, raster, root)
    printed = dossier_html(ev, raster, root, medium="print")
    assert screen.count('src="data:image/svg+xml;base64,') == len(figures)
    assert printed.count('src="data:image/png;base64,') == 1
    assert printed.count('src="data:image/svg+xml;base64,') == len(figures) - 1


def test_saved_figures_are_raster_exactly_when_they_show_images(tmp_path):
    from auditkit.report.figures.style import new_figure, save

    plot, picture = new_figure(2.0, 1.0), new_figure(2.0, 1.0)
    plot.add_subplot().plot([0, 1], [1, 0])
    picture.add_subplot().imshow([[0.0, 1.0], [1.0, 0.0]])
    assert not save(plot, tmp_path, "check", "plot", "t", "c").raster
    assert save(picture, tmp_path, "check", "picture", "t", "c").raster


def test_sensitivity_says_how_far_from_the_threshold_and_what_flips():
    from auditkit.checks.result import Criterion
    from auditkit.report.html import sensitivity

    assert sensitivity(Criterion.evaluate("a", "", 0.2, 1.0)) == (
        "Sensitivity: 80% inside the threshold; the result holds with the threshold 50% stricter or more lenient.")
    assert sensitivity(Criterion.evaluate("a", "", 0.7, 1.0)) == (
        "Sensitivity: 30% inside the threshold; FAIL with the threshold 50% stricter.")
    assert sensitivity(Criterion.evaluate("a", "", 1.2, 1.0)) == (
        "Sensitivity: 20% outside the threshold; PASS with the threshold 50% more lenient.")
    assert sensitivity(Criterion.evaluate("a", "", 3.0, 1.0)) == (
        "Sensitivity: 200% outside the threshold; still FAIL with the threshold 50% more lenient.")
    assert sensitivity(Criterion.evaluate("q", "", 0.6, 0.5, comparison=">=")) == (
        "Sensitivity: 20% inside the threshold; FAIL with the threshold 50% stricter.")
    undecided = Criterion.evaluate("a", "", 0.2, 1.0).model_copy(update={"passed": None})
    assert sensitivity(undecided) is None


def test_per_image_line_lists_every_image_the_criterion_used():
    from auditkit.checks.result import Criterion
    from auditkit.report.html import per_image_line

    line = per_image_line(Criterion.evaluate("a", "", 0.3, 1.0, per_image={"x": 0.3, "y": 0.125}))
    assert line.startswith("Per image (n = 2): x 0.3") and "y 0.125" in line
    assert per_image_line(Criterion.evaluate("a", "", 0.3, 1.0)) is None


def test_each_check_names_the_images_it_used_as_the_evidence_records_them(tmp_path):
    from auditkit.report.html import image_use, images_used

    ev = sample_evidence()
    ev.quick = True
    for check in ev.checks:
        check.parameters = {**check.parameters, "effective": {"images": ["img0"], "quick": True}}
    ev.checks[0].parameters["images"] = [1, 0]
    text = " ".join(html.unescape(dossier_html(ev, [], tmp_path)).split())
    for check in ev.checks:
        used = images_used(check, ev)
        assert used["ids"] == check.parameters["effective"]["images"] and used["total"] == len(ev.images)
        assert f"{used['count']} of the {used['total']} test images — img0 ({used['why']})" in text
    assert "manifest selects 2 of them" in images_used(ev.checks[0], ev)["why"]
    assert images_used(ev.checks[1], ev)["why"] == "quick mode keeps the first 1"
    assert image_use(ev) == {"img0": [c.name for c in ev.checks], "img1": []}
    assert "no check (not selected, or left out by quick mode)" in text


def test_limitations_are_generated_from_the_run(tmp_path):
    from auditkit.checks.result import Verdict
    from auditkit.report.html import limitations

    ev = sample_evidence()
    ev.quick = True
    ev.checks[0].verdict = Verdict.PRELIMINARY
    ev.checks[0].notes = ["image-domain refinement, network: still climbing when its budget ran out (…)"]
    ev.checks[-1].verdict, ev.checks[-1].reason = Verdict.NOT_RUN, "disabled in the manifest (enabled: false)"
    lines = limitations(ev)
    assert any(line.startswith("Quick mode") and f"{ev.checks[0].name} PRELIMINARY" in line for line in lines)
    assert any("simulated" in line for line in lines)
    assert f"{ev.checks[-1].name}: NOT_RUN — disabled in the manifest (enabled: false)" in lines
    assert any(line.startswith(f"{ev.checks[0].name}: 1 search(es)") for line in lines)
    assert "No tool qualification record is attached (auditkit selftest)." in lines
    text = html.unescape(dossier_html(ev, [], tmp_path))
    assert "Limitations of this audit" in text and all(line in text for line in lines)
    ev.quick = False
    assert not any(line.startswith("Quick mode") for line in limitations(ev))


def test_audit_events_are_laid_out_for_print_with_short_hashes():
    from auditkit.report.html import event_lines

    digest = "ab" * 32
    lines = event_lines({"stage": "figures", "files": {"b.png": digest, "a.svg": "cd" * 32}, "sha256": digest})
    assert lines == ["files: 2 file(s)", f"  a.svg  {'cd' * 8}…", f"  b.png  {'ab' * 8}…", f"sha256: {'ab' * 8}…",
                     'stage: "figures"']
    assert all(len(line) < 60 for line in lines)


def test_the_summary_counts_the_setups_own_checks_apart(tmp_path):
    from auditkit.checks.result import Criterion

    ev = sample_evidence()
    n_network = sum(len(c.criteria) for c in ev.checks)
    ev.checks[0].criteria.append(Criterion.evaluate("adversarial.search_power[image_domain]", "rule", 0.8, 0.95,
                                                    comparison=">=", setup=True))
    text = " ".join(html.unescape(dossier_html(ev, [], tmp_path)).split())
    assert f"{n_network} criteria on the network" in text
    assert "1 criteria on the audit's own setup (baseline sanity, search power): 1 not met (adversarial.search_power" in text


def test_every_criterion_has_a_readable_title_before_its_identifier(tmp_path):
    import re
    from pathlib import Path

    import auditkit.checks
    from auditkit.report.html import CRITERION_TITLES, criterion_title

    source = "".join(p.read_text(encoding="utf-8") for p in Path(auditkit.checks.__file__).parent.glob("*.py"))
    rules = set(re.findall(r'"((?:adversarial|structural|sampling|noise|hallucination|tradeoff)\.[a-z_]+)', source))
    assert rules and rules <= set(CRITERION_TITLES), rules - set(CRITERION_TITLES)
    assert criterion_title("adversarial.change_vs_baseline[eps=0.02]").endswith(", ε = 0.02")
    assert criterion_title("noise.exceedance_upper_bound[level=0.05]").endswith(", η = 0.05")
    assert criterion_title("structural.recovery[can_u_see_it]") == "A small detail is brought back (can u see it)"
    assert criterion_title("novel.rule") == "novel.rule"


def test_one_quantity_is_written_in_one_number_format():
    from auditkit.report.html import format_in_row, needs_scientific

    row = [7.502e-05, 0.0001353, 0.0]
    assert needs_scientific(row) and not needs_scientific([0.5, 0.0001353, 3])
    assert [format_in_row(v, True) for v in row] == ["7.502×10⁻⁵", "1.353×10⁻⁴", "0"]
    assert format_in_row(0.25, False) == "0.25" and format_in_row("text", True) == "text"


def test_limitations_name_the_checks_a_qualification_did_not_run():
    from auditkit.report.html import limitations

    ev = sample_evidence()
    ev.qualification = {"qualified": True, "checks": [ev.checks[0].name], "references": []}
    lines = limitations(ev)
    others = ", ".join(c.name for c in ev.checks[1:])
    assert f"The attached tool qualification did not run {others}: those checks are not qualified by it." in lines


def test_raw_test_data_is_stated_with_what_each_check_took_from_it(tmp_path):
    """An image from raw k-space: its provenance, which parts of each check used the acquired k-space and which
    simulated from the reference, the limitations rewritten, and the test-data figure beside the images."""
    import numpy as np

    from auditkit.arrays import save_npz
    from auditkit.report.figures import draw_figures
    from auditkit.checks.registry import title_of
    from auditkit.report.html import raw_use

    ev = sample_evidence()
    plain = limitations(ev)
    assert any("no raw data from a scanner" in line for line in plain)
    ev.images[0] = {"id": "img0", "raw": "fastmri", "file": "scan.h5", "slice": 3, "coils": 4,
                    "coil_maps": "estimated: low-resolution method from the central 24×24 samples"}
    for check in ev.checks:
        check.parameters = {**check.parameters, "effective": {**(check.parameters.get("effective") or {}),
                                                              "images": ["img0", "img1"]}}
    rows = raw_use(ev)  # every check of the registry that ran on img0; "novel" is none
    assert [r["check"] for r in rows] == [title_of(c.name) for c in ev.checks if c.name != "novel"]
    adversarial = next(r for r in rows if r["check"] == title_of("adversarial"))
    assert adversarial["images"] == "img0" and "acquired y" in adversarial["measured"]
    assert "A(x + r)" in adversarial["simulated"]
    lines = limitations(ev)
    assert not any("no raw data from a scanner" in line for line in lines)
    assert any(line.startswith("Raw k-space: 1 of 2 test image(s) come from raw data (img0)") for line in lines)
    save_npz(tmp_path / "arrays" / "test_data.npz",
             {"image_0": np.linspace(0, 1, 64).reshape(8, 8), "maps_0": np.full((4, 8, 8), 0.5)})
    figures = [f for f in draw_figures(ev, tmp_path) if f.check == "test_data"]
    assert [f.key for f in figures] == ["coil_maps"] and "estimated: low-resolution method" in figures[0].caption
    text = html.unescape(dossier_html(ev, figures, tmp_path))
    setup = text[text.index('id="setup"'):]
    setup = setup[:setup.index("</section>")]
    assert "Raw k-space" in setup and "Acquired k-space" in setup and "Raw test data: reference and coil maps" in setup
    assert "no raw data measured by a scanner enters this audit" not in setup
