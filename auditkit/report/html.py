"""The dossier as one self-contained HTML file, rendered from the evidence with the jinja2 templates.

Every number comes from the ``Evidence`` record and every picture from a drawn
figure (``FigureRef``); nothing is recomputed here, only arranged and formatted.
Figures are inlined as ``data:`` URIs (SVG preferred, PNG otherwise; in print, PNG for panels
of pixel images) and the CSS
is embedded, so ``dossier.html`` opens offline and prints cleanly. The PDF
(``auditkit.report.pdf``) renders the same HTML with the print stylesheet added.

Templates live in the repository's top-level ``templates/`` folder, found relative
to this package (``<repo>/templates``); auditkit is installed editable
(``pip install -e .``, as ``make`` does), so the folder is always beside it.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import jinja2
from markupsafe import Markup, escape

from auditkit.checks.registry import entry, names, title_of
from auditkit.dossier import layout
from auditkit.checks.result import CheckResult, Criterion, Verdict
from auditkit.evidence import Evidence
from auditkit.fileio import sha256_bytes, write_atomic
from auditkit.manifest import rationale
from auditkit.report.figures.figure_ref import TEST_DATA
from auditkit.report.glossary import GLOSSARY, NOTATION, REFERENCES
from auditkit.report.quantities import CONTAINERS, quantities_shown

if TYPE_CHECKING:
    from auditkit.report.figures import FigureRef

#: The repository's ``templates/`` folder (auditkit is installed editable).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

#: Images per per-image table: wider tables are split so they stay readable on A4.
COLUMNS_PER_TABLE = 6
#: (package, version) pairs side by side in the environment's package table.
PACKAGE_COLUMNS = 3

#: What each overall verdict means, printed under it on the title page.
VERDICT_MEANING: dict[Verdict, str] = {
    Verdict.PASS: "Every check that ran met all of its criteria.",
    Verdict.FAIL: "At least one criterion was not met.",
    Verdict.INCONCLUSIVE: (
        "No criterion on the network failed, but a search found too little of a known worst case for a PASS."
    ),
    Verdict.PRELIMINARY: (
        "Every criterion was met, by a quick run (fewer images, searches and draws): a first look, not a PASS."
    ),
    Verdict.ERROR: "At least one check could not be completed; the audit is incomplete.",
    Verdict.NOT_RUN: "No check produced a verdict; the network has not been judged.",
}

#: The submission fields of the title page (a missing one prints as a dash).
SUBMISSION_FIELDS = ("id", "vendor", "device", "version", "intended_use", "contact")

#: Date printed as the document's creation date when the evidence has no start time (keeps output deterministic).
FALLBACK_DATE = "2000-01-01T00:00:00+00:00"

#: Where a subject's column goes: the network first, then the baseline, then any other.
_SUBJECT_ORDER = {"network": 0, "baseline": 1}
#: Keys that name the image of a per-image row, in order of preference.
_ROW_ID_KEYS = ("image", "image_id", "id")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Signature:
    """Who signs the dossier, what the signature means and when (21 CFR 11.50): the printed manifestation.

    The PDF is rendered immediately before it is signed (PAdES), so ``time`` (ISO 8601, UTC) is the
    time of rendering, seconds before the signature is applied; the digital signature records the
    exact time.
    """

    signer_name: str
    meaning: str
    time: str
    #: the signing certificate's subject common name and SHA-256 fingerprint (what ``pdfsig`` shows)
    certificate: str = ""
    certificate_sha256: str = ""


@dataclass
class Table:
    """A table ready for the template: optional grouped header row, column names, formatted cells."""

    columns: list[str]
    rows: list[list[str]]
    groups: list[tuple[str, int]] = field(default_factory=list)
    caption: str = ""


# --- formatting ---------------------------------------------------------------------------------


def format_value(value: Any) -> str:
    """Text for one recorded value: floats to 4 significant digits, booleans as yes/no, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return ", ".join(format_value(v) for v in value) if value else "(none)"
        return "; ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) if value else "(none)"
    return str(value)


