"""How much memory an audit needs, estimated from the manifest alone, and how much the machine has.

``auditkit validate`` and ``auditkit run`` compare the two before anything is allocated, so that
a manifest the machine cannot audit is bad input found in a second, not an out-of-memory crash
(or hours of swapping) later. The model counts only the terms that grow with the manifest, each
at its documented size in the code that allocates it, with no safety margin and without what it
cannot know (the network's activations), so that a refusal means the audit would not fit.

With P = H·W pixels per image, n test images and b bytes per value (8 for complex64 MRI, 4 for
float32 CT and Hadamard), M measurement values per image (P for single-coil MRI and Hadamard,
C·P for C coils, n_angles·D for CT with D = ⌈√2·max(H, W)⌉ detector bins):

- one solver iteration of one batch row keeps S = b·(12·P + 2·M) bytes (about 12 image-sized and
  2 measurement-sized tensors: 1.8 MB at 128² single-coil, the 1.7 MB auditkit.baselines.base states);
- every check runs one test image per work unit (auditkit.checks.units), so a search's batch is
  G rows, the most rows per image of any search (image-domain budgets; measurement-domain
  η × restarts; trade-off positive η × restarts; one survival ascent); per row it keeps one
  differentiated baseline step S and the K + 1 = 21 Krylov vectors of the implicit gradient
  (K = the baseline's ``gradient_iters``), each at most a solver state without its temporaries,
  V = b·(4·P + M): G·(S + (K + 1)·V);
- evaluations without a graph take E = noise batch_size rows: E·S;
- the test images with their measurements and outputs: 4·n·b·(P + M);
- the operator: for CT the sparse system matrix A and its transpose, 3·P·n_max slots of 40 bytes
  (float64 values and int64 indices kept by scipy, float32 values for torch), n_max the most angles
  the audit builds (the sampling check goes up to twice the audit's count); for multi-coil MRI the
  coil maps, 8·C·P;
- the runtime (Python, torch, the network): 0.5 GiB.

peak ≈ runtime + operator + images + max(G·(S + (K + 1)·V), E·S).

The smaller settings of ``--quick`` are not taken into account. The comparison is with host memory;
on a CUDA device the same tensors live in its memory, which is not checked.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from auditkit.manifest.models import Checks, Data, Modality

GIB = 1 << 30
#: Krylov iterations of the baseline's implicit gradient (auditkit.baselines.base.BaselineMap's gradient_iters).
KRYLOV_ITERATIONS = 20
#: Image-sized and measurement-sized tensors in one Krylov vector (at most a solver state: z, z̄, q (2), p).
IMAGE_TENSORS_PER_VECTOR, MEASUREMENT_TENSORS_PER_VECTOR = 4, 1
#: Image-sized and measurement-sized tensors one solver iteration keeps per batch row.
IMAGE_TENSORS_PER_STEP, MEASUREMENT_TENSORS_PER_STEP = 12, 2
#: Copies of each test image and its measurements kept through the audit (x, y, f(y), outputs).
KEPT_COPIES = 4
#: Slots of the CT system matrix per pixel and angle (a pixel's footprint covers at most 3 bins).
CT_SLOTS_PER_PIXEL_ANGLE = 3
#: Bytes per slot of the CT system matrix: A and Aᵀ with float64 values and int64 indices, float32 torch values.
CT_BYTES_PER_SLOT = 40
#: Memory of the process before the audit allocates anything (Python, torch, the network's weights).
RUNTIME_BYTES = GIB // 2


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak and its terms, in bytes (see the module doc for the formulas)."""

    runtime: int
    operator: int
    images: int
    searches: int
    evaluations: int

    @property
    def total(self) -> int:
        """runtime + operator + images + max(searches, evaluations): searches and evaluations never overlap."""
        return self.runtime + self.operator + self.images + max(self.searches, self.evaluations)

    @property
    def largest(self) -> str:
        """What most of the memory is for, in words."""
        terms = {
            "the searches' gradient graphs": self.searches,
            "the batches of noise draws and evaluations": self.evaluations,
            "the CT system matrix" if self.operator > 0 else "the operator": self.operator,
            "the test images": self.images,
            "the runtime": self.runtime,
        }
        return max(terms, key=terms.__getitem__)


