import pytest
import torch

from auditkit.manifest.models import Modality
from auditkit.operators.base import adjoint_mismatch
from auditkit.operators.ct import RadonCT
from auditkit.operators.factory import build_operator
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.operators.mri import MRISingleCoil
from auditkit.operators.mri_multicoil import MRIMultiCoil

CASES = [
    ({"kind": "mri_singlecoil", "image_shape": [32, 32], "sampling": {"pattern": "cartesian_random", "ratio": 0.33}}, MRISingleCoil),
    ({"kind": "hadamard", "image_shape": [32, 32], "sampling": {"pattern": "variable_density", "ratio": 0.25}}, HadamardSubsampled),
    ({"kind": "ct_parallel", "image_shape": [32, 32], "sampling": {"pattern": "equispaced_angles", "n_angles": 20}}, RadonCT),
    (
        {
            "kind": "mri_multicoil",
            "image_shape": [32, 32],
            "sampling": {"pattern": "cartesian_equispaced", "ratio": 0.25},
            "coils": {"count": 4, "synthetic": True},
        },
        MRIMultiCoil,
    ),
]


@pytest.mark.parametrize("spec,cls", CASES, ids=[c[0]["kind"] for c in CASES])
def test_build_operator_for_each_kind(spec, cls):
    op = build_operator(Modality.model_validate(spec), dtype=torch.float64)
    assert isinstance(op, cls)
    assert op.image_shape == (32, 32)
    assert op.real_dtype == torch.float64
    assert adjoint_mismatch(op) < 1e-10
    if spec["kind"] != "ct_parallel":
        assert abs(op.sampling_ratio - spec["sampling"]["ratio"]) <= 1 / 32
    else:
        assert op.n_angles == 20