def _format_float(value: float) -> str:
    """4 significant digits; powers of ten written as ×10ⁿ; NaN and ±∞ spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text


def needs_scientific(values: Iterable[Any]) -> bool:
    """Whether one quantity's values (a table row) must all be written as ×10ⁿ: some nonzero value's 4-digit
    form would be (below 10⁻⁴ or from 10⁶), and one quantity gets one number format."""
    return any(
        isinstance(v, float) and math.isfinite(v) and v != 0 and not 1e-4 <= abs(v) < 1e6 for v in values
    )


def format_in_row(value: Any, scientific: bool) -> str:
    """``format_value``, or for a float of a row that ``needs_scientific`` the ×10ⁿ form (4 significant digits)."""
    if not scientific or not isinstance(value, float) or not math.isfinite(value):
        return format_value(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts (and lists of dicts) as one level: ``a.b`` for names, ``a[k]`` for other keys and indices."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, _join_key(prefix, str(key))))
        return out
    if isinstance(value, (list, tuple)) and any(isinstance(v, dict) for v in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _join_key(prefix: str, key: str) -> str:
    """``prefix.key`` for identifier-like keys, ``prefix[key]`` for the rest (ratios, symbols, text)."""
    if not prefix:
        return key
    return f"{prefix}.{key}" if key.isidentifier() else f"{prefix}[{key}]"


#: a readable title for each criterion rule (its name without the setting in brackets); the identifier follows it.
CRITERION_TITLES: dict[str, str] = {
    "adversarial.change_vs_baseline": "Worst change under a tiny image perturbation, against the baseline",
    "adversarial.change_vs_budget": "Worst change under a tiny image perturbation, against its size",
    "adversarial.local_change_vs_baseline": "Worst local change (one patch) under a tiny image perturbation",
    "adversarial.measurement_change_vs_baseline": "Worst change under tiny measurement noise, against the baseline",
    "adversarial.search_power": "Search power on a map whose worst case is known (setup)",
    "structural.recovery": "A small detail is brought back",
    "structural.recovery_vs_baseline": "A small detail is brought back as well as by the baseline",
    "structural.ghosts_vs_baseline": "No brighter echoes of a detail elsewhere than the baseline's",
    "sampling.no_drop_with_more_samples": "No worse with more samples (mean over images)",
    "sampling.no_drop_on_any_image": "No worse with more samples (on every image)",
    "sampling.gain_vs_baseline": "Gains from more samples (no stagnation)",
    "sampling.baseline_rises": "The baseline gains from more samples (setup)",
    "sampling.baseline_no_drop": "The baseline never gets worse with more samples (setup)",
    "noise.exceedance_upper_bound": "Harmful random noise is rare",
    "hallucination.largest_patch_vs_baseline": "No more invented content than the baseline",
    "tradeoff.error_vs_baseline": "Error under the worst noise, against the baseline",
    "tradeoff.local_error_vs_baseline": "Local error (one patch) under the worst noise, against the baseline",
}


def criterion_title(name: str) -> str:
    """The readable title of criterion ``name`` with its setting (``[eps=0.01]`` → "ε = 0.01"); the name itself
    when it has none."""
    rule, _, setting = name.partition("[")
    title = CRITERION_TITLES.get(rule)
    if title is None:
        return name
    setting = setting.rstrip("]")
    if not setting:
        return title
    key, _, value = setting.partition("=")
    symbol = {"eps": "ε", "eta": "η", "level": "η"}.get(key)
    if symbol == "η" and _is_zero(value):
        return f"{title}, η = 0 (no noise: the error on clean measurements)"
    return f"{title}, {symbol} = {value}" if symbol and value else f"{title} ({setting.replace('_', ' ')})"


def _is_zero(text: str) -> bool:
    """Whether a setting's value reads as the number 0."""
    try:
        return float(text) == 0.0
    except ValueError:
        return False


def verdict_class(verdict: Verdict | str | None) -> str:
    """CSS class of a verdict badge (colour is never the only carrier: the word is always printed)."""
    if verdict is None:
        return "v-undecided"
    value = verdict.value if isinstance(verdict, Verdict) else str(verdict)
    return {"PASS": "v-pass", "FAIL": "v-fail", "ERROR": "v-error", "NOT_RUN": "v-notrun",
            "PRELIMINARY": "v-preliminary", "INCONCLUSIVE": "v-preliminary"}.get(value, "v-undecided")


