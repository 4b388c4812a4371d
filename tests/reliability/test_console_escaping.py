"""Data shown on the console is shown as written: rich reads no markup ([bold]) and no emoji codes (:x:) in
paths, array keys, reasons or progress descriptions (issue 12, section 4, item 5)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

import auditkit.reproduce
from auditkit import cli
from auditkit.console_progress import RichProgress
from auditkit.reproduce import Difference, ReproduceReport
from auditkit.dossier.validation import RowStatus, VerifyReport, VerifyRow, report_table

DATA = "arrays/structural.npz:x: [bold]kept[/bold] :warning:"


def test_the_cli_consoles_print_data_verbatim(capsys):
    cli._console().print(DATA, style="red")
    cli._stderr().print(DATA)
    captured = capsys.readouterr()
    assert captured.out == DATA + "\n"
    assert captured.err == DATA + "\n"


def test_reproduce_prints_array_keys_verbatim(tmp_path: Path, monkeypatch):
    difference = Difference("arrays/structural.npz:x", 1, 2)
    report = ReproduceReport(exact=True, rtol=0.0, atol=0.0, compared=3, differences=[difference])
    monkeypatch.setattr(auditkit.reproduce, "reproduce_dossier", lambda *args, **kwargs: report)
    result = CliRunner().invoke(cli.app, ["reproduce", str(tmp_path / "[bold]d:x:")])
    assert result.exit_code == 1, result.output
    assert "arrays/structural.npz:x: archived 1, reproduced 2\n" in result.stderr
    assert f"{tmp_path / '[bold]d:x:'}: 1 of 3 values differ" in result.stdout


def test_verify_shows_the_folder_and_the_items_verbatim(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path(":x:[bold]d").mkdir()
    result = CliRunner().invoke(cli.app, ["verify", ":x:[bold]d"])
    assert result.exit_code == 1
    assert "auditkit verify :x:[bold]d" in result.stdout
    assert ":x:[bold]d/evidence.json: fail: missing\n" in result.stderr


def test_the_verify_table_holds_text_not_markup_even_on_a_default_console():
    report = VerifyReport(Path(":x: [bold]root"), [VerifyRow(DATA, RowStatus.FAIL, "[red]:x:")])
    console = Console(file=io.StringIO(), width=200, record=True)  # markup and emoji on: the table must not need them off
    console.print(report_table(report))
    text = console.export_text()
    assert "auditkit verify :x: [bold]root" in text
    assert DATA in text and "[red]:x:" in text


def test_progress_descriptions_are_shown_verbatim():
    progress = RichProgress(Console(file=io.StringIO(), width=200))
    with progress, progress.task(DATA, total=3):
        (task,) = progress.bar.tasks
        assert progress.bar.columns[0].render(task).plain == DATA
