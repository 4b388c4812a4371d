"""Every operator and the baseline on a CUDA device: exact adjoints and the CPU's numbers (skipped without one)."""

from __future__ import annotations

import pytest
import torch

from auditkit.baselines import build_baseline
from auditkit.operators.base import adjoint_mismatch
from auditkit.operators.coils import synthetic_coil_maps
from auditkit.operators.ct import RadonCT
from auditkit.operators.hadamard import HadamardSubsampled
from auditkit.operators.mri import MRISingleCoil
from auditkit.operators.mri_multicoil import MRIMultiCoil

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SHAPE = (32, 32)


def _operators():
    return {
        "mri_singlecoil": MRISingleCoil.from_pattern("cartesian_random", SHAPE, ratio=0.3, seed=0, dtype=torch.float64),
        "mri_multicoil": MRIMultiCoil.from_pattern("cartesian_equispaced", SHAPE, ratio=0.3, seed=0,
                                                   maps=synthetic_coil_maps(4, SHAPE, seed=0), dtype=torch.float64),
        "hadamard": HadamardSubsampled.from_pattern("variable_density", SHAPE, ratio=0.3, seed=0, dtype=torch.float64),
        "ct_parallel": RadonCT(SHAPE, 20, dtype=torch.float64),
    }


@pytest.mark.parametrize("kind", ["mri_singlecoil", "mri_multicoil", "hadamard", "ct_parallel"])
def test_operator_on_cuda_is_exact_and_matches_the_cpu(kind: str):
    cpu = _operators()[kind]
    gpu = cpu.to(device="cuda", dtype=torch.float64)
    assert adjoint_mismatch(gpu) < 1e-10
    x = torch.rand((2, *SHAPE), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y_cpu, y_gpu = cpu.forward(x), gpu.forward(x.cuda())
    assert torch.allclose(y_gpu.cpu(), y_cpu, rtol=1e-9, atol=1e-9)
    assert torch.allclose(gpu.adjoint(y_gpu).cpu(), cpu.adjoint(y_cpu), rtol=1e-9, atol=1e-9)
    assert torch.allclose(gpu.pinv(y_gpu).cpu(), cpu.pinv(y_cpu), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", ["mri_singlecoil", "ct_parallel"])
def test_baseline_on_cuda_matches_the_cpu_and_differentiates(kind: str):
    cpu = _operators()[kind]
    gpu = cpu.to(device="cuda", dtype=torch.float64)
    x = torch.rand((1, *SHAPE), dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    f_cpu, f_gpu = build_baseline("l1_wavelet", cpu, levels=2), build_baseline("l1_wavelet", gpu, levels=2)
    assert torch.allclose(f_gpu(gpu.forward(x.cuda())).cpu(), f_cpu(cpu.forward(x)), rtol=1e-6, atol=1e-6)
    y = gpu.forward(x.cuda()).requires_grad_(True)
    (grad,) = torch.autograd.grad(f_gpu(y).abs().sum(), y)
    assert grad.device.type == "cuda" and torch.isfinite(torch.view_as_real(grad) if grad.is_complex() else grad).all()