def criterion_result(criterion: Criterion) -> str:
    """PASS, FAIL or NOT DECIDED for one criterion."""
    if criterion.passed is None:
        return "NOT DECIDED"
    return "PASS" if criterion.passed else "FAIL"


#: how far a threshold is moved, relative to itself, to say which verdicts would flip.
SENSITIVITY_STEP = 0.5


def sensitivity(criterion: Criterion) -> str | None:
    """How far the measured value is from its threshold, relative to the threshold, and whether the result flips
    when the threshold moves by ``SENSITIVITY_STEP`` of itself towards strict or lenient; None when not decided."""
    m, t = criterion.measured, criterion.threshold
    if criterion.passed is None or m is None or t is None or not math.isfinite(m):
        return None
    at_most = criterion.comparison == "<="
    step = SENSITIVITY_STEP * abs(t)

    def holds(threshold: float) -> bool:
        return m <= threshold if at_most else m >= threshold

    stricter, lenient = (t - step, t + step) if at_most else (t + step, t - step)
    margin = (t - m if at_most else m - t) / abs(t) if t else math.copysign(math.inf, t - m if at_most else m - t)
    side = f"{abs(margin):.0%} {'inside' if margin >= 0 else 'outside'} the threshold" if math.isfinite(margin) else (
        "threshold 0")
    pct = f"{SENSITIVITY_STEP:.0%}"
    if holds(stricter) and holds(lenient):
        flip = f"the result holds with the threshold {pct} stricter or more lenient"
    elif criterion.passed:
        flip = f"FAIL with the threshold {pct} stricter"
    elif holds(lenient):
        flip = f"PASS with the threshold {pct} more lenient"
    else:
        flip = f"still FAIL with the threshold {pct} more lenient"
    return f"Sensitivity: {side}; {flip}."


def per_image_line(criterion: Criterion) -> str | None:
    """``Per image (n = N): id value, …``: the values the criterion's worst case or mean is taken of."""
    if not criterion.per_image:
        return None
    values = ", ".join(f"{image} {format_value(v)}" for image, v in criterion.per_image.items())
    return f"Per image (n = {len(criterion.per_image)}): {values}."


def breakable(text: Any) -> Markup:
    """HTML-escaped ``text`` with line-break opportunities after '.', '_', '/' and before '[' (long dotted names);
    never inside brackets, so a setting such as ``[0.02]`` stays whole."""
    parts = re.split(r"(\[[^\]]*\])", str(text))
    out = []
    for i, part in enumerate(parts):
        escaped = str(escape(part))
        out.append(f"<wbr>{escaped}" if i % 2 else re.sub(r"([._/])", r"\1<wbr>", escaped))
    return Markup("".join(out))


_DIGEST = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}")


def cell(value: Any) -> Markup:
    """A table cell's text, HTML-escaped; a hex digest (SHA-1/256/512) in a small monospaced span kept on one line."""
    text = str(value)
    if _DIGEST.fullmatch(text):
        return Markup(f'<span class="digest">{escape(text)}</span>')
    return Markup(str(escape(text)))


