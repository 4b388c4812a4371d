"""The forward-operator interface every modality implements, and checks on it.

Conventions:
- images are tensors of shape (B, H, W), real (CT) or complex (MRI) dtype;
- canonical measurements are tensors of shape (B, *measurement_shape): the
  sampled entries only (for MRI the vector of sampled k-space values, so that
  a perturbation of the measurements never touches unsampled frequencies);
- inner products are Re⟨a, b⟩ = Re Σ conj(a)·b, the real inner product for
  which the adjoint is defined (it coincides with the complex one's real part).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


def inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-item real inner product Re Σ conj(a)·b over all but the batch axis, shape (B,)."""
    prod = torch.conj(a) * b if a.is_complex() or b.is_complex() else a * b
    return prod.reshape(prod.shape[0], -1).sum(dim=1).real


def batch_norm2(a: torch.Tensor) -> torch.Tensor:
    """Per-item ℓ2 norm over all but the batch axis (complex modulus), shape (B,)."""
    return torch.linalg.vector_norm(a.reshape(a.shape[0], -1), dim=1)


def real_float_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 or float64 for a real or complex dtype of that precision (ValueError otherwise)."""
    real = dtype.to_real() if dtype.is_complex else dtype
    if real not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: must be float32/float64 (or complex64/complex128), got {dtype}")
    return real


class ForwardOperator(ABC):
    """A linear measurement map A: images (B, H, W) → measurements (B, *measurement_shape).

    The base holds what every operator has (shapes, precision, device, the CT angle counts);
    subclasses hold their sampling pattern as tensors, implement the maps and are moved with ``to``.
    """

    #: True when images and measurements are complex (MRI), False when real (CT, Hadamard).
    is_complex: bool
    #: True when A A* = I exactly, so A* = A† and P_N = I − A*A is an orthogonal projector.
    has_orthonormal_rows: bool = False
    #: True when measurements are entries of a full (…, H, W) grid that ``embed`` zero-fills (k-space).
    has_grid: bool = False
    #: the manifest's ``modality.kind`` the operator implements, None for an operator of no known modality.
    modality: str | None = None

    def __init__(
        self,
        image_shape: tuple[int, int],
        measurement_shape: tuple[int, ...],
        *,
        dtype: torch.dtype,
        device: torch.device | str = "cpu",
        n_angles: int | None = None,
        n_full: int | None = None,
    ) -> None:
        #: (H, W) of the images the operator acts on.
        self.image_shape: tuple[int, int] = (int(image_shape[0]), int(image_shape[1]))
        #: shape of one item's canonical measurements (without the batch axis).
        self.measurement_shape: tuple[int, ...] = tuple(int(s) for s in measurement_shape)
        #: the real floating dtype of images and measurements (float32 or float64; complex follows).
        self.real_dtype: torch.dtype = real_float_dtype(dtype)
        #: where the operator's tensors live; inputs must be there.
        self.device: torch.device = torch.device(device)
        #: CT: the number of projection angles taken; None for every other modality.
        self.n_angles: int | None = n_angles
        #: CT: the reference angle count, sampling_ratio = n_angles / n_full; None otherwise.
        self.n_full: int | None = n_full

    # -- the map and its adjoint -------------------------------------------
    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y = A x."""

    @abstractmethod
    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """x = A* y, the exact adjoint: Re⟨A x, y⟩ = Re⟨x, A* y⟩."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    # -- reconstructions from measurements ----------------------------------
    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """A† y: the pseudo-inverse (A* when A A* = I; FBP for CT)."""
        if self.has_orthonormal_rows:
            return self.adjoint(y)
        raise NotImplementedError(f"{type(self).__name__} must define pinv")

    def normal(self, x: torch.Tensor) -> torch.Tensor:
        """A* A x."""
        return self.adjoint(self.forward(x))

    def null_project(self, x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
        """P_N x, the part of x that A does not see.

        Exact I − A*A when A A* = I; otherwise the Tikhonov form
        I − (A*A + αI)⁻¹ A*A (the inverse by conjugate gradients).
        """
        if self.has_orthonormal_rows:
            return x - self.normal(x)
        raise NotImplementedError(f"{type(self).__name__} must define null_project")

    # -- family and placement ----------------------------------------------
    @abstractmethod
    def with_ratio(self, ratio: float) -> "ForwardOperator":
        """The same operator at another sampling ratio (nested patterns: more samples ⊇ fewer).

        For CT the ratio is the number of angles divided by the operator's reference count.
        """

    def with_angles(self, n_angles: int) -> "ForwardOperator":
        """CT: the same geometry with ``n_angles`` projection angles; other modalities take no angles."""
        raise NotImplementedError(f"{type(self).__name__} takes no projection angles")

    @property
    def sampling_mask(self) -> torch.Tensor | None:
        """The (H, W) boolean mask of the measured grid entries for operators that sample one, else None."""
        return None

    @property
    @abstractmethod
    def sampling_ratio(self) -> float:
        """Fraction of the full measurement set actually taken (m / N for MRI)."""

    @abstractmethod
    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "ForwardOperator":
        """A copy on ``device`` with real dtype ``dtype`` (float32/float64; complex follows)."""

    @property
    def image_dtype(self) -> torch.dtype:
        """Dtype of images: complex counterpart of ``real_dtype`` when ``is_complex``."""
        rd = self.real_dtype
        if not self.is_complex:
            return rd
        return torch.complex128 if rd == torch.float64 else torch.complex64

    @property
    def norm_squared(self) -> float | None:
        """‖A‖₂² when the operator knows it without a power iteration (e.g. cached for CT), else None."""
        return None

    def embed(self, y: torch.Tensor) -> torch.Tensor:
        """P_Ω* y: measurements placed on their zero-filled (…, H, W) grid, for operators with ``has_grid``."""
        raise NotImplementedError(f"{type(self).__name__} measures no grid to embed into")


def power_norm(op: ForwardOperator, iters: int = 100, batch: int = 1, seed: int = 0) -> float:
    """‖A‖₂ by power iteration on A*A: σ_max² = lim ‖A*A v‖ / ‖v‖."""
    g = torch.Generator().manual_seed(seed)
    v = torch.randn((batch, *op.image_shape), generator=g, dtype=op.real_dtype)
    v = v.to(op.image_dtype)
    v = v.to(op.device)
    sigma2 = torch.zeros(batch, dtype=op.real_dtype)
    for _ in range(iters):
        v = v / batch_norm2(v).reshape(-1, 1, 1)
        w = op.normal(v)
        sigma2 = batch_norm2(w)
        v = w
    return float(sigma2.max().sqrt())


def adjoint_mismatch(op: ForwardOperator, batch: int = 2, seed: int = 0) -> float:
    """Relative |⟨Ax, y⟩ − ⟨x, A*y⟩| / (‖Ax‖‖y‖) for random x, y (0 for an exact adjoint)."""
    g = torch.Generator().manual_seed(seed)
    dt = op.real_dtype

    def rand(shape: tuple[int, ...]) -> torch.Tensor:
        r = torch.randn(shape, generator=g, dtype=dt)
        if op.is_complex:
            r = torch.complex(r, torch.randn(shape, generator=g, dtype=dt))
        return r.to(op.device)

    x = rand((batch, *op.image_shape))
    y = rand((batch, *op.measurement_shape))
    ax = op.forward(x)
    lhs = inner(ax, y)
    rhs = inner(x, op.adjoint(y))
    scale = batch_norm2(ax) * batch_norm2(y)
    return float(((lhs - rhs).abs() / scale).max())
