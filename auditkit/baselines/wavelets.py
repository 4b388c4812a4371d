"""Orthogonal 2-D multilevel Daubechies wavelet transform W, batched, in torch.

W maps an image (B, H, W) to a coefficient image of the same shape in the
usual Mallat layout (coarsest approximation top-left, then the detail bands of
each level). Each level applies a 1-D analysis matrix along rows and one along
columns to the current approximation block: C = A_h · X · A_wᵀ. Every A is
exactly orthogonal, so W*W = WW* = I and ‖Wx‖ = ‖x‖ to rounding. How A treats
the image's edges (``boundary``):

- ``"periodization"`` (the default): the periodic wavelet basis (PyWavelets'
  mode of that name), A's rows the filters wrapped around the block. The image
  is treated as one period of a periodic signal, as the discrete Fourier
  transform of the MRI operators treats it, so the edges are not special: no
  basis function is cut at the border, and a perturbation at the border costs
  the ℓ1 prior what it costs anywhere else;
- ``"qr"`` / ``"gramschmidt"``: ptwt's boundary-wavelet matrices, whose rows
  near the edges are orthogonalised boundary filters. Their boundary functions
  differ from the interior ones, and the baseline's worst-case changes gathered
  in the outer frame: on the mri_unet sample 64–74 % of their energy lay in the
  8-pixel frame (23 % of the area), an artefact of the transform, not of the
  problem (``bench/bench_baseline_border.py``).

(ptwt's convolution route with periodization is not available in the installed
ptwt, hence the matrix route.) The matrices are built once in float64 and cached
per (shape, wavelet, levels, dtype, device, boundary); applying them densely
costs a few batched GEMMs per level. Complex images are transformed part by part
(W is real).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pywt
import torch
from ptwt.matmul_transform import construct_boundary_a

DEFAULT_WAVELET = "db4"
DEFAULT_LEVELS = 4
#: how the 1-D matrices treat the edges (see the module doc); the first is the default.
BOUNDARIES = ("periodization", "qr", "gramschmidt")
DEFAULT_BOUNDARY = BOUNDARIES[0]


def _filter_length(wavelet: str) -> int:
    """Length of the wavelet's decomposition filters; rejects non-orthogonal wavelets."""
    try:
        wav = pywt.Wavelet(wavelet)
    except ValueError as exc:
        raise ValueError(f"wavelet: unknown discrete wavelet {wavelet!r}") from exc
    if not wav.orthogonal:
        raise ValueError(f"wavelet: {wavelet!r} is not orthogonal (use e.g. 'haar', 'db2', 'db4', 'sym8')")
    return wav.dec_len


def max_levels(shape: tuple[int, int], wavelet: str = DEFAULT_WAVELET) -> int:
    """Largest number of levels such that every level's block is even-sized and ≥ the filter length."""
    filt = _filter_length(wavelet)
    h, w = shape
    levels = 0
    while h >= filt and w >= filt and h % 2 == 0 and w % 2 == 0:
        levels += 1
        h, w = h // 2, w // 2
    return levels


