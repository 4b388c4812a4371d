"""The submission manifest: one pydantic model per section, ``Manifest`` at the root.

Every section forbids unknown fields (a typo is an error, never a silently
ignored setting) and validates in strict mode (a quoted number is not a number,
``8.0`` is not a count). Rules that involve several fields are model validators
that report every broken rule at once, each under the field to fix (see
``FieldIssues``). File paths become absolute ``ManifestPath`` values resolved
against the manifest's folder (validation context ``manifest_dir``). Every text, list and
count that drives memory or time has a maximum from ``auditkit.manifest.limits``, so the JSON
Schema states it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pywt
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from auditkit.key_password import DEFAULT_PASSWORD_ENV
from auditkit.manifest.limits import (
    MAX_ANGLES, MAX_BATCH, MAX_COILS, MAX_DETAIL_CHARS, MAX_DRAWS, MAX_ID_CHARS, MAX_IDENTIFIER_CHARS,
    MAX_IMAGE_SIDE, MAX_IMAGES, MAX_ITERATIONS, MAX_KWARGS, MAX_NAME_CHARS, MAX_NETWORK_FILES,
    MAX_PARAGRAPH_CHARS, MAX_PATH_CHARS, MAX_RESTARTS, MAX_SETTINGS, MAX_URL_CHARS, MAX_WAVELET_LEVELS,
)
from auditkit.manifest.paths import MANIFEST_DIR, ManifestPath

SCHEMA_VERSION = 1

ModalityKind = Literal["mri_singlecoil", "mri_multicoil", "ct_parallel", "hadamard"]
SamplingPattern = Literal[
    "cartesian_random", "cartesian_equispaced", "random_points", "radial", "file",
    "variable_density", "equispaced_angles",
]
BaselineMethod = Literal["l1_wavelet", "sqrt_lasso", "tv"]
Plane = Literal["axial", "coronal", "sagittal"]
RawFormat = Literal["fastmri", "ismrmrd"]
# The value sets below are also declared where they are used (auditkit.networks.spec,
# auditkit.data.normalise); they are repeated here so that reading a manifest and
# printing its schema do not import torch. tests/manifest/test_models.py keeps them equal.
NetworkFormat = Literal["torchscript", "python"]
InputConvention = Literal["kspace", "measurements", "zero_filled"]
ComplexConvention = Literal["complex", "channels"]
OutputConvention = Literal["magnitude", "real", "complex", "channels"]
DeviceChoice = Literal["auto", "cpu", "cuda"]
NormalisationMethod = Literal["minmax", "max", "percentile", "none"]

MRI_PATTERNS: tuple[str, ...] = ("cartesian_random", "cartesian_equispaced", "random_points", "radial", "file")
#: Sampling patterns each modality accepts.
PATTERNS_BY_KIND: dict[str, tuple[str, ...]] = {
    "mri_singlecoil": MRI_PATTERNS,
    "mri_multicoil": MRI_PATTERNS,
    "hadamard": ("variable_density",),
    "ct_parallel": ("equispaced_angles",),
}
MASK_SUFFIXES = (".npy", ".png")
PEM_SUFFIXES = (".pem", ".crt", ".cer")
PKCS12_SUFFIXES = (".p12", ".pfx")

#: Error type of a cross-field rule; its context holds ``issues``: (field path, message) pairs.
CROSS_FIELD_ERROR = "manifest_fields"


class FieldIssues:
    """Collects broken cross-field rules of one model and raises them together.

    Pydantic locates a model validator's error at the model itself, so each issue
    carries the dotted path (relative to the model) of the field to fix; the
    manifest loader turns every issue into its own problem at that field's line.
    """

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        """Record that ``field`` (dotted, relative to the model) breaks a rule."""
        self.items.append((field, message))

    def require(self, field: str, value: Any, why: str) -> None:
        """``field`` must be given (not None) because ``why``."""
        if value is None:
            self.add(field, f"required {why}")

    def forbid(self, field: str, value: Any, why: str) -> None:
        """``field`` must be left out (None) because ``why``."""
        if value is not None:
            self.add(field, f"not allowed {why}")

    def raise_if_any(self) -> None:
        """Raise one pydantic error carrying every issue, if there are any."""
        if self.items:
            text = "; ".join(f"{field}: {message}" for field, message in self.items)
            raise PydanticCustomError(CROSS_FIELD_ERROR, "{text}", {"text": text, "issues": tuple(self.items)})


def _as_tuple(value: Any) -> Any:
    """YAML and JSON have lists only; fixed-length fields are tuples."""
    return tuple(value) if isinstance(value, list) else value


def _increasing(values: list[Any]) -> list[Any]:
    """Settings ladders (budgets, levels, ratios) must be strictly increasing."""
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError("values must be strictly increasing")
    return values


def _orthogonal_wavelet(name: str | None) -> str | None:
    """The wavelet must be a discrete orthogonal wavelet PyWavelets knows (haar, dbN, symN, coifN)."""
    if name is None:
        return name
    try:
        wavelet = pywt.Wavelet(name)
    except ValueError:
        raise ValueError(f"unknown wavelet '{name}' (e.g. haar, db2, db4, sym8)") from None
    if not wavelet.orthogonal:
        raise ValueError(f"wavelet '{name}' is not orthogonal (e.g. haar, db2, db4, sym8)")
    return name


def fewest_draws(max_probability: float, confidence: float) -> int | None:
    """The fewest draws n with which no harmful draw shows the harm probability to be at most ``max_probability``.

    With k = 0 harmful draws the two-sided Clopper–Pearson upper end is 1 − (α/2)^{1/n}, α = 1 − confidence,
    so n = ⌈ln(α/2) / ln(1 − max_probability)⌉, moved by one where rounding puts the quotient on the wrong
    side of an integer (1, not 2, at confidence 0.9 and max_probability 0.95). 1 when max_probability ≥ 1;
    None when it is ≤ 0 (the upper end is always positive). E.g. 72 for 0.05 at 95 %.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence!r}")
    if max_probability >= 1.0:
        return 1
    if max_probability <= 0.0:
        return None
    half_alpha = (1.0 - confidence) / 2.0

    def upper(n: int) -> float:
        return 1.0 - half_alpha ** (1.0 / n)

    n = max(1, math.ceil(math.log(half_alpha) / math.log1p(-max_probability)))
    while n > 1 and upper(n - 1) <= max_probability:
        n -= 1
    while upper(n) > max_probability:
        n += 1
    return n


def _lower_hex(value: str) -> str:
    """Digests are compared in lower case."""
    return value.lower()


