"""The submitted network as a ``ReconstructionMap``: canonical measurements in, image (B, H, W) out.

Tensor layout rule (the manifest's ``input``, ``complex_as`` and ``output``):

Input. Canonical measurements y have shape (B, *A.measurement_shape): the
sampled k-space values (B, m) for single-coil MRI, (B, C, m) for C coils, the
sinogram (B, n_angles, n_detectors) for CT. The network is handed a tensor u
built from y in two steps.
  1. What the network sees, by ``input``:
     - ``measurements``: y itself, shape (B, *measurement_shape);
     - ``kspace``: the zero-filled sampled grid embed(y): masked k-space (B, H, W)
       for single-coil MRI, (B, C, H, W) for multi-coil (Hadamard: the masked
       coefficient grid; CT has none, so ``kspace`` is refused);
     - ``zero_filled``: the classical direct image, shape (B, H, W): A*y for MRI
       (the zero-filled inverse FFT, coil-combined with the conjugate
       sensitivities Σ_j S_j* F* P_Ω* y_j for multi-coil), A†y for real
       operators (filtered back-projection for CT; A* = A† for Hadamard).
  2. A channel axis at position 1, by ``complex_as``:
     - ``complex`` (and every real operator, CT or Hadamard, which ignores
       ``complex_as``): (B, 1, *rest), complex dtype for MRI; multi-coil k-space
       keeps its coil axis as the channel axis, (B, C, H, W);
     - ``channels``: real and imaginary parts as two real channels,
       (B, 2, *rest) = [Re, Im]; multi-coil k-space gives (B, 2C, H, W), the real
       parts of coils 1..C first, then their imaginary parts in the same order.
Output, by ``output``:
  - ``magnitude`` or ``real``: a real tensor (B, 1, H, W) or (B, H, W), returned
    as a real image (magnitude values are passed through unchanged);
  - ``complex``: a complex tensor (B, 1, H, W) or (B, H, W), a complex image;
  - ``channels``: a real tensor (B, 2, H, W), the complex image channel 0 + i·channel 1.
Any other shape is a ``NetworkRuntimeError`` naming expected and actual, and so is a
dtype that is not floating point or complex (integer and boolean outputs are never cast:
a count of ones is not an image). Half-precision outputs (float16, bfloat16) are read as
they are and widened; ``output_dtype`` records what the probe saw, for the dossier.
``complex`` and ``channels`` outputs need a complex (MRI) operator.

Misbehaviour. Whatever the network's code raises while it runs (an exception,
``MemoryError``, ``SystemExit``, a ``KeyboardInterrupt`` the user did not cause) becomes
``NetworkRaised``; a stop the user asked for (``auditkit.interrupts``) passes through,
even when the network swallowed it. The probe also refuses a network whose output does
not depend on its input, or is not on the scale of the image (see ``probe``).

Precision and placement: u is cast to the dtype and device of the network's
first floating parameter (left as it is for a parameter-free network), and the
image is cast back to the operator's dtype and to y's device. The map is
differentiable in y and never switches gradients off itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import torch

from auditkit import interrupts
from auditkit.errors import NetworkLoadError, NetworkRaised, NetworkRuntimeError, Problem
from auditkit.networks.python_source import one_line
from auditkit.operators.base import ForwardOperator

INPUTS = ("kspace", "measurements", "zero_filled")
COMPLEX_AS = ("complex", "channels")
OUTPUTS = ("magnitude", "real", "complex", "channels")
#: The probe's images lie in [0, 1]; a reconstruction of one peaking above this is not on the image's scale.
PROBE_OUTPUT_LIMIT = 100.0


class NetworkAdapter:
    """A frozen network wrapped to the one convention f: y ↦ x̂ (see the module's layout rule)."""

    def __init__(self, module: torch.nn.Module, operator: ForwardOperator, *, input: str,
                 complex_as: str, output: str, name: str = "network",
                 problem_file: Path | str = "manifest", check_finite: bool = True):
        """``problem_file`` is the file named in the problems raised here and by ``probe``
        (the manifest, or the network file); ``check_finite`` makes every call raise on NaN/Inf."""
        self.module = module
        self.operator = operator
        self.name = name
        self.input = input
        self.complex_as = complex_as
        self.output = output
        self.problem_file = problem_file
        self.check_finite = check_finite
        #: the dtype of the network's own output, as the probe saw it (None before a probe)
        self.output_dtype: str | None = None
        self._validate_conventions()

    # -- the map ------------------------------------------------------------
    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        """x̂ = f(y), shape (B, H, W); raises ``NetworkRuntimeError`` on a bad output."""
        image = self.image_from_output(self.run_network(self.network_input(y)), y)
        if self.check_finite:
            self.check_output(image)
        return image

    def network_input(self, y: torch.Tensor) -> torch.Tensor:
        """The tensor u the network is handed for measurements y (before the dtype cast)."""
        op = self.operator
        if self.input == "measurements":
            seen = y
        elif self.input == "kspace":
            seen = op.embed(y)
        elif op.is_complex:
            seen = op.adjoint(y)
        else:
            seen = op.pinv(y)
        coil_axis = self.input == "kspace" and seen.dim() == 4
        stacked = seen if coil_axis else seen.unsqueeze(1)
        if self.complex_as == "channels" and stacked.is_complex():
            return torch.cat([stacked.real, stacked.imag], dim=1)
        return stacked

    def run_network(self, u: torch.Tensor) -> object:
        """The module applied to u cast to its own parameters' dtype and device.

        Anything the module raises is ``NetworkRaised`` unless the user asked to stop
        (then the stop goes on, also when the module caught it and returned)."""
        reference = _first_floating_tensor(self.module)
        if reference is not None:
            real = reference.real.dtype if reference.is_complex() else reference.dtype
            u = u.to(device=reference.device, dtype=_matching_dtype(real, u.is_complex()))
        try:
            out = self.module(u)
        except BaseException as exc:  # noqa: BLE001 - whatever the submitted code raises is its misbehaviour
            interrupts.raise_if_requested()
            raise NetworkRaised(f"{self.name} raised {one_line(exc)}") from exc
        interrupts.raise_if_requested()
        return out

    def image_from_output(self, out: object, y: torch.Tensor) -> torch.Tensor:
        """The network's output read per ``output`` as an image (B, H, W) in the operator's dtype on y's device."""
        if not isinstance(out, torch.Tensor):
            raise NetworkRuntimeError(f"{self.name} returned a {type(out).__name__}, expected a tensor")
        if not (out.is_floating_point() or out.is_complex()):
            raise NetworkRuntimeError(self._mismatch(out, "a floating-point or complex tensor (integer and "
                                                          "boolean outputs are not images)"))
        batch, (h, w) = y.shape[0], self.operator.image_shape
        real_dtype = self.operator.real_dtype
        if self.output == "channels":
            if tuple(out.shape) != (batch, 2, h, w) or out.is_complex():
                raise NetworkRuntimeError(self._mismatch(out, f"a real tensor (B, 2, H, W) = {(batch, 2, h, w)}"))
            out = out.to(device=y.device, dtype=real_dtype)
            return torch.complex(out[:, 0], out[:, 1])
        wants_complex = self.output == "complex"
        shape_ok = tuple(out.shape) in ((batch, 1, h, w), (batch, h, w))
        if not shape_ok or out.is_complex() != wants_complex:
            kind = "a complex" if wants_complex else "a real"
            raise NetworkRuntimeError(self._mismatch(
                out, f"{kind} tensor (B, 1, H, W) or (B, H, W) = {(batch, 1, h, w)} or {(batch, h, w)}"))
        image = out.reshape(batch, h, w)
        return image.to(device=y.device, dtype=_matching_dtype(real_dtype, wants_complex))

    # -- checks ---------------------------------------------------------------
    def check_output(self, image: torch.Tensor) -> None:
        """Raise ``NetworkRuntimeError`` naming the images (batch indices) that contain NaN or Inf."""
        bad = ~torch.isfinite(image.detach()).reshape(image.shape[0], -1)
        per_image = bad.sum(dim=1)
        if bool(per_image.any()):
            which = per_image.nonzero().flatten().tolist()
            raise NetworkRuntimeError(
                f"{self.name} output contains NaN/Inf in image {', '.join(map(str, which))} "
                f"of batch {image.shape[0]} ({int(per_image.sum())} non-finite pixels)")

    def probe(self, batch: int = 1) -> torch.Tensor:
        """Calls on the measurements of two test images; ``NetworkLoadError`` if they show the network unusable.

        A network that raises on the probe input is reported against
        ``network.input`` (usually a layout mismatch); a wrong output shape,
        dtype, a NaN/Inf, or an output off the image's scale (peak above
        ``PROBE_OUTPUT_LIMIT`` for an image in [0, 1]) against ``network.output``;
        an output that is bitwise the same for two different images (a network
        that ignores its input, against which every stability measure is vacuous)
        against ``network.path``. Returns the reconstruction of the first image and
        records the network's output dtype in ``output_dtype``.
        """
        op = self.operator
        images = [probe_image(op.image_shape, batch, op.image_dtype, op.device),
                  probe_square(op.image_shape, batch, op.image_dtype, op.device)]
        outputs = [self._probe_one(op(x)) for x in images]
        if torch.equal(outputs[0], outputs[1]):
            raise self._load_error("network.path", (
                "the network's output does not depend on its input: a disc and a square gave the identical "
                "image, so no perturbation could change it and every stability measure would be vacuous"))
        return outputs[0]

    def _probe_one(self, y: torch.Tensor) -> torch.Tensor:
        """f(y) for one probe image, each failure a ``NetworkLoadError`` at the field to fix."""
        u = self.network_input(y)
        with torch.no_grad():
            try:
                out = self.run_network(u)
            except NetworkRaised as exc:
                raise self._load_error("network.input", (
                    f"network failed on the probe input of shape {tuple(u.shape)} {_dtype_name(u.dtype)} "
                    f"(input '{self.input}', complex_as '{self.complex_as}'): {one_line(exc.__cause__ or exc)}")) from exc
            try:
                image = self.image_from_output(out, y)
                self.check_output(image)
            except NetworkRuntimeError as exc:
                raise self._load_error("network.output", f"probe failed (output '{self.output}'): {exc}") from exc
        assert isinstance(out, torch.Tensor)
        self.output_dtype = _dtype_name(out.dtype)
        peak = float(image.abs().max())
        if peak > PROBE_OUTPUT_LIMIT:
            raise self._load_error("network.output", (
                f"probe output peaks at {peak:.3g} for a test image with values in [0, 1] (limit "
                f"{PROBE_OUTPUT_LIMIT:g}): the network must return images on the scale of its input"))
        return image

    # -- helpers --------------------------------------------------------------
    def _validate_conventions(self) -> None:
        """Known values, and conventions the operator can serve (k-space needs ``embed``)."""
        problems = [
            Problem(self.problem_file, f"network.{field}", f"{value!r} is not one of {', '.join(allowed)}")
            for field, value, allowed in (("input", self.input, INPUTS),
                                          ("complex_as", self.complex_as, COMPLEX_AS),
                                          ("output", self.output, OUTPUTS))
            if value not in allowed]
        op_name = type(self.operator).__name__
        if self.input == "kspace" and not self.operator.has_grid:
            problems.append(Problem(self.problem_file, "network.input",
                                    f"input 'kspace' needs an operator with a k-space grid (MRI); {op_name} has none "
                                    "(use 'measurements' or 'zero_filled')"))
        if self.output in ("complex", "channels") and not self.operator.is_complex:
            problems.append(Problem(self.problem_file, "network.output",
                                    f"output '{self.output}' needs a complex (MRI) operator; {op_name} "
                                    "images are real (use 'real' or 'magnitude')"))
        if problems:
            raise NetworkLoadError(problems)

    def _mismatch(self, out: torch.Tensor, expected: str) -> str:
        return (f"{self.name} output (output '{self.output}') should be {expected}, "
                f"got {_dtype_name(out.dtype)} of shape {tuple(out.shape)}")

    def _load_error(self, field: str, message: str) -> NetworkLoadError:
        return NetworkLoadError(Problem(self.problem_file, field, message))


def probe_image(image_shape: tuple[int, int], batch: int, dtype: torch.dtype,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """A centred disc of radius ¼·min(H, W), intensity 1 on 0: a deterministic, in-range test image."""
    h, w = image_shape
    rows = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
    cols = torch.arange(w, dtype=torch.float64) - (w - 1) / 2
    disc = (rows[:, None] ** 2 + cols[None, :] ** 2) <= (min(h, w) / 4) ** 2
    return disc.to(dtype).expand(batch, h, w).clone().to(device)


def precision_note(dtype_name: str | None) -> str | None:
    """What a half-precision output means for the audit's measurements (None for single or double precision)."""
    if dtype_name not in ("float16", "bfloat16"):
        return None
    eps = float(torch.finfo(getattr(torch, dtype_name)).eps)
    return (f"the network returns {dtype_name} images (relative resolution {eps:.2g}); they are widened to "
            f"float32 for the measurements, and changes smaller than about {eps:.2g} of a pixel's value are not resolved")


def probe_square(image_shape: tuple[int, int], batch: int, dtype: torch.dtype,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """A centred square of side ½·min(H, W), intensity ½ on 0: the probe's second, different image."""
    h, w = image_shape
    side = max(1, min(h, w) // 2)
    square = torch.zeros(h, w, dtype=torch.float64)
    top, left = (h - side) // 2, (w - side) // 2
    square[top:top + side, left:left + side] = 0.5
    return square.to(dtype).expand(batch, h, w).clone().to(device)


def _first_floating_tensor(module: torch.nn.Module) -> torch.Tensor | None:
    """The first floating or complex parameter (else buffer): it fixes the network's dtype and device."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point() or tensor.is_complex():
            return tensor
    return None


def _matching_dtype(real: torch.dtype, complex_: bool) -> torch.dtype:
    """``real`` itself, or its complex counterpart (complex32 is not supported: half → complex64)."""
    if not complex_:
        return real
    return torch.complex128 if real == torch.float64 else torch.complex64


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
