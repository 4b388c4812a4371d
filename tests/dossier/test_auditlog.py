"""The audit log: appended, hash-chained, and any edit, removal or reordering found at the right line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from auditkit.dossier.auditlog import EVENTS, GENESIS, AuditLog, canonical_line, read_entries, verify_chain


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "audit.log"
    log = AuditLog(path)
    log.append("start", manifest="manifest.yaml", out="dossier")
    log.append("inputs", files={"net.py": "ab" * 32})
    log.append("check", name="adversarial", verdict="PASS", wall_time_s=1.5)
    log.append("check", name="sampling", verdict="FAIL", wall_time_s=0.5)
    log.append("render", figures=3)
    log.append("finish", verdict="FAIL")
    return path


def _lines(path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _write(path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_entries_carry_sequence_time_user_host_and_chain(log_path):
    entries = read_entries(log_path)
    assert [e["event"] for e in entries] == ["start", "inputs", "check", "check", "render", "finish"]
    assert [e["seq"] for e in entries] == list(range(1, 7))
    assert entries[0]["prev"] == GENESIS
    lines = _lines(log_path)
    for before, entry in zip(lines, entries[1:]):
        assert entry["prev"] == hashlib.sha256(before).hexdigest()
    for entry in entries:
        assert dt.datetime.fromisoformat(entry["time"]).utcoffset() == dt.timedelta(0)
        assert entry["user"] and entry["host"]
    assert entries[2]["data"] == {"name": "adversarial", "verdict": "PASS", "wall_time_s": 1.5}
    assert all(canonical_line(json.loads(line)) == line for line in lines)
    assert set(EVENTS) == {e["event"] for e in entries} | {"evidence", "sign"}


def test_intact_chain_verifies(log_path):
    assert verify_chain(log_path) == (True, None, "6 entries, chain intact")


def test_reopening_continues_the_chain(log_path):
    AuditLog(log_path).append("sign", signer="J")
    ok, _, _ = verify_chain(log_path)
    assert ok and read_entries(log_path)[-1]["seq"] == 7


def test_edited_line_is_named(log_path):
    lines = _lines(log_path)
    entry = json.loads(lines[2])
    entry["data"]["verdict"] = "FAIL"
    lines[2] = canonical_line(entry)
    _write(log_path, lines)
    ok, line, message = verify_chain(log_path)
    assert not ok and line == 3 and message.startswith("line 3: changed")


def test_hand_edit_that_breaks_canonical_form_is_named(log_path):
    lines = _lines(log_path)
    lines[1] = lines[1].replace(b'"event":', b'"event": ')
    _write(log_path, lines)
    assert verify_chain(log_path)[:2] == (False, 2)


@pytest.mark.parametrize("removed", [0, 2, 4])
def test_removed_line_is_named(log_path, removed):
    lines = _lines(log_path)
    del lines[removed]
    _write(log_path, lines)
    ok, line, message = verify_chain(log_path)
    assert not ok and line == removed + 1
    assert "removed, inserted or moved" in message


def test_reordered_lines_are_named(log_path):
    lines = _lines(log_path)
    lines[3], lines[4] = lines[4], lines[3]
    _write(log_path, lines)
    ok, line, _ = verify_chain(log_path)
    assert not ok and line == 4


def test_rewritten_sequence_numbers_still_break_the_chain(log_path):
    """Removing line 2 and renumbering the rest (without rehashing) is caught by prev."""
    entries = read_entries(log_path)
    del entries[1]
    for number, entry in enumerate(entries, start=1):
        entry["seq"] = number
    _write(log_path, [canonical_line(e) for e in entries])
    ok, line, _ = verify_chain(log_path)
    assert not ok and line == 1


def test_truncated_last_line_is_reported_and_not_extended(log_path):
    data = log_path.read_bytes()
    log_path.write_bytes(data[:-10])
    ok, line, message = verify_chain(log_path)
    assert not ok and line == 6 and "incomplete" in message
    with pytest.raises(ValueError, match="incomplete"):
        AuditLog(log_path).append("finish")


def test_empty_or_missing_log_fails(tmp_path):
    assert verify_chain(tmp_path / "nope.log")[0] is False
    (tmp_path / "empty.log").write_bytes(b"")
    assert verify_chain(tmp_path / "empty.log") == (False, None, "empty log")


def test_non_json_values_are_written_as_text(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    entry = log.append("start", path=tmp_path / "x", when=dt.date(2024, 1, 2))
    assert entry["data"] == {"path": str(tmp_path / "x"), "when": "2024-01-02"}
    with pytest.raises(ValueError, match="event"):
        log.append("bad event")


def test_long_lines_are_found_by_the_tail_reader(tmp_path):
    log = AuditLog(tmp_path / "a.log")
    log.append("inputs", blob="x" * 200_000)
    log.append("check", blob="y" * 70_000)
    log.append("finish")
    assert verify_chain(tmp_path / "a.log")[0]
