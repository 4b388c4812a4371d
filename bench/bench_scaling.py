"""Scaling on paper: the work units of an audit of many images, and its predicted wall time on W workers.

Reads the unit records of a finished run (``evidence.json``: every check lists its units with the
seconds each took), or runs one first (``--run``: this sample's audit, local executor, no cache).
From them it builds the units of an audit of ``--images`` images: every check's per-image units
(measure network, measure baseline, compare) for each image, each unit costing what the same kind
of unit cost on the measured image it is cycled from (image i takes the costs of measured image
i mod n). It then prints the units, their total work, the critical path (the longest chain of
units that need each other: a compare unit after its two measure units) and the wall time the
driver would take on 1, 2, 8, 32 and 128 workers, by replaying its schedule: units are handed out
in plan order as soon as what they need has finished, each to the first free worker. The
prediction leaves out what does not scale with the units: preparing the run (the operator, the
images, the network's load) and assembling the evidence; it is a lower bound for real clusters,
where a unit also pays for moving its inputs.

    .venv/bin/python bench/bench_scaling.py --run [--quick] [--measure-images 1]   # measure, then predict
    .venv/bin/python bench/bench_scaling.py --evidence out/evidence.json --images 100
"""

from __future__ import annotations

import argparse
import heapq
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from profile_run import cut_manifest

ROOT = Path(__file__).resolve().parents[1]
WORKERS = (1, 2, 8, 32, 128)


@dataclass(frozen=True)
class Job:
    """One unit of the projected audit: its id, what it costs, and the ids it needs."""

    id: str
    seconds: float
    needs: tuple[str, ...]


def measured_units(evidence: dict) -> tuple[list[dict], list[str]]:
    """Every unit record of the run, in plan order (check by check), and the run's image ids in test-set order."""
    units = [dict(u, check=c["name"]) for c in evidence["checks"] for u in c.get("units", [])]
    if not units:
        sys.exit("the evidence lists no work units (a run from before units were recorded, or every check is off)")
    images = [img["id"] for img in evidence["images"]]
    return units, images


def project(units: list[dict], images: list[str], count: int) -> list[Job]:
    """The units of a ``count``-image audit in plan order, costed from the measured ones (see the module doc)."""
    cost: dict[tuple[str, str, str, str], float] = {}
    kinds: list[tuple[str, str, str]] = []
    used: dict[str, list[str]] = {}
    for u in units:
        check, phase, subject = u["unit"].split(".")[:3]
        cost[(check, phase, subject, u["image"])] = float(u.get("seconds") or 0.0)
        if (check, phase, subject) not in kinds:
            kinds.append((check, phase, subject))
        used.setdefault(check, [])
        if u["image"] not in used[check]:
            used[check].append(u["image"])
    jobs: list[Job] = []
    for check in dict.fromkeys(k[0] for k in kinds):
        measured = [i for i in images if i in used[check]]
        for phase in ("measure", "compare"):
            for _, _, subject in (k for k in kinds if k[0] == check and k[1] == phase):
                for n in range(count):
                    source = measured[n % len(measured)]
                    needs = ((f"{check}.measure.network.{n}", f"{check}.measure.baseline.{n}")
                             if phase == "compare" else ())
                    jobs.append(Job(f"{check}.{phase}.{subject}.{n}", cost[(check, phase, subject, source)], needs))
    return jobs


def critical_path(jobs: list[Job]) -> float:
    """The longest chain of units that need each other, in seconds."""
    finish: dict[str, float] = {}
    for job in jobs:  # plan order lists every unit after the units it needs
        finish[job.id] = job.seconds + max((finish[n] for n in job.needs), default=0.0)
    return max(finish.values(), default=0.0)


def schedule(jobs: list[Job], workers: int) -> float:
    """The wall time of the driver's schedule on ``workers`` workers: whenever a worker is free it takes the
    first unit, in plan order, whose needs have finished (an event simulation)."""
    finish: dict[str, float] = {}
    pending = list(jobs)
    running: list[tuple[float, str]] = []  # (end, id), a heap
    clock, idle = 0.0, workers
    while pending or running:
        while idle and (job := next((j for j in pending if all(n in finish for n in j.needs)), None)):
            pending.remove(job)
            heapq.heappush(running, (clock + job.seconds, job.id))
            idle -= 1
        clock, done = heapq.heappop(running)
        finish[done] = clock
        idle += 1
    return clock


def run_sample(quick: bool, images: int | None) -> dict:
    """Audit the mri_unet sample (its first ``images`` test images, all when None) in a child process (local
    executor, no cache) and return its evidence."""
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        manifest = cut_manifest(ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml", images, Path(tmp))
        cmd = [str(ROOT / ".venv" / "bin" / "auditkit"), "run", str(manifest),
               "--out", f"{tmp}/out", "--no-cache"] + (["--quick"] if quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            sys.exit(f"auditkit run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return json.loads((Path(tmp) / "out" / "evidence.json").read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--evidence", type=Path, help="evidence.json of a finished run")
    source.add_argument("--run", action="store_true", help="audit the mri_unet sample first")
    parser.add_argument("--quick", action="store_true", help="with --run: a quick audit")
    parser.add_argument("--measure-images", type=int, default=None, help="with --run: audit only the first N test images")
    parser.add_argument("--images", type=int, default=100, help="images of the projected audit")
    args = parser.parse_args()
    evidence = run_sample(args.quick, args.measure_images) if args.run else json.loads(args.evidence.read_text(encoding="utf-8"))
    units, images = measured_units(evidence)
    jobs = project(units, images, args.images)
    work = sum(j.seconds for j in jobs)
    path = critical_path(jobs)
    measured_work = sum(float(u.get("seconds") or 0.0) for u in units)
    print(f"measured: {len(units)} units on {len(images)} images, {measured_work:.0f} s of unit work "
          f"(quick: {evidence['quick']})")
    kinds: dict[str, list[float]] = {}
    for job in jobs:
        kinds.setdefault(job.id.rsplit(".", 1)[0], []).append(job.seconds)
    print(f"projected {args.images}-image audit: {len(jobs)} units, {work:.0f} s of work, critical path {path:.0f} s")
    print(f"{'unit kind':36s} {'units':>6s} {'mean s':>8s} {'max s':>8s}")
    for kind, secs in kinds.items():
        print(f"{kind:36s} {len(secs):6d} {sum(secs) / len(secs):8.1f} {max(secs):8.1f}")
    print(f"{'workers':>8s} {'wall s':>10s} {'speed-up':>9s} {'efficiency':>10s} {'bound':>8s}")
    for w in WORKERS:
        wall = schedule(jobs, w)
        bound = "path" if wall <= path * 1.05 else "work"
        print(f"{w:8d} {wall:10.0f} {work / wall:8.1f}× {work / wall / w:10.0%} {bound:>8s}")


if __name__ == "__main__":
    main()
