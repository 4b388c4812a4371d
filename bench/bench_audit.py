"""The scale-out targets of a whole audit, measured side by side in one invocation.

Every audit runs as the real command (`auditkit run`) in a child process, one after the other (never two
at once), on the sample submission's manifest with all six checks, and prints wall time, CPU time and
peak resident memory of the child, then the ratios the targets are about:

- ``reaudit``: a fresh audit that fills an empty baseline cache, then the audit of a *retrained*
  network (the same submission with every weight scaled by 1.001: new bytes, new sha256) against
  that cache. Target: the re-audit takes ≤ 0.2 of the fresh audit's wall time, and every baseline
  unit of the re-audit is reused;
- ``ray``: `--executor local` against `--executor ray --workers 2` (both without the cache). Target:
  the same evidence (every leaf ``auditkit.reproduce.comparable`` compares, and byte-identical
  arrays), and Ray's wall time ≤ 1.05× the local one.

Peak memory is that of the audit process (the local executor; Ray's workers are not its children).

    .venv/bin/python bench/bench_audit.py [--quick] [--images N] [--targets reaudit,ray] [--manifest M]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from bench_run import run_child
from profile_run import cut_manifest
from safetensors.torch import load_file, save_file

from auditkit.reproduce import comparable

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("reaudit", "ray")


def audit(manifest: Path, out: Path, quick: bool, *extra: str) -> dict[str, float]:
    """One `auditkit run` in a fresh process (``bench_run.run_child``), printed as it finishes."""
    row = run_child(manifest, out, quick, *extra)
    print(f"  {' '.join(extra) or 'local':40s} wall {row['wall_s']:7.1f} s  cpu {row['cpu_s']:7.1f} s  "
          f"peak RSS {row['peak_rss_mib']:6.0f} MiB  exit {int(row['exit'])}", flush=True)
    return row


def retrained(manifest: Path, folder: Path) -> Path:
    """A copy of the submission (one whose image files are named by absolute path) whose weights are all scaled
    by 1.001 (a 'retrained' network), sha256 updated."""
    copy = Path(shutil.copytree(manifest.parent, folder / manifest.parent.name))
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    weights = copy / data["network"]["weights"]
    save_file({k: v * 1.001 for k, v in load_file(weights).items()}, weights)
    data["network"]["sha256"][data["network"]["weights"]] = hashlib.sha256(weights.read_bytes()).hexdigest()
    path = copy / manifest.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def units(out: Path) -> list[dict]:
    """The unit records of a finished run."""
    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    return [u for c in evidence["checks"] for u in c.get("units", [])]


def same_evidence(a: Path, b: Path) -> tuple[int, bool]:
    """(leaves that differ, arrays byte-identical) between two finished runs."""
    left, right = (comparable(json.loads((p / "evidence.json").read_text(encoding="utf-8"))) for p in (a, b))
    differ = sum(1 for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    arrays = [{p.name: p.read_bytes() for p in sorted((run / "arrays").iterdir())} for run in (a, b)]
    return differ, arrays[0] == arrays[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    parser.add_argument("--quick", action="store_true", help="quick audits (the default is the default audit)")
    parser.add_argument("--images", type=int, default=None, help="audit only the manifest's first N test images")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    args = parser.parse_args()
    chosen = [t for t in args.targets.split(",") if t]
    if unknown := [t for t in chosen if t not in TARGETS]:
        sys.exit(f"--targets: unknown {', '.join(unknown)} (choose from {', '.join(TARGETS)})")
    print(f"{args.manifest.parent.name} ({args.images or 'all'} images), {'quick' if args.quick else 'default'} audit; "
          f"{os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp_name:
        tmp = Path(tmp_name)
        manifest = cut_manifest(args.manifest.resolve(), args.images, tmp / "submission")
        if "reaudit" in chosen:
            print("reaudit: fresh audit filling an empty cache, then a retrained network against it")
            cache = tmp / "cache"
            fresh = audit(manifest, tmp / "fresh", args.quick, "--cache", str(cache))
            again = audit(retrained(manifest, tmp / "retrained"), tmp / "again", args.quick, "--cache", str(cache))
            baseline = [u for u in units(tmp / "again") if u["subject"] == "baseline"]
            reused = sum(u["source"] == "reused" for u in baseline)
            print(f"  re-audit / fresh wall: {again['wall_s'] / fresh['wall_s']:.3f} (target ≤ 0.2); "
                  f"baseline units reused {reused}/{len(baseline)}")
        if "ray" in chosen:
            print("ray: the local executor against Ray with 2 workers, no cache")
            local = audit(manifest, tmp / "local", args.quick, "--no-cache")
            ray = audit(manifest, tmp / "ray", args.quick, "--no-cache", "--executor", "ray", "--workers", "2")
            differ, arrays = same_evidence(tmp / "local", tmp / "ray")
            print(f"  ray / local wall: {ray['wall_s'] / local['wall_s']:.3f} (target ≤ 1.05); evidence leaves that "
                  f"differ: {differ}; arrays byte-identical: {arrays}")


if __name__ == "__main__":
    main()