def _relative_key(key: str) -> str:
    """sha256 keys name files relative to the manifest folder, with ``/`` separators."""
    if Path(key).is_absolute() or "\\" in key:
        raise ValueError(f"sha256 key '{key}' must be a path relative to the manifest folder, with '/' separators")
    return key


Fraction01 = Annotated[float, Field(ge=0.0, le=1.0)]
Ratio = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
ImageSide = Annotated[int, Field(ge=8, le=MAX_IMAGE_SIDE)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$"), AfterValidator(_lower_hex)]
Sha256Key = Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS), AfterValidator(_relative_key)]
EnvVarName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=MAX_IDENTIFIER_CHARS)]
#: Counts of iterations, restarts and angles: at least one, at most their limit (auditkit.manifest.limits).
Iterations = Annotated[int, Field(ge=1, le=MAX_ITERATIONS)]
Restarts = Annotated[int, Field(ge=1, le=MAX_RESTARTS)]
AngleCount = Annotated[int, Field(ge=1, le=MAX_ANGLES)]


class Section(BaseModel):
    """Base of every manifest section: unknown fields are errors; values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- submission -----------------------------------------------------------------------------


class Submission(Section):
    """Who submits what: printed on the dossier's title page."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, description="Identifier of this submission (e.g. the vendor's reference). Required.")
    vendor: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="Name of the manufacturer submitting the network. Required.")
    device: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="Name of the medical device or product the network belongs to. Required.")
    version: str = Field(
        min_length=1, max_length=MAX_ID_CHARS,
        description="Version of the device software or network under audit; quote it in YAML (\"1.10\", not 1.10). Required.",
    )
    intended_use: str = Field(min_length=1, max_length=MAX_PARAGRAPH_CHARS, description="Intended use statement of the device, one paragraph. Required.")
    contact: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="Contact for questions about the submission (name and e-mail). Required.")


# --- modality -------------------------------------------------------------------------------


class Sampling(Section):
    """Which measurements are taken: the sampling pattern and its size."""

    pattern: SamplingPattern = Field(
        description=(
            "Sampling pattern. MRI (mri_singlecoil, mri_multicoil): cartesian_random (random phase-encode lines, "
            "variable density), cartesian_equispaced (every k-th line), random_points (random k-space points), "
            "radial (lines through the k-space centre) or file (mask_file). hadamard: variable_density. "
            "ct_parallel: equispaced_angles. Required."
        )
    )
    ratio: Ratio | None = Field(
        default=None,
        description=(
            "Fraction of the measurements that are taken, in (0, 1] (dimensionless). Required for MRI and Hadamard "
            "(for radial, ratio or n_lines); not allowed for ct_parallel (use n_angles) or pattern file "
            "(the mask gives it). Default: null."
        ),
    )
    n_angles: AngleCount | None = Field(
        default=None,
        description="Number of projection angles, equispaced in [0, π) (count). Required for ct_parallel, not allowed otherwise. Default: null.",
    )
    n_lines: AngleCount | None = Field(
        default=None,
        description="Number of radial lines (count); pattern radial only, as an alternative to ratio. Default: null.",
    )
    center_fraction: float = Field(
        default=0.08, ge=0.0, lt=1.0,
        description=(
            "Fraction of the lowest frequencies (Cartesian lines, or the central region for point and "
            "variable-density patterns) that are always sampled, in [0, 1) (dimensionless). Ignored for "
            "ct_parallel. Default: 0.08."
        ),
    )
    seed: int = Field(
        default=0, ge=0,
        description="Seed of the random sampling pattern; masks of one seed are nested across ratios. Default: 0.",
    )
    mask_file: ManifestPath | None = Field(
        default=None,
        description=(
            "Sampling mask (.npy or .png, non-zero = sampled) of shape image_shape, relative to the manifest's "
            "folder. Required when pattern is file, not allowed otherwise. Default: null."
        ),
    )

    @model_validator(mode="after")
    def _pattern_fields(self) -> Sampling:
        """Fields that belong to one pattern only: the mask to ``file``, the line count to ``radial``."""
        issues = FieldIssues()
        if self.pattern == "file":
            issues.require("mask_file", self.mask_file, "when pattern is 'file'")
            issues.forbid("ratio", self.ratio, "with pattern 'file' (the mask file gives the ratio)")
        else:
            issues.forbid("mask_file", self.mask_file, f"with pattern '{self.pattern}' (only with pattern 'file')")
        if self.mask_file is not None and self.mask_file.suffix.lower() not in MASK_SUFFIXES:
            issues.add("mask_file", f"must end in .npy or .png, got '{self.mask_file.given}'")
        if self.pattern != "radial":
            issues.forbid("n_lines", self.n_lines, f"with pattern '{self.pattern}' (only with pattern 'radial')")
        elif self.ratio is not None and self.n_lines is not None:
            issues.add("n_lines", "give either ratio or n_lines for pattern 'radial', not both")
        issues.raise_if_any()
        return self


class Coils(Section):
    """Receiver coils of multi-coil MRI: how many and their sensitivity maps."""

    count: int = Field(ge=1, le=MAX_COILS, description="Number of receiver coils (count). Required.")
    maps_file: ManifestPath | None = Field(
        default=None,
        description=(
            "Coil sensitivity maps as a complex .npy array of shape (count, H, W), relative to the manifest's "
            "folder; normalised by auditkit so that Σ|S_j|² = 1. Give this or synthetic: true. Default: null."
        ),
    )
    synthetic: bool = Field(
        default=False,
        description="Use smooth synthetic (Gaussian, equally spaced) sensitivity maps instead of a maps_file. Default: false.",
    )

    @model_validator(mode="after")
    def _one_source_of_maps(self) -> Coils:
        """Exactly one of ``maps_file`` and ``synthetic: true``."""
        issues = FieldIssues()
        if self.maps_file is None and not self.synthetic:
            issues.add("maps_file", "give a maps_file or set synthetic: true")
        elif self.maps_file is not None and self.synthetic:
            issues.add("synthetic", "give either maps_file or synthetic: true, not both")
        if self.maps_file is not None and self.maps_file.suffix.lower() != ".npy":
            issues.add("maps_file", f"must end in .npy, got '{self.maps_file.given}'")
        issues.raise_if_any()
        return self


