"""The adapter's layout rule, checked against networks that know the answer (the zero-filled image)."""

from __future__ import annotations

import itertools

import pytest
import torch

from auditkit.errors import NetworkLoadError, NetworkRuntimeError
from auditkit.networks.adapter import NetworkAdapter, probe_image
from auditkit.reconstruction import ReconstructionMap

from .conftest import DenseReal, MaskedFFT, TwoCoilFFT

B = 2


def measurements(op, batch: int = B, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, *op.image_shape), generator=g)
    return op(x.to(op.image_dtype))


class ZeroFillNet(torch.nn.Module):
    """Computes the zero-filled image (A*y for MRI, A†y for real operators) from the tensor its
    declared convention hands it, decoding the layout itself.

    Written from the layout rule, independently of the adapter: if the adapter
    hands over anything else, the result is not that image.
    """

    def __init__(self, op, input: str, complex_as: str, output: str, squeeze: bool = False,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.op, self.input, self.complex_as, self.output, self.squeeze = op, input, complex_as, output, squeeze
        self.gain = torch.nn.Parameter(torch.ones((), dtype=dtype))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        op = self.op
        multi_kspace = self.input == "kspace" and isinstance(op, TwoCoilFFT)
        if op.is_complex and self.complex_as == "channels":
            assert not u.is_complex()
            half = u.shape[1] // 2
            z = torch.complex(u[:, :half], u[:, half:])
        else:
            z = u
        if not multi_kspace:
            assert z.shape[1] == 1
            z = z[:, 0]
        image = self.decode(z)
        if isinstance(op, TwoCoilFFT) and self.input != "zero_filled":
            image = (op.sens.conj() * image).sum(1)
        image = image * self.gain
        return self.encode(image)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Zero-filled image (per coil for the two-coil operator) from k-space, measurements or itself."""
        op = self.op
        if self.input == "zero_filled":
            return z
        if not op.is_complex:
            return (z @ op.pinv_matrix.T.to(z.dtype)).reshape(-1, *op.image_shape)
        if self.input == "measurements":
            k = torch.zeros((*z.shape[:-1], op.mask.numel()), dtype=z.dtype)
            k[..., op.mask.flatten()] = z
            z = k.reshape(*z.shape[:-1], *op.image_shape)
        return torch.fft.ifft2(z, norm="ortho")

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        if self.output == "channels":
            return torch.stack([image.real, image.imag], dim=1)
        out = {"magnitude": image.abs(), "real": image.real if image.is_complex() else image, "complex": image}
        return out[self.output] if self.squeeze else out[self.output].unsqueeze(1)


def zero_filled(op, y: torch.Tensor) -> torch.Tensor:
    """The documented zero-filled image: A*y for MRI (complex operators), A†y for real ones."""
    return op.adjoint(y) if op.is_complex else op.pinv(y)


def expected_image(op, y: torch.Tensor, output: str) -> torch.Tensor:
    zero_filled_image = zero_filled(op, y)
    image = zero_filled_image
    return {"magnitude": image.abs(), "real": image.real if image.is_complex() else image,
            "complex": image, "channels": image}[output]


COMPLEX_CASES = [(op, i, c, o, s) for op, i, c, o, s in itertools.product(
    ["single", "two-coil"], ["kspace", "measurements", "zero_filled"], ["complex", "channels"],
    ["magnitude", "real", "complex", "channels"], [False, True]) if not (o == "channels" and s)]
REAL_CASES = [("dense", i, c, o, s) for i, c, o, s in itertools.product(
    ["measurements", "zero_filled"], ["complex", "channels"], ["magnitude", "real"], [False, True])]
OPERATORS = {"single": MaskedFFT, "two-coil": TwoCoilFFT, "dense": DenseReal}


@pytest.mark.parametrize(("kind", "input", "complex_as", "output", "squeeze"), COMPLEX_CASES + REAL_CASES)
def test_every_convention_round_trips_to_the_zero_filled_image(kind, input, complex_as, output, squeeze) -> None:
    op = OPERATORS[kind]()
    net = ZeroFillNet(op, input, complex_as, output, squeeze)
    f = NetworkAdapter(net, op, input=input, complex_as=complex_as, output=output)
    y = measurements(op)
    image = f(y)
    expected = expected_image(op, y, output)
    assert image.shape == (B, *op.image_shape)
    assert image.dtype == expected.dtype == (op.image_dtype if output in ("complex", "channels") else op.real_dtype)
    torch.testing.assert_close(image, expected, rtol=1e-5, atol=1e-6)


# Exact tensors handed to the network: (operator, input, complex_as) → builder from x.
def _kspace(op, x):
    return torch.fft.fft2(x, norm="ortho") * op.mask


LAYOUTS = [
    ("single", "kspace", "complex", (B, 1, 16, 16), lambda op, x, y: _kspace(op, x).unsqueeze(1)),
    ("single", "kspace", "channels", (B, 2, 16, 16),
     lambda op, x, y: torch.stack([_kspace(op, x).real, _kspace(op, x).imag], 1)),
    ("single", "measurements", "complex", (B, 1, None), lambda op, x, y: y.unsqueeze(1)),
    ("single", "measurements", "channels", (B, 2, None), lambda op, x, y: torch.stack([y.real, y.imag], 1)),
    ("single", "zero_filled", "complex", (B, 1, 16, 16),
     lambda op, x, y: torch.fft.ifft2(_kspace(op, x), norm="ortho").unsqueeze(1)),
    ("single", "zero_filled", "channels", (B, 2, 16, 16),
     lambda op, x, y: torch.view_as_real(torch.fft.ifft2(_kspace(op, x), norm="ortho")).movedim(-1, 1)),
    ("two-coil", "kspace", "complex", (B, 2, 16, 16), lambda op, x, y: _kspace(op, op.sens * x.unsqueeze(1))),
    ("two-coil", "kspace", "channels", (B, 4, 16, 16),
     lambda op, x, y: torch.cat([_kspace(op, op.sens * x.unsqueeze(1)).real,
                                 _kspace(op, op.sens * x.unsqueeze(1)).imag], 1)),
    ("two-coil", "measurements", "complex", (B, 1, 2, None), lambda op, x, y: y.unsqueeze(1)),
    ("two-coil", "measurements", "channels", (B, 2, 2, None), lambda op, x, y: torch.stack([y.real, y.imag], 1)),
    ("two-coil", "zero_filled", "channels", (B, 2, 16, 16),
     lambda op, x, y: torch.stack([op.adjoint(y).real, op.adjoint(y).imag], 1)),
    ("dense", "measurements", "channels", (B, 1, 24), lambda op, x, y: y.unsqueeze(1)),
    ("dense", "zero_filled", "channels", (B, 1, 8, 8), lambda op, x, y: op.pinv(y).unsqueeze(1)),
]


class Recorder(torch.nn.Module):
    """Remembers its input and returns a constant image of the right shape."""

    def __init__(self, image_shape):
        super().__init__()
        self.image_shape = image_shape
        self.seen: torch.Tensor | None = None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        self.seen = u
        return torch.zeros((u.shape[0], *self.image_shape))


@pytest.mark.parametrize(("kind", "input", "complex_as", "shape", "build"), LAYOUTS)
def test_the_network_receives_exactly_the_documented_tensor(kind, input, complex_as, shape, build) -> None:
    op = OPERATORS[kind]()
    g = torch.Generator().manual_seed(3)
    x = torch.rand((B, *op.image_shape), generator=g).to(op.image_dtype)
    y = op(x)
    net = Recorder(op.image_shape)
    NetworkAdapter(net, op, input=input, complex_as=complex_as, output="real")(y)
    m = op.measurement_shape[-1]
    assert tuple(net.seen.shape) == tuple(m if s is None else s for s in shape)
    assert net.seen.is_complex() == (op.is_complex and complex_as == "complex")
    torch.testing.assert_close(net.seen, build(op, x, y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("net_dtype", "seen_dtype"), [(torch.float64, torch.complex128), (None, torch.complex64)])
def test_input_is_cast_to_the_network_dtype_and_output_back(net_dtype, seen_dtype) -> None:
    op = MaskedFFT()
    seen = []

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            if net_dtype is not None:
                self.gain = torch.nn.Parameter(torch.ones((), dtype=net_dtype))

        def forward(self, u):
            seen.append(u.dtype)
            return u

    image = NetworkAdapter(Net(), op, input="zero_filled", complex_as="complex", output="complex")(measurements(op))
    assert seen == [seen_dtype] and image.dtype == torch.complex64


@pytest.mark.parametrize(("kind", "input", "complex_as", "output"), [
    ("single", "kspace", "channels", "channels"), ("single", "measurements", "complex", "magnitude"),
    ("two-coil", "kspace", "channels", "complex"), ("dense", "measurements", "channels", "real")])
def test_gradient_flows_to_the_measurements(kind, input, complex_as, output) -> None:
    op = OPERATORS[kind]()
    f = NetworkAdapter(ZeroFillNet(op, input, complex_as, output), op, input=input, complex_as=complex_as,
                       output=output)
    y = measurements(op).requires_grad_(True)
    f(y).abs().pow(2).sum().backward()
    y_ref = measurements(op).requires_grad_(True)
    zero_filled(op, y_ref).abs().pow(2).sum().backward()
    assert torch.count_nonzero(y.grad) > 0
    torch.testing.assert_close(y.grad, y_ref.grad, rtol=1e-5, atol=1e-6)


def test_adapter_keeps_gradients_enabled_and_is_a_reconstruction_map() -> None:
    op = MaskedFFT()

    class Net(torch.nn.Module):
        def forward(self, u):
            assert torch.is_grad_enabled()
            return u

    f = NetworkAdapter(Net(), op, input="zero_filled", complex_as="complex", output="complex", name="net")
    assert isinstance(f, ReconstructionMap) and f.name == "net" and f.operator is op
    assert f(measurements(op).requires_grad_(True)).requires_grad


# -- output errors ---------------------------------------------------------------
class Returns(torch.nn.Module):
    """Returns a fixed value whatever the input."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def forward(self, u):
        return self.value


@pytest.mark.parametrize(("output", "value", "message"), [
    ("channels", torch.zeros(B, 3, 16, 16),
     "output 'channels') should be a real tensor (B, 2, H, W) = (2, 2, 16, 16), got float32 of shape (2, 3, 16, 16)"),
    ("real", torch.zeros(B, 16, 8),
     "should be a real tensor (B, 1, H, W) or (B, H, W) = (2, 1, 16, 16) or (2, 16, 16), got float32 of shape (2, 16, 8)"),
    ("complex", torch.zeros(B, 1, 16, 16), "should be a complex tensor"),
    ("magnitude", torch.zeros(B, 16, 16, dtype=torch.complex64), "should be a real tensor"),
    ("real", (torch.zeros(B, 16, 16),), "network returned a tuple, expected a tensor"),
])
def test_wrong_outputs_name_expected_and_actual(output, value, message) -> None:
    op = MaskedFFT()
    f = NetworkAdapter(Returns(value), op, input="zero_filled", complex_as="complex", output=output)
    with pytest.raises(NetworkRuntimeError) as info:
        f(measurements(op))
    assert message in str(info.value)


def test_nan_and_inf_name_the_images() -> None:
    op = MaskedFFT()
    value = torch.zeros(3, 16, 16)
    value[1, 2, 3] = float("nan")
    value[2, 0, 0] = float("inf")
    f = NetworkAdapter(Returns(value), op, input="zero_filled", complex_as="complex", output="real")
    with pytest.raises(NetworkRuntimeError, match=r"network output contains NaN/Inf in image 1, 2 of batch 3 "
                                                  r"\(2 non-finite pixels\)"):
        f(measurements(op, batch=3))
    unchecked = NetworkAdapter(Returns(value), op, input="zero_filled", complex_as="complex", output="real",
                               check_finite=False)
    image = unchecked(measurements(op, batch=3))
    with pytest.raises(NetworkRuntimeError):
        unchecked.check_output(image)


# -- construction and probe --------------------------------------------------------
def test_conventions_the_operator_cannot_serve_are_load_errors() -> None:
    with pytest.raises(NetworkLoadError) as info:
        NetworkAdapter(Returns(None), DenseReal(), input="kspace", complex_as="bogus", output="complex",
                       problem_file="manifest.yaml")
    assert [(p.file, p.field) for p in info.value.problems] == [
        ("manifest.yaml", "network.complex_as"), ("manifest.yaml", "network.input"),
        ("manifest.yaml", "network.output")]
    assert "input 'kspace' needs an operator with a k-space grid (MRI); DenseReal has none" in str(info.value)


def test_probe_image_is_a_centred_disc() -> None:
    disc = probe_image((16, 20), 2, torch.float32)
    assert disc.shape == (2, 16, 20) and set(disc.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(disc, disc.flip(-1).flip(-2))
    assert disc[0, 8, 10] == 1 and disc[0, 0, 0] == 0


@pytest.mark.parametrize("batch", [1, 3])
def test_probe_passes_for_a_matching_network(batch: int) -> None:
    op = TwoCoilFFT()
    f = NetworkAdapter(ZeroFillNet(op, "kspace", "channels", "channels"), op, input="kspace",
                       complex_as="channels", output="channels")
    image = f.probe(batch)
    assert image.shape == (batch, 16, 16)
    torch.testing.assert_close(image, op.adjoint(op(probe_image((16, 16), batch, torch.complex64))))


def test_probe_reports_an_input_layout_mismatch() -> None:
    op = MaskedFFT()
    net = torch.nn.Conv2d(2, 1, 1)  # expects two real channels
    f = NetworkAdapter(net, op, input="kspace", complex_as="complex", output="real", problem_file="m.yaml")
    with pytest.raises(NetworkLoadError) as info:
        f.probe()
    (problem,) = info.value.problems
    assert (problem.file, problem.field) == ("m.yaml", "network.input")
    assert problem.message.startswith("network failed on the probe input of shape (1, 1, 16, 16) complex64 "
                                      "(input 'kspace', complex_as 'complex'): RuntimeError: ")
    assert "\n" not in problem.message


@pytest.mark.parametrize(("value", "message"), [
    (torch.zeros(1, 2, 16, 16), "should be a real tensor (B, 1, H, W) or (B, H, W)"),
    (torch.full((1, 16, 16), float("nan")), "contains NaN/Inf in image 0 of batch 1"),
])
def test_probe_reports_output_problems(value, message) -> None:
    op = MaskedFFT()
    f = NetworkAdapter(Returns(value), op, input="zero_filled", complex_as="complex", output="magnitude")
    with pytest.raises(NetworkLoadError) as info:
        f.probe()
    (problem,) = info.value.problems
    assert problem.field == "network.output" and message in problem.message
    assert problem.message.startswith("probe failed (output 'magnitude'): ") and "\n" not in problem.message


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_network_on_cuda_with_operator_on_cpu() -> None:
    op = MaskedFFT()
    net = ZeroFillNet(op, "zero_filled", "channels", "channels").cuda()
    f = NetworkAdapter(net, op, input="zero_filled", complex_as="channels", output="channels")
    y = measurements(op).requires_grad_(True)
    image = f(y)
    assert image.device.type == "cpu"
    torch.testing.assert_close(image, op.adjoint(y), rtol=1e-5, atol=1e-6)
    image.abs().pow(2).sum().backward()
    assert torch.count_nonzero(y.grad) > 0
