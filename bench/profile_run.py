"""Where an audit's time goes: one `run_audit` under cProfile, split by check and by kind of work.

Runs the audit in this process (no supervisor, no rendering) on a submission's manifest,
optionally cut to its first ``--images`` test images (the adversarial check's image list
is cut to match), at the manifest's own, default search budgets. Prints each check's wall
time from the evidence, then the cumulative time of the work that dominates: the
baseline's gradient calls (a graph-free solve to the stopping rule, then K differentiated
steps), its solves without gradient, the wavelet proximal map inside every baseline step,
backward passes and the network's forward calls. cProfile adds overhead of a few per cent.

    .venv/bin/python bench/profile_run.py --manifest sample_submissions/mri_unet/manifest.yaml --images 1
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from auditkit.pipeline import RunOptions, run_audit

ROOT = Path(__file__).resolve().parents[1]

#: (label, file suffix, function name) of the functions whose cumulative time is reported.
PARTS = (
    ("baseline calls (all)", "baselines/base.py", "__call__"),
    ("  gradient calls (solve, then K graph steps)", "baselines/base.py", "_run_fixed_point"),
    ("  solves without gradient (noise draws, …)", "baselines/base.py", "_run_adaptive"),
    ("  wavelet proximal map (in every step)", "baselines/proximal.py", "wavelet_soft_threshold"),
    ("backward passes (network and baseline)", "torch/autograd/__init__.py", "grad"),
    ("network forward calls", "networks/adapter.py", "__call__"),
)


def cut_manifest(manifest: Path, images: int | None, folder: Path) -> Path:
    """A copy of the submission folder whose manifest keeps only its first ``images`` test images."""
    copy = Path(shutil.copytree(manifest.parent, folder / manifest.parent.name))
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    if data["data"].get("images"):  # the copy lives elsewhere: image files by absolute path
        data["data"]["images"] = [dict(item, file=str((manifest.parent / item["file"]).resolve()))
                                  for item in data["data"]["images"]]
    if images is not None:
        files = data["data"].get("images", [])
        data["data"]["images"] = files[:images]
        left = images - len(data["data"]["images"])
        phantoms = []
        for entry in data["data"].get("phantoms", []):
            count = len(entry.get("indices", [None]))
            if left <= 0:
                break
            if "indices" in entry:
                entry = dict(entry, indices=entry["indices"][:left])
            phantoms.append(entry)
            left -= min(count, left)
        data["data"]["phantoms"] = phantoms
        if not phantoms:
            data["data"].pop("phantoms")
        adversarial = data.get("checks", {}).get("adversarial", {})
        if "images" in adversarial:
            adversarial["images"] = [i for i in adversarial["images"] if i < images] or [0]
    path = copy / manifest.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of the profiled function ``name`` defined in a file ending in ``suffix``."""
    return sum(row[3] for (file, _, func), row in stats.stats.items() if func == name and file.endswith(suffix))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    parser.add_argument("--images", type=int, default=None, help="keep only the first N test images")
    parser.add_argument("--top", type=int, default=0, help="also print the N functions of largest cumulative time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-run-") as tmp:
        manifest = cut_manifest(args.manifest.resolve(), args.images, Path(tmp))
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        run_audit(manifest, RunOptions(out=Path(tmp) / "out"), render=False)
        profiler.disable()
        wall = time.perf_counter() - start
        evidence = json.loads((Path(tmp) / "out" / "evidence.json").read_text(encoding="utf-8"))
    stats = pstats.Stats(profiler)
    print(f"{args.manifest.name} of {args.manifest.parent.name}, images {args.images or 'all'}: wall {wall:.1f} s")
    for check in evidence["checks"]:
        seconds = check.get("wall_time_s") or 0.0
        print(f"  {check['name']:14s} {check['verdict']:8s} {seconds:8.1f} s  {seconds / wall:6.1%}")
    for label, suffix, name in PARTS:
        seconds = cumulative(stats, suffix, name)
        print(f"{label:42s} {seconds:8.1f} s  {seconds / wall:6.1%}")
    if args.top:
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
