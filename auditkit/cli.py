"""The ``auditkit`` command line: validate, schema, run, selftest, verify, reproduce, keygen and sign.

Exit codes (auditkit.errors): 0 success (PASS, or PRELIMINARY for a quick run), 1 a criterion failed, a check was
INCONCLUSIVE (or the network
misbehaved: an ERROR verdict), 2 bad input (every problem printed on
stderr as ``FILE:LINE: field.path: message``), 3 internal error (one line;
``--debug`` adds the traceback). A traceback never reaches the user for bad input.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from auditkit import __version__, activity, interrupts, supervisor
from auditkit.dossier import layout
from auditkit.errors import EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, InputError, Problem
from auditkit.fileio import unwritable_parent
from auditkit.manifest import Manifest, schema_text
from auditkit.preflight import validate_manifest

T = TypeVar("T")

#: how the console colours each verdict, a check's line and the overall one alike.
VERDICT_STYLES = {"PASS": "green", "FAIL": "red", "ERROR": "red", "PRELIMINARY": "yellow", "INCONCLUSIVE": "yellow",
                  "NOT_RUN": "yellow"}

app = typer.Typer(
    name="auditkit",
    help="Audit deep-learning image reconstruction networks for instability and hallucination.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _console(*, stderr: bool = False, soft_wrap: bool = True) -> Console:
    """Console for one-line messages (``soft_wrap=False`` for tables), colour only on a terminal.

    Messages carry data (paths, array keys, reasons, exception text), so rich interprets
    none of it: no markup (``[bold]``), no emoji codes (``:x:``), no highlighting.
    """
    return Console(stderr=stderr, soft_wrap=soft_wrap, highlight=False, markup=False, emoji=False)


def _stderr() -> Console:
    """Console for problems and diagnostics."""
    return _console(stderr=True)


def _guarded(ctx: typer.Context, action: Callable[[], T]) -> T:
    """Run ``action``; bad input → its problems and exit 2; anything else → one line and exit 3."""
    try:
        return action()
    except InputError as exc:
        console = _stderr()
        for problem in exc.problems:
            console.print(problem.format())
        raise typer.Exit(EXIT_INPUT) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if ctx.obj and ctx.obj.get("debug"):
            traceback.print_exc()
        message = " ".join(str(exc).split()) or "(no message)"
        _stderr().print(f"internal error: {type(exc).__name__}: {message} (rerun with --debug for the traceback)")
        raise typer.Exit(EXIT_INTERNAL) from None


def _stoppable(ctx: typer.Context, action: Callable[[], T], kept: str) -> T:
    """``_guarded(action)`` where a stop signal (SIGINT, SIGTERM, SIGHUP) ends it with a message saying what is ``kept``
    (exit 128 + the signal's number); a ``KeyboardInterrupt`` no signal caused is an internal error."""
    try:
        with interrupts.stop_on_signals():
            return _guarded(ctx, action)
    except interrupts.StopRequested as stop:
        _stderr().print(f"interrupted ({stop.signum.name}): {kept}")
        raise typer.Exit(stop.exit_code) from None
    except KeyboardInterrupt:
        if ctx.obj and ctx.obj.get("debug"):
            traceback.print_exc()
        _stderr().print("internal error: KeyboardInterrupt raised by code, not by a signal (rerun with --debug for the traceback)")
        raise typer.Exit(EXIT_INTERNAL) from None


def _show_version(value: bool) -> None:
    """``--version``: print and stop."""
    if value:
        typer.echo(f"auditkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Audit deep-learning image reconstruction networks for instability and hallucination."""
    ctx.obj = {"debug": debug}


@app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The submission manifest (.yaml, .yml or .json).", show_default=False)],
) -> None:
    """Check a manifest, the files it names and that its network loads; list every problem."""
    manifest = _stoppable(ctx, lambda: validate_manifest(file), "nothing was written")
    _console().print(f"{file}: valid ({_summary(manifest)})", style="green")


@app.command()
def schema(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the schema to this file instead of printing it.")
    ] = None,
) -> None:
    """Print the manifest's JSON Schema (for editors and other tools)."""
    text = schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    _guarded(ctx, lambda: _write(out, text))
    _stderr().print(f"wrote {out}")


