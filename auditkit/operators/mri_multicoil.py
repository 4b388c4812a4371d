"""Multi-coil MRI: A = [P_Ω F S_1; …; P_Ω F S_c], measurements (B, C, m) complex.

With Σ_j |S_j|² = 1, A*A = Σ_j S_j* F* P_Ω F S_j has eigenvalues in [0, 1]: ⟨x, A*A x⟩ =
Σ_j ‖P_Ω F S_j x‖² ≤ Σ_j ‖S_j x‖² = ‖x‖², so ‖A‖ ≤ 1 (= 1 and A*A = I when fully sampled).
A A* ≠ I in general, so:
- ``pinv`` solves the normal equations A*A x = A*y by conjugate gradients from x = 0; CG from
  zero stays in range(A*), so it approaches the minimum-norm least-squares solution A†y (with a
  finite number of iterations it is a regularised approximation of it; each iteration costs
  one A*A, i.e. 2C FFTs);
- ``null_project`` is the Tikhonov form P_N x = x − (A*A + αI)⁻¹A*A x = α (A*A + αI)⁻¹ x,
  one CG solve of a system with condition number ≤ (1 + α)/α.
With one coil (|S_1| = 1) the rows are orthonormal and both are exact (A† = A*, P_N = I − A*A).
"""

from __future__ import annotations

import numpy as np
import torch

from auditkit.operators.cg import cg
from auditkit.operators.masks import MaskSpec, as_mask
from auditkit.operators.mri import centring_phases, fft2c, ifft2c
from auditkit.operators.subsampled import SubsampledTransform

#: Largest deviation of Σ|S_j|² from 1 accepted for the maps (use ``coils.normalise_coil_maps``).
MAPS_TOLERANCE = 1e-4


class MRIMultiCoil(SubsampledTransform):
    """A = [P_Ω F S_j]_j for one mask Ω shared by all coils and normalised maps (C, H, W)."""

    is_complex = True
    modality = "mri_multicoil"

    def __init__(
        self,
        mask: torch.Tensor | np.ndarray,
        maps: torch.Tensor | np.ndarray,
        *,
        pattern_spec: MaskSpec | None = None,
        dtype: torch.dtype = torch.float32,
        cg_iters: int = 100,
        cg_tol: float = 1e-7,
    ):
        mask = as_mask(mask)
        maps = torch.as_tensor(maps)
        if maps.ndim != 3 or tuple(maps.shape[1:]) != tuple(mask.shape):
            raise ValueError(f"maps: must have shape (C, {mask.shape[0]}, {mask.shape[1]}), got {tuple(maps.shape)}")
        super().__init__(mask, pattern_spec=pattern_spec, dtype=dtype, leading_axes=(int(maps.shape[0]),))
        deviation = float(((maps.abs() ** 2).sum(dim=0) - 1).abs().max())
        if deviation > MAPS_TOLERANCE:
            raise ValueError(f"maps: Σ|S_j|² must be 1 at every pixel (off by up to {deviation:.3g}); normalise them with coils.normalise_coil_maps")
        self._given_maps = maps  # kept at their own precision, so to(float64) after to(float32) loses nothing
        self.maps = maps.to(device=self.device, dtype=self.image_dtype)
        pre, post = centring_phases(self.image_shape, self.image_dtype)
        self._weighted_maps = pre.to(self.device) * self.maps  # the centring phase folded into S_j
        self._post = self.extract(post.to(self.device))
        self.coil_count = int(maps.shape[0])
        self.has_orthonormal_rows = self.coil_count == 1
        self.cg_iters = int(cg_iters)
        self.cg_tol = float(cg_tol)

    def _rebuild(self, mask: torch.Tensor, spec: MaskSpec | None, dtype: torch.dtype) -> "MRIMultiCoil":
        return type(self)(
            mask,
            self._given_maps.to(mask.device),
            pattern_spec=spec,
            dtype=dtype,
            cg_iters=self.cg_iters,
            cg_tol=self.cg_tol,
        )

    def with_maps(self, maps: torch.Tensor | np.ndarray) -> "MRIMultiCoil":
        """The same mask, pattern and precision with other normalised maps (C', H, W) (one slice's own)."""
        return type(self)(
            self.mask, torch.as_tensor(maps).to(self.mask.device), pattern_spec=self.pattern_spec,
            dtype=self.real_dtype, cg_iters=self.cg_iters, cg_tol=self.cg_tol,
        )

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """The per-coil k-space transform F (centred orthonormal DFT)."""
        return fft2c(x)

    def inverse_transform(self, coefficients: torch.Tensor) -> torch.Tensor:
        return ifft2c(coefficients)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y_j = P_Ω F (S_j x), shape (B, C, m) (F = D_post F_0 D_pre as in ``mri.centring_phases``)."""
        coil_images = self._weighted_maps.unsqueeze(0) * self.as_image(x).unsqueeze(1)
        return self._post * self.extract(torch.fft.fft2(coil_images, norm="ortho"))

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """A* y = Σ_j S_j* F* P_Ω* y_j, shape (B, H, W)."""
        grid = self.embed(torch.conj(self._post) * self.as_measurements(y))
        coil_images = torch.fft.ifft2(grid, norm="ortho")
        return (torch.conj(self._weighted_maps).unsqueeze(0) * coil_images).sum(dim=1)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """A† y ≈ CG on A*A x = A*y from x = 0 (``cg_iters`` iterations at most, ``cg_tol``)."""
        if self.has_orthonormal_rows:
            return self.adjoint(y)
        return cg(self.normal, self.adjoint(y), iters=self.cg_iters, tol=self.cg_tol)

    def null_project(self, x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
        """P_N x = α (A*A + αI)⁻¹ x (Tikhonov form; exact I − A*A with one coil)."""
        if self.has_orthonormal_rows:
            return super().null_project(x, alpha)
        if alpha <= 0:
            raise ValueError(f"alpha: must be positive, got {alpha}")
        x = self.as_image(x)
        solution = cg(lambda v: self.normal(v) + alpha * v, x, iters=self.cg_iters, tol=self.cg_tol)
        return alpha * solution

    def kspace(self, x: torch.Tensor) -> torch.Tensor:
        """Masked full k-space of every coil, shape (B, C, H, W), zero where not sampled."""
        return self.embed(self.forward(x))
