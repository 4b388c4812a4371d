"""The console script's guard: commands that execute submitted code run in a child process.

A submitted network is code, and code can end the process that runs it: ``os._exit(0)``,
a crash in a native extension, an allocation the out-of-memory killer answers. Run in
the auditor's own process, such an ending could look like success (exit status 0, no
output). So ``auditkit validate``, ``run`` and ``reproduce`` run as a child process of
the command the user started; the child tells this process what it is doing
(``auditkit.activity``) and, when it ends normally, its exit code. A child that ends
without saying so ended abruptly, and its last events say whose code was running:

- while the network was being loaded or probed: bad input, exit 2, naming the file;
- while a check ran the network on some images (``run``): the check is recorded as
  ERROR naming those images (a ``CrashRecord`` in the staging folder) and the audit
  resumes with ``--resume``, so the dossier still gets written; at most once per check;
- anywhere else: auditkit's own failure, exit 3; finished checks stay resumable.

Stop signals (SIGINT, SIGTERM, SIGHUP) sent to this process are passed to the child,
which stops as it would on its own (keeping finished checks); a second one kills it. The
child runs in its own process group, so a Ctrl-C on the terminal reaches it once, through
here, and it is ended if this process dies. Whatever is left in that group when the child
has exited (workers the network forked) is killed.
This module imports neither torch nor the submission.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from auditkit.activity import CHANNEL_ENV, CrashRecord
from auditkit.errors import EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL, Problem

#: Commands that execute submitted code and therefore run supervised.
SUPERVISED_COMMANDS = frozenset({"validate", "run", "reproduce"})
#: Signals passed on to the child.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the arguments after the program name), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
        if arg in ("--help", "--version"):
            return None
    return None


def should_supervise(argv: Sequence[str]) -> bool:
    """True for a supervised command, unless this process is itself a supervised child."""
    return CHANNEL_ENV not in os.environ and command_of(argv) in SUPERVISED_COMMANDS


@dataclass
class ChildState:
    """What the child said it was doing, from its events."""

    exit_code: int | None = None  # set by its "exit" event: it ended normally
    loading: str | None = None  # the network file being loaded or probed
    stage: str | None = None
    fingerprint: str | None = None
    check: str | None = None
    network_images: list[str] | None = None  # set while the network runs
    crashed_checks: list[str] = field(default_factory=list)
    stopped_by: signal.Signals | None = None  # the first stop signal passed on to the child

    def take_line(self, line: bytes) -> None:
        """Update from one line of the pipe (a line that is not a JSON object is ignored)."""
        try:
            event = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            return
        if isinstance(event, dict):
            self.take(event)

    def take(self, event: dict[str, Any]) -> None:
        """Update from one event (unknown events are ignored)."""
        kind = event.get("event")
        if kind == "exit":
            self.exit_code = int(event.get("code", EXIT_INTERNAL))
        elif kind == "loading":
            self.loading = str(event.get("file"))
        elif kind == "loaded":
            self.loading = None
        elif kind == "run":
            self.loading = None
            self.stage, self.fingerprint = event.get("stage"), event.get("fingerprint")
        elif kind == "check":
            self.check, self.network_images = event.get("name"), None
        elif kind == "network":
            images = event.get("images")
            self.network_images = [str(i) for i in images] if isinstance(images, list) else None


def supervise(argv: Sequence[str], *, stderr: IO[str] | None = None) -> int:
    """Run ``auditkit <argv>`` in a child process and return the exit code the user should see."""
    stderr = stderr or sys.stderr
    command = command_of(argv)
    args = list(argv)
    state = ChildState()
    while True:
        ending = _run_child(args, state)
        if state.exit_code is not None:
            return state.exit_code
        outcome = _after_abrupt_end(command, manifest_of(argv), state, ending, stderr)
        if outcome is not None:
            return outcome
        if "--resume" not in args:  # a check was recorded as ERROR: resume the audit past it
            args.append("--resume")
        state = ChildState(crashed_checks=state.crashed_checks)


def _run_child(args: list[str], state: ChildState) -> str:
    """Start the child, read its events until it exits, pass stop signals on; return how it ended.

    The child starts without the current folder on its path (``-P``): nothing in the folder a
    command is run from is imported before the network's hashes are checked. The supervisor
    waits for the child itself, not for the pipe to close (a process the network forked may
    hold it open). A second stop signal kills the child (a network can swallow the first)."""
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, **{CHANNEL_ENV: str(write_fd)})
    proc = subprocess.Popen([sys.executable, "-P", "-m", "auditkit.cli", *args], env=env, pass_fds=(write_fd,),
                            process_group=0, preexec_fn=_end_with_parent)
    os.close(write_fd)

    def forward(signum: int, frame: object) -> None:
        again = state.stopped_by is not None
        state.stopped_by = state.stopped_by or signal.Signals(signum)
        try:
            proc.send_signal(signal.SIGKILL if again else signum)
        except ProcessLookupError:
            pass

    previous = {s: signal.signal(s, forward) for s in FORWARDED_SIGNALS}
    try:
        _read_events(read_fd, proc, state)
        _end_leftovers(proc.pid)
        code = proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return _describe_ending(code)


def _read_events(read_fd: int, proc: subprocess.Popen, state: ChildState) -> None:
    """Take the child's events as they come until it has exited and what it wrote is read."""
    os.set_blocking(read_fd, False)
    pending = b""
    with selectors.DefaultSelector() as selector, os.fdopen(read_fd, "rb", buffering=0) as pipe:
        selector.register(pipe, selectors.EVENT_READ)
        while True:
            exited = _has_exited(proc.pid)
            if selector.get_map() and selector.select(timeout=0 if exited else 0.5):
                chunk = pipe.read(1 << 16)
                if chunk == b"":  # every writer has closed it
                    selector.unregister(pipe)
                elif chunk:
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        state.take_line(line)
                    continue
            if exited:
                return
            if not selector.get_map():
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)