class Modality(Section):
    """The imaging problem: forward operator, image size and sampling."""

    kind: ModalityKind = Field(
        description=(
            "Forward operator: mri_singlecoil (masked orthonormal 2-D DFT), mri_multicoil (coil-weighted masked DFT), "
            "ct_parallel (2-D parallel-beam Radon transform) or hadamard (subsampled Walsh–Hadamard transform). Required."
        )
    )
    image_shape: Annotated[tuple[ImageSide, ImageSide], BeforeValidator(_as_tuple)] = Field(
        description=f"Image size [H, W] in pixels, each from 8 to {MAX_IMAGE_SIDE}; test images are resized to it. Required.",
    )
    sampling: Sampling = Field(description="Sampling pattern and its size. Required.")
    coils: Coils | None = Field(
        default=None,
        description="Receiver coils. Required for mri_multicoil, not allowed otherwise. Default: null.",
    )

    @property
    def raw_coils(self) -> int | None:
        """The receive channels raw k-space must have for this operator: ``coils.count`` for multi-coil MRI, 1 for
        single-coil MRI, None where raw k-space does not fit (CT, Hadamard)."""
        if self.coils is not None:
            return self.coils.count
        return 1 if self.kind == "mri_singlecoil" else None

    @model_validator(mode="after")
    def _fits_kind(self) -> Modality:
        """Pattern, sample count and coils must fit the modality."""
        issues = FieldIssues()
        allowed = PATTERNS_BY_KIND[self.kind]
        s = self.sampling
        if s.pattern not in allowed:
            issues.add("sampling.pattern", f"'{s.pattern}' does not fit {self.kind}; use {', '.join(allowed)}")
        if self.kind == "ct_parallel":
            issues.require("sampling.n_angles", s.n_angles, "for ct_parallel")
            issues.forbid("sampling.ratio", s.ratio, "for ct_parallel (give n_angles)")
        else:
            issues.forbid("sampling.n_angles", s.n_angles, f"for {self.kind} (ct_parallel only)")
            if s.pattern not in ("file", "radial"):
                issues.require("sampling.ratio", s.ratio, f"for {self.kind} with pattern '{s.pattern}'")
            if s.pattern == "radial" and s.ratio is None and s.n_lines is None:
                issues.add("sampling.ratio", "required for pattern 'radial' (or give n_lines)")
        if self.kind == "mri_multicoil":
            issues.require("coils", self.coils, "for mri_multicoil")
        else:
            issues.forbid("coils", self.coils, f"for {self.kind} (mri_multicoil only)")
        issues.raise_if_any()
        return self


# --- network --------------------------------------------------------------------------------


class Network(Section):
    """The network under audit: its files, how it is built and which conventions it follows."""

    format: NetworkFormat = Field(
        description="torchscript (a torch.jit archive) or python (an entry point building a torch.nn.Module). Required."
    )
    path: ManifestPath = Field(
        description=(
            "The TorchScript archive, or for python a .py file or a folder holding the module(s); relative to the "
            "manifest's folder. Required."
        )
    )
    entrypoint: str | None = Field(
        default=None, max_length=MAX_IDENTIFIER_CHARS, pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$",
        description=(
            "'module:function' returning a torch.nn.Module; the module is found in path. Required for python, "
            "not allowed for torchscript. Default: null."
        ),
    )
    kwargs: dict[Annotated[str, Field(max_length=MAX_IDENTIFIER_CHARS)], Any] = Field(
        default_factory=dict, max_length=MAX_KWARGS,
        description="Keyword arguments passed to the entry point (python only). Default: {} (none).",
    )
    weights: ManifestPath | None = Field(
        default=None,
        description=(
            "State dict loaded into the module: .safetensors (preferred) or .pt (read with "
            "torch.load(weights_only=True), so tensors only); relative to the manifest's folder. "
            "Default: null (the module carries its weights)."
        ),
    )
    sha256: dict[Sha256Key, Sha256Hex] = Field(
        min_length=1, max_length=MAX_NETWORK_FILES,
        description=(
            "SHA-256 (64 hex digits) of every file auditkit reads or executes for the network, keyed by its path "
            "relative to the manifest's folder: the archive or .py file (for a folder, every .py file under it) "
            "and the weights. Required."
        ),
    )
    input: InputConvention = Field(
        description=(
            "What the network receives: kspace (masked measurements in image layout, MRI and Hadamard), "
            "measurements (the vector of taken measurements, or the sinogram for CT) or zero_filled "
            "(the adjoint/pseudo-inverse image A†y, filtered back-projection for CT). Required."
        )
    )
    complex_as: ComplexConvention = Field(
        default="complex",
        description="How complex values reach the network: complex (complex dtype) or channels (real and imaginary as 2 channels). Default: complex.",
    )
    output: OutputConvention = Field(
        description=(
            "What the network returns: magnitude, real, complex (complex dtype) or channels "
            "(real and imaginary as 2 channels); the audit compares magnitudes. Required."
        )
    )
    trained_ratio: Ratio | None = Field(
        default=None,
        description=(
            "Sampling ratio the network was trained at, in (0, 1] (dimensionless); marked on the sampling plot. "
            "Not for ct_parallel (use trained_n_angles). Default: null (taken as modality.sampling's ratio)."
        ),
    )
    trained_n_angles: AngleCount | None = Field(
        default=None,
        description=(
            "Number of angles the network was trained with (count); ct_parallel only. "
            "Default: null (taken as modality.sampling.n_angles)."
        ),
    )
    device: DeviceChoice = Field(
        default="auto",
        description="Where the network runs: auto (CUDA when available, else CPU), cpu or cuda. Default: auto.",
    )
    training_data: str | None = Field(
        default=None, min_length=1, max_length=MAX_PARAGRAPH_CHARS,
        description=(
            "How the network was trained, one paragraph: data (source, number of images, size), sampling, noise. "
            "Printed in the dossier's section on the network. Default: null (the dossier says it was not stated)."
        ),
    )

    @model_validator(mode="after")
    def _format_fields(self) -> Network:
        """The entry point and its arguments belong to ``python`` only."""
        issues = FieldIssues()
        if self.format == "python":
            issues.require("entrypoint", self.entrypoint, "for format 'python'")
        else:
            issues.forbid("entrypoint", self.entrypoint, f"for format '{self.format}'")
            if self.kwargs:
                issues.add("kwargs", f"not allowed for format '{self.format}'")
        if self.weights is not None and self.weights.suffix.lower() not in (".safetensors", ".pt"):
            issues.add("weights", f"must end in .safetensors or .pt, got '{self.weights.given}'")
        issues.raise_if_any()
        return self


# --- data -----------------------------------------------------------------------------------


