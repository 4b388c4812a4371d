"""The auditkit command line: validate and schema, exit codes, no tracebacks for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import auditkit
from auditkit import cli
from auditkit.manifest.schema import schema_text

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "manifests"


@pytest.fixture
def runner() -> CliRunner:
    """A runner that keeps stdout and stderr apart."""
    return CliRunner()


def test_valid_manifest_exits_0_with_a_one_line_summary(runner):
    path = FIXTURES / "valid_full.yaml"
    result = runner.invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: valid (mri_multicoil 32×32, network python, 3 images, 5 checks enabled)\n"
    assert result.stderr == ""


def test_valid_json_manifest(runner):
    result = runner.invoke(cli.app, ["validate", str(FIXTURES / "valid.json")])
    assert result.exit_code == 0, result.output
    assert "valid (ct_parallel 32×32, network python, 2 images, 5 checks enabled)" in result.stdout


@pytest.mark.parametrize("name,expected", [
    ("bad_missing_field.yaml", ":4: submission.vendor: missing required field"),
    ("bad_unknown_field.yaml", ":16: modality.sampling.ration: unknown field (did you mean 'ratio'?)"),
    ("bad_wrong_type.yaml", ":13: modality.image_shape: expected a list, found a string 'big'"),
    ("bad_ratio_range.yaml", ":16: modality.sampling.ratio: Input should be less than or equal to 1 (got 1.5)"),
    ("bad_malformed.yaml", ":14:11: malformed YAML: "),
    ("bad_mask_shape.yaml", ":16: modality.sampling.mask_file: 'arrays/mask_64.npy' has shape (64, 64)"),
    ("bad_missing_file.yaml", ":28: data.images.0.file: file not found: 'arrays/no_such_image.png'"),
    ("bad_sha256.yaml", ":22: network.sha256.net/identity_net.py: sha256 mismatch for 'net/identity_net.py'"),
    ("bad_not_torchscript.yaml", ":19: network.path: not a TorchScript archive: "),
    ("bad_entrypoint_import.yaml", ":20: network.entrypoint: importing 'broken_import' failed: "),
    ("bad_entrypoint_result.yaml", ":20: network.entrypoint: 'returns_int:build' returned builtins.int"),
    ("bad_password.yaml", ":31: signing.password: unknown field: a password never goes into the manifest"),
])
def test_bad_input_exits_2_with_file_line_field(runner, name, expected):
    path = FIXTURES / name
    result = runner.invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{path}{expected}")
    assert "Traceback" not in result.output


def test_every_problem_on_its_own_line(runner):
    path = FIXTURES / "bad_many.yaml"
    result = runner.invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "submission.vendor", "modality.sampling.ratio", "modality.sampling.centre_fraction",
        "network.entrypoint", "network.device", "data.phantoms.1.count",
    ]
    assert all(line.startswith(f"{path}:") for line in lines)


def test_missing_manifest_file(runner, tmp_path):
    result = runner.invoke(cli.app, ["validate", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'absent.yaml'}: file not found\n"


def test_unexpected_error_is_one_line_exit_3_and_debug_shows_traceback(runner, monkeypatch):
    def explode(path):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(cli, "validate_manifest", explode)
    result = runner.invoke(cli.app, ["validate", "x.yaml"])
    assert result.exit_code == 3
    assert result.stderr == "internal error: RuntimeError: disk on fire second line (rerun with --debug for the traceback)\n"
    debug = runner.invoke(cli.app, ["--debug", "validate", "x.yaml"])
    assert debug.exit_code == 3
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.endswith("(rerun with --debug for the traceback)\n")


def test_schema_prints_the_checked_in_schema(runner):
    result = runner.invoke(cli.app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == schema_text()
    assert json.loads(result.stdout)["title"] == "auditkit submission manifest"


def test_schema_out_writes_the_file(runner, tmp_path):
    out = tmp_path / "s.json"
    result = runner.invoke(cli.app, ["schema", "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8") == schema_text()
    bad = runner.invoke(cli.app, ["schema", "--out", str(tmp_path / "no" / "such" / "dir.json")])
    assert bad.exit_code == 2
    assert bad.stderr.startswith(f"{tmp_path / 'no' / 'such' / 'dir.json'}: cannot write: ")


def test_version(runner):
    result = runner.invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"auditkit {auditkit.__version__}\n"


def test_only_working_commands_exist(runner):
    result = runner.invoke(cli.app, ["--help"])
    assert result.exit_code == 0
    commands = {c.name for c in __import__("typer").main.get_command(cli.app).commands.values()}
    assert commands == {"validate", "schema", "run", "reproduce", "keygen", "sign", "verify", "selftest"}


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path):
    """The real process: exit codes and stderr as a user sees them."""
    run = lambda *args: subprocess.run([sys.executable, "-m", "auditkit.cli", *args],  # noqa: E731
                                       capture_output=True, text=True, cwd=FIXTURES, timeout=300)
    ok = run("validate", "valid.yaml")
    assert ok.returncode == 0 and ok.stdout.startswith("valid.yaml: valid (mri_singlecoil 32×32")
    bad = run("validate", "bad_many.yaml")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 6
    assert bad.stderr.startswith("bad_many.yaml:4: submission.vendor: missing required field\n")
    assert "Traceback" not in bad.stderr


def test_selftest_with_a_certificate_needs_the_signers_name(runner, tiny_manifest, tmp_path):
    result = runner.invoke(cli.app, ["selftest", str(tiny_manifest), "--out", str(tmp_path / "q.json"),
                                     "--cert", str(tmp_path / "signer.p12")])
    assert result.exit_code == 2
    assert "--name" in result.output and not (tmp_path / "q.json").exists()


def test_selftest_exits_1_when_not_qualified_and_0_when_qualified(runner, tiny_manifest, tmp_path, monkeypatch):
    from auditkit.qualification import selftest
    from auditkit.qualification.record import Record

    out = tmp_path / "q.json"
    args = ["selftest", str(tiny_manifest), "--out", str(out), "--quick", "--checks", "structural", "--no-cache"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 1, result.output  # the adversarial expectations were not checked
    assert "NOT qualified, unsigned" in result.output and out.is_file()
    record = Record.read(out)
    monkeypatch.setattr(selftest, "run_selftest", lambda *a, **k: record.model_copy(update={"qualified": True}))
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0 and "qualified, unsigned" in result.output


def test_selftest_names_every_bad_option_before_running(runner, tiny_manifest, tmp_path):
    result = runner.invoke(cli.app, ["selftest", str(tiny_manifest), "--out", str(tmp_path), "--threads", "0",
                                     "--name", "Someone"])
    assert result.exit_code == 2
    assert "--out" in result.output and "--threads" in result.output and "--cert" in result.output
