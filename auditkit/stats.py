"""Exact confidence intervals for proportions, and the distribution summaries the checks report.

How often does random noise harm a reconstruction? A check counts k harmful draws
out of n and reports the proportion p̂ = k/n with its Clopper–Pearson interval:
the exact two-sided interval obtained by inverting two one-sided binomial tests,
each at level (1 − confidence)/2. It never covers less than the stated confidence
(it is conservative), needs no large-sample approximation, and stays meaningful at
k = 0 and k = n, where the normal approximation collapses to a point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.stats import beta, t

#: quantiles reported for a distribution of measured values (as fractions, with their keys).
QUANTILES = (("p5", 0.05), ("p50", 0.50), ("p95", 0.95))


def _check_counts(k: int, n: int, confidence: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: number of trials must be an integer ≥ 1, got {n!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ValueError(f"k: number of successes must be an integer in [0, n={n}], got {k!r}")
    if not (isinstance(confidence, (int, float)) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence: must be in (0, 1), got {confidence!r}")


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact two-sided interval (low, high) for a binomial proportion after k successes in n trials.

    With α = 1 − confidence: low = B⁻¹(α/2; k, n − k + 1) and high = B⁻¹(1 − α/2; k + 1, n − k),
    B⁻¹ the beta quantile; low = 0 at k = 0 and high = 1 at k = n. Equivalently high solves
    P(Bin(n, high) ≤ k) = α/2 and low solves P(Bin(n, low) ≥ k) = α/2; at k = 0 the upper
    end has the closed form 1 − (α/2)^{1/n}.
    """
    _check_counts(k, n, confidence)
    alpha = 1.0 - float(confidence)
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2.0, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1.0 - alpha / 2.0, k + 1, n - k))
    return low, high


@dataclass(frozen=True)
class Proportion:
    """k events in n trials: the estimate k/n and its Clopper–Pearson interval at ``confidence``."""

    events: int
    trials: int
    confidence: float
    ci_low: float
    ci_high: float

    @classmethod
    def of(cls, events: int, trials: int, confidence: float = 0.95) -> "Proportion":
        """The proportion with its exact interval (see ``clopper_pearson``)."""
        low, high = clopper_pearson(int(events), int(trials), confidence)
        return cls(int(events), int(trials), float(confidence), low, high)

    @classmethod
    def of_flags(cls, flags: Sequence[bool] | np.ndarray, confidence: float = 0.95) -> "Proportion":
        """The proportion of True among ``flags`` (one per trial)."""
        arr = np.asarray(flags, dtype=bool).reshape(-1)
        return cls.of(int(arr.sum()), int(arr.size), confidence)

    @property
    def estimate(self) -> float:
        """p̂ = k / n."""
        return self.events / self.trials

    def as_dict(self) -> dict[str, float | int]:
        """{probability, ci_low, ci_high, events, trials, confidence} for evidence.json."""
        return {
            "probability": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "events": self.events,
            "trials": self.trials,
            "confidence": self.confidence,
        }


def distribution_summary(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """{p5, p50, p95, mean, max} of finite values (quantiles linearly interpolated, numpy's default)."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("values: need at least one value to summarise")
    if not np.isfinite(arr).all():
        raise ValueError("values: contain NaN or Inf")
    out = {key: float(np.quantile(arr, q)) for key, q in QUANTILES}
    out["mean"] = float(arr.mean())
    out["max"] = float(arr.max())
    return out


def mean_interval(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval for the mean over the images: m ± t_{(1+c)/2, n−1} · s/√n (s with ddof = 1).

    It treats the test images as a sample from the population of images the device will see; None for fewer than
    two images (no spread to estimate)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return None
    half = float(t.ppf(0.5 + confidence / 2.0, arr.size - 1) * np.std(arr, ddof=1) / np.sqrt(arr.size))
    mean = float(np.mean(arr))
    return mean - half, mean + half


def spread(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """{mean, std, min, max} of values over the images, std the population standard deviation (ddof = 0)."""
    arr = np.asarray(values)
    return {
        "mean": float(np.mean(arr)),
        "std": float(np.std(arr)),
        "min": float(np.min(arr)),
        "max": float(np.max(arr)),
    }