def css_string(text: Any) -> str:
    """``text`` as a quoted CSS string (for page headers and footers)."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ").replace("<", "\\3C ")
    return f'"{escaped}"'


# --- tables -------------------------------------------------------------------------------------


def key_value_table(mapping: Mapping[str, Any], *, caption: str = "") -> Table:
    """Two columns, flattened names and formatted values."""
    flat = flatten(dict(mapping))
    return Table(columns=["Name", "Value"], rows=[[k, format_value(v)] for k, v in flat.items()], caption=caption)


def environment_facts(environment: Mapping[str, Any]) -> dict[str, Any]:
    """The environment record without its package list (shown as a table of its own); CPU flags as one wrapping line."""
    facts = {k: v for k, v in environment.items() if k != "packages" or not isinstance(v, Mapping)}
    if isinstance(facts.get("cpu_flags"), list):
        facts["cpu_flags"] = " ".join(str(f) for f in facts["cpu_flags"]) or "(none reported)"
    return facts


def package_table(packages: Mapping[str, Any] | None, *, pairs: int = PACKAGE_COLUMNS) -> Table | None:
    """Every installed package as (name, version) pairs, ``pairs`` side by side, read down each column."""
    if not isinstance(packages, Mapping) or not packages:
        return None
    items = [(str(name), str(version)) for name, version in packages.items()]
    height = math.ceil(len(items) / pairs)
    columns = [items[i : i + height] for i in range(0, len(items), height)]
    blank = ("", "")
    rows = [[cell for column in columns for cell in (column[r] if r < len(column) else blank)] for r in range(height)]
    return Table(
        columns=["Package", "Version"] * len(columns),
        rows=rows,
        caption=f"{len(items)} installed Python packages",
    )


def subject_order(check: CheckResult) -> list[str]:
    """The check's subjects, network first, baseline second, the rest alphabetically."""
    return sorted(check.subjects, key=lambda k: (_SUBJECT_ORDER.get(k, 2), k))


def subject_label(check: CheckResult, key: str) -> str:
    """Column title of a subject: 'Network', or its recorded name when that says more ('Baseline: ℓ1-wavelet')."""
    label = key.replace("_", " ").capitalize()
    name = check.subjects[key].name.strip()
    if not name or name.lower() == key.lower():
        return label
    return name[0].upper() + name[1:] if name.lower().startswith(key.lower()) else f"{label}: {name}"


def summary_table(check: CheckResult) -> Table | None:
    """Headline numbers: one row per flattened summary key, one column per subject."""
    keys = subject_order(check)
    flats = {k: flatten(check.subjects[k].summary) for k in keys}
    names = _union(flats[k].keys() for k in keys)
    if not names:
        return None
    rows = []
    for name in names:
        values = [flats[k].get(name) for k in keys]
        scientific = needs_scientific(values)
        rows.append([name] + [format_in_row(v, scientific) for v in values])
    return Table(columns=["Quantity"] + [subject_label(check, k) for k in keys], rows=rows)


