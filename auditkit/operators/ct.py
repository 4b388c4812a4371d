"""The CT forward operator: a 2-D parallel-beam Radon transform with FBP and a kernel projector.

A is the sparse system matrix of ``radon_matrix`` (a footprint projector: each pixel a unit
square, in the geometry of ``skimage.transform.radon(circle=False)``); A* is its exact transpose.
Images are real (B, H, W); measurements are sinograms (B, n_angles, det_count) over the angles
θ_k = kπ/n_angles, k = 0…n_angles−1.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from auditkit.operators.base import ForwardOperator
from auditkit.operators.cg import cg
from auditkit.operators.radon_matrix import (
    RadonGeometry,
    canonical_device,
    default_det_count,
    radon_matrices,
    radon_norm_squared,
)

FILTERS = ("ramp", "hann")


def nyquist_angle_count(image_shape: tuple[int, int]) -> int:
    """⌈π/2 · max(H, W)⌉: the angle count that samples a max(H, W)-wide image at the angular Nyquist rate."""
    return math.ceil(math.pi / 2.0 * max(image_shape))


def fbp_padded_size(det_count: int) -> int:
    """Length of the zero-padded projection the filter is applied to: the next power of two
    ≥ 2·det_count (at least 64), as ``skimage.transform.iradon``, so the circular convolution
    does not wrap around."""
    return max(64, 1 << math.ceil(math.log2(2 * det_count)))


def fbp_filter_response(padded_size: int, name: str) -> np.ndarray:
    """Frequency response of the FBP filter on the ``rfft`` bins 0…P/2 of a length-P projection.

    Ramp (Ram-Lak): the DFT of the sampled kernel of the band-limited ramp, h[0] = 1/4,
    h[m] = −1/(πm)² for odd m, 0 for even m ≠ 0 (m the circular offset); unlike sampling |ω|
    directly it has no DC bias. Hann: the ramp times 0.5·(1 + cos(2πk/P)), zero at Nyquist.
    """
    if name not in FILTERS:
        raise ValueError(f"filter must be one of {FILTERS}, got {name!r}")
    m = np.arange(padded_size)
    m = np.minimum(m, padded_size - m)  # circular distance from the origin
    kernel = np.zeros(padded_size)
    kernel[0] = 0.25
    odd = m % 2 == 1
    kernel[odd] = -1.0 / (np.pi * m[odd]) ** 2
    response = 2.0 * np.fft.rfft(kernel).real
    if name == "hann":
        k = np.arange(response.size)
        response *= 0.5 * (1.0 + np.cos(2.0 * np.pi * k / padded_size))
    return response


class _SparseProduct(torch.autograd.Function):
    """y = M v for a constant sparse M, with the gradient Mᵀ g computed by the stored transpose.

    The backward pass calls this function again (with M and Mᵀ swapped), so higher-order
    gradients work too.
    """

    @staticmethod
    def forward(ctx, matrix: torch.Tensor, matrix_t: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.matrices = (matrix, matrix_t)
        return torch.sparse.mm(matrix, columns.contiguous())

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:  # type: ignore[override]
        matrix, matrix_t = ctx.matrices
        return None, None, _SparseProduct.apply(matrix_t, matrix, grad)


class RadonCT(ForwardOperator):
    """2-D parallel-beam CT: A x = sinogram over ``n_angles`` equispaced angles in [0, π).

    ``det_count`` defaults to ⌈√2·max(H, W)⌉ (the image diagonal, unit bin spacing = pixel size,
    centre bin det_count//2); ``n_full`` (default ⌈π/2·max(H, W)⌉, the angular Nyquist count) is
    the reference for ``sampling_ratio`` = n_angles / n_full and for ``with_ratio``.
    ``filter`` ('ramp' or 'hann') is the FBP filter used by ``pinv``.
    """

    is_complex = False
    has_orthonormal_rows = False
    modality = "ct_parallel"
    #: always set for CT (the base's None is for the other modalities)
    n_angles: int
    n_full: int

    def __init__(
        self,
        image_shape: tuple[int, int],
        n_angles: int,
        *,
        filter: str = "ramp",
        det_count: int | None = None,
        n_full: int | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 2:
            raise ValueError(f"image_shape must be (H, W), got {image_shape!r}")
        if filter not in FILTERS:
            raise ValueError(f"filter must be one of {FILTERS}, got {filter!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        det = default_det_count(shape) if det_count is None else int(det_count)
        full = nyquist_angle_count(shape) if n_full is None else int(n_full)
        if full < 1:
            raise ValueError(f"n_full must be ≥ 1, got {n_full}")
        self.geometry = RadonGeometry(image_shape=shape, n_angles=int(n_angles), det_count=det)  # type: ignore[arg-type]
        super().__init__(
            self.geometry.image_shape,
            (self.geometry.n_angles, det),
            dtype=dtype,
            device=canonical_device(device),
            n_angles=self.geometry.n_angles,
            n_full=full,
        )
        self.det_count = det
        self.filter = filter
        self._matrix, self._matrix_t = radon_matrices(self.geometry, dtype, self.device)
        self._padded = fbp_padded_size(det)
        self._response = torch.from_numpy(fbp_filter_response(self._padded, filter)).to(
            dtype=dtype, device=self.device
        )

    def __repr__(self) -> str:
        return (
            f"RadonCT(image_shape={self.image_shape}, n_angles={self.n_angles}, "
            f"filter={self.filter!r}, det_count={self.det_count}, n_full={self.n_full}, "
            f"dtype={self.real_dtype}, device={self.device})"
        )

    # -- geometry ------------------------------------------------------------
    @property
    def angles(self) -> torch.Tensor:
        """Projection angles θ_k = kπ/n_angles in radians, float64 on the CPU."""
        return torch.from_numpy(self.geometry.angles)

    @property
    def norm_squared(self) -> float:
        """‖A‖₂² (power iteration in float64, cached per geometry): the scale of A*A."""
        return radon_norm_squared(self.geometry)

    # -- the map and its adjoint -------------------------------------------
    def _check(self, t: torch.Tensor, shape: tuple[int, ...], name: str) -> None:
        """Reject inputs of the wrong shape, dtype or device with a one-line message."""
        if t.dim() != 3 or tuple(t.shape[1:]) != shape:
            raise ValueError(f"{name} must have shape (B, {', '.join(map(str, shape))}), got {tuple(t.shape)}")
        if t.dtype != self.real_dtype:
            raise ValueError(f"{name} has dtype {t.dtype} but the operator uses {self.real_dtype}; convert one of them")
        if t.device != self.device:
            raise ValueError(f"{name} is on {t.device} but the operator is on {self.device}; move one of them")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sinogram A x, shape (B, n_angles, det_count); differentiable in x."""
        self._check(x, self.image_shape, "x")
        cols = x.reshape(x.shape[0], -1).transpose(0, 1)
        out = _SparseProduct.apply(self._matrix, self._matrix_t, cols)
        return out.transpose(0, 1).reshape(x.shape[0], *self.measurement_shape)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Back-projection A* y = Aᵀ y (the exact transpose), shape (B, H, W); differentiable in y."""
        self._check(y, self.measurement_shape, "y")
        cols = y.reshape(y.shape[0], -1).transpose(0, 1)
        out = _SparseProduct.apply(self._matrix_t, self._matrix, cols)
        return out.transpose(0, 1).reshape(y.shape[0], *self.image_shape)

    # -- reconstructions from measurements ----------------------------------
    def filter_projections(self, y: torch.Tensor) -> torch.Tensor:
        """Each projection convolved with the FBP filter: zero-pad to P bins, multiply in the
        Fourier domain, crop back to det_count bins."""
        self._check(y, self.measurement_shape, "y")
        spectrum = torch.fft.rfft(y, n=self._padded, dim=-1) * self._response
        return torch.fft.irfft(spectrum, n=self._padded, dim=-1)[..., : self.det_count]

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """Filtered back-projection A† y = π/(2·n_angles) · A* (h ∗ y), h the ``filter`` kernel.

        The constant is the angular quadrature weight (π/n_angles for ∫₀^π dθ) times ½ from the
        discrete ramp's normalisation; it equals ``skimage.transform.iradon(circle=False)``.
        """
        return self.adjoint(self.filter_projections(y)) * (math.pi / (2 * self.n_angles))

    def null_project(
        self, x: torch.Tensor, alpha: float = 0.01, iters: int | None = None, tol: float | None = None
    ) -> torch.Tensor:
        """Tikhonov kernel projector P_N x = (I − (A*A + βI)⁻¹A*A) x with β = α·‖A‖₂².

        α is relative to ‖A‖₂²: a singular mode of A with σ² = s·σ_max² is kept with weight
        α/(s + α), so modes weaker than about α·σ_max² count as unseen, and the CG system has
        condition number ≤ 1 + 1/α at any image size or angle count. Computed through the
        equivalent form P_N x = β (A*A + βI)⁻¹ x by conjugate gradients to the relative residual
        ``tol`` (default 1e-6 in float32, 1e-10 in float64), which bounds the error of P_N x by
        tol·‖x‖; ``iters`` defaults to the CG bound ⌈½·√(1 + 1/α)·ln(2/tol)⌉ + 10.
        """
        if not alpha > 0 or not math.isfinite(alpha):
            raise ValueError(f"alpha must be a positive number, got {alpha}")
        self._check(x, self.image_shape, "x")
        if tol is None:
            tol = 1e-6 if self.real_dtype == torch.float32 else 1e-10
        if iters is None:
            iters = math.ceil(0.5 * math.sqrt(1.0 + 1.0 / alpha) * math.log(2.0 / tol)) + 10
        beta = alpha * self.norm_squared
        z = cg(lambda v: self.normal(v) + beta * v, x, iters=iters, tol=tol)
        return beta * z

    # -- family and placement ----------------------------------------------
    def with_angles(self, n_angles: int) -> "RadonCT":
        """The same geometry, filter, dtype and device with ``n_angles`` equispaced angles."""
        return RadonCT(
            self.image_shape,
            n_angles,
            filter=self.filter,
            det_count=self.det_count,
            n_full=self.n_full,
            dtype=self.real_dtype,
            device=self.device,
        )

    def with_ratio(self, ratio: float) -> "RadonCT":
        """The same geometry with n_angles = max(1, round(ratio · n_full)) (halves round up).

        Equispaced angle sets are nested only when one count divides the other.
        """
        if not ratio > 0 or not math.isfinite(ratio):
            raise ValueError(f"ratio must be a positive number, got {ratio}")
        return self.with_angles(max(1, math.floor(ratio * self.n_full + 0.5)))

    @property
    def sampling_ratio(self) -> float:
        """n_angles / n_full."""
        return self.n_angles / self.n_full

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "RadonCT":
        """A copy on ``device`` (default: the current one) with dtype float32 or float64."""
        return RadonCT(
            self.image_shape,
            self.n_angles,
            filter=self.filter,
            det_count=self.det_count,
            n_full=self.n_full,
            dtype=self.real_dtype if dtype is None else dtype,
            device=self.device if device is None else device,
        )
