"""Audit every sample submission (or the named ones) and refresh the READMEs' result tables.

For each ``sample_submissions/<name>/manifest.yaml`` (a name may hold a family folder:
``mri_tradeoff/noise_free``) this runs ``auditkit run MANIFEST --out
OUT/<name> --quick`` (``--full`` drops ``--quick``), one after the other, then
``scripts/sample_table.py --evidence OUT``. An audit that ends with exit 0 (no criterion fails) or
1 (some fail) is a result; 2 (bad input) or 3 (internal error) stops the script with that code.

Run from the repository root (``make samples`` does this):
    .venv/bin/python scripts/audit_samples.py [--only mri_unet,ct_fbpconvnet] [--full] [--out out/samples]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from sample_table import ROOT, SAMPLES, sample_names  # the script's own folder is on sys.path


def audit(name: str, out: Path, quick: bool) -> int:
    """Run one audit; returns auditkit's exit code."""
    command = [str(Path(sys.executable).parent / "auditkit"), "run", str(SAMPLES / name / "manifest.yaml"),
               "--out", str(out / name)] + (["--quick"] if quick else [])
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT)
    print(f"== {name}: exit {code} after {time.perf_counter() - start:.0f} s", flush=True)
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated sample names (default: all)")
    parser.add_argument("--full", action="store_true", help="the default (full) audit instead of --quick")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "samples", help="where each sample's output goes")
    args = parser.parse_args()
    names = sample_names()
    chosen = [n for n in args.only.split(",") if n] or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"--only: unknown sample(s) {', '.join(unknown)}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        code = audit(name, args.out, quick=not args.full)
        if code > 1:
            return code
    return subprocess.call([sys.executable, str(ROOT / "scripts" / "sample_table.py"), "--evidence", str(args.out)], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