class ImageFile(Section):
    """One test image read from a file."""

    file: ManifestPath = Field(
        description=(
            "Image file relative to the manifest's folder: PNG, NumPy .npy, DICOM (.dcm) or NIfTI (.nii, .nii.gz). "
            "Required."
        )
    )
    slice_axis: int | None = Field(
        default=None, ge=0, le=2,
        description="Axis (0, 1 or 2) along which a 3-D volume (.npy, NIfTI) is sliced; give with slice_index. Default: null (2-D file).",
    )
    slice_index: int | None = Field(
        default=None,
        description="Index of the slice along slice_axis (negative counts from the end). Default: null (2-D file).",
    )
    frame: int | None = Field(
        default=None, ge=0,
        description="Frame of a multi-frame DICOM file (0-based). Default: null (single-frame file).",
    )

    @model_validator(mode="after")
    def _slice_pair(self) -> ImageFile:
        """A volume slice needs both the axis and the index."""
        issues = FieldIssues()
        if self.slice_axis is None and self.slice_index is not None:
            issues.add("slice_axis", "required with slice_index")
        if self.slice_index is None and self.slice_axis is not None:
            issues.add("slice_index", "required with slice_axis")
        issues.raise_if_any()
        return self


class RawFile(Section):
    """Raw k-space from a scanner file: chosen slices of a fastMRI HDF5 or an ISMRMRD file (Cartesian, 2-D)."""

    format: RawFormat = Field(
        description=(
            "fastmri (HDF5 with 'kspace' of shape (slices, coils, H, W) or (slices, H, W) and 'ismrmrd_header') or "
            "ismrmrd (an ISMRMRD file read with the ismrmrd package; Cartesian acquisitions only). Required."
        )
    )
    file: ManifestPath = Field(description="The raw-data file relative to the manifest's folder (.h5). Required.")
    slices: list[Annotated[int, Field(ge=0)]] = Field(
        min_length=1, max_length=MAX_IMAGES,
        description="Indices of the slices audited (0-based; one test image each). Required.",
    )
    coil_maps: ManifestPath | None = Field(
        default=None,
        description=(
            "Sensitivity maps for multi-coil data: a .npy file of complex maps (slices, coils, H, W), one block per "
            "entry of slices in that order, on the de-oversampled grid H × W = modality.image_shape. "
            "Default: null (estimated from the fully sampled calibration centre of each slice)."
        ),
    )
    calibration: int = Field(
        default=24, ge=4, le=512,
        description=(
            "Side (samples) of the central k-space block the coil maps are estimated from when coil_maps is null "
            "(the low-resolution method with a Hann taper). Default: 24."
        ),
    )

    @model_validator(mode="after")
    def _maps_file(self) -> RawFile:
        """Coil maps come as one .npy array."""
        issues = FieldIssues()
        if self.coil_maps is not None and self.coil_maps.suffix.lower() != ".npy":
            issues.add("coil_maps", f"must be a .npy file of complex (slices, coils, H, W) maps, got '{self.coil_maps.given}'")
        if len(set(self.slices)) != len(self.slices):
            issues.add("slices", "lists a slice more than once")
        issues.raise_if_any()
        return self


class SheppLoganPhantom(Section):
    """The modified Shepp–Logan head phantom."""

    kind: Literal["shepp_logan"] = Field(description="shepp_logan: the modified Shepp–Logan phantom at image_shape.")


class EllipsesPhantom(Section):
    """Random ellipses on a dark background (the Ell-50 style test images)."""

    kind: Literal["ellipses"] = Field(description="ellipses: random overlapping ellipses.")
    count: int = Field(default=4, ge=1, le=MAX_IMAGES, description="Number of random-ellipse images generated (count). Default: 4.")
    seed: int = Field(default=0, ge=0, description="Seed of the random ellipses. Default: 0.")


#: Number of held-out MNI152 slices per plane (``auditkit.data.mni.default_split()``, 1 mm; a test keeps
#: them equal), so counting test images needs neither torch nor the template.
MNI152_HELD_OUT: dict[str, int] = {"axial": 25, "coronal": 31, "sagittal": 26}


class Mni152Phantom(Section):
    """Slices of the MNI152 brain template that nilearn ships."""

    kind: Literal["mni152"] = Field(description="mni152: slices of nilearn's MNI152 T1 template.")
    plane: Plane = Field(default="axial", description="Slicing plane: axial, coronal or sagittal. Default: axial.")
    indices: list[Annotated[int, Field(ge=0)]] | None = Field(
        default=None, min_length=1, max_length=MAX_IMAGES,
        description="Slice indices in that plane (one test image each). Default: null (the held-out slices that no sample network trains on).",
    )


Phantom = Annotated[SheppLoganPhantom | EllipsesPhantom | Mni152Phantom, Field(discriminator="kind")]


class Data(Section):
    """The test images: files and/or built-in phantoms, and how intensities are scaled to [0, 1]."""

    normalisation: NormalisationMethod = Field(
        default="minmax",
        description=(
            "Scaling of each image to [0, 1]: minmax ((x − min)/(max − min)), max (x / max, for non-negative "
            "images), percentile (clip to percentiles, then minmax) or none (values must already lie in [0, 1]). "
            "Default: minmax."
        ),
    )
    percentiles: Annotated[tuple[Annotated[float, Field(ge=0.0, le=100.0)], Annotated[float, Field(ge=0.0, le=100.0)]],
                           BeforeValidator(_as_tuple)] = Field(
        default=(1.0, 99.5),
        description="Lower and upper percentile (in %) used by normalisation: percentile. Default: [1.0, 99.5].",
    )
    images: list[ImageFile] = Field(default_factory=list, max_length=MAX_IMAGES, description="Test images read from files. Default: [] (none).")
    phantoms: list[Phantom] = Field(
        default_factory=list, max_length=MAX_IMAGES,
        description="Built-in test images: shepp_logan, ellipses (count, seed), mni152 (plane, indices). Default: [] (none).",
    )
    raw: list[RawFile] = Field(
        default_factory=list, max_length=MAX_IMAGES,
        description=(
            "Raw k-space test data (MRI only): each chosen slice is one test image, its reference the fully sampled "
            "coil-combined image and its measurements the acquired k-space on the audit's mask. Default: [] (none)."
        ),
    )

    @model_validator(mode="after")
    def _some_images(self) -> Data:
        """At least one test image, and a sensible percentile pair."""
        issues = FieldIssues()
        if not self.images and not self.phantoms and not self.raw:
            issues.add("images", "give at least one image, phantom or raw file")
        elif self.n_images > MAX_IMAGES:
            issues.add("raw" if self.raw else "phantoms" if self.phantoms else "images",
                       f"{self.n_images} test images in all; at most {MAX_IMAGES} are allowed")
        low, high = self.percentiles
        if not low < high:
            issues.add("percentiles", f"lower percentile must be below the upper one, got [{low}, {high}]")
        issues.raise_if_any()
        return self

    @property
    def n_images(self) -> int:
        """Number of test images these entries produce (ellipses: count; mni152: one per index)."""
        n = len(self.images) + sum(len(entry.slices) for entry in self.raw)
        for phantom in self.phantoms:
            if isinstance(phantom, EllipsesPhantom):
                n += phantom.count
            elif isinstance(phantom, Mni152Phantom):
                n += len(phantom.indices) if phantom.indices is not None else MNI152_HELD_OUT[phantom.plane]
            else:
                n += 1
        return n