def _has_exited(pid: int) -> bool:
    """True once the child has exited; it is not reaped, so its process group id stays its own."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _end_leftovers(pgid: int) -> None:
    """Kill what the child left in its process group (workers the network forked), before it is reaped.

    Such a process would otherwise outlive the command and hold its output open."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _end_with_parent() -> None:
    """In the child, before it runs: ask Linux to end it (SIGTERM) if the supervisor dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


#: prctl option asking the kernel to signal a process when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1


def _describe_ending(code: int) -> str:
    """``exit status 0`` or ``signal 9 (SIGKILL)`` from a Popen return code."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"signal {-code} ({name})"
    return f"exit status {code}"


def _network_problem(manifest: str | None, network_file: str, message: str) -> Problem:
    """A problem at the manifest's ``network.path`` line when the manifest can be read, else at the network file."""
    if manifest is not None:
        from auditkit.manifest.load import load_manifest, source_of

        try:
            return source_of(load_manifest(manifest)).problem(("network", "path"), message)
        except Exception:  # noqa: BLE001 - only a better location is lost
            pass
    return Problem(network_file, "network.path", message)


def manifest_of(argv: Sequence[str]) -> str | None:
    """The manifest argument of ``validate``/``run``: the first argument after the command that is
    neither an option nor an option's value; None for other commands."""
    rest = list(argv)
    command = command_of(rest)
    if command not in ("validate", "run"):
        return None
    rest = rest[rest.index(command) + 1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        if not arg.startswith("-"):
            return arg
        i += 1 if (arg in _FLAGS or "=" in arg) else 2
    return None


#: Options of the supervised commands that take no value.
_FLAGS = frozenset({"--quick", "--resume", "--debug"})


def _after_abrupt_end(command: str | None, manifest: str | None, state: ChildState, ending: str,
                      stderr: IO[str]) -> int | None:
    """Report an abrupt end; return the exit code, or None when the audit should resume past a crashed check.

    A child that ends abruptly after a stop signal was passed on to it was stopped by the user:
    nothing is blamed on the network and nothing resumes."""
    if state.stopped_by is not None:
        kept = f"; finished checks are kept in {state.stage}, rerun with --resume" if command == "run" and state.stage else ""
        print(f"interrupted ({state.stopped_by.name}){kept}", file=stderr)
        return 128 + int(state.stopped_by)
    if state.loading is not None:
        message = (f"the network's code ended the process ({ending}, no result) while it was loaded or probed: "
                   "a call such as os._exit, a crash in native code, or the out-of-memory killer")
        print(_network_problem(manifest, state.loading, message).format(), file=stderr)
        return EXIT_INPUT
    in_network = state.network_images is not None and state.check is not None
    if in_network and command == "run" and state.stage and state.fingerprint and state.check not in state.crashed_checks:
        record = CrashRecord(state.fingerprint, state.check, tuple(state.network_images or ()), ending)
        try:
            record.write(Path(state.stage))
        except OSError:
            pass
        else:
            state.crashed_checks.append(record.check)
            print(f"{record.reason}; recorded as ERROR, resuming the audit", file=stderr)
            return None
    if in_network:
        record = CrashRecord(state.fingerprint or "", state.check or "", tuple(state.network_images or ()), ending)
        print(record.reason, file=stderr)
        return EXIT_FAIL
    where = f" during the {state.check} check" if state.check else ""
    kept = f"; finished checks are kept in {state.stage}, rerun with --resume" if state.stage else ""
    print(f"internal error: the auditkit process ended abruptly ({ending}){where}, outside the network's code{kept}",
          file=stderr)
    return EXIT_INTERNAL
