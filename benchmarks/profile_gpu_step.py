"""Where the time of one training step goes: the top kernels of our step, by device time.

    python benchmarks/profile_gpu_step.py                 # CUDA: F = 81, batch 512, bf16 (--amp), TF32
    python benchmarks/profile_gpu_step.py --fp32 -f 27    # full fp32 at 27 frames

Profiles a few steps of `common.training.TrainingStep` on device-resident batches with
`torch.profiler` and prints one table: the kernels that take the most device time, their share,
and the share of matrix-multiply kernels (GEMM / attention) against everything else (norms,
GELU, softmax, element-wise, copies). On the CPU it runs a small configuration.
"""
import argparse
import os
import sys

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import common_bench as cb  # noqa: E402

MATMUL_MARKERS = ('gemm', 'matmul', 'mm_', 'cutlass', 'xmma', 'sm90', 'sm80', 'attention', 'fmha', 'flash', 'addmm')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('-f', '--frames', type=int, default=81)
    p.add_argument('-b', '--batch', type=int, default=512)
    p.add_argument('--fp32', action='store_true', help='full fp32 (no TF32, no bf16)')
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--top', type=int, default=18)
    a = p.parse_args(argv)
    from torch.profiler import ProfilerActivity, profile

    from common.numerics import training_numerics
    from common.training import TrainingStep, make_optimizer
    from common.windows import TrainingWindows

    cuda = torch.cuda.is_available()
    device = torch.device('cuda' if cuda else 'cpu')
    frames, batch = (a.frames, a.batch) if cuda else (9, 32)
    seqs = []
    for i in range(4):
        p3 = cb.smooth_poses_3d(2000 if cuda else 200, seed=i)
        seqs.append(type('S', (), {'poses_2d': (p3[..., :2] / p3[..., 2:]).astype(np.float32), 'poses_3d': p3}))
    windows = TrainingWindows(seqs, frames, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT, device=device)
    model = cb.make_model(frames, drop_path_rate=0.1).to(device).train().choose_attention(device)
    step = TrainingStep(model, make_optimizer(model, 1e-4, device), device, amp=not a.fp32)
    order = windows.epoch_order(np.random.RandomState(0))
    batches = windows.batches(order[:len(order) // batch * batch], batch)
    with training_numerics(device, tf32=not a.fp32):
        for _ in range(3):                                  # warm-up
            step(*next(batches))
        if cuda:
            torch.cuda.synchronize()
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(a.steps):
                step(*next(batches))
            if cuda:
                torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if (e.self_device_time_total if cuda else e.self_cpu_time_total) > 0]
    timed = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)
    if cuda:   # device kernels only (CPU-side operator rows carry no device self time)
        events = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA] or events
    total = sum(timed(e) for e in events)
    events.sort(key=timed, reverse=True)
    matmul = sum(timed(e) for e in events if any(m in e.key.lower() for m in MATMUL_MARKERS))
    per_step_ms = total / a.steps / 1000
    name = torch.cuda.get_device_name() if cuda else 'CPU'
    print(f'device {name}, torch {torch.__version__}, F={frames}, batch {batch}, '
          f'{"fp32" if a.fp32 else "bf16 autocast + TF32"}: {per_step_ms:.1f} ms of kernels per step '
          f'({batch / per_step_ms * 1000:,.0f} samples/s if kernels ran back to back)')
    print(f'matrix-multiply kernels: {100 * matmul / total:.1f} % of kernel time; everything else '
          f'{100 * (1 - matmul / total):.1f} %')
    print(f'| kernel | calls/step | ms/step | share |\n|---|---:|---:|---:|')
    for e in events[:a.top]:
        print(f'| {e.key[:90]} | {e.count / a.steps:.0f} | {timed(e) / a.steps / 1000:.2f} | '
              f'{100 * timed(e) / total:.1f} % |')


if __name__ == '__main__':
    main()
