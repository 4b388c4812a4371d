"""Forward operators A with exact adjoints, pseudo-inverses and null-space projectors."""

from auditkit.operators.base import ForwardOperator, adjoint_mismatch, batch_norm2, inner, power_norm
from auditkit.operators.ct import RadonCT
from auditkit.operators.factory import build_operator
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.operators.mri import MRISingleCoil
from auditkit.operators.mri_multicoil import MRIMultiCoil

__all__ = [
    "ForwardOperator",
    "HadamardSubsampled",
    "MRIMultiCoil",
    "MRISingleCoil",
    "RadonCT",
    "adjoint_mismatch",
    "batch_norm2",
    "build_operator",
    "inner",
    "power_norm",
]