def analysis_matrix(wavelet: str, n: int, boundary: str = DEFAULT_BOUNDARY) -> torch.Tensor:
    """The orthogonal (n, n) float64 matrix of one level of the 1-D DWT: approximation rows, then detail rows."""
    if boundary == "periodization":
        basis = np.eye(n)
        columns = [np.concatenate(pywt.dwt(basis[k], wavelet, mode="periodization")) for k in range(n)]
        return torch.from_numpy(np.stack(columns, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ptwt's sparse-tensor beta notices
        return construct_boundary_a(wavelet, n, orthogonalization=boundary, dtype=torch.float64).to_dense()


def split_parts(z: torch.Tensor) -> torch.Tensor:
    """Complex (B, ...) → real (2B, ...): the real parts of the batch, then the imaginary parts."""
    return torch.cat([z.real, z.imag], dim=0)


def join_parts(parts: torch.Tensor) -> torch.Tensor:
    """Inverse of ``split_parts``: real (2B, ...) → complex (B, ...)."""
    n = parts.shape[0] // 2
    return torch.complex(parts[:n], parts[n:])


class OrthoWavelet2d:
    """W: (B, H, W) → (B, H, W) orthogonal multilevel DWT; ``adjoint`` is its exact inverse."""

    def __init__(
        self,
        shape: tuple[int, int],
        wavelet: str = DEFAULT_WAVELET,
        levels: int = DEFAULT_LEVELS,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
        boundary: str = DEFAULT_BOUNDARY,
    ):
        shape = (int(shape[0]), int(shape[1]))
        if boundary not in BOUNDARIES:
            raise ValueError(f"boundary: must be one of {BOUNDARIES}, got {boundary!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: wavelet matrices must be float32 or float64, got {dtype}")
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"levels: must be a positive integer, got {levels!r}")
        feasible = max_levels(shape, wavelet)
        if levels > feasible:
            raise ValueError(
                f"levels: {levels} levels of {wavelet} do not fit an image of shape {shape} "
                f"(at most {feasible}: each level needs an even block at least the filter length)"
            )
        self.shape = shape
        self.wavelet = wavelet
        self.levels = levels
        self.dtype = dtype
        self.device = torch.device(device)
        # per level: input block size (h, w) and the 1-D analysis matrices A_h, A_wᵀ
        self._sizes: list[tuple[int, int]] = []
        self._rows: list[torch.Tensor] = []
        self._cols_t: list[torch.Tensor] = []
        self.boundary = boundary
        h, w = shape
        for _ in range(levels):
            a_h, a_w = analysis_matrix(wavelet, h, boundary), analysis_matrix(wavelet, w, boundary)
            self._sizes.append((h, w))
            self._rows.append(a_h.to(device=self.device, dtype=dtype).contiguous())
            self._cols_t.append(a_w.T.to(device=self.device, dtype=dtype).contiguous())
            h, w = h // 2, w // 2

    def __repr__(self) -> str:
        return (f"OrthoWavelet2d(shape={self.shape}, wavelet={self.wavelet!r}, levels={self.levels}, "
                f"boundary={self.boundary!r}, dtype={self.dtype})")

    # -- real-valued core -------------------------------------------------
    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """W on a real (N, H, W) stack (complex images: real parts then imaginary parts)."""
        ll = x
        details: list[tuple[torch.Tensor, torch.Tensor]] = []
        for (h, w), a_h, a_wt in zip(self._sizes, self._rows, self._cols_t):
            t = torch.matmul(a_h, torch.matmul(ll, a_wt))
            top, bottom = t[..., : h // 2, :], t[..., h // 2 :, :]
            details.append((top[..., w // 2 :], bottom))
            ll = top[..., : w // 2]
        out = ll
        for top_right, bottom in reversed(details):
            out = torch.cat([torch.cat([out, top_right], dim=-1), bottom], dim=-2)
        return out

    def synthesis(self, c: torch.Tensor) -> torch.Tensor:
        """W* on a real (N, H, W) stack of coefficient images."""
        h_c, w_c = self._sizes[-1]
        ll = c[..., : h_c // 2, : w_c // 2]
        for (h, w), a_h, a_wt in zip(reversed(self._sizes), reversed(self._rows), reversed(self._cols_t)):
            t = torch.cat([torch.cat([ll, c[..., : h // 2, w // 2 : w]], dim=-1), c[..., h // 2 : h, :w]], dim=-2)
            ll = torch.matmul(torch.matmul(a_h.T, t), a_wt.T)
        return ll

    def _apply(self, x: torch.Tensor, real_map) -> torch.Tensor:
        if x.shape[-2:] != self.shape:
            raise ValueError(f"x: expected trailing shape {self.shape}, got {tuple(x.shape[-2:])}")
        if x.is_complex():
            return join_parts(real_map(split_parts(x)))
        return real_map(x)

    # -- public maps --------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """c = W x (real or complex (B, H, W) → same shape and dtype)."""
        return self._apply(x, self.analysis)

    def adjoint(self, c: torch.Tensor) -> torch.Tensor:
        """x = W* c = W⁻¹ c (W is orthogonal)."""
        return self._apply(c, self.synthesis)

    inverse = adjoint

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)


@functools.lru_cache(maxsize=32)
def _cached(shape: tuple[int, int], wavelet: str, levels: int, dtype: torch.dtype, device: str, boundary: str) -> OrthoWavelet2d:
    return OrthoWavelet2d(shape, wavelet, levels, dtype, device, boundary)


def wavelet_transform(
    shape: tuple[int, int],
    wavelet: str = DEFAULT_WAVELET,
    levels: int = DEFAULT_LEVELS,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    boundary: str = DEFAULT_BOUNDARY,
) -> OrthoWavelet2d:
    """The cached ``OrthoWavelet2d`` for (shape, wavelet, levels, dtype, device, boundary)."""
    return _cached((int(shape[0]), int(shape[1])), wavelet, levels, dtype, str(torch.device(device)), boundary)
