"""Operators that measure a mask's entries of an orthonormal 2-D transform: A = P_Ω T.

P_Ω keeps the entries where the (H, W) mask is True, in row-major (C) order of the mask, so the
canonical measurements of one item form a vector of length m = |Ω|. With T orthonormal,
A A* = P_Ω T T* P_Ω* = I exactly, hence A* = A† and P_N = I − A*A is an orthogonal projector.
Single-coil MRI (T = centred DFT) and Walsh–Hadamard sampling (T = sequency-ordered WHT) share
this class; the multi-coil operator reuses its mask handling.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import torch

from auditkit.operators.base import ForwardOperator
from auditkit.operators.masks import DEFAULT_CENTER_FRACTION, MaskSpec, as_mask


class SubsampledTransform(ForwardOperator):
    """A = P_Ω T for an orthonormal transform T of (H, W) grids; subclasses supply T and T*."""

    has_orthonormal_rows = True
    has_grid = True

    def __init__(
        self,
        mask: torch.Tensor | np.ndarray,
        *,
        pattern_spec: MaskSpec | None = None,
        dtype: torch.dtype = torch.float32,
        leading_axes: tuple[int, ...] = (),
    ):
        """Measurements are (*leading_axes, m) per item: (m,) for one transform, (C, m) for C coils."""
        mask = as_mask(mask)
        if pattern_spec is not None and tuple(pattern_spec.shape) != tuple(mask.shape):
            raise ValueError(f"pattern_spec: shape {pattern_spec.shape} differs from the mask's {tuple(mask.shape)}")
        self.mask = mask
        self.pattern_spec = pattern_spec
        self._index = torch.nonzero(mask.reshape(-1)).reshape(-1)
        super().__init__(
            (int(mask.shape[0]), int(mask.shape[1])),
            (*leading_axes, int(self._index.numel())),
            dtype=dtype,
            device=mask.device,
        )

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pattern(
        cls,
        pattern: str,
        shape: tuple[int, int],
        ratio: float | None = None,
        center_fraction: float = DEFAULT_CENTER_FRACTION,
        seed: int = 0,
        mask_file: str | Path | None = None,
        n_lines: int | None = None,
        **kwargs: Any,
    ) -> "SubsampledTransform":
        """The operator for a generated mask; it keeps the spec so ``with_ratio`` can regenerate it."""
        spec = MaskSpec(
            pattern=pattern,
            shape=(int(shape[0]), int(shape[1])),
            ratio=None if ratio is None else float(ratio),
            center_fraction=float(center_fraction),
            seed=seed,
            mask_file=None if mask_file is None else str(mask_file),
            n_lines=n_lines,
        )
        return cls(spec.build(), pattern_spec=spec, **kwargs)

    def _rebuild(self, mask: torch.Tensor, spec: MaskSpec | None, dtype: torch.dtype) -> "SubsampledTransform":
        """A new operator of this type with another mask/spec/dtype; subclasses add their state."""
        return type(self)(mask, pattern_spec=spec, dtype=dtype)

    @property
    def sampling_mask(self) -> torch.Tensor:
        """The (H, W) boolean mask of the measured entries."""
        return self.mask

    def with_ratio(self, ratio: float) -> "SubsampledTransform":
        """The same pattern and seed at ``ratio``: the new mask contains or is contained in this one."""
        if self.pattern_spec is None:
            raise ValueError("ratio: this operator was built from an explicit mask; build it with from_pattern to change the ratio")
        spec = self.pattern_spec.with_ratio(ratio)
        return self._rebuild(spec.build().to(self.device), spec, self.real_dtype)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "SubsampledTransform":
        """A copy on ``device`` with real dtype ``dtype`` (complex dtypes name their precision)."""
        mask = self.mask if device is None else self.mask.to(device)
        return self._rebuild(mask, self.pattern_spec, self.real_dtype if dtype is None else dtype)

    # -- properties -----------------------------------------------------------------------------
    @property
    def sampling_ratio(self) -> float:
        """m / (H·W)."""
        return int(self._index.numel()) / (self.image_shape[0] * self.image_shape[1])

    # -- P_Ω and its adjoint --------------------------------------------------------------------
    def extract(self, grid: torch.Tensor) -> torch.Tensor:
        """P_Ω: the sampled entries of (..., H, W) grids as (..., m) vectors (row-major order)."""
        if tuple(grid.shape[-2:]) != self.image_shape:
            raise ValueError(f"grid: last two axes must be {self.image_shape}, got {tuple(grid.shape)}")
        flat = grid.reshape(*grid.shape[:-2], -1)
        return flat.index_select(-1, self._index)

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        """P_Ω*: (..., m) vectors placed on zero (..., H, W) grids (zero-filling)."""
        m = int(self._index.numel())
        if values.shape[-1:] != (m,):
            raise ValueError(f"values: last axis must have the {m} sampled entries, got {tuple(values.shape)}")
        flat = values.new_zeros(*values.shape[:-1], self.image_shape[0] * self.image_shape[1])
        return flat.index_copy(-1, self._index, values).reshape(*values.shape[:-1], *self.image_shape)

    # -- the transform --------------------------------------------------------------------------
    @abstractmethod
    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """T x on the last two axes of (..., H, W): the full orthonormal transform."""

    @abstractmethod
    def inverse_transform(self, coefficients: torch.Tensor) -> torch.Tensor:
        """T* c = T⁻¹ c on the last two axes of (..., H, W)."""

    def as_image(self, x: torch.Tensor) -> torch.Tensor:
        """x checked to be (B, H, W) and cast to the operator's image dtype."""
        if x.ndim != 3 or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x: images must have shape (B, {self.image_shape[0]}, {self.image_shape[1]}), got {tuple(x.shape)}")
        if x.is_complex() and not self.is_complex:
            raise ValueError(f"x: {type(self).__name__} takes real images, got {x.dtype}")
        return x.to(self.image_dtype)

    def as_measurements(self, y: torch.Tensor) -> torch.Tensor:
        """y checked to be (B, *measurement_shape) and cast to the measurement dtype."""
        if y.ndim != 1 + len(self.measurement_shape) or tuple(y.shape[1:]) != tuple(self.measurement_shape):
            raise ValueError(f"y: measurements must have shape (B, {', '.join(map(str, self.measurement_shape))}), got {tuple(y.shape)}")
        if y.is_complex() and not self.is_complex:
            raise ValueError(f"y: {type(self).__name__} takes real measurements, got {y.dtype}")
        return y.to(self.image_dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """y = P_Ω T x, shape (B, m)."""
        return self.extract(self.transform(self.as_image(x)))

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """A* y = T* P_Ω* y, shape (B, H, W)."""
        return self.inverse_transform(self.embed(self.as_measurements(y)))

    def __repr__(self) -> str:
        spec = self.pattern_spec.pattern if self.pattern_spec else "explicit mask"
        return f"{type(self).__name__}({spec}, shape={self.image_shape}, ratio={self.sampling_ratio:.4f}, dtype={self.real_dtype}, device={self.device})"
