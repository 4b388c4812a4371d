"""Builds the forward operator a manifest's ``modality`` section describes."""

from __future__ import annotations

import torch

from auditkit.operators.base import ForwardOperator
from auditkit.operators.coils import load_coil_maps, synthetic_coil_maps
from auditkit.operators.ct import RadonCT
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.operators.mri import MRISingleCoil
from auditkit.operators.mri_multicoil import MRIMultiCoil


def build_operator(modality, *, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu") -> ForwardOperator:
    """The operator A for ``modality`` (a validated ``auditkit.manifest.models.Modality``).

    MRI and Hadamard operators keep their mask specification, so ``with_ratio`` gives nested
    masks of the same pattern and seed; CT uses ``n_angles`` equispaced angles in [0, π).
    """
    shape = tuple(modality.image_shape)
    s = modality.sampling
    mask_args = dict(
        pattern=s.pattern,
        shape=shape,
        ratio=s.ratio,
        center_fraction=s.center_fraction,
        seed=s.seed,
        mask_file=None if s.mask_file is None else str(s.mask_file),
        n_lines=s.n_lines,
    )
    if modality.kind == "ct_parallel":
        op: ForwardOperator = RadonCT(shape, s.n_angles, dtype=dtype)
    elif modality.kind == "mri_singlecoil":
        op = MRISingleCoil.from_pattern(**mask_args, dtype=dtype)
    elif modality.kind == "hadamard":
        op = HadamardSubsampled.from_pattern(**mask_args, dtype=dtype)
    elif modality.kind == "mri_multicoil":
        coils = modality.coils
        if coils.maps_file is not None:
            maps = load_coil_maps(coils.maps_file, coils.count, shape)
        else:
            maps = synthetic_coil_maps(coils.count, shape, seed=s.seed)
        op = MRIMultiCoil.from_pattern(**mask_args, maps=maps, dtype=dtype)
    else:  # the manifest's Literal makes this unreachable for validated input
        raise ValueError(f"modality.kind: unknown modality {modality.kind!r}")
    return op.to(device=device, dtype=dtype)