# --- baseline -------------------------------------------------------------------------------


class Baseline(Section):
    """The classical compressed-sensing reconstruction every figure is compared with.

    Parameters left null take the defaults of ``auditkit.baselines.DEFAULT_PARAMS``
    for the method and modality; the values used are recorded in the evidence.
    """

    method: BaselineMethod = Field(
        default="l1_wavelet",
        description=(
            "l1_wavelet (min ½‖Az − y‖² + λ‖Wz‖₁ by FISTA), sqrt_lasso (min ‖Az − y‖ + λ‖Wz‖₁ by primal–dual) "
            "or tv (min ½‖Az − y‖² + λ TV(z) by primal–dual). Default: l1_wavelet."
        ),
    )
    lam: PositiveFloat | None = Field(
        default=None,
        description=(
            "Regularisation weight λ > 0 for images in [0, 1] (dimensionless). Default: null (the method's default for "
            "the modality, e.g. 0.00562 for l1_wavelet on single-coil MRI, 1.69 on CT; see auditkit.baselines)."
        ),
    )
    max_iter: Iterations | None = Field(
        default=None,
        description="Maximum number of iterations (count). Default: null (the method's default, e.g. 500 for l1_wavelet on MRI).",
    )
    tol: PositiveFloat | None = Field(
        default=None,
        description="Stop when the relative change ‖z_k+1 − z_k‖/‖z_k‖ falls below tol (dimensionless). Default: null (1e-4).",
    )
    wavelet: Annotated[str | None, Field(max_length=MAX_IDENTIFIER_CHARS), AfterValidator(_orthogonal_wavelet)] = Field(
        default=None,
        description="Orthogonal wavelet for l1_wavelet and sqrt_lasso (haar, dbN, symN, coifN); not for tv. Default: null (db4).",
    )
    levels: int | None = Field(
        default=None, ge=1, le=MAX_WAVELET_LEVELS,
        description="Wavelet decomposition levels (count); not for tv. Default: null (4, fewer if the image is too small).",
    )

    @model_validator(mode="after")
    def _method_fields(self) -> Baseline:
        """TV has no wavelet."""
        issues = FieldIssues()
        if self.method == "tv":
            issues.forbid("wavelet", self.wavelet, "for method 'tv'")
            issues.forbid("levels", self.levels, "for method 'tv'")
        issues.raise_if_any()
        return self

    def params(self) -> dict[str, Any]:
        """The parameters set in the manifest (nulls left out), as keyword arguments for the baseline builder."""
        return {k: v for k, v in self.model_dump(exclude={"method"}).items() if v is not None}


# --- checks ---------------------------------------------------------------------------------


class CheckConfig(Section):
    """Fields every check has."""

    enabled: bool = Field(default=True, description="Run this check. Default: true.")


class ImageDomainAttack(Section):
    """Gradient ascent on ½‖f(A(x+r)) − f(Ax)‖² − (λ/2)‖r‖² with momentum (the perturbation ladder r₁ < r₂ < r₃)."""

    budgets: Annotated[list[PositiveFloat], AfterValidator(_increasing)] = Field(
        default_factory=lambda: [0.01, 0.02, 0.04], min_length=1, max_length=MAX_SETTINGS,
        description="Relative sizes ‖r‖/‖x‖ at which the ascent path is sampled, increasing (dimensionless). Default: [0.01, 0.02, 0.04].",
    )
    lam: float = Field(default=0.01, ge=0.0, description="Penalty λ on ‖r‖² in the objective (dimensionless). Default: 0.01.")
    step: PositiveFloat = Field(
        default=0.01,
        description="Ascent step η relative to the current ‖r‖ (the gradient is normalised), so it means the same for any network gain or image scale. Default: 0.01.",
    )
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0, description="Momentum γ in v ← γv + η∇, in [0, 1). Default: 0.9.")
    max_iter: Iterations = Field(
        default=200,
        description="Gradient evaluations per image, ascent path and refinement together (count). Default: 200 (on the sample networks 200 found 0.99 of what 500 found; bench/bench_search_budget.py).",
    )
    init_scale: float = Field(
        default=0.001, gt=0.0,
        description="Start r₀ = init_scale · U[0, 1) per pixel, relative to the image range; must be > 0 (a zero start has no gradient). Default: 0.001.",
    )


class MeasurementDomainAttack(Section):
    """Projected ascent on ‖f(Ax + e) − x‖ subject to ‖e‖ ≤ η‖Ax‖, best of several restarts."""

    etas: Annotated[list[PositiveFloat], AfterValidator(_increasing)] = Field(
        default_factory=lambda: [0.01, 0.02, 0.04], min_length=1, max_length=MAX_SETTINGS,
        description="Noise budgets η = ‖e‖/‖Ax‖, increasing (dimensionless). Default: [0.01, 0.02, 0.04].",
    )
    restarts: Restarts = Field(default=2, description="Random restarts; the worst result is kept (count). Default: 2.")
    iterations: Iterations = Field(
        default=100,
        description="Projected ascent iterations per restart (count). Default: 100 (2 × 100 found 0.998–1.0 of what 6 × 300 found on the sample networks and 0.978 on the ℓ1 baseline; bench/bench_search_budget.py).",
    )
    lr: PositiveFloat = Field(
        default=5.0,
        description="Step in units of the ball's radius η‖Ax‖ on the normalised gradient (with momentum); ≥ 2 keeps every iterate on the sphere. Default: 5.0.",
    )