def per_image_tables(check: CheckResult, *, columns: int = COLUMNS_PER_TABLE) -> list[Table]:
    """Per-image numbers: rows are flattened quantities, columns are image × subject, split into readable widths."""
    keys = subject_order(check)
    by_subject: dict[str, dict[str, dict[str, Any]]] = {}
    for k in keys:
        by_subject[k] = {}
        for i, row in enumerate(check.subjects[k].per_image):
            image, flat = _split_row_id(row, i)
            by_subject[k][image] = flat
    images = _union(by_subject[k].keys() for k in keys)
    names = _union(flat.keys() for k in keys for flat in by_subject[k].values())
    if not images or not names:
        return []
    per_table = max(1, columns // max(1, len(keys)))
    scientific = {
        name: needs_scientific(by_subject[k].get(img, {}).get(name) for img in images for k in keys) for name in names
    }
    tables = []
    for start in range(0, len(images), per_table):
        chunk = images[start : start + per_table]
        rows = [
            [name] + [format_in_row(by_subject[k].get(img, {}).get(name), scientific[name]) for img in chunk for k in keys]
            for name in names
        ]
        tables.append(
            Table(
                columns=["Quantity"] + [k.replace("_", " ").capitalize() for _ in chunk for k in keys],
                rows=rows,
                groups=[("", 1)] + [(f"Image {img}", len(keys)) for img in chunk],
            )
        )
    return tables


def _split_row_id(row: Mapping[str, Any], index: int) -> tuple[str, dict[str, Any]]:
    """(image label, the row's other values flattened); the label is the first id key present, else the row number."""
    rest = dict(row)
    for key in _ROW_ID_KEYS:
        if key in rest and not isinstance(rest[key], (dict, list)):
            return str(rest.pop(key)), flatten(rest)
    return str(index + 1), flatten(rest)


def _union(groups: Iterable[Iterable[str]]) -> list[str]:
    """Every name once, in order of first appearance."""
    seen: dict[str, None] = {}
    for group in groups:
        for name in group:
            seen.setdefault(name, None)
    return list(seen)


# --- figures ------------------------------------------------------------------------------------


def figure_source(figure: "FigureRef", root: Path, *, inline: bool, medium: str = "screen") -> str:
    """The figure's ``src``: a data: URI of its SVG (or PNG) when ``inline``, else its relative path.

    In print, a ``raster`` figure (panels of pixel images) prefers its PNG, which WeasyPrint
    embeds in milliseconds instead of the seconds its SVG takes.
    """
    order = [(figure.svg, "image/svg+xml"), (figure.png, "image/png")]
    if medium == "print" and figure.raster:
        order.reverse()
    for rel, mime in order:
        if rel and (root / rel).is_file():
            if not inline:
                return Path(rel).as_posix()
            data = base64.b64encode((root / rel).read_bytes()).decode("ascii")
            return f"data:{mime};base64,{data}"
    raise FileNotFoundError(
        f"figure '{figure.check}/{figure.key}': neither {figure.svg!r} nor {figure.png!r} exists under {root}"
    )


def _figure_view(figure: "FigureRef", root: Path, inline: bool, medium: str) -> dict[str, str]:
    """Title, caption, source and anchor of one figure, as the figure macro reads them."""
    return {
        "title": figure.title,
        "caption": figure.caption,
        "src": figure_source(figure, root, inline=inline, medium=medium),
        "anchor": f"fig-{figure.check}-{figure.key}",
    }


# --- the whole document -------------------------------------------------------------------------


def evidence_sha256(evidence: Evidence) -> str:
    """sha256 of the canonical ``evidence.json`` text (what is written to disk and attached to the PDF)."""
    return sha256_bytes(evidence.to_json().encode("utf-8"))


def template_environment() -> jinja2.Environment:
    """The jinja2 environment over ``templates/`` with the dossier's filters (strict: a typo is an error)."""
    if not TEMPLATES_DIR.is_dir():
        raise FileNotFoundError(
            f"dossier templates not found at {TEMPLATES_DIR}; install auditkit from its source tree with 'pip install -e .'"
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        value=format_value,
        breakable=breakable,
        cell=cell,
        verdict_class=verdict_class,
        css_string=css_string,
        event_lines=event_lines,
        criterion_title=criterion_title,
    )
    return env


def dossier_context(
    evidence: Evidence,
    figures: Sequence["FigureRef"],
    root: Path,
    *,
    audit_events: Sequence[Mapping[str, Any]] = (),
    signature: Signature | None = None,
    inline: bool = True,
    medium: str = "screen",
) -> dict[str, Any]:
    """Everything the templates read, arranged from the evidence, the figures, the audit events and the signer."""
    root = Path(root)
    known = {c.name for c in evidence.checks}
    checks = [
        _check_view(c, [f for f in figures if f.check == c.name], root, inline, medium, evidence)
        for c in evidence.checks
    ]
    stray = [_figure_view(f, root, inline, medium) for f in figures if f.check not in known | {TEST_DATA}]
    criteria = [c for check in evidence.checks for c in check.criteria]
    judged = [c for c in criteria if not c.setup]  # the network's criteria; the setup's own checks apart
    setup = [c for c in criteria if c.setup]
    css = (TEMPLATES_DIR / "dossier.css").read_text(encoding="utf-8")
    if medium == "print":
        css += "\n" + (TEMPLATES_DIR / "pdf.css").read_text(encoding="utf-8")
    return {
        "ev": evidence,
        "sub": {**{k: "—" for k in SUBMISSION_FIELDS}, **evidence.submission},
        "tool_version": evidence.tool.get("version", "unknown"),
        "evidence_sha256": evidence_sha256(evidence),
        "verdict": evidence.overall_verdict,
        "verdict_meaning": VERDICT_MEANING[evidence.overall_verdict],
        "counts": {
            "criteria": len(judged),
            "passed": sum(c.passed is True for c in judged),
            "failed": sum(c.passed is False for c in judged),
            "undecided": sum(c.passed is None for c in judged),
            "setup": len(setup),
            "setup_failed": [c.name for c in setup if c.passed is False],
            "checks": {v.value: sum(c.verdict is v for c in evidence.checks) for v in Verdict},
        },
        "checks": checks,
        "stray_figures": stray,
        "modality": key_value_table(evidence.modality),
        "baseline": key_value_table(evidence.baseline),
        "network": key_value_table(evidence.network),
        "environment": key_value_table(environment_facts(evidence.environment)),
        "packages": package_table(evidence.environment.get("packages")),
        "tool": key_value_table(evidence.tool),
        "images": evidence.images,
        "image_use": image_use(evidence),
        "raw_use": raw_use(evidence),
        "raw_images": raw_images(evidence),
        "data_figures": [_figure_view(f, root, inline, medium) for f in figures if f.check == TEST_DATA],
        "limitations": limitations(evidence),
        "files": sorted(evidence.files.items()),
        "seeds": _seeds(evidence),
        "audit_events": [dict(e) for e in audit_events],
        "signature": signature,
        "document_date": evidence.started_at or FALLBACK_DATE,
        "glossary": GLOSSARY,
        "notation": NOTATION,
        "references": REFERENCES,
        "table_quantities": quantities_shown(
            (view["r"].name, name) for view in checks for name in rows_of([view["summary"], *view["per_image"]])
        ),
        "containers": sorted(CONTAINERS.items()),
        "css": css,
        "medium": medium,
    }


def rows_of(tables: Iterable[Table | None]) -> list[str]:
    """The row names of ``tables`` (None: a table not drawn), in table order."""
    return [str(row[0]) for t in tables if t is not None for row in t.rows]


def table_rows(check: CheckResult) -> list[str]:
    """The row names of the check's headline and per-image tables, in table order."""
    return rows_of([summary_table(check), *per_image_tables(check)])


def _check_view(
    check: CheckResult, figures: list["FigureRef"], root: Path, inline: bool, medium: str, evidence: Evidence
) -> dict[str, Any]:
    """One check, arranged for its section: tables built, figures resolved, criteria labelled."""
    files = evidence.files
    return {
        "r": check,
        "anchor": f"check-{check.name}",
        "title": check.title or title_of(check.name),
        "explanation": f"checks/{check.name}.html.j2",
        "parameters": key_value_table(check.parameters),
        "summary": summary_table(check),
        "per_image": per_image_tables(check),
        "criteria": [
            {"c": c, "result": criterion_result(c), "sensitivity": sensitivity(c), "per_image": per_image_line(c)}
            for c in check.criteria
        ],
        "rationale": [
            {"field": r.field, "value": check.parameters.get(r.field), "source": r.source.value, "why": r.why}
            for r in rationale.for_check(check.name)
        ],
        "figures": [_figure_view(f, root, inline, medium) for f in figures],
        "arrays": [(a, files.get(a) or files.get(f"{layout.ARRAYS}/{a}")) for a in check.arrays],
        "images": images_used(check, evidence),
    }


def images_used(check: CheckResult, evidence: Evidence) -> dict[str, Any] | None:
    """Which test images the check ran on, how many of the audit's, and why those (None when it did not run)."""
    effective = check.parameters.get("effective") or {}
    used = effective.get("images")
    if used is None:
        return None
    total = len(evidence.images)
    chosen = check.parameters.get("images")
    if chosen is not None:
        why = f"the manifest selects {len(chosen)} of them (checks.{check.name}.images: {', '.join(map(str, chosen))})"
        if effective.get("quick") and len(used) < len(chosen):
            why += f"; quick mode keeps the first {len(used)}"
    elif effective.get("quick") and len(used) < total:
        why = f"quick mode keeps the first {len(used)}"
    else:
        why = "every test image"
    return {"ids": list(used), "count": len(used), "total": total, "why": why}


def image_use(evidence: Evidence) -> dict[str, list[str]]:
    """Image id → the checks that ran on it, in check order."""
    use: dict[str, list[str]] = {str(img.get("id")): [] for img in evidence.images}
    for check in evidence.checks:
        for image_id in (check.parameters.get("effective") or {}).get("images") or []:
            use.setdefault(str(image_id), []).append(check.name)
    return use


def raw_images(evidence: Evidence) -> list[str]:
    """The ids of the test images that came from raw k-space (their source names a ``raw`` format)."""
    return [str(img.get("id")) for img in evidence.images if img.get("raw")]


def raw_use(evidence: Evidence) -> list[dict[str, str]]:
    """For an audit with raw test data, each check that ran on a raw image: what of it used the acquired k-space
    and what simulated measurements from the reference image (the checks' ``raw_measured``/``raw_simulated``)."""
    raw = set(raw_images(evidence))
    rows = []
    for check in evidence.checks:
        used = raw.intersection(map(str, (check.parameters.get("effective") or {}).get("images") or []))
        if used and check.name in names():
            kind = entry(check.name).check
            rows.append({"check": title_of(check.name), "images": ", ".join(sorted(used)),
                         "measured": kind.raw_measured or "—", "simulated": kind.raw_simulated or "—"})
    return rows


#: phrases of a check's notes that say a search fell short of its budget or was still climbing.
SHORT_SEARCH_PHRASES = ("still climbing", "did not reach every budget")


def limitations(evidence: Evidence) -> list[str]:
    """What this run's verdicts cannot show, generated from the evidence: quick-mode caps and the verdicts they
    affect, how many images each check used, simulated measurements, magnitude images, checks not run or in
    error, searches that fell short, and a missing tool qualification."""
    out = []
    total = len(evidence.images)
    if evidence.quick:
        affected = [f"{c.name} {c.verdict.value}" for c in evidence.checks
                    if c.verdict in (Verdict.PRELIMINARY, Verdict.INCONCLUSIVE)]
        out.append("Quick mode: images, searches, restarts, draws and the baseline's iterations are capped, so no "
                   "check can PASS" + (f"; the verdicts this leaves open: {', '.join(affected)}" if affected else "")
                   + ". Run the default audit for a submission.")
    counts = [f"{c.name} {len(used['ids'])}" for c in evidence.checks if (used := images_used(c, evidence))]
    if counts:
        out.append(f"Images: the audit has {total} test image(s); the checks used {', '.join(counts)}. A verdict "
                   f"rests on those images alone.")
    raw = raw_images(evidence)
    if not raw:
        out.append("Measurements are simulated from each test image with the audit's own forward operator (y = A x); "
                   "no raw data from a scanner, with its noise, coils and phase, was used.")
        out.append("Test images are real and non-negative (magnitude images scaled to [0, 1]); behaviour on complex "
                   "images with phase is not tested.")
    else:
        out.append(f"Raw k-space: {len(raw)} of {total} test image(s) come from raw data ({', '.join(raw)}); only the "
                   f"parts of the checks listed under Test images reconstruct from the acquired k-space. The parts "
                   f"that perturb the image simulate y = A(x + ·) from the reference, itself a reconstruction of the "
                   f"fully sampled scan (its noise included), with the slice's coil maps; where estimated maps meet "
                   f"no signal they are extrapolated, so a structural detail there is left out (the check's notes "
                   f"say which) and an image-domain perturbation there is simulated with extrapolated maps.")
        if len(raw) < total:
            out.append("The other test images are real and non-negative (magnitude images scaled to [0, 1]); their "
                       "measurements are simulated with the audit's own forward operator (y = A x).")
    for c in evidence.checks:
        if c.verdict in (Verdict.NOT_RUN, Verdict.ERROR):
            out.append(f"{c.name}: {c.verdict.value}" + (f" — {c.reason}" if c.reason else ""))
    for c in evidence.checks:
        short = [n for n in c.notes if any(p in n for p in SHORT_SEARCH_PHRASES)]
        if short:
            out.append(f"{c.name}: {len(short)} search(es) fell short of their budget or were still climbing when it "
                       f"ran out (the check's notes name them): the worst cases found are lower bounds. A network's "
                       f"lower bound may hide a larger worst case; a baseline's makes the network's threshold lower, "
                       f"i.e. stricter, than a complete search would.")
    clipped = clipped_details(evidence)
    if clipped:
        out.append(f"structural: on {len(clipped)} image–detail pair(s) less than half of the detail survived clipping "
                   f"to [0, 1] ({', '.join(clipped[:6])}{', …' if len(clipped) > 6 else ''}); recovery there is "
                   f"measured against the little that was added.")
    if not evidence.qualification:
        out.append("No tool qualification record is attached (auditkit selftest).")
    else:
        if not evidence.qualification.get("qualified"):
            out.append("The attached tool qualification record says that some known answers were NOT found.")
        missing = [c.name for c in evidence.checks if c.name not in (evidence.qualification.get("checks") or [])]
        if missing:
            out.append(f"The attached tool qualification did not run {', '.join(missing)}: those checks are not "
                       f"qualified by it.")
    return out


#: below this share of a detail left after clipping, the Limitations name the image and detail.
MOSTLY_CLIPPED = 0.5


def clipped_details(evidence: Evidence) -> list[str]:
    """'detail on image' for every pair of the structural check whose kept fraction ‖d‖/‖d̃‖ is below MOSTLY_CLIPPED."""
    check = next((c for c in evidence.checks if c.name == "structural"), None)
    subject = check.subjects.get("network") if check else None
    out = []
    for row in subject.per_image if subject else []:
        for name, values in (row.get("details") or {}).items():
            kept = values.get("kept_fraction") if isinstance(values, Mapping) else None
            if isinstance(kept, (int, float)) and kept < MOSTLY_CLIPPED:
                out.append(f"{name} on {row.get('image')}")
    return out


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: hex digits of a sha256 shown in the audit trail (the full value is in audit.log).
SHORT_HASH = 16


def event_lines(data: Mapping[str, Any]) -> list[str]:
    """An audit event's data for print, one line per field: a {file: sha256} map as one line per file with
    the hash's first ``SHORT_HASH`` digits, a long hash shortened alike, anything else as compact JSON."""
    lines = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, Mapping) and value and all(isinstance(v, str) and _SHA256.match(v) for v in value.values()):
            lines.append(f"{key}: {len(value)} file(s)")
            lines += [f"  {name}  {digest[:SHORT_HASH]}…" for name, digest in sorted(value.items())]
        elif isinstance(value, str) and _SHA256.match(value):
            lines.append(f"{key}: {value[:SHORT_HASH]}…")
        else:
            lines.append(f"{key}: {json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(', ', ': '))}")
    return lines