@app.command()
def run(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The submission manifest.", show_default=False)],
    out: Annotated[
        Path,
        typer.Option("--out", help=f"Folder for {layout.EVIDENCE}, {layout.ARRAYS}/ and {layout.FIGURES}/.", show_default=False),
    ],
    checks: Annotated[
        str | None, typer.Option("--checks", help="Comma-separated checks to run (default: all enabled in the manifest).")
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Fewer images, iterations and settings: a fast first look.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Reuse the checks and work units an interrupted run with the same inputs finished.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", help="Who runs the work units: local (this process) or ray.")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", help="ray: CPUs of the local Ray instance to start (default: every core).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="ray: join the Ray cluster at this address (e.g. 10.0.0.1:6379).")
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", help="Torch threads per unit, whichever executor runs it (the numbers' last bits depend on it).")
    ] = 1,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Folder of the baseline cache (default: auditkit/units in the user's cache directory).",
                     show_default=False),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Compute every baseline unit; read and write no cache.")] = False,
    qualification: Annotated[
        Path | None,
        typer.Option("--qualification", help="Attach this record of `auditkit selftest` (same manifest setting) to the "
                                              "dossier.", show_default=False),
    ] = None,
) -> None:
    """Run the audit: every check on the network and on the baseline, evidence written to --out."""
    from auditkit.console_progress import RichProgress
    from auditkit.execution.cache import default_cache_dir
    from auditkit.pipeline import RunOptions, check_options, parse_checks, run_audit

    selected = _guarded(ctx, lambda: parse_checks(checks))  # bad names: exit 2 before anything is created
    options = RunOptions(
        out=out, checks=selected, quick=quick, resume=resume, executor=executor, workers=workers,
        ray_address=ray_address, threads=threads, cache=None if no_cache else (cache or default_cache_dir()),
        qualification=qualification,
    )
    _guarded(ctx, lambda: check_options(options))
    console = _stderr()

    def report(result) -> None:
        colour = VERDICT_STYLES[result.verdict.value]
        why = f" — {result.reason}" if result.reason else ""
        console.print(f"{result.name}: {result.verdict.value}{why} ({result.wall_time_s:.1f} s)", style=colour)

    def action():
        with RichProgress(console) as progress:
            return run_audit(manifest, options, progress=progress, on_result=report)

    evidence = _stoppable(ctx, action, "finished checks are kept; rerun with --resume to continue")
    verdict = evidence.overall_verdict.value
    _console().print(f"{out}/{layout.EVIDENCE}: overall {verdict}", style=VERDICT_STYLES[verdict])
    raise typer.Exit(_exit_code(evidence))


@app.command()
def selftest(
    ctx: typer.Context,
    manifest: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The submission manifest whose setting is qualified.",
                                             show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The qualification record to write (JSON); its signature goes beside it "
                                                    "as <file>.p7s.", show_default=False)],
    checks: Annotated[
        str | None, typer.Option("--checks", help="Comma-separated checks to run (default: all enabled in the manifest).")
    ] = None,
    quick: Annotated[bool, typer.Option("--quick", help="The quick mode's caps (qualifies quick audits only).")] = False,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Folder of the baseline cache (default: auditkit/units in the user's cache directory).",
                     show_default=False),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Share baseline units between the references only.")] = False,
    threads: Annotated[
        int, typer.Option("--threads", help="Torch threads per unit, as `run --threads` (its baseline units are shared).")
    ] = 1,
    cert: Annotated[Path | None, typer.Option("--cert", help="Sign the record: certificate, PEM (with --key) or PKCS#12 "
                                                            "(default: the manifest's signing block, if any).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Signer's printed name (with --cert).")] = None,
    meaning: Annotated[str, typer.Option("--meaning", help="Meaning of the signature (with --cert).")] = (
        "Tool qualification: I have run and reviewed this self-test"),
    key: Annotated[Path | None, typer.Option("--key", help="Private key (PEM) for a PEM certificate.")] = None,
    password_env: Annotated[
        str, typer.Option("--password-env", help="Environment variable holding the key password.")
    ] = "AUDITKIT_KEY_PASSWORD",
) -> None:
    """Qualify the tool: run the manifest's checks, in its setting, on reference networks whose right answers are
    known (the adjoint, a linear map with a planted top singular value, a blur that erases details) and write a
    (signed) record; exit 0 only if every known answer was found."""
    from auditkit.console_progress import RichProgress
    from auditkit.dossier.credentials import SigningConfig
    from auditkit.execution.cache import default_cache_dir
    from auditkit.pipeline import parse_checks
    from auditkit.qualification.record import Outcome
    from auditkit.qualification.selftest import run_selftest, write_record

    selected = _guarded(ctx, lambda: parse_checks(checks))
    problems = []
    if threads < 1:
        problems.append(Problem("--threads", "", f"must be at least 1, not {threads}"))
    if out.is_dir():
        problems.append(Problem("--out", "", f"{out} is a folder; name the record's file (e.g. {out}/qualification.json)"))
    elif (why := unwritable_parent(out)) is not None:
        problems.append(Problem("--out", "", why))
    if cert is not None and not name:
        problems.append(Problem("--name", "", "give the signer's printed name with --cert"))
    if cert is None and (key is not None or name is not None):
        problems.append(Problem("--cert", "", "--name and --key sign the record only with --cert"))
    if problems:
        for problem in problems:
            _stderr().print(problem.format())
        raise typer.Exit(EXIT_INPUT)
    spec = None
    if cert is not None:
        spec = SigningConfig(certificate=cert, key=key, signer_name=str(name), meaning=meaning, password_env=password_env)
    else:
        spec = _guarded(ctx, lambda: validate_manifest(manifest)).signing
    if spec is not None:  # bad credentials: exit 2 before the checks run
        from auditkit.dossier.credentials import load_credentials

        _guarded(ctx, lambda: load_credentials(spec, None if cert is not None else manifest))
    console = _stderr()

    def report(reference) -> None:
        bad = [o for o in reference.outcomes if o is not Outcome.HOLDS]
        verdicts = ", ".join(f"{k} {v}" for k, v in reference.verdicts.items())
        colour = "green" if not bad else "red"
        said = "every known answer found" if not bad else f"{len(bad)} known answer(s) not found"
        console.print(f"{reference.key}: {said} ({verdicts})", style=colour)

    def action():
        with RichProgress(console) as progress:
            record = run_selftest(manifest, quick=quick, checks=selected, progress=progress, on_reference=report,
                                  cache=None if no_cache else (cache or default_cache_dir()), threads=threads)
        return record, write_record(record, out, spec)

    record, signature = _stoppable(ctx, action, "no record was written")
    signed = f", signed in {signature}" if signature else ", unsigned"
    if record.qualified:
        _console().print(f"{out}: qualified{signed}", style="green")
        raise typer.Exit(EXIT_OK)
    _console().print(f"{out}: NOT qualified{signed}", style="red")
    raise typer.Exit(EXIT_FAIL)


