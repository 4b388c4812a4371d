"""Where every threshold of the checks comes from: a paper's result, a physical argument, statistics, or a risk choice.

One entry per setting of a check's manifest block that decides a verdict (``RATIONALE``). The dossier
prints them with the values an audit used, and the README's table of thresholds is ``markdown_table()``
(a test keeps the two equal), so a reviewer can tell which thresholds follow from theory and which are
choices the vendor states and may change. The two papers are the instability study (Antun et al.,
PNAS 2020: "instability paper") and the troublesome-kernel study of hallucinations and the
accuracy–stability trade-off ("kernel paper").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Source(enum.Enum):
    """What a threshold rests on."""

    PAPER = "a result of the papers"
    PHYSICS = "a physical or numerical argument"
    STATISTICS = "statistical convention"
    RISK = "a risk choice the vendor may change"


@dataclass(frozen=True)
class Rationale:
    """Why ``check``'s setting ``field`` has its default: what it rests on and the argument."""

    check: str
    field: str
    source: Source
    why: str


#: every verdict-deciding setting of every check, in the order the dossier presents the checks.
RATIONALE: tuple[Rationale, ...] = (
    Rationale("adversarial", "k_baseline", Source.RISK,
              "k = 2: the network may suffer at most twice the change the compressed-sensing baseline suffers from its own "
              "worst perturbation of the same size. The instability paper judges networks against such a method, whose "
              "stability compressed-sensing theory proves under its conditions; the factor is a choice, the same for "
              "every comparison with the baseline."),
    Rationale("adversarial", "c_budget", Source.RISK,
              "c = 10: a change at most ten times the perturbation's relative size ε, whatever the baseline does; "
              "the floor ε itself is the change of a method that reproduces the perturbation (the identity)."),
    Rationale("adversarial", "patch_size", Source.PHYSICS,
              "8 px: the local criteria take their worst case over square patches of this side, about a small lesion or one default detail at 128×128 (on smaller images a patch covers a larger share of the field of view); a structure filling one patch counts at its full contrast."),
    Rationale("structural", "min_recovery", Source.RISK,
              "q ≥ 0.5, i.e. ε_R ≤ 0.71 on the detail's region: a detail shown exactly in shape but at less than 29 % of "
              "its contrast fails. The instability paper shows details lost by networks and kept by compressed sensing; "
              "the level is a choice."),
    Rationale("structural", "margin", Source.RISK,
              "0.2: the network's q may be at most 0.2 below the baseline's on the same image."),
    Rationale("structural", "k_ghost", Source.RISK,
              "k = 2 on the ghost contrast, as in every comparison with the baseline."),
    Rationale("structural", "ghost_floor", Source.RISK,
              "0.1: the baseline's ghost contrast counts as at least 0.1, so echoes up to k·0.1 = 0.2 of the detail's "
              "contrast always pass; a baseline with almost no echo does not make faint echoes fail."),
    Rationale("sampling", "tolerance_db", Source.RISK,
              "0.5 dB: the instability paper counts a network whose quality deteriorates with more samples as "
              "failing; 0.5 dB is the smallest drop held against it, on the mean and on each image."),
    Rationale("sampling", "min_gain_fraction", Source.RISK,
              "0.25: the instability paper counts a network whose quality stagnates with more samples, while "
              "compressed sensing improves, as failing too; a quarter of the baseline's gain is the level chosen here."),
    Rationale("sampling", "baseline_min_gain_db", Source.RISK,
              "1 dB, a choice: compressed sensing is expected to improve with more samples; if the baseline does not, "
              "the operator, λ or images are suspect and the network is not judged."),
    Rationale("noise", "k_baseline", Source.RISK,
              "τ = 2·max(m, η): harmful is a change more than twice the baseline's median change under the same noise "
              "(m) and more than twice the noise level (η, about what passing the noise through gives)."),
    Rationale("noise", "max_probability", Source.RISK,
              "0.05: the kernel paper shows that instabilities, where they exist, are not rare events under random "
              "noise (Theorems 4.6 and 4.7); the network's harmful-draw probability must be shown below 5 %, a level "
              "chosen here."),
    Rationale("noise", "confidence", Source.STATISTICS,
              "95 %: the upper end of the exact Clopper–Pearson interval must lie below max_probability; with n "
              "draws none harmful certifies at best 1 − 0.025^(1/n)."),
    Rationale("hallucination", "k_baseline", Source.RISK,
              "k = 2 on invented kernel energy: the kernel paper traces hallucinations to content in the kernel of "
              "A that no measurement supports (Theorem 4.1, detail transfer); the factor is a choice, the audit's common one."),
    Rationale("hallucination", "patch_size", Source.PHYSICS,
              "8 px: invented content is localised on patches of this side, about a small lesion at 128×128 (on smaller "
              "images a patch covers a larger share of the field of view)."),
    Rationale("hallucination", "border", Source.PHYSICS,
              "8 px: along the edges an image that does not vanish meets its periodic copy (DFT) with a jump whose "
              "unmeasured part every method fills; the frame is reported, not judged."),
    Rationale("tradeoff", "k_baseline", Source.RISK,
              "k = 2: the kernel paper's accuracy–stability trade-off (Theorem 4.5) says accuracy gained on some "
              "images beyond what the problem allows is paid for in stability; the network's worst-case error may be "
              "at most twice the baseline's (the factor a choice, the audit's common one)."),
    Rationale("tradeoff", "patch_size", Source.PHYSICS,
              "8 px: the local criteria take their worst case over square patches of this side, about a small lesion or one default detail at 128×128 (on smaller images a patch covers a larger share of the field of view); a structure filling one patch counts at its full contrast."),
)


def for_check(check: str) -> list[Rationale]:
    """The entries of one check, in registry order."""
    return [r for r in RATIONALE if r.check == check]


def markdown_table() -> str:
    """The README's table of thresholds: check, setting, what it rests on, and why."""
    rows = ["| check | setting | rests on | why |", "|---|---|---|---|"]
    rows += [f"| {r.check} | `{r.field}` | {r.source.value} | {r.why} |" for r in RATIONALE]
    return "\n".join(rows) + "\n"