def estimate_memory(modality: Modality, data: Data, checks: Checks, trained_n_angles: int | None = None) -> MemoryEstimate:
    """Peak memory of a default audit of these sections (module doc: the model and its calibration)."""
    height, width = modality.image_shape
    pixels = height * width
    value_bytes = 4 if modality.kind in ("ct_parallel", "hadamard") else 8
    measurements = _measurements_per_image(modality)
    step = value_bytes * (IMAGE_TENSORS_PER_STEP * pixels + MEASUREMENT_TENSORS_PER_STEP * measurements)
    vector = value_bytes * (IMAGE_TENSORS_PER_VECTOR * pixels + MEASUREMENT_TENSORS_PER_VECTOR * measurements)
    n = data.n_images
    search_rows = max(_search_rows(checks), default=0)
    eval_rows = max(checks.noise.batch_size if checks.noise.enabled else 0, 1)
    return MemoryEstimate(
        runtime=RUNTIME_BYTES,
        operator=_operator_bytes(modality, checks, trained_n_angles),
        images=KEPT_COPIES * n * value_bytes * (pixels + measurements),
        searches=search_rows * (step + (KRYLOV_ITERATIONS + 1) * vector),
        evaluations=eval_rows * step,
    )


def _measurements_per_image(modality: Modality) -> int:
    """M: measurement values per image (CT: angles × detector bins; multi-coil: coils × pixels)."""
    height, width = modality.image_shape
    if modality.kind == "ct_parallel":
        return (modality.sampling.n_angles or 1) * _detector_bins(height, width)
    if modality.kind == "mri_multicoil" and modality.coils is not None:
        return modality.coils.count * height * width
    return height * width


def _detector_bins(height: int, width: int) -> int:
    """D = ⌈√2·max(H, W)⌉, the image diagonal (auditkit.operators.radon_matrix.default_det_count)."""
    return math.ceil(math.sqrt(2.0) * max(height, width))


def _search_rows(checks: Checks) -> list[int]:
    """Rows per image of every gradient search the enabled checks run (one image per work unit)."""
    rows: list[int] = []
    adversarial = checks.adversarial
    if adversarial.enabled:
        rows.append(len(adversarial.image_domain.budgets))
        rows.append(len(adversarial.measurement_domain.etas) * adversarial.measurement_domain.restarts)
    tradeoff = checks.tradeoff
    if tradeoff.enabled:
        rows.append(sum(1 for eta in tradeoff.etas if eta > 0) * tradeoff.restarts)
    if checks.noise.enabled and checks.noise.survival_ratios:
        rows.append(1)
    return rows


def _operator_bytes(modality: Modality, checks: Checks, trained_n_angles: int | None) -> int:
    """CT: 40 bytes × 3·P·n_max (the largest system matrix built); multi-coil: 8·C·P (coil maps); else 0."""
    height, width = modality.image_shape
    pixels = height * width
    if modality.kind == "ct_parallel":
        n_angles = modality.sampling.n_angles or 1
        counts = [n_angles, trained_n_angles or 0]
        if checks.sampling.enabled:
            counts += checks.sampling.n_angles if checks.sampling.n_angles is not None else [2 * n_angles]
        return CT_BYTES_PER_SLOT * CT_SLOTS_PER_PIXEL_ANGLE * pixels * max(counts)
    if modality.kind == "mri_multicoil" and modality.coils is not None:
        return 8 * modality.coils.count * pixels
    return 0


def available_memory_bytes() -> int | None:
    """Memory the machine can give a new process now: ``MemAvailable`` of /proc/meminfo (free memory plus
    reclaimable cache), else free physical pages from ``os.sysconf``; None when neither is known.

    Container limits (cgroups) are not read: their usage counts reclaimable cache, which would refuse
    audits that fit.
    """
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            name, _, value = line.partition(":")
            if name == "MemAvailable":
                return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(size: int) -> str:
    """``4.3 GiB``: a size in GiB with one decimal."""
    return f"{size / GIB:.1f} GiB"