class AdversarialConfig(CheckConfig):
    """Tiny worst-case perturbations, network against baseline."""

    image_domain: ImageDomainAttack = Field(
        default_factory=ImageDomainAttack, description="Image-domain attack settings. Default: all defaults."
    )
    measurement_domain: MeasurementDomainAttack = Field(
        default_factory=MeasurementDomainAttack, description="Measurement-domain attack settings. Default: all defaults."
    )
    k_baseline: PositiveFloat = Field(
        default=2.0,
        description=(
            "FAIL when, at a budget ε, the network's worst change Δ = ‖f(A(x+r)) − f(Ax)‖/‖x‖ exceeds "
            "k_baseline · max(Δ_baseline, ε), Δ_baseline from attacking the baseline itself (and likewise for the "
            "measurement-domain budgets η) (dimensionless). Default: 2.0."
        ),
    )
    c_budget: PositiveFloat = Field(
        default=10.0,
        description=(
            "FAIL when, at an image-domain budget ε, the network's worst change Δ = ‖f(A(x+r)) − f(Ax)‖/‖x‖ "
            "exceeds c_budget · ε (dimensionless). Default: 10.0."
        ),
    )
    patch_size: int = Field(
        default=8, ge=2, le=MAX_IMAGE_SIDE,
        description=(
            "Side of the square patches over which the local criterion takes its worst case (pixels): the size of a "
            "small lesion or of one default detail at 128×128. Default: 8."
        ),
    )
    images: list[Annotated[int, Field(ge=0)]] | None = Field(
        default=None, min_length=1, max_length=MAX_IMAGES,
        description="Indices (0-based, in data order) of the test images to attack. Default: null (all).",
    )


class Detail(Section):
    """One small structure (symbol or text) rendered into a test image."""

    text: str = Field(min_length=1, max_length=MAX_DETAIL_CHARS, description="Symbol or text to render (DejaVu Sans). Required.")
    size: float = Field(default=0.06, gt=0.0, le=1.0, description="Text height as a fraction of the image height. Default: 0.06.")
    intensity: float = Field(
        default=0.5, ge=-1.0, le=1.0,
        description="Intensity added inside the detail, on the [0, 1] image scale; negative for a dark detail, not 0. Default: 0.5.",
    )

    @field_validator("intensity")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0.0:
            raise ValueError("a detail of intensity 0 is invisible; use a value in [-1, 0) or (0, 1]")
        return value
    position: Annotated[tuple[Fraction01, Fraction01], BeforeValidator(_as_tuple)] = Field(
        default=(0.5, 0.5),
        description="Centre [row, column] as fractions of the image height and width, in [0, 1]. Default: [0.5, 0.5].",
    )


class StructuralConfig(CheckConfig):
    """Small details added to the image: are they recovered?"""

    details: list[Detail] | None = Field(
        default=None, min_length=1, max_length=MAX_SETTINGS,
        description=(
            "Details rendered into each test image. Default: null (♠ ♥ ♦ ♣ in a row and the text \"CAN U SEE IT\" "
            "below them, sized and placed for the image size, intensity 0.5)."
        ),
    )
    min_recovery: float = Field(
        default=0.5, le=1.0,
        description=(
            "FAIL when the network's recovered fraction q = 1 − ‖Δ − d‖²/‖d‖² of a detail d (Δ = f(A(x+d)) − f(Ax), "
            "inside the detail's region; 1 perfect, 0 nothing) is below this on any image (dimensionless). Default: 0.5."
        ),
    )
    margin: Fraction01 = Field(
        default=0.2,
        description=(
            "FAIL also when the network's recovered fraction of a detail is below the baseline's on the same image by "
            "more than this (dimensionless). Default: 0.2."
        ),
    )
    k_ghost: PositiveFloat = Field(
        default=2.0,
        description=(
            "FAIL when a detail's ghost contrast in the network's reconstruction — the largest |Δ| outside the "
            "detail's region, over the detail's own largest |d| — exceeds k_ghost × max(the baseline's on the same "
            "image, ghost_floor) (dimensionless). Default: 2.0, the factor of every baseline comparison."
        ),
    )
    ghost_floor: Fraction01 = Field(
        default=0.1,
        description=(
            "Ghost contrast below which an echo is not held against the network, whatever the baseline shows "
            "(dimensionless): a tenth of the detail's contrast (0.05 in image units for the default intensity 0.5) "
            "is at the level of the smallest structure the default details carry. Default: 0.1."
        ),
    )


class SamplingConfig(CheckConfig):
    """More samples must not make the reconstruction worse."""

    ratios: Annotated[list[Ratio], AfterValidator(_increasing)] | None = Field(
        default=None, min_length=2, max_length=MAX_SETTINGS,
        description=(
            "Sampling ratios in (0, 1], increasing; MRI and Hadamard only. Default: null (0.5, 0.75, 1, 1.5 and 2 "
            "times the audit ratio, clipped to (0, 1], plus the audit and trained ratios)."
        ),
    )
    n_angles: Annotated[list[AngleCount], AfterValidator(_increasing)] | None = Field(
        default=None, min_length=2, max_length=MAX_SETTINGS,
        description=(
            "Numbers of angles, increasing; ct_parallel only. Default: null (0.5, 0.75, 1, 1.5 and 2 times the "
            "audit angle count, plus the audit and trained counts)."
        ),
    )
    tolerance_db: float = Field(
        default=0.5, ge=0.0,
        description=(
            "FAIL when the network's PSNR at any setting exceeds that at a higher setting by more than this, on the "
            "mean over the images or on any one image (dB). Default: 0.5."
        ),
    )
    min_gain_fraction: float = Field(
        default=0.25, ge=0.0, le=1.0,
        description=(
            "Stagnation: above the training ratio, FAIL when the network's mean-PSNR gain (from the training ratio to "
            "the highest) is below this fraction of the baseline's gain over the same settings (dimensionless). "
            "Judged only when the baseline gains at least baseline_min_gain_db there. Default: 0.25 (a risk "
            "choice: the instability study's networks gained almost nothing while the compressed-sensing method "
            "gained several dB)."
        ),
    )
    baseline_min_gain_db: float = Field(
        default=1.0, ge=0.0,
        description=(
            "Setup sanity: the baseline's mean PSNR must rise by at least this from the lowest to the highest "
            "setting, else the setup (not the network) is flagged and the check is ERROR (dB). Default: 1.0."
        ),
    )


