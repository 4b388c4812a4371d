"""A search's convergence record: the worst case found so far after each evaluation.

A search ``(rows, steps)`` records, after its (t + 1)-th evaluated iterate, the best
objective over iterates 0…t; the record of one search is non-decreasing, and its
last real entry is what the search reports (records of searches that made fewer
evaluations are padded with NaN). For the image-domain ladder the record covers the
refinement on the sphere only, after the ascent path. From it a reader sees whether the search
had levelled off when its budget ran out, or was still climbing (more evaluations
would likely have found a larger worst case). The number the audit reports for
this is the share of the final worst case already found after half the
evaluations,

    s = w[⌊(n − 1)/2⌋] / w[n − 1]     (w the record, n real entries),

close to 1 for a search that had converged, well below 1 for one still climbing.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Sequence

import torch

#: a search that had found less than this share of its final worst case at half its budget was still climbing.
LEVELLED_SHARE = 0.95
#: dataclass field metadata marking a record (…, T + 1) whose T may differ between images: joined by ``concatenate``.
RECORD = "convergence_record"


def record_field() -> Any:
    """A dataclass field holding records of searches whose lengths may differ between images or batches."""
    return field(metadata={RECORD: True})


def record(steps: Sequence[torch.Tensor], final: torch.Tensor, iterations: torch.Tensor | None = None) -> torch.Tensor:
    """(rows, T + 1): the best-so-far values ``steps`` (T tensors of (rows,), one per loop iteration) and the
    ``final`` best after the last iterate's forward-only evaluation.

    ``iterations`` (rows,) gives each row's own number of loop iterations when rows stop early: a row's entry
    at its own count is its final best, and the entries after it are NaN (it evaluated nothing more), so that
    each row keeps its own length.
    """
    trace = torch.stack([*steps, final], dim=1)
    if iterations is not None:
        at = torch.arange(trace.shape[1], device=trace.device)[None, :]
        own = iterations.to(trace.device)[:, None]
        trace = torch.where(at == own, final[:, None], trace)
        trace = torch.where(at > own, torch.full_like(trace, float("nan")), trace)
    return trace


def concatenate(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Records of several batches (…, T_b + 1) joined along the first axis, each padded to the longest with NaN
    (entries a search never made)."""
    length = max(p.shape[-1] for p in parts)
    padded = [torch.cat([p, torch.full((*p.shape[:-1], length - p.shape[-1]), float("nan"), dtype=p.dtype,
                                       device=p.device)], dim=-1) for p in parts]
    return torch.cat(padded)


def lengths(trace: torch.Tensor) -> torch.Tensor:
    """(…,) the number of entries each record really has (its values before the NaN padding)."""
    return (~torch.isnan(trace)).sum(dim=-1)


def final(trace: torch.Tensor) -> torch.Tensor:
    """(…,) each record's last real entry: the worst case its search reports."""
    return trace.gather(-1, (lengths(trace) - 1).clamp_min(0).unsqueeze(-1)).squeeze(-1)


def half_budget_share(trace: torch.Tensor) -> torch.Tensor:
    """(…,) s = w[⌊(n − 1)/2⌋] / w[n − 1] for records w of n real entries each (entry t is the best after t + 1
    evaluations): the share of the final worst case found at half of that search's own evaluations (1 where the
    final value is 0: nothing to find)."""
    n = lengths(trace).clamp_min(1)
    last = final(trace)
    half = trace.gather(-1, ((n - 1) // 2).unsqueeze(-1)).squeeze(-1)
    return torch.where(last > 0, half / torch.where(last > 0, last, torch.ones_like(last)), torch.ones_like(last))
