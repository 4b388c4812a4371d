"""Wall time and peak memory of `auditkit run` on a sample submission, against the targets.

Runs the real command in a child process (quick and default settings, the instability-test checks
by default), and prints wall time, CPU time, peak resident memory and the ratio to each target
(issue targets: --quick under 2 minutes, default under 15 minutes on 2 cores). Each setting is
measured in the same invocation, so the two are comparable on a loaded machine; the ratio of
default to quick is printed too.

    .venv/bin/python bench/bench_run.py [--manifest M] [--checks adversarial,structural,sampling] [--skip-default]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS_S = {"quick": 120.0, "default": 900.0}


def measure(manifest: Path, checks: str, quick: bool) -> dict[str, float]:
    """Run one audit in a fresh process; wall, CPU (user+sys of the child) and peak RSS in MiB."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        return run_child(manifest, Path(tmp) / "out", quick, "--checks", checks)


def run_child(manifest: Path, out: Path, quick: bool, *extra: str) -> dict[str, float]:
    """`auditkit run MANIFEST --out OUT [--quick] EXTRA…` in a child process: wall and CPU seconds (user+sys),
    peak RSS (MiB) and exit code; exits with the end of its output when it failed (exit other than 0 or 1)."""
    cmd = [str(ROOT / ".venv" / "bin" / "auditkit"), "run", str(manifest), "--out", str(out), *extra]
    if quick:
        cmd.append("--quick")
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own usage (its waited-for descendants included)
        wall = time.perf_counter() - t0
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} failed (exit {code}):\n{log.read().decode(errors='replace')[-3000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": usage.ru_maxrss / 1024.0, "exit": code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    parser.add_argument("--checks", default="adversarial,structural,sampling")
    parser.add_argument("--skip-default", action="store_true", help="measure --quick only")
    args = parser.parse_args()
    print(f"manifest {args.manifest.relative_to(ROOT) if args.manifest.is_relative_to(ROOT) else args.manifest}; "
          f"checks {args.checks}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    rows = {}
    for mode in ("quick",) if args.skip_default else ("quick", "default"):
        rows[mode] = measure(args.manifest, args.checks, quick=(mode == "quick"))
        r = rows[mode]
        print(f"{mode:8s} wall {r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB  "
              f"exit {int(r['exit'])}  wall/target {r['wall_s'] / TARGETS_S[mode]:.2f} (target {TARGETS_S[mode]:.0f} s)")
    if len(rows) == 2:
        print(f"default/quick wall ratio {rows['default']['wall_s'] / rows['quick']['wall_s']:.1f}")


if __name__ == "__main__":
    main()
