"""Forward operators A with exact adjoints, pseudo-inverses and null-space projectors."""

from auditkit.operators.base import ForwardOperator, adjoint_mismatch, inner, power_norm

__all__ = ["ForwardOperator", "adjoint_mismatch", "inner", "power_norm"]
