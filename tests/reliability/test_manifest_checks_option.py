"""``run --checks`` is parsed and validated before anything is created (issue 12, section 3, item 4).

``--checks foo,structural`` exited 2 but left a ``.partial`` staging folder; ``--checks ","`` ran
all six checks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditkit import cli
from auditkit.errors import InputError
from auditkit.manifest.models import CHECK_NAMES
from auditkit.pipeline import RunOptions, parse_checks, run_audit, selected_checks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
ALL = ", ".join(CHECK_NAMES)


def run(tmp_path: Path, checks: str):
    """``auditkit run`` of the valid fixture into ``tmp_path/out`` with ``--checks checks``."""
    return CliRunner().invoke(cli.app, ["run", str(FIXTURES / "valid.yaml"), "--out", str(tmp_path / "out"), "--checks", checks])


@pytest.mark.parametrize("checks,message", [
    ("foo,structural", f"--checks: unknown check(s) foo; the checks are {ALL}"),
    ("foo,bar,foo,sampling", f"--checks: unknown check(s) foo, bar; the checks are {ALL}"),
    (",", f"--checks: no check named; name one or more of {ALL}"),
    (" ", f"--checks: no check named; name one or more of {ALL}"),
    ("", f"--checks: no check named; name one or more of {ALL}"),
])
def test_bad_selection_exits_2_and_writes_nothing(tmp_path, checks, message):
    result = run(tmp_path, checks)
    assert result.exit_code == 2, result.output
    assert result.stderr == message + "\n"
    assert list(tmp_path.iterdir()) == []


def test_the_api_refuses_before_the_staging_folder_too(tmp_path):
    with pytest.raises(InputError, match=r"unknown check\(s\) foo"):
        run_audit(FIXTURES / "valid.yaml", RunOptions(out=tmp_path / "out", checks=["foo", "structural"]))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text,expected", [
    (None, None),
    ("noise", ["noise"]),
    ("tradeoff, adversarial,tradeoff,", ["adversarial", "tradeoff"]),  # dossier order, duplicates merged
])
def test_parse_checks(text, expected):
    assert parse_checks(text) == expected


def test_selected_checks_is_the_one_list_of_names():
    assert selected_checks(None, None) == list(CHECK_NAMES)
    assert selected_checks(None, ["sampling", " sampling "]) == ["sampling"]
    with pytest.raises(InputError, match="no check named"):
        selected_checks(None, [])
