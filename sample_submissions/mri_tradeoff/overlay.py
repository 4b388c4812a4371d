"""Overlay the trio's trade-off curves: worst-case relative error against the noise level, from three evidence files.

Reads ``EVIDENCE/<network>/evidence.json`` for noise_free, low_noise and high_noise (what
``auditkit run …/<network>/manifest.yaml --out EVIDENCE/<network>`` writes) and plots, for each
network, the mean over the images of E(η) = max over ‖e‖ ≤ η‖Ax‖ of ‖|f(Ax + e)| − x‖/‖x‖ with a
band of ± one standard deviation (the layout of the paper's Fig. 5), and the ℓ1 baseline's curve
once (the three audits share it: same operator, images and seed; a note is printed if the files
disagree). Prints the numbers as a table.

Run from the repository root:
    .venv/bin/python sample_submissions/mri_tradeoff/overlay.py --evidence out/tradeoff --out tradeoff.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NETWORKS = {"noise_free": "trained without noise", "low_noise": "trained with low noise",
            "high_noise": "trained with high noise"}
COLOURS = {"noise_free": "tab:red", "low_noise": "tab:orange", "high_noise": "tab:blue"}


def curve(evidence: dict[str, Any], subject: str) -> tuple[list[float], list[float], list[float]]:
    """(η, mean, std) of one subject's worst-case relative error in the trade-off check of ``evidence``."""
    check = next((c for c in evidence["checks"] if c["name"] == "tradeoff"), None)
    if check is None or subject not in check.get("subjects", {}):
        raise SystemExit(f"no trade-off curve for the {subject} in this evidence file")
    by_eta = check["subjects"][subject]["summary"]["worst_case_error_by_eta"]
    etas = sorted(by_eta, key=float)
    return [float(e) for e in etas], [by_eta[e]["mean"] for e in etas], [by_eta[e]["std"] for e in etas]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evidence", type=Path, required=True, help="folder with <network>/evidence.json")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args()
    missing = [n for n in NETWORKS if not (args.evidence / n / "evidence.json").is_file()]
    if missing:
        print(f"{args.evidence}: no evidence.json for {', '.join(missing)}", file=sys.stderr)
        return 2
    evidence = {n: json.loads((args.evidence / n / "evidence.json").read_text(encoding="utf-8")) for n in NETWORKS}
    fig, ax = plt.subplots(figsize=(6, 4), dpi=150)
    rows = []
    for name, label in NETWORKS.items():
        etas, mean, std = curve(evidence[name], "network")
        ax.plot(etas, mean, "o-", color=COLOURS[name], label=label)
        ax.fill_between(etas, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        color=COLOURS[name], alpha=0.15)
        rows.append((label, mean))
    etas, mean, _ = curve(evidence["noise_free"], "baseline")
    if any(curve(evidence[n], "baseline")[1] != mean for n in NETWORKS):
        print("note: the baseline's curve differs between the evidence files; the noise_free run's is drawn")
    ax.plot(etas, mean, "s--", color="black", label="ℓ1 baseline")
    rows.append(("ℓ1 baseline", mean))
    ax.set_xlabel("noise level η = ‖e‖ / ‖Ax‖")
    ax.set_ylabel("worst-case relative error ‖|f(Ax+e)| − x‖ / ‖x‖")
    ax.set_title("Accuracy–stability trade-off (mean ± std over the test images)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out)
    print("| subject | " + " | ".join(f"η = {e:g}" for e in etas) + " |")
    print("|---|" + "---|" * len(etas))
    for label, values in rows:
        print(f"| {label} | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
