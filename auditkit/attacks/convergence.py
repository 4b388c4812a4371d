"""A search's convergence record: the worst case found so far after each evaluation.

A search ``(rows, steps)`` records, after its t-th evaluated iterate, the best
objective over iterates 0…t; the record of one search is non-decreasing, and its
last entry is what the search reports. From it a reader sees whether the search
had levelled off when its budget ran out, or was still climbing (more evaluations
would likely have found a larger worst case). The number the audit reports for
this is the share of the final worst case already found after half the
evaluations,

    s = p[⌊T/2⌋] / p[T]     (p the record, T + 1 entries),

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

    ``iterations`` (rows,) gives each row's own number of loop iterations when rows stop early: a row's
    entries from its last iteration on are its final best (it evaluated nothing more).
    """
    trace = torch.stack([*steps, final], dim=1)
    if iterations is not None:
        stopped = torch.arange(trace.shape[1], device=trace.device)[None, :] >= iterations.to(trace.device)[:, None]
        trace = torch.where(stopped, final[:, None], trace)
    return trace


def concatenate(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Records of several batches (…, T_b + 1) joined along the first axis, each padded to the longest with its
    last value (a search that stopped keeps its best)."""
    length = max(p.shape[-1] for p in parts)
    padded = [torch.cat([p, p[..., -1:].expand(*p.shape[:-1], length - p.shape[-1])], dim=-1) for p in parts]
    return torch.cat(padded)


def half_budget_share(trace: torch.Tensor) -> torch.Tensor:
    """(…,) s = p[⌊T/2⌋] / p[T] for records (…, T + 1): the share of the final worst case found at half the
    evaluations (1 where the final value is 0: nothing to find)."""
    last = trace[..., -1]
    half = trace[..., (trace.shape[-1] - 1) // 2]
    return torch.where(last > 0, half / torch.where(last > 0, last, torch.ones_like(last)), torch.ones_like(last))