class NoiseConfig(CheckConfig):
    """Random Gaussian measurement noise: how often does it do harm ("not rare events")?"""

    levels: Annotated[list[PositiveFloat], AfterValidator(_increasing)] = Field(
        default_factory=lambda: [0.01, 0.02, 0.05], min_length=1, max_length=MAX_SETTINGS,
        description="Noise levels ‖e‖/‖Ax‖, increasing (dimensionless). Default: [0.01, 0.02, 0.05].",
    )
    draws: int = Field(default=200, ge=1, le=MAX_DRAWS, description="Noise draws per image and level (count). Default: 200.")
    k_baseline: PositiveFloat = Field(
        default=2.0,
        description=(
            "A draw is harmful when the network's relative change ‖f(y+e) − f(y)‖/‖f(y)‖ exceeds τ = k_baseline × "
            "max(m, η), m the baseline's median change over the same draws of the same image at the same level η "
            "(what the compressed-sensing baseline typically shows under this noise), η the change of a method that passes "
            "the noise through (dimensionless). Default: 2.0, the factor of every baseline comparison."
        ),
    )
    threshold: PositiveFloat | None = Field(
        default=None,
        description=(
            "An absolute τ instead, the same for every image and level (dimensionless): a risk choice the vendor "
            "states. Default: null (τ from k_baseline)."
        ),
    )
    max_probability: Fraction01 = Field(
        default=0.05,
        description="FAIL when the upper confidence bound of the harmful-draw probability exceeds this. Default: 0.05.",
    )
    confidence: float = Field(
        default=0.95, gt=0.0, lt=1.0,
        description="Confidence level of the Clopper–Pearson interval, in (0, 1). Default: 0.95.",
    )
    survival_ratios: list[PositiveFloat] = Field(
        default_factory=lambda: [0.25], max_length=MAX_SETTINGS,
        description=(
            "Sizes ‖v‖/‖r₁‖ of Gaussian noise v added to the smallest adversarial perturbation r₁ to test whether "
            "its artefact survives (dimensionless). Default: [0.25]."
        ),
    )
    batch_size: int = Field(
        default=50, ge=1, le=MAX_BATCH,
        description="Noise draws reconstructed per call of the network or baseline (count); memory grows with it. Default: 50.",
    )
    survival_budget: PositiveFloat = Field(
        default=0.01,
        description="Size ‖r₁‖/‖x‖ of the worst-case image perturbation around which survival is tested (dimensionless). Default: 0.01.",
    )
    survival_iterations: Iterations = Field(
        default=40,
        description="Gradient evaluations per image of the ascent that finds r₁ (count). Default: 40.",
    )

    @model_validator(mode="after")
    def _enough_draws(self) -> "NoiseConfig":
        """Fewer draws than ``fewest_draws`` can never pass."""
        needed = fewest_draws(self.max_probability, self.confidence)
        if self.enabled and needed is not None and self.draws < needed:
            issues = FieldIssues()
            issues.add(
                "draws",
                f"{self.draws} draws can never show a probability below {self.max_probability} at confidence "
                f"{self.confidence}; use at least {needed}",
            )
            issues.raise_if_any()
        return self


class HallucinationConfig(CheckConfig):
    """The part of a reconstruction lying in the kernel of A: what the network invented."""

    alpha: PositiveFloat = Field(
        default=0.01,
        description=(
            "Tikhonov α of the kernel projector I − (A*A + αI)⁻¹A*A used for operators without orthonormal rows "
            "(CT, multi-coil MRI), relative to ‖A‖² (dimensionless). Default: 0.01."
        ),
    )
    patch_size: int = Field(default=8, ge=2, le=MAX_IMAGE_SIDE, description="Side of the patches that localise hallucinations (pixels). Default: 8.")
    border: int = Field(
        default=8, ge=0, le=MAX_IMAGE_SIDE,
        description=(
            "Width of the frame along the image's edges whose patches are reported apart and not judged (pixels): "
            "there an image that does not vanish at its edges meets its periodic copy (DFT) or the end of the "
            "field of view with a jump whose unmeasured part every method must fill, so the frame compares edge "
            "handling, not anatomy. Default: 8 (one default patch)."
        ),
    )
    k_baseline: PositiveFloat = Field(
        default=2.0,
        description=(
            "FAIL when, on some image, the network's largest patch of invented kernel content away from the border "
            "I_P = min over 0≤β≤1 of ‖P_N f(Ax) − β P_N x‖² exceeds k_baseline times the baseline's (floored at "
            "1e-4‖x‖²) (dimensionless). Default: 2.0."
        ),
    )
    kernel_detail: Detail = Field(
        default_factory=lambda: Detail(text="♥", size=0.25, position=(0.5, 0.5), intensity=0.5),
        description=(
            "Symbol d̃ whose kernel part P_N d̃ is reconstructed to see whether a method shows what it cannot "
            "measure. Default: ♥, size 0.25, centred, intensity 0.5."
        ),
    )


class TradeoffConfig(CheckConfig):
    """Worst-case relative error against the noise level: the accuracy–stability trade-off."""

    etas: Annotated[list[Annotated[float, Field(ge=0.0)]], AfterValidator(_increasing)] = Field(
        default_factory=lambda: [0.0, 0.02, 0.04, 0.06, 0.08], min_length=2, max_length=MAX_SETTINGS,
        description="Noise levels η = ‖e‖/‖Ax‖, increasing (dimensionless). Default: [0, 0.02, 0.04, 0.06, 0.08].",
    )
    k_baseline: PositiveFloat = Field(
        default=2.0,
        description="FAIL when the network's worst-case relative error at a level exceeds k_baseline times the baseline's (dimensionless). Default: 2.0.",
    )
    patch_size: int = Field(
        default=8, ge=2, le=MAX_IMAGE_SIDE,
        description=(
            "Side of the square patches over which the local criterion takes its worst case (pixels): the size of a "
            "small lesion or of one default detail at 128×128. Default: 8."
        ),
    )
    restarts: Restarts = Field(default=2, description="Random restarts of the projected attack (count). Default: 2.")
    iterations: Iterations = Field(default=100, description="Iterations per restart (count). Default: 100.")
    lr: PositiveFloat = Field(
        default=5.0,
        description=(
            "Step of the projected attack in units of the noise ball's radius η‖Ax‖, on the normalised gradient "
            "(dimensionless). Default: 5.0."
        ),
    )


class Checks(Section):
    """Which checks run, with their settings and pass/fail thresholds."""

    seed: int = Field(default=0, ge=0, description="Seed of every random choice the checks make. Default: 0.")
    adversarial: AdversarialConfig = Field(default_factory=AdversarialConfig, description="Worst-case perturbations. Default: enabled, all defaults.")
    structural: StructuralConfig = Field(default_factory=StructuralConfig, description="Small added details. Default: enabled, all defaults.")
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="More samples. Default: enabled, all defaults.")
    noise: NoiseConfig = Field(default_factory=NoiseConfig, description="Random noise. Default: enabled, all defaults.")
    hallucination: HallucinationConfig = Field(default_factory=HallucinationConfig, description="Kernel component. Default: enabled, all defaults.")
    tradeoff: TradeoffConfig = Field(default_factory=TradeoffConfig, description="Accuracy–stability trade-off. Default: enabled, all defaults.")

    def enabled(self) -> list[str]:
        """Names of the checks that run, in dossier order."""
        return [name for name in CHECK_NAMES if getattr(self, name).enabled]


