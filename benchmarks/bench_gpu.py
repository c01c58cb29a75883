"""Training and evaluation speed on the GPU (or, small, on the CPU): one run, one table, ratios.

    python benchmarks/bench_gpu.py                 # CUDA: F = 27 and 81, batch 512, default model (~3 min on an H200)
    python benchmarks/bench_gpu.py --frames 81     # one receptive field
    python benchmarks/bench_gpu.py                 # without CUDA: a small configuration (F = 9, batch 32)

Training rows (samples/s = predicted frames per second, median of timed blocks of steps, each
variant time-boxed by ``--seconds``; "vs naive" = ratio to the official-style row of the same F):

* ``naive fp32``: `benchmarks.naive_reference` (explicit attention, per-sample Python batch
  building on the host, copy to the device, ``loss.item()`` and ``empty_cache()`` every step);
* ``ours fp32``: `common.training.TrainingStep` with TF32 off, batches gathered on the device;
* ``ours fp32, host gather``: the same step, but batches gathered on the host, copied to the
  device, and the loss read every step (the loop before the training set moved to the device);
* ``ours tf32`` (the default on CUDA), ``ours bf16`` (``--amp``), ``ours bf16+compile``
  (``--amp --compile``), and ``ours bf16+compile+graphs`` (mode ``reduce-overhead``: CUDA
  graphs; F = 27 only, where steps are shortest).
* On CUDA these use the product's choice of spatial stage: the fused Triton kernels
  (`common.model.fused_spatial`) where supported. ``..., PyTorch spatial`` rows force the timm
  blocks (``model.spatial_kernel = 'pytorch'``) for the same step, so the two compare in one run.

Plus: the gather of one batch on the host vs on the device (ms), the spatial attention (17
tokens, head dim 4) through SDPA vs explicit ``softmax(q k^T) v`` (forward + backward), the
spatial stage alone (``forward_spatial`` forward + backward, B*F frames) through the fused Triton
kernels vs the PyTorch blocks, with the largest difference of the fused and the PyTorch pose in
fp32 evaluation (metres; CUDA only, skipped with a message elsewhere), and
evaluation (`common.evaluation.predict_sequence`, flip TTA) vs the naive evaluation in frames/s.
The projected Human3.6M epoch is 1,559,752 training frames x 2 (flip) / samples/s. Peak memory:
``torch.cuda.max_memory_allocated`` of the variant (CUDA only).
"""
import argparse
import os
import sys
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import common_bench as cb  # noqa: E402

H36M_TRAINING_SAMPLES = 1_559_752 * 2      # frames of S1, S5, S6, S7, S8 (4 cameras), x2 with flip


class _Sequence:
    def __init__(self, poses_2d, poses_3d):
        self.poses_2d, self.poses_3d = poses_2d, poses_3d


def _sequences(count, length):
    """Synthetic smooth 3D poses (metres) and their pinhole projections, float32."""
    out = []
    for i in range(count):
        p3 = cb.smooth_poses_3d(length, seed=10 * i)
        out.append(_Sequence((p3[..., :2] / p3[..., 2:]).astype(np.float32), p3))
    return out


