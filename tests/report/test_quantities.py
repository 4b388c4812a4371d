"""Every row of the dossier's tables is defined in its glossary."""

from __future__ import annotations

import html

from auditkit.report.html import dossier_html, table_rows
from auditkit.report.quantities import QUANTITIES, quantities_shown, quantity_of, suffixes

from .dossier_samples import sample_evidence


def test_suffixes_drop_settings_and_go_longest_first():
    assert suffixes("image_domain[0.01].crossed_at_iteration") == ["image_domain.crossed_at_iteration", "crossed_at_iteration"]
    assert suffixes("psnr[0.25]") == ["psnr"]


def test_a_checks_own_entry_comes_before_the_shared_one():
    structural = quantity_of("structural", "details.club.relative_error")
    tradeoff = quantity_of("tradeoff", "worst_case_error[0.01].relative_error")
    adversarial = quantity_of("adversarial", "image_domain[0.02].relative_error")
    assert structural and tradeoff and adversarial
    assert len({structural.meaning, tradeoff.meaning, adversarial.meaning}) == 3
    assert adversarial.key == "image_domain.relative_error"


def test_unknown_rows_are_none_and_every_entry_has_a_sentence():
    assert quantity_of("adversarial", "no_such_quantity") is None
    assert all(meaning.strip().endswith(".") for meaning in QUANTITIES.values())


def test_every_table_row_of_the_sample_evidence_is_defined_and_printed_in_the_glossary(tmp_path):
    ev = sample_evidence()
    rows = [(c.name, row) for c in ev.checks for row in table_rows(c)]
    assert rows and all(quantity_of(check, row) is not None for check, row in rows)
    page = dossier_html(ev, [], tmp_path)
    glossary = page[page.index('id="glossary"'):]
    for _, q in quantities_shown(rows):
        assert html.escape(q.meaning) in glossary
