"""A two-node Ray cluster simulated on this machine: the local executor's evidence, and a worker killed mid-run.

Starts a head node and a second node (`ray start --head --num-cpus 1`, `ray start --address … --num-cpus 1`),
then audits the sample submission three times, one after the other, without the baseline cache:

1. with the local executor (the reference);
2. on the cluster (`--ray-address`): the evidence must equal the reference in every leaf that
   ``auditkit.reproduce.comparable`` compares, and the arrays byte for byte;
3. on the cluster again, killing one worker process that is computing a unit (`kill -9`, found by its
   process title ``ray::run_unit``) a few seconds after the first one starts: Ray retries the unit, or the
   run stops with a message and `--resume` completes it; either way the evidence must equal the reference.

Prints wall times, what happened to the killed unit and the comparisons; stops the cluster at the end.

    .venv/bin/python bench/bench_cluster.py [--manifest M] [--default]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_audit import same_evidence

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
#: Ray ≥ 2.59 starts a head with token authentication (the token in ~/.ray/auth_token); a joining node and
#: a client on this machine read it when told the cluster uses tokens.
TOKEN_ENV = {**os.environ, "RAY_AUTH_MODE": "token"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ray(*args: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run([str(BIN / "ray"), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"ray {' '.join(args)} failed:\n{proc.stderr[-2000:]}")


def command(manifest: Path, out: Path, quick: bool, *extra: str) -> list[str]:
    return [str(BIN / "auditkit"), "run", str(manifest), "--out", str(out), "--no-cache", *extra] + (["--quick"] if quick else [])


def run(cmd: list[str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=TOKEN_ENV)
    return proc.returncode, time.perf_counter() - t0, proc.stderr + proc.stdout


def unit_workers() -> list[int]:
    """PIDs of Ray worker processes computing a unit now."""
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split(None, 1)[0]) for line in ps.splitlines() if "ray::run_unit" in line]


def run_and_kill(cmd: list[str], delay: float) -> tuple[int, float, str, int | None]:
    """Run ``cmd``; ``delay`` s after a unit starts on a worker, kill that worker with SIGKILL."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=TOKEN_ENV)
    killed = None
    seen = None
    while proc.poll() is None and killed is None:
        workers = unit_workers()
        if workers and seen is None:
            seen = time.perf_counter()
        if workers and seen is not None and time.perf_counter() - seen >= delay:
            killed = workers[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    output, _ = proc.communicate()
    return proc.returncode, time.perf_counter() - t0, output, killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=ROOT / "sample_submissions" / "mri_unet" / "manifest.yaml")
    parser.add_argument("--default", action="store_true", help="default audits (the default is --quick)")
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds into a unit before its worker is killed")
    args = parser.parse_args()
    quick = not args.default
    port = free_port()
    address = f"127.0.0.1:{port}"
    ray("start", "--head", "--num-cpus", "1", "--port", str(port), "--include-dashboard", "false")
    try:
        ray("start", "--address", address, "--num-cpus", "1", env=TOKEN_ENV)
        print(f"cluster at {address}: two nodes of 1 CPU; {'quick' if quick else 'default'} audits", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp_name:
            tmp = Path(tmp_name)
            rc, wall, out = run(command(args.manifest, tmp / "local", quick))
            print(f"local:    exit {rc}, wall {wall:6.1f} s", flush=True)
            if rc not in (0, 1):
                sys.exit(out[-3000:])
            rc, wall, out = run(command(args.manifest, tmp / "cluster", quick, "--executor", "ray", "--ray-address", address))
            differ, arrays = same_evidence(tmp / "local", tmp / "cluster")
            print(f"cluster:  exit {rc}, wall {wall:6.1f} s; evidence leaves that differ {differ}, arrays identical {arrays}")
            cmd = command(args.manifest, tmp / "killed", quick, "--executor", "ray", "--ray-address", address)
            rc, wall, out, killed = run_and_kill(cmd, args.kill_after)
            print(f"killed:   worker {killed} killed with SIGKILL; exit {rc}, wall {wall:6.1f} s", flush=True)
            if rc not in (0, 1):
                print("  the run stopped: " + " | ".join(line for line in out.splitlines()[-3:] if line.strip()))
                rc, wall, out = run(cmd + ["--resume"])
                print(f"resumed:  exit {rc}, wall {wall:6.1f} s")
            else:
                print("  Ray retried the killed unit; the run completed")
            differ, arrays = same_evidence(tmp / "local", tmp / "killed")
            print(f"  evidence leaves that differ from the local run {differ}, arrays identical {arrays}")
    finally:
        ray("stop", "--force")


if __name__ == "__main__":
    main()
