"""The supervisor's reading of the command line and of its child's events (the processes: tests/reliability)."""

from __future__ import annotations

import io

import pytest

from auditkit import supervisor
from auditkit.activity import CHANNEL_ENV, CrashRecord, read_crash
from auditkit.errors import EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL


@pytest.mark.parametrize("argv, command", [
    (["run", "m.yaml", "--out", "o"], "run"),
    (["--debug", "validate", "m.yaml"], "validate"),
    (["--version"], None),
    (["--help"], None),
    ([], None),
])
def test_command_of(argv, command):
    assert supervisor.command_of(argv) == command


@pytest.mark.parametrize("argv, manifest", [
    (["run", "--out", "o", "m.yaml"], "m.yaml"),
    (["run", "--quick", "m.yaml", "--out", "o"], "m.yaml"),
    (["run", "--checks=adversarial", "m.yaml"], "m.yaml"),
    (["--debug", "validate", "m.yaml"], "m.yaml"),
    (["reproduce", "dossier"], None),
])
def test_manifest_of(argv, manifest):
    assert supervisor.manifest_of(argv) == manifest


def test_only_commands_running_submitted_code_are_supervised_and_never_twice(monkeypatch):
    monkeypatch.delenv(CHANNEL_ENV, raising=False)
    assert supervisor.should_supervise(["run", "m.yaml", "--out", "o"])
    assert not supervisor.should_supervise(["verify", "d"])
    assert not supervisor.should_supervise(["schema"])
    monkeypatch.setenv(CHANNEL_ENV, "9")
    assert not supervisor.should_supervise(["run", "m.yaml", "--out", "o"])


def _state(*events):
    state = supervisor.ChildState()
    for e in events:
        state.take(e)
    return state


def test_an_ending_while_loading_is_bad_input_naming_the_network_file():
    err = io.StringIO()
    code = supervisor._after_abrupt_end("validate", None, _state({"event": "loading", "file": "net.py"}),
                                        "exit status 0", err)
    assert code == EXIT_INPUT
    assert err.getvalue().startswith("net.py: network.path: the network's code ended the process (exit status 0")


def test_an_ending_inside_the_network_during_run_records_the_check_as_error_and_resumes(tmp_path):
    state = _state({"event": "run", "stage": str(tmp_path), "fingerprint": "f" * 8},
                   {"event": "check", "name": "structural"},
                   {"event": "network", "images": ["MR_small"]})
    err = io.StringIO()
    assert supervisor._after_abrupt_end("run", "m.yaml", state, "signal 9 (SIGKILL)", err) is None
    record = read_crash(tmp_path, "structural", "f" * 8)
    assert record == CrashRecord("f" * 8, "structural", ("MR_small",), "signal 9 (SIGKILL)")
    assert "while reconstructing image(s) MR_small" in record.reason
    assert read_crash(tmp_path, "structural", "another run") is None
    # the same check ending the process again is not resumed a second time
    assert supervisor._after_abrupt_end("run", "m.yaml", state, "signal 9 (SIGKILL)", err) == EXIT_FAIL


def test_an_ending_outside_the_network_is_an_internal_error():
    state = _state({"event": "run", "stage": "/s", "fingerprint": "f"}, {"event": "check", "name": "noise"},
                   {"event": "network", "images": ["a"]}, {"event": "network", "images": None})
    err = io.StringIO()
    assert supervisor._after_abrupt_end("run", "m.yaml", state, "signal 11 (SIGSEGV)", err) == EXIT_INTERNAL
    assert "outside the network's code" in err.getvalue() and "rerun with --resume" in err.getvalue()


def test_an_exit_event_is_a_normal_end():
    assert _state({"event": "exit", "code": 1}).exit_code == 1
    assert _state({"event": "nonsense"}, {"no": "event"}).exit_code is None