def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_per_call(fn, device, seconds, block=5, warmup=2, max_blocks=10):
    """Median seconds per call of `fn`, over blocks of `block` calls (at least 2 blocks, then until `seconds`)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times, deadline = [], time.perf_counter() + seconds
    while len(times) < 2 or (len(times) < max_blocks and time.perf_counter() < deadline):
        start = time.perf_counter()
        for _ in range(block):
            fn()
        _sync(device)
        times.append((time.perf_counter() - start) / block)
    return cb.median(times)


def _reset_peak(device):
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device):
    return torch.cuda.max_memory_allocated(device) / 2 ** 20 if device.type == 'cuda' else float('nan')


def _mib(value):
    return '-' if value != value else f'{value:,.0f}'


def _cycle_batches(windows, batch, seed=0):
    """Endless full batches of `windows` in a shuffled order (every batch has exactly `batch` examples)."""
    order = windows.epoch_order(np.random.RandomState(seed))
    order = order[:len(order) // batch * batch]
    while True:
        yield from windows.batches(order, batch)


def training_variants(a, frames, device, sequences, compiled=False):
    """{name: (seconds per step, peak MiB)} of the training variants at `frames`, and the gather times.

    compiled=False: naive, fp32, host gather, tf32, bf16; compiled=True: the torch.compile variants
    (each skipped once the run is past ``--budget`` seconds).
    """
    from benchmarks.naive_reference import NaivePoseFormer, naive_train_step, naive_training_batch
    from common.metrics import mpjpe
    from common.numerics import training_numerics
    from common.training import TrainingStep, make_optimizer
    from common.windows import TrainingWindows

    results, gather = {}, {}
    device_windows = TrainingWindows(sequences, frames, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT,
                                     device=device)
    host_windows = TrainingWindows(sequences, frames, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)

    def ours(name, tf32=False, amp=False, compile_mode=None, host=False, spatial_sdpa=False, spatial='auto'):
        if compile_mode and time.perf_counter() - a.started > a.budget:
            print(f'  {name}: skipped (over the --budget of {a.budget:.0f} s)', flush=True)
            return
        model = cb.make_model(frames, drop_path_rate=0.1, **a.model).to(device).train()
        if not spatial_sdpa:
            model.choose_attention(device)          # the product's choice (explicit spatial attention on CUDA)
        model.spatial_kernel = spatial              # 'auto': the fused Triton spatial stage on CUDA where supported
        optimizer = make_optimizer(model, 1e-4, device)
        step = TrainingStep(model, optimizer, device, amp=amp, compile=compile_mode or False)
        batches = _cycle_batches(host_windows if host else device_windows, a.batch)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)

        def one():
            nonlocal loss_sum
            inputs, targets, global_batch = next(batches)
            if host:
                inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
                step(inputs, targets, global_batch).item()
            else:
                loss_sum += step(inputs, targets, global_batch).double() * len(targets)

        _reset_peak(device)
        started = time.perf_counter()
        with training_numerics(device, tf32=tf32):
            seconds = time_per_call(one, device, a.seconds, warmup=3 if compile_mode else 2)
        results[name] = (seconds, _peak_mib(device))
        print(f'  F={frames} {name}: {a.batch / seconds:,.0f} samples/s ({time.perf_counter() - started:.0f} s)',
              flush=True)

    if compiled:
        ours('ours bf16+compile', tf32=True, amp=True, compile_mode='default')
        if device.type == 'cuda' and frames == max(a.frames):
            ours('ours bf16+compile, PyTorch spatial', tf32=True, amp=True, compile_mode='default', spatial='pytorch')
        if device.type == 'cuda' and frames == min(a.frames):
            ours('ours bf16+compile+graphs', tf32=True, amp=True, compile_mode='reduce-overhead')
        return results, gather

    # naive: the official-style loop on the same examples
    model = cb.make_model(frames, drop_path_rate=0.1, **a.model)
    naive = NaivePoseFormer(**model.config).to(device).train()
    naive.load_state_dict(model.state_dict())
    naive_optimizer = torch.optim.AdamW(naive.parameters(), lr=1e-4, weight_decay=0.1)
    pad = (frames - 1) // 2
    padded = [np.pad(s.poses_2d, ((pad, pad), (0, 0), (0, 0)), mode='edge') for s in sequences]
    poses_3d = [s.poses_3d for s in sequences]
    seq_of = np.concatenate([np.full(len(s.poses_3d), i) for i, s in enumerate(sequences)])
    frame_of = np.concatenate([np.arange(len(s.poses_3d)) for s in sequences])
    rng = np.random.RandomState(0)

    def naive_step():
        example = rng.randint(0, 2 * len(seq_of), size=a.batch)
        base = example % len(seq_of)
        rows = np.stack([seq_of[base], frame_of[base], example >= len(seq_of)], axis=1).tolist()
        batch_2d, batch_3d = naive_training_batch(padded, poses_3d, rows, frames, cb.KPS_LEFT, cb.KPS_RIGHT,
                                                  cb.JOINTS_LEFT, cb.JOINTS_RIGHT)
        naive_train_step(naive, naive_optimizer, batch_2d, batch_3d, mpjpe, device=device)

    _reset_peak(device)
    with training_numerics(device, tf32=False):
        seconds = time_per_call(naive_step, device, a.seconds)
    results['naive fp32'] = (seconds, _peak_mib(device))
    print(f'  F={frames} naive fp32: {a.batch / seconds:,.0f} samples/s', flush=True)
    del naive, naive_optimizer

    ours('ours fp32')
    ours('ours fp32, host gather', host=True)
    if device.type == 'cuda':
        ours('ours tf32', tf32=True)
        ours('ours tf32, PyTorch spatial', tf32=True, spatial='pytorch')
    ours('ours bf16', tf32=True, amp=True)
    if device.type == 'cuda':
        ours('ours bf16, PyTorch spatial', tf32=True, amp=True, spatial='pytorch')
        ours('ours bf16, SDPA spatial', tf32=True, amp=True, spatial_sdpa=True, spatial='pytorch')
    for name, windows in (('host', host_windows), ('device', device_windows)):
        ids = torch.as_tensor(np.random.RandomState(1).permutation(len(windows))[:a.batch]).to(windows.device)
        gather[name] = time_per_call(lambda: windows.batch(ids), device, 1.0, block=20)
    return results, gather


def attention_variants(a, device):
    """Spatial attention, (B*F, H, 17, 4) as in training: SDPA vs explicit, forward + backward, ms."""
    from torch.nn.functional import scaled_dot_product_attention
    c = a.model.get('embed_dim_ratio', 32)
    heads = a.model.get('num_heads', 8)
    shape = (a.batch * max(a.frames), heads, 17, c // heads)

    def explicit(q, k, v):
        return ((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5).softmax(dim=-1) @ v

    out = {}
    for dtype in ((torch.float32, torch.bfloat16) if device.type == 'cuda' else (torch.float32,)):
        q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
        grad = torch.randn(shape, device=device, dtype=dtype)
        for name, fn in (('sdpa', scaled_dot_product_attention), ('explicit', explicit)):
            out[(name, str(dtype).replace('torch.', ''))] = time_per_call(
                lambda: fn(q, k, v).backward(grad), device, 1.0)
    return shape, out


def spatial_stage_variants(a, device):
    """The spatial stage alone, forward + backward (training mode, default stochastic depth): fused vs PyTorch.

    Returns ({(kernel, precision): ms}, shape, max |fused - PyTorch| of the poses in fp32 evaluation
    (metres)), or a sentence saying why it was skipped (no CUDA or no triton: on the CPU the kernels
    run only in Triton's interpreter, which is a correctness check, tests/test_fused_spatial.py).
    """
    from common.model import fused_spatial
    from common.numerics import training_numerics
    frames = max(a.frames)
    model = cb.make_model(frames, drop_path_rate=0.1, **a.model).to(device).train().choose_attention(device)
    if device.type != 'cuda':
        return ('skipped: the fused spatial stage runs on CUDA only '
                '(here: tests/test_fused_spatial.py in the interpreter)')
    if not fused_spatial.triton_available():
        return 'skipped: triton is not importable'
    reason = fused_spatial.unsupported_reason(model)
    if reason:
        return f'skipped: {reason}'
    x = torch.randn(a.batch, frames, 17, 2, device=device)
    grad = torch.randn(a.batch, frames, 17 * model.embed_dim_ratio, device=device)
    out = {}
    for precision, tf32, amp in (('fp32', False, False), ('tf32', True, False), ('bf16', True, True)):
        for kernel in ('pytorch', 'triton'):
            model.spatial_kernel = kernel

            def one():
                with torch.autocast('cuda', dtype=torch.bfloat16, enabled=amp):
                    feats = model.forward_spatial(x)
                feats.float().backward(grad)

            with training_numerics(device, tf32=tf32):
                out[(kernel, precision)] = time_per_call(one, device, 1.0)
    for block_frames in (1, 4):                     # the kernels' tile (default fused_spatial.BLOCK_FRAMES = 2)
        default, fused_spatial.BLOCK_FRAMES = fused_spatial.BLOCK_FRAMES, block_frames
        model.spatial_kernel = 'triton'
        try:
            with training_numerics(device, tf32=True):
                out[(f'triton, {block_frames}-frame tiles', 'bf16')] = time_per_call(one, device, 1.0)
        finally:
            fused_spatial.BLOCK_FRAMES = default
    model.eval()
    poses = {}
    with training_numerics(device, tf32=False), torch.no_grad():
        for kernel in ('pytorch', 'triton'):
            model.spatial_kernel = kernel
            poses[kernel] = model(x)
    diff = (poses['triton'] - poses['pytorch']).abs().max().item()
    return out, (a.batch * frames, 17, model.embed_dim_ratio), diff


def evaluation_variants(a, frames, device, sequences):
    """{name: frames per second} of our evaluation and the naive one (flip TTA, fp32), peak MiB."""
    from benchmarks.naive_reference import NaivePoseFormer, naive_predict_video
    from common.data.types import Symmetry
    from common.evaluation import predict_sequence
    symmetry = Symmetry(cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)
    model = cb.make_model(frames, **a.model).to(device).eval().choose_attention(device)
    naive = NaivePoseFormer(**model.config).to(device).eval()
    naive.load_state_dict(model.state_dict())
    video = sequences[0].poses_2d[:a.eval_length]
    out = {}
    for name, fn in (('ours', lambda: predict_sequence(model, video, symmetry, batch_size=a.eval_batch, device=device)),
                     ('naive', lambda: naive_predict_video(naive, video, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT,
                                                           cb.JOINTS_RIGHT, device=device))):
        _reset_peak(device)
        seconds = time_per_call(fn, device, a.seconds / 2, block=1, warmup=1, max_blocks=5)
        out[name] = (len(video) / seconds, _peak_mib(device))
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('-f', '--frames', type=int, nargs='+', help='receptive fields (CUDA: 27 81; CPU: 9)')
    p.add_argument('-b', '--batch', type=int, help='training batch (CUDA: 512; CPU: 32)')
    p.add_argument('--seconds', type=float, help='time box of one variant after warm-up (CUDA: 6; CPU: 3)')
    p.add_argument('--budget', type=float, default=120,
                   help='seconds after which compiled variants are skipped (a compile takes ~0.5-1 min)')
    p.add_argument('--no-compile', action='store_true')
    p.add_argument('--device', choices=('auto', 'cpu', 'cuda'), default='auto')
    a = p.parse_args(argv)
    a.device = torch.device('cuda' if a.device == 'auto' and torch.cuda.is_available() else
                            ('cpu' if a.device == 'auto' else a.device))
    gpu = a.device.type == 'cuda'
    a.frames = a.frames or ([27, 81] if gpu else [9])
    a.batch = a.batch or (512 if gpu else 32)
    a.seconds = a.seconds or (4.0 if gpu else 3.0)
    a.model = {} if gpu else {'embed_dim_ratio': 16, 'depth': 2}
    a.eval_length, a.eval_batch = (4000, 1024) if gpu else (300, 64)
    a.sequences, a.length = (4, 4000) if gpu else (2, 300)
    return a


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    a.started = time.perf_counter()
    device = a.device
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else cb.machine_summary()
    print(f'# bench_gpu {time.strftime("%Y-%m-%d %H:%M")}  device: {name}; torch {torch.__version__}; '
          f'batch {a.batch}; model {a.model or "default (c=32, depth 4, 8 heads)"}', flush=True)
    sequences = _sequences(a.sequences, a.length)
    training, gathers, evaluation = {}, [], {}
    for frames in a.frames:
        training[frames], gather = training_variants(a, frames, device, sequences)
        gathers.append(f'F={frames}: host {gather["host"] * 1e3:.2f} ms, device {gather["device"] * 1e3:.2f} ms '
                       f'per batch of {a.batch}')
        evaluation[frames] = evaluation_variants(a, frames, device, sequences)
    if not a.no_compile:
        for frames in sorted(a.frames, reverse=True):       # the longest first: the headline configuration
            training[frames].update(training_variants(a, frames, device, sequences, compiled=True)[0])
    rows = []
    for frames in a.frames:
        naive_s = training[frames]['naive fp32'][0]
        for variant, (seconds, peak) in training[frames].items():
            rate = a.batch / seconds
            rows.append([f'train {variant}', frames, f'{rate:,.0f}', f'{naive_s / seconds:.2f}x',
                         f'{H36M_TRAINING_SAMPLES / rate / 60:.1f}', _mib(peak)])
        naive_rate = evaluation[frames]['naive'][0]
        for variant, (rate, peak) in evaluation[frames].items():
            rows.append([f'evaluate {variant} (frames/s)', frames, f'{rate:,.0f}', f'{rate / naive_rate:.2f}x', '',
                         _mib(peak)])
    shape, attention = attention_variants(a, device)
    stage = spatial_stage_variants(a, device)
    print()
    print(cb.format_table(['variant', 'F', 'samples/s', 'vs naive', 'H36M epoch min', 'peak MiB'], rows))
    print('\nbatch gather: ' + '; '.join(gathers))
    print(f'spatial attention {shape} forward+backward: ' + ', '.join(
        f'{k[0]} {k[1]} {v * 1e3:.2f} ms' for k, v in attention.items()))
    if isinstance(stage, str):
        print(f'fused spatial stage: {stage}')
    else:
        times, stage_shape, diff = stage
        print(f'spatial stage {stage_shape} forward+backward (train, drop path 0.1): ' + ', '.join(
            f'{precision} PyTorch {times[("pytorch", precision)] * 1e3:.2f} ms / fused '
            f'{times[("triton", precision)] * 1e3:.2f} ms' for precision in ('fp32', 'tf32', 'bf16')))
        print('fused spatial stage bf16 by tile (2 frames: above): ' + ', '.join(
            f'{k[0].split(", ")[1]} {v * 1e3:.2f} ms' for k, v in times.items() if 'tiles' in k[0]))
        print(f'fused vs PyTorch spatial stage, fp32 evaluation: poses differ by at most {diff:.2e} m')
    print(f'# {device}: {name}; total {time.perf_counter() - a.started:.0f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
