"""How floating-point work is done on the device while training: TF32, bf16 autocast, determinism.

* TF32 (CUDA only): float32 matmuls on the tensor cores with a 10-bit mantissa (relative error
  ~3e-4 per product, far below the training noise). On by default for the training steps on
  CUDA; evaluation keeps full fp32, so reported errors do not depend on it; the CPU is unaffected.
* bf16 autocast (``amp``): matmuls in bf16 with fp32 master weights, fp32 loss and metrics.
  Where it pays differs by device: on CUDA both stages run in bf16; on the CPU only the temporal
  stage (large matmuls, AMX/AVX512-BF16 units 6x faster than fp32 on recent Xeons), because the
  spatial stage (17 tokens of width 32) is bound by memory and overhead and runs slower in bf16.
* deterministic: the same run gives the same bits every time (so a resumed run equals the
  uninterrupted one) on CUDA too, at some speed cost: deterministic algorithms only, cuBLAS with
  a fixed workspace (``CUBLAS_WORKSPACE_CONFIG=:4096:8``, read by PyTorch at its first cuBLAS
  call, so `prepare_numerics` must run before anything computes on the GPU), cuDNN deterministic
  and not benchmarking. On the CPU fp32 training is deterministic anyway.

The settings are process-wide in PyTorch; `training_numerics` sets them for the training steps
only and puts the previous values back.
"""
import os
from contextlib import contextmanager

import torch

CUBLAS_DETERMINISTIC_WORKSPACE = ':4096:8'


def prepare_numerics(deterministic=False):
    """Program start, before CUDA computes anything: fix cuBLAS's workspace for a deterministic run."""
    if deterministic:
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', CUBLAS_DETERMINISTIC_WORKSPACE)


@contextmanager
def training_numerics(device, tf32=True, deterministic=False):
    """TF32 on CUDA and deterministic algorithms as asked, inside the block; previous values after."""
    prepare_numerics(deterministic)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
             torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    try:
        if torch.device(device).type == 'cuda':
            # The legacy switches: they leave the CPU's (oneDNN's) matmul precision alone.
            torch.backends.cuda.matmul.allow_tf32 = bool(tf32)
            torch.backends.cudnn.allow_tf32 = bool(tf32)
        if deterministic:
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, enabled,
         torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) = saved
        torch.use_deterministic_algorithms(enabled)


def amp_stages(device, amp):
    """(spatial, temporal): whether each PoseFormer stage runs under bf16 autocast on `device`."""
    if not amp:
        return False, False
    return (True, True) if torch.device(device).type == 'cuda' else (False, True)


def bf16_autocast(device, enabled):
    """bf16 autocast on `device` when `enabled`; otherwise autocast explicitly off (plain fp32)."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bool(enabled))
