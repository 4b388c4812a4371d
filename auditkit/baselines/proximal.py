"""Proximal maps and projections shared by the sparse-regularisation solvers.

All are written with ordinary, autograd-safe torch ops (no division by an exact
zero, no NaN gradients at the origin), because the baselines are unrolled and
differentiated.
"""

from __future__ import annotations

import torch

from auditkit.baselines.wavelets import OrthoWavelet2d, join_parts, split_parts


def _safe_modulus(c: torch.Tensor) -> torch.Tensor:
    """|c| clamped away from 0 so that τ/|c| and its gradient stay finite."""
    return c.abs().clamp_min(torch.finfo(c.real.dtype).tiny ** 0.5)


def soft_threshold(c: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """prox of τ‖·‖₁: shrink the (complex) modulus, keep the phase.

    soft(c, τ) = c · max(0, 1 − τ/|c|), i.e. sign(c)·max(|c| − τ, 0) for real c
    and (c/|c|)·max(|c| − τ, 0) for complex c.
    """
    if not c.is_complex():
        if isinstance(tau, torch.Tensor):
            return c.sign() * torch.relu(c.abs() - tau)
        return torch.nn.functional.softshrink(c, float(tau)) if tau > 0 else c
    return c * torch.relu(1.0 - tau / _safe_modulus(c))


def soft_threshold_parts(parts: torch.Tensor, tau: float) -> torch.Tensor:
    """``soft_threshold`` of complex numbers stored as real parts (2B, ...): first B real, last B imaginary.

    Same map as for complex c (shrink the modulus by τ), computed with real arithmetic only:
    scale = max(0, 1 − τ/√(re² + im²)), applied to both parts. Faster than complex ``abs``.
    """
    n = parts.shape[0] // 2
    re, im = parts[:n], parts[n:]
    mod_sq = torch.clamp(re * re + im * im, min=torch.finfo(parts.dtype).tiny ** 0.5)
    scale = torch.relu(1.0 - tau * torch.rsqrt(mod_sq))
    return parts * scale.repeat((2,) + (1,) * (parts.dim() - 1))


def project_pixel_vectors(q: torch.Tensor, radius: float) -> torch.Tensor:
    """Project each pixel's vector q[:, :, i, j] (axis 1 holds its components) onto the ball of ``radius``.

    The dual step of isotropic TV: q ↦ q / max(1, ‖q_ij‖₂ / radius).
    """
    if radius <= 0:
        return torch.zeros_like(q)
    sq = (q.real**2 + q.imag**2) if q.is_complex() else q**2
    scale = torch.sqrt(torch.clamp(sq.sum(dim=1, keepdim=True) / radius**2, min=1.0))
    return q / scale


def project_item_ball(p: torch.Tensor, radius: float = 1.0) -> torch.Tensor:
    """Project each batch item p[b] onto the ℓ2 ball of ``radius`` (prox of the conjugate of ‖·‖₂)."""
    flat = torch.view_as_real(p).reshape(p.shape[0], -1) if p.is_complex() else p.reshape(p.shape[0], -1)
    scale = torch.sqrt(torch.clamp((flat**2).sum(dim=1) / radius**2, min=1.0))
    return p / scale.reshape((-1,) + (1,) * (p.dim() - 1))


def wavelet_soft_threshold(wavelet: OrthoWavelet2d, z: torch.Tensor, tau: float) -> torch.Tensor:
    """prox of τ‖W·‖₁ for an orthogonal W: W* soft(Wz, τ) (exact because W*W = WW* = I).

    Complex images go through the wavelet as one real stack of parts, so no complex ``abs`` is needed.
    """
    if z.is_complex():
        return join_parts(wavelet.synthesis(soft_threshold_parts(wavelet.analysis(split_parts(z)), tau)))
    return wavelet.synthesis(soft_threshold(wavelet.analysis(z), tau))
