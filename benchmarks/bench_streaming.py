"""Streaming lifter latency: per-frame time and frames/s of `common.streaming.Lifter`, PyTorch vs onnxruntime.

    python benchmarks/bench_streaming.py                    # 27 and 81 frames, 1 thread, 600-frame streams x 3
    python benchmarks/bench_streaming.py --quick            # smoke run, a few seconds
    python benchmarks/bench_streaming.py --threads 2 --tta

Model: the full-size PoseFormer (embedding 32 per joint, 4 + 4 blocks, 8 heads) with seeded random
weights, eval mode; input: random-but-smooth 2D keypoints (17 joints), batch 1 (one frame per
``push``). For each receptive field the same stream goes through the lifter on PyTorch and on
onnxruntime (the stage files written by `common.streaming.export_onnx` to a temporary folder),
interleaved over the repeats so that both see the same machine load. The first ``--warmup`` frames
of every stream are not timed.

Reported per receptive field and backend: the median and 99th percentile of the time one ``push``
takes (one spatial call on one frame + one temporal call on a window), frames/s (timed frames over
their total time), the model's own latency (frames after the target, (F-1)/2, the time the stream
has to run ahead before a frame's pose can be computed; at 50 fps that is this many x 20 ms), and
the largest difference of the onnxruntime poses from the PyTorch ones.
"""
import argparse
import os
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)


def time_stream(lifter, keypoints, warmup):
    """Push every frame of ``keypoints`` (N, J, 2), then flush; returns (seconds per timed push, poses (N, J, 3))."""
    import numpy as np
    times, poses = [], []
    for index, frame in enumerate(keypoints):
        start = time.perf_counter()
        pose = lifter.push(frame)
        elapsed = time.perf_counter() - start
        if index >= warmup:
            times.append(elapsed)
        if pose is not None:
            poses.append(pose)
    return times, np.concatenate([np.stack(poses), lifter.flush()])


def measure(frames, args, folder):
    """Rows of the table for one receptive field."""
    import numpy as np
    from common.data.types import Symmetry
    from common.streaming import Lifter, OnnxStages, export_onnx

    model = cb.make_model(frames).eval()
    path = os.path.join(folder, f'poseformer_{frames}f.onnx')
    export_onnx(model, path, stages=True)
    symmetry = Symmetry(cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)
    lifters = {'PyTorch': Lifter(model, symmetry, tta=args.tta),
               'onnxruntime': Lifter(OnnxStages(path, threads=args.threads), symmetry, tta=args.tta)}
    times = {name: [] for name in lifters}
    difference = 0.0
    for repeat in range(args.repeats):
        keypoints = cb.smooth_keypoints(args.length, seed=repeat)
        poses = {}
        for name, lifter in lifters.items():
            seconds, poses[name] = time_stream(lifter, keypoints, args.warmup)
            times[name] += seconds
        difference = max(difference, float(np.abs(poses['onnxruntime'] - poses['PyTorch']).max()))
    rows = []
    for name, seconds in times.items():
        ms = np.array(seconds) * 1e3
        rows.append([frames, name, f'{np.median(ms):.2f}', f'{np.percentile(ms, 99):.2f}',
                     f'{len(ms) / (ms.sum() / 1e3):.0f}', lifters[name].latency_frames,
                     '-' if name == 'PyTorch' else f'{difference:.1e}'])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, nargs='+', default=[27, 81], help='receptive fields to measure')
    parser.add_argument('--length', type=int, default=600, help='frames per stream')
    parser.add_argument('--repeats', type=int, default=3, help='streams per backend and receptive field')
    parser.add_argument('--warmup', type=int, default=50, help='untimed frames at the start of every stream')
    parser.add_argument('--threads', type=int, default=1, help='torch and onnxruntime intra-op threads')
    parser.add_argument('--tta', action='store_true', help='flip test-time augmentation (a batch of 2 per call)')
    parser.add_argument('--quick', action='store_true', help='smoke run: 9 and 27 frames, short streams')
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.length, args.repeats, args.warmup = [9, 27], 60, 1, 10

    import torch
    torch.set_num_threads(args.threads)
    print(f'# Streaming lifter, batch 1, {args.threads} thread(s), TTA {"on" if args.tta else "off"}, '
          f'{args.repeats} x {args.length}-frame streams (first {args.warmup} frames untimed)')
    print(f'# {cb.machine_summary()}; 1-min load average before: {cb.load_average():.2f}')
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for frames in args.frames:
            rows += measure(frames, args, folder)
    print(cb.format_table(['F', 'backend', 'per frame median (ms)', 'p99 (ms)', 'frames/s',
                           'model latency (frames)', 'max diff. ORT vs PyTorch (m)'], rows))
    print(f'# 1-min load average after: {cb.load_average():.2f}')


if __name__ == '__main__':
    main()