@app.command()
def reproduce(
    ctx: typer.Context,
    dossier: Annotated[Path, typer.Argument(metavar="DIR", help="A dossier folder written by auditkit run.", show_default=False)],
    rtol: Annotated[
        float | None, typer.Option("--rtol", help="Relative tolerance (default: exact on the same machine, else 1e-3).")
    ] = None,
    atol: Annotated[float | None, typer.Option("--atol", help="Absolute tolerance (default: exact, else 1e-6).")] = None,
) -> None:
    """Re-run the audit from the dossier's archived inputs and compare every number; exit 0 only if all agree."""
    from auditkit.console_progress import RichProgress
    from auditkit.reproduce import reproduce_dossier

    console = _stderr()

    def say_environment(changes) -> None:
        for change in changes:
            console.print(f"environment differs: {change.format()}", style="yellow")

    def action():
        with RichProgress(console) as progress:
            return reproduce_dossier(dossier, rtol=rtol, atol=atol, progress=progress, on_environment=say_environment)

    report = _stoppable(ctx, action, "nothing was compared")
    mode = "exactly (same software and machine)" if report.exact else f"within rtol {report.rtol:g}, atol {report.atol:g}"
    for diff in report.differences:
        console.print(diff.format(), style="red")
    if report.ok:
        _console().print(f"{dossier}: all {report.compared} numbers and arrays reproduced {mode}", style="green")
        raise typer.Exit(EXIT_OK)
    _console().print(f"{dossier}: {len(report.differences)} of {report.compared} values differ ({mode})", style="red")
    raise typer.Exit(EXIT_FAIL)


@app.command()
def keygen(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for ca.pem, signer.pem, signer.key.pem, signer.p12.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="Signer's name (certificate CN).", show_default=False)],
    password_env: Annotated[
        str, typer.Option("--password-env", help="Environment variable holding the key password.")
    ] = "AUDITKIT_KEY_PASSWORD",
    key_type: Annotated[str, typer.Option("--key-type", help="rsa-3072 or ec-p256.")] = "rsa-3072",
) -> None:
    """Make a TEST CA and a signer certificate (non-repudiation), key encrypted with a password from the environment."""
    from auditkit.dossier.keygen import keygen as make_keys

    files = _guarded(ctx, lambda: make_keys(out, name, password_env, key_type=key_type))
    for path in files.all():
        _console().print(f"wrote {path}")
    _stderr().print("test certificates only: not for production signatures")


