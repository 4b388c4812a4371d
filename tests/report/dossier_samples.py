"""Stand-in evidence, figures and audit events for the HTML and PDF dossier tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from auditkit.checks.result import CheckResult, Criterion, SubjectResult, Verdict  # noqa: E402
from auditkit.evidence import Evidence, InputRecord  # noqa: E402


@dataclass(frozen=True)
class StandInFigure:
    """Same fields as ``auditkit.report.figures.FigureRef`` (the renderer only reads these)."""

    check: str
    key: str
    title: str
    caption: str
    png: str
    svg: str
    raster: bool = False


def sample_evidence() -> Evidence:
    """Evidence with one check of each verdict, nested per-image rows and a check the templates do not know."""
    q_ok = Criterion.evaluate("structural.recovery[♠]", "Detail ♠: q ≥ 0.5 on every image.", 0.8123456, 0.5, comparison=">=")
    q_vs = Criterion.evaluate(
        "structural.recovery_vs_baseline[♠]", "q_net ≥ q_base − 0.2.", 0.8123, 0.61, comparison=">=", compares_to_baseline=True
    )
    drop = Criterion.evaluate("sampling.no_drop_with_more_samples", "D ≤ 0.5 dB.", 1.734, 0.5)
    rises = Criterion.evaluate("sampling.baseline_rises", "Baseline gains ≥ 1 dB.", 4.2, 1.0, comparison=">=")
    custom = Criterion.evaluate("novel.metric_bound", "A rule of a check the templates do not know.", 1.5e-5, 1e-3)
    details = {
        "♠": {"recovered_fraction": 0.8123456, "correlation": 0.93, "relative_error": 0.43},
        "CAN U SEE IT": {"recovered_fraction": 0.71, "correlation": 0.88, "relative_error": 0.54},
    }
    checks = [
        CheckResult(
            name="structural",
            title="Small structural changes",
            verdict=CheckResult.verdict_from([q_ok, q_vs]),
            criteria=[q_ok, q_vs],
            subjects={
                "network": SubjectResult(
                    name="network",
                    summary={"worst_recovered_fraction": 0.71},
                    per_image=[{"image": f"img{i}", "details": details} for i in range(3)],
                ),
                "baseline": SubjectResult(
                    name="l1-wavelet (db4)",
                    summary={"worst_recovered_fraction": 0.66},
                    per_image=[{"image": f"img{i}", "details": details} for i in range(3)],
                ),
            },
            parameters={
                "min_recovery": 0.5, "margin": 0.2,
                "effective": {"details": [{"name": "♠", "size": 0.06}], "font": "DejaVu Sans"},
            },
            seed=0,
            wall_time_s=1.25,
            arrays=["arrays/structural.npz"],
            notes=["the baseline also recovers 'CAN U SEE IT' poorly"],
        ),
        CheckResult(
            name="sampling",
            title="More samples",
            verdict=CheckResult.verdict_from([drop, rises]),
            criteria=[drop, rises],
            subjects={
                "network": SubjectResult(
                    name="network", per_image=[{"image": "img0", "psnr": {"0.125": 31.2, "0.25": 29.47}}]
                ),
                "baseline": SubjectResult(
                    name="baseline", per_image=[{"image": "img0", "psnr": {"0.125": 27.0, "0.25": 31.2}}]
                ),
            },
            parameters={"ratios": [0.125, 0.25], "tolerance_db": 0.5},
            seed=0,
        ),
        CheckResult(name="adversarial", title="Worst-case perturbations", verdict=Verdict.ERROR, reason="network output is NaN at budget 0.04"),
        CheckResult(name="noise", title="Random noise", verdict=Verdict.NOT_RUN, reason="disabled in the manifest (enabled: false)"),
        CheckResult(name="novel", title="A check added later", verdict=Verdict.PASS, criteria=[custom], parameters={"bound": 1e-3}),
    ]
    ev = Evidence(
        tool={"name": "auditkit", "version": "0.1.0"},
        submission={
            "id": "SUB-2024-017",
            "vendor": "Acme Imaging <R&D>",
            "device": "DeepRecon MR",
            "version": "2.3.1",
            "intended_use": "Reconstruction of 4x accelerated single-coil knee MRI for diagnostic reading.",
            "contact": "qa@acme.example",
        },
        modality={"kind": "mri_singlecoil", "image_shape": [64, 64], "sampling_ratio": 0.25, "seed": 7},
        baseline={"method": "l1_wavelet", "name": "l1-wavelet (db4)", "params": {"lam": 0.001}},
        images=[{"id": "img0", "source": "shepp_logan"}, {"id": "img1", "source": "ellipses"}],
        inputs=[InputRecord(role="manifest", path="manifest.yaml", sha256="ab" * 32)],
        environment={"python": "3.11.2", "torch": "2.13.0", "device": "cpu", "scikit-image": "0.24"},
        seed=3,
        checks=checks,
        started_at="2024-05-02T09:30:00+00:00",
        wall_time_s=12.5,
    )
    ev.overall_verdict = ev.decide()
    return ev


def draw_stand_in_figures(root: Path) -> list[StandInFigure]:
    """Two small matplotlib figures (a curve and an image) as PNG and SVG under ``root/figures``."""
    (root / "figures").mkdir(parents=True, exist_ok=True)
    plt.rcParams["svg.hashsalt"] = "auditkit"
    figures = []
    for check, key in (("sampling", "curves"), ("structural", "zoom")):
        fig, ax = plt.subplots(figsize=(5, 3), dpi=60)
        if key == "curves":
            ax.plot([0.125, 0.25], [31.2, 29.47], marker="o", label="network")
            ax.plot([0.125, 0.25], [27.0, 31.2], marker="s", label="baseline")
            ax.set_xlabel("sampling ratio")
            ax.set_ylabel("PSNR (dB)")
            ax.legend()
        else:
            ax.imshow(np.outer(np.linspace(0, 1, 32), np.linspace(1, 0, 32)), cmap="gray")
        fig.tight_layout()
        stem = f"figures/{check}_{key}"
        fig.savefig(root / f"{stem}.svg", metadata={"Date": None})
        fig.savefig(root / f"{stem}.png", metadata={"Software": None})
        plt.close(fig)
        figures.append(StandInFigure(check, key, f"Stand-in {key}", f"A {key} drawn for the test (units: none).", f"{stem}.png", f"{stem}.svg"))
    return figures


def sample_audit_events() -> list[dict]:
    """Three audit-log entries shaped like audit.log's JSON lines."""
    return [
        {"seq": i, "time": f"2024-05-02T09:3{i}:00Z", "user": "qa", "host": "lab-1", "event": ev, "data": {"n": i}, "prev": f"{i:064x}"}
        for i, ev in enumerate(["run.start", "check.done", "render.start"])
    ]


def write_attachments(root: Path, evidence: Evidence, events: list[dict]) -> dict[str, Path]:
    """evidence.json, inputs/manifest.yaml and audit.log written under ``root``, as render_pdf takes them."""
    (root / "inputs").mkdir(parents=True, exist_ok=True)
    files = {
        "evidence.json": root / "evidence.json",
        "manifest.yaml": root / "inputs" / "manifest.yaml",
        "audit.log": root / "audit.log",
    }
    files["evidence.json"].write_text(evidence.to_json(), encoding="utf-8")
    files["manifest.yaml"].write_text("submission:\n  id: SUB-2024-017\n", encoding="utf-8")
    files["audit.log"].write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in events), encoding="utf-8")
    return files
