"""A submission that misbehaves on demand (``build(mode=...)``), for the reliability tests.

Probe calls have batch 1; the structural check calls the network on a batch of
seven (the image and its six detail variants), so ``*_later`` modes pass the probe
and misbehave inside the audit. ``inplace_backward`` runs forward but fails when the
audit differentiates it (an in-place change of a tensor autograd saved).
"""

import os

import torch


class Hostile(torch.nn.Module):
    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode
        self.gain = torch.nn.Parameter(torch.ones(()))

    def forward(self, u):
        later = u.shape[0] > 1
        mode = self.mode
        if mode == "exit_forward" or (mode == "exit_later" and later):
            os._exit(0)
        if mode == "system_exit_forward":
            raise SystemExit(0)
        if mode == "memory_error_later" and later:
            raise MemoryError("cannot allocate")
        if mode == "keyboard_interrupt_later" and later:
            raise KeyboardInterrupt
        if mode == "runtime_error_later" and later:
            raise RuntimeError("shape mismatch in layer 3")
        image = u[:, 0].abs() * self.gain
        if mode == "inplace_backward":  # fine forward; autograd refuses to differentiate it
            image = torch.sigmoid(image)
            image.mul_(1.0)
        if mode == "int64_output":
            return (image * 100).to(torch.int64)
        if mode == "bool_output_later" and later:
            return image > 0.5
        if mode == "tuple_output_later" and later:
            return image, image
        if mode == "complex_output_later" and later:
            return image.to(torch.complex64)
        if mode == "constant_output":
            return torch.full_like(image, 0.5)
        if mode == "huge_output":
            return image * 1e38
        if mode == "float16_output":
            return image.to(torch.float16)
        return image


def build(mode: str = "ok"):
    if mode == "fork_worker" and os.fork() == 0:  # a worker that outlives the audit by a minute
        import time

        time.sleep(60)
        os._exit(0)
    if mode == "exit_build":
        os._exit(0)
    if mode == "system_exit_build":
        raise SystemExit(0)
    return Hostile(mode)