@app.command()
def sign(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="An unsigned dossier written by `auditkit run`.", show_default=False)],
    cert: Annotated[Path, typer.Option("--cert", help="Signer's certificate: PEM (with --key) or PKCS#12.", show_default=False)],
    name: Annotated[str, typer.Option("--name", help="Signer's printed name (21 CFR 11.50).", show_default=False)],
    meaning: Annotated[str, typer.Option("--meaning", help="Meaning of the signature.", show_default=False)],
    key: Annotated[Path | None, typer.Option("--key", help="Private key (PEM) for a PEM certificate.")] = None,
    password_env: Annotated[
        str, typer.Option("--password-env", help="Environment variable holding the key password.")
    ] = "AUDITKIT_KEY_PASSWORD",
    timestamp_url: Annotated[
        str | None, typer.Option("--timestamp-url", help="RFC 3161 time-stamping authority (PAdES B-T).")
    ] = None,
) -> None:
    """Sign an existing dossier: PAdES on dossier.pdf, CMS on evidence.json, then SHA256SUMS and its CMS."""
    from auditkit.dossier.credentials import SigningConfig
    from auditkit.dossier.sign_existing import sign_existing_dossier

    spec = SigningConfig(
        certificate=cert, key=key, signer_name=name, meaning=meaning, password_env=password_env, timestamp_url=timestamp_url
    )
    signed = _guarded(ctx, lambda: sign_existing_dossier(folder, spec))
    _console().print(f"{folder}: signed by {signed.signer}", style="green")


@app.command()
def verify(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="The dossier folder.", show_default=False)],
    trust: Annotated[
        Path | None,
        typer.Option("--trust", help="PEM file of trusted CA certificates (without it, signatures are checked but not trusted)."),
    ] = None,
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="Accept a dossier with no signatures (hashes and audit log still checked).")
    ] = False,
) -> None:
    """Check every hash and signature of a dossier; exit 0 only if all hold (1 if any fails, 2 for bad input)."""
    from auditkit.dossier.validation import report_table, verify_dossier

    report = _guarded(ctx, lambda: verify_dossier(folder, trust, allow_unsigned=allow_unsigned))
    _console(soft_wrap=False).print(report_table(report))
    if report.ok:
        _console().print(f"{folder}: verified", style="green")
        raise typer.Exit(EXIT_OK)
    for row in report.failures():
        _stderr().print(f"{folder / row.item}: {row.status.value}: {row.detail}")
    raise typer.Exit(EXIT_FAIL)


def _exit_code(evidence) -> int:
    """3 if auditkit itself failed inside a check, 1 if any check FAILed, ERRORed or was INCONCLUSIVE, else 0."""
    if any(c.internal_error for c in evidence.checks):
        return EXIT_INTERNAL
    if any(c.verdict.value in ("FAIL", "ERROR", "INCONCLUSIVE") for c in evidence.checks):
        return EXIT_FAIL
    return EXIT_OK


def _write(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8; a path that cannot be written is an input error."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(Problem(path, "", f"cannot write: {exc.strerror}")) from None


def _summary(manifest: Manifest) -> str:
    """``mri_singlecoil 128×128, network python, 3 images, 6 checks enabled``."""
    height, width = manifest.modality.image_shape
    n_images = manifest.data.n_images
    n_checks = len(manifest.checks.enabled())
    return (
        f"{manifest.modality.kind} {height}×{width}, network {manifest.network.format}, "
        f"{n_images} image{'s' if n_images != 1 else ''}, {n_checks} check{'s' if n_checks != 1 else ''} enabled"
    )


def main() -> None:
    """Console-script entry point: commands that run submitted code run in a supervised child
    process (``auditkit.supervisor``); the child tells its supervisor how it ends."""
    if supervisor.should_supervise(sys.argv[1:]):
        sys.exit(supervisor.supervise(sys.argv[1:]))
    try:
        app(prog_name="auditkit")
    except SystemExit as exc:
        activity.finish(exc.code)
        raise
    activity.finish(0)


if __name__ == "__main__":
    main()