#: Names of the checks, in the order the dossier presents them: the ``Checks`` fields that hold a check's settings.
CHECK_NAMES: tuple[str, ...] = tuple(
    name for name, field in Checks.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, CheckConfig)
)


# --- signing --------------------------------------------------------------------------------


class Signing(Section):
    """The electronic signature of the dossier (21 CFR 11.50: printed name, date/time, meaning)."""

    certificate: ManifestPath = Field(
        description="Signer's certificate: PEM (.pem, .crt, .cer, with key) or PKCS#12 (.p12, .pfx, holding the key). Required."
    )
    key: ManifestPath | None = Field(
        default=None,
        description="Private key (PEM) for a PEM certificate; not allowed with PKCS#12. Default: null.",
    )
    password_env: EnvVarName = Field(
        default=DEFAULT_PASSWORD_ENV,
        description=(
            "Name of the environment variable holding the key's password (the password itself never goes into "
            f"the manifest). Default: {DEFAULT_PASSWORD_ENV}."
        ),
    )
    signer_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="Signer's printed name, shown in the signature block. Required.")
    meaning: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS,
        description="Meaning of the signature, e.g. \"Author – I reviewed and approve this audit\". Required.",
    )
    timestamp_url: str | None = Field(
        default=None, max_length=MAX_URL_CHARS, pattern=r"^https?://\S+$",
        description="RFC 3161 time-stamping authority URL. Default: null (no trusted time stamp).",
    )

    @model_validator(mode="after")
    def _key_fits_certificate(self) -> Signing:
        """PEM certificates need a separate key; PKCS#12 bundles carry their own."""
        issues = FieldIssues()
        suffix = self.certificate.suffix.lower()
        if suffix in PKCS12_SUFFIXES:
            issues.forbid("key", self.key, "with a PKCS#12 certificate (it holds the key)")
        elif suffix in PEM_SUFFIXES:
            issues.require("key", self.key, "with a PEM certificate")
        else:
            issues.add("certificate", f"must end in {', '.join(PEM_SUFFIXES + PKCS12_SUFFIXES)}, got '{self.certificate.given}'")
        if self.key is not None and self.key.suffix.lower() not in (".pem", ".key"):
            issues.add("key", f"must end in .pem or .key, got '{self.key.given}'")
        issues.raise_if_any()
        return self


# --- root -----------------------------------------------------------------------------------


class Manifest(Section):
    """A submission manifest (schema_version 1): everything an audit needs, nothing implicit.

    File paths are relative to the manifest's folder.
    """

    schema_version: Literal[1] = Field(description="Version of this manifest format; must be 1. Required.")
    submission: Submission = Field(description="Who submits what. Required.")
    modality: Modality = Field(description="The imaging problem. Required.")
    network: Network = Field(description="The network under audit. Required.")
    data: Data = Field(description="The test images. Required.")
    baseline: Baseline = Field(default_factory=Baseline, description="The classical comparison method. Default: l1_wavelet with its defaults.")
    checks: Checks = Field(default_factory=Checks, description="The checks to run. Default: all six with their defaults.")
    signing: Signing | None = Field(default=None, description="Signature of the dossier. Default: null (unsigned dossier).")

    _folder: Path | None = PrivateAttr(default=None)
    _source: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _sections_agree(self, info: ValidationInfo) -> Manifest:
        """Rules spanning sections: training setting, input convention and check settings fit the modality."""
        context = info.context if isinstance(info.context, dict) else {}
        self._folder = Path(context.get(MANIFEST_DIR, Path.cwd())).absolute()
        issues = FieldIssues()
        kind = self.modality.kind
        net = self.network
        if kind == "ct_parallel":
            issues.forbid("network.trained_ratio", net.trained_ratio, "for ct_parallel (use trained_n_angles)")
            if net.input == "kspace":
                issues.add("network.input", "'kspace' does not fit ct_parallel; use measurements or zero_filled")
            issues.forbid("checks.sampling.ratios", self.checks.sampling.ratios, "for ct_parallel (use n_angles)")
        else:
            issues.forbid("network.trained_n_angles", net.trained_n_angles, f"for {kind} (ct_parallel only)")
            issues.forbid("checks.sampling.n_angles", self.checks.sampling.n_angles, f"for {kind} (ct_parallel only; use ratios)")
        if self.data.raw and kind not in ("mri_singlecoil", "mri_multicoil"):
            issues.add("data.raw", f"raw k-space fits MRI only (mri_singlecoil, mri_multicoil), not {kind}")
        attacked = self.checks.adversarial.images or []
        n = self.data.n_images
        if any(i >= n for i in attacked):
            issues.add("checks.adversarial.images", f"index out of range: the data section yields {n} image(s)")
        issues.raise_if_any()
        return self

    @property
    def folder(self) -> Path:
        """Absolute folder that relative paths were resolved against (the manifest's own folder)."""
        return self._folder if self._folder is not None else Path.cwd()

    def file_fields(self) -> Iterator[tuple[tuple[str | int, ...], ManifestPath]]:
        """Every file path in the manifest with its location (``("data", "images", 0, "file")``, path)."""
        yield from paths_in(self, ())


def paths_in(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], ManifestPath]]:
    """Depth-first walk of a model for ``ManifestPath`` values, in field order."""
    if isinstance(value, ManifestPath):
        yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from paths_in(getattr(value, name), loc + (name,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths_in(item, loc + (i,))


__all__ = [
    "CHECK_NAMES", "CROSS_FIELD_ERROR", "MNI152_HELD_OUT", "PATTERNS_BY_KIND", "SCHEMA_VERSION",
    "AdversarialConfig", "Baseline", "CheckConfig", "Checks", "Coils", "Data", "Detail", "EllipsesPhantom", "FieldIssues",
    "HallucinationConfig", "ImageDomainAttack", "ImageFile", "Manifest", "MeasurementDomainAttack",
    "Mni152Phantom", "Modality", "Network", "NoiseConfig", "Phantom", "RawFile", "SamplingConfig", "Sampling",
    "SheppLoganPhantom", "Signing", "StructuralConfig", "Submission", "TradeoffConfig", "fewest_draws", "paths_in",
]