def _seeds(evidence: Evidence) -> list[tuple[str, str]]:
    """Every seed the audit used: the run's, the sampling pattern's and each check's."""
    seeds = [("checks (manifest checks.seed)", str(evidence.seed))]
    if "seed" in evidence.modality:
        seeds.append(("sampling pattern (modality.sampling.seed)", format_value(evidence.modality["seed"])))
    seeds += [(f"check '{c.name}'", format_value(c.seed)) for c in evidence.checks]
    return seeds


def dossier_html(
    evidence: Evidence,
    figures: Sequence["FigureRef"],
    root: Path,
    *,
    audit_events: Sequence[Mapping[str, Any]] = (),
    signature: Signature | None = None,
    inline: bool = True,
    medium: str = "screen",
) -> str:
    """The dossier's HTML text; ``medium='print'`` adds the paged-media stylesheet used for the PDF."""
    if medium not in ("screen", "print"):
        raise ValueError(f"medium must be 'screen' or 'print', not {medium!r}")
    context = dossier_context(
        evidence, figures, root, audit_events=audit_events, signature=signature, inline=inline, medium=medium
    )
    return template_environment().get_template("dossier.html.j2").render(**context)


def render_html(
    evidence: Evidence,
    figures: Sequence["FigureRef"],
    root: Path,
    *,
    audit_events: Sequence[Mapping[str, Any]] = (),
    signature: Signature | None = None,
    inline: bool = True,
) -> Path:
    """Write ``root/dossier.html`` (self-contained when ``inline``) and return its path."""
    root = Path(root)
    text = dossier_html(evidence, figures, root, audit_events=audit_events, signature=signature, inline=inline)
    return write_atomic(root / layout.HTML, text)
