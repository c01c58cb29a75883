"""Evaluation throughput and memory: our `predict_sequence` vs a naive, official-style evaluation.

    python benchmarks/bench_evaluation.py              # default run (see README.md for timings)
    python benchmarks/bench_evaluation.py --quick      # smoke run, < 30 s
    python benchmarks/bench_evaluation.py --full       # the issue's workload: 4 videos x 2,000 frames, ...

Variants (each repeat of each variant runs in a fresh subprocess, so malloc settings and allocator
state never leak between variants; the repeats are interleaved A, B, C, A, B, C, ...):

* ``ours``          `common.evaluation.predict_sequence` per video, default glibc malloc.
* ``ours+mallopt``  the same, after ``mallopt(M_MMAP_MAX=0, M_TOP_PAD=1 GiB, M_TRIM_THRESHOLD=1 GiB)``
                    at process start (what `run_poseformer.py` could do).
* ``naive``         `benchmarks.naive_reference.naive_predict_video` (windows cut in a Python loop,
                    the whole video as one batch, explicit attention, full forward per window,
                    flip TTA as a second pass), default malloc.

All variants use the same seeded random weights (default PoseFormer config, eval mode) and the same
random-but-smooth 2D videos (17 joints), flip TTA on. Reported per variant and receptive field:
frames/s (median over repeats), achieved GFLOP/s (2 x MACs of the work actually done: ours = spatial
stage per padded frame of every chunk + temporal stage per window; naive = full forward per window;
x2 for TTA), that as a % of an fp32 2048x2048 ``torch.mm`` peak measured by this script between the
runs, the peak RSS of the subprocess, page faults and system CPU time of the timed region, and the
max abs difference of the predictions (ours vs naive). Further sections: our batch-size sweep and
our peak RSS against video length.
"""
import argparse
import os
import sys
import tempfile
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)

VARIANTS = {           # name -> (implementation, malloc)
    'ours': ('ours', 'default'),
    'ours+mallopt': ('ours', 'tuned'),
    'naive': ('naive', 'default'),
    # what-if (not product code): plain and mirrored windows of a chunk in ONE forward pass
    'ours+mallopt+tta1': ('ours-tta1', 'tuned'),
}
DEFAULT_VARIANTS = ['ours', 'ours+mallopt', 'naive']


def predict_sequence_tta_batched(model, poses_2d, symmetry, batch_size=256):
    """What-if for `common.evaluation.predict_sequence` (tta=True): per chunk, the plain and the
    mirrored padded frames go through `forward_spatial` together and their 2 x n_b windows through
    ONE `forward_temporal` call (half the calls, twice the rows per matmul). Same math."""
    import numpy as np
    import torch

    from common.windows import flip_pose, pad_edges
    frames = model.num_frame
    pad = (frames - 1) // 2
    n = len(poses_2d)
    padded = torch.from_numpy(pad_edges(np.asarray(poses_2d, dtype=np.float32), pad))
    both = torch.stack([padded, flip_pose(padded, symmetry.kps_left, symmetry.kps_right)])   # (2, T, J, 2)
    out = np.empty((n, model.num_joints, 3), dtype=np.float32)
    with torch.no_grad():
        for begin in range(0, n, batch_size):
            end = min(n, begin + batch_size)
            feats = model.forward_spatial(both[:, begin:end + 2 * pad])                    # (2, n_b + 2 pad, J*c)
            windows = feats.unfold(1, frames, 1).transpose(2, 3).reshape(-1, frames, feats.shape[-1])
            pred = model.forward_temporal(windows).reshape(2, end - begin, model.num_joints, 3)
            pred = (pred[0] + flip_pose(pred[1], symmetry.joints_left, symmetry.joints_right)) / 2
            out[begin:end] = pred.numpy()
    return out


# ------------------------------------------------------------------------------------------- worker

def worker(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--impl', choices=['ours', 'ours-tta1', 'naive'], required=True)
    p.add_argument('--malloc', choices=['default', 'tuned'], default='default')
    p.add_argument('--frames', type=int, required=True)
    p.add_argument('--videos', type=int, required=True)
    p.add_argument('--length', type=int, required=True)
    p.add_argument('--batch-size', type=int, default=256)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--save', default='')
    p.add_argument('--threads', type=int, default=0)
    a = p.parse_args(argv)
    tuned = cb.tune_malloc() if a.malloc == 'tuned' else False   # before torch allocates anything

    import numpy as np
    import torch
    if a.threads > 0:
        torch.set_num_threads(a.threads)

    from benchmarks.naive_reference import NaivePoseFormer, naive_predict_video
    from common.data.types import Symmetry
    from common.evaluation import predict_sequence

    model = cb.make_model(a.frames, seed=a.seed).eval()
    spatial_macs, temporal_macs, full_macs = cb.model_macs(model)
    videos = [cb.smooth_keypoints(a.length, seed=a.seed + 1 + i) for i in range(a.videos)]
    pad = (a.frames - 1) // 2
    if a.impl in ('ours', 'ours-tta1'):
        symmetry = Symmetry(cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)

        def predict(poses):
            if a.impl == 'ours-tta1':
                return predict_sequence_tta_batched(model, poses, symmetry, batch_size=a.batch_size)
            return predict_sequence(model, poses, symmetry, tta=True, batch_size=a.batch_size)

        def macs(n):   # every chunk of <= batch_size windows embeds its n_b + 2 pad frames
            chunks = [min(a.batch_size, n - b) for b in range(0, n, a.batch_size)]
            return 2 * (sum(c + 2 * pad for c in chunks) * spatial_macs + n * temporal_macs)
        warm = min(a.length, a.batch_size)
    else:
        naive = NaivePoseFormer(**model.config).eval()
        naive.load_state_dict(model.state_dict(), strict=True)

        def predict(poses):
            return naive_predict_video(naive, poses, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)

        def macs(n):
            return 2 * n * full_macs
        warm = min(a.length, 64)
    rss_base = cb.rss_mb()
    with torch.no_grad():
        predict(videos[0][:warm])                                   # warm-up (kernel selection)
    faults0, cpu0 = cb.page_faults(), cb.cpu_seconds()
    start = time.perf_counter()
    predictions = [predict(v) for v in videos]
    seconds = time.perf_counter() - start
    faults1, cpu1 = cb.page_faults(), cb.cpu_seconds()
    if a.save:
        np.save(a.save, np.stack(predictions))
    total_frames = a.videos * a.length
    print(json_line({
        'seconds': seconds, 'frames': total_frames, 'macs': sum(macs(a.length) for _ in videos),
        'rss_base_mb': rss_base, 'rss_peak_mb': cb.max_rss_mb(), 'minor_faults': faults1[0] - faults0[0],
        'user_s': cpu1[0] - cpu0[0], 'sys_s': cpu1[1] - cpu0[1], 'mallopt': tuned,
        'threads': torch.get_num_threads(),
    }))


def json_line(d):
    import json
    return json.dumps(d)


# ------------------------------------------------------------------------------------------- parent

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--sections', nargs='+', default=['main', 'sweep', 'memory'], choices=['main', 'sweep', 'memory'],
                   help='which parts to run (default: all)')
    p.add_argument('--frames', type=int, nargs='+', default=[27, 81], help='receptive fields (odd)')
    p.add_argument('--videos', type=int, default=2, help='videos per run')
    p.add_argument('--length', type=int, default=256, help='frames per video')
    p.add_argument('--repeats', type=int, default=3, help='interleaved repeats of every variant')
    p.add_argument('--variants', nargs='+', default=DEFAULT_VARIANTS, choices=list(VARIANTS),
                   help='ours+mallopt+tta1 is a what-if of a proposed change, not product code')
    p.add_argument('--batch-size', type=int, default=256, help="ours: predict_sequence's batch_size")
    p.add_argument('--sweep', type=int, nargs='*', default=[64, 128, 256, 512, 1024],
                   help='batch sizes for the sweep of ours (none: skip the sweep)')
    p.add_argument('--sweep-frames', type=int, default=81)
    p.add_argument('--sweep-length', type=int, default=512,
                   help='frames of the one sweep video (batch sizes beyond it are all the same run)')
    p.add_argument('--sweep-repeats', type=int, default=1)
    p.add_argument('--sweep-variants', nargs='+', default=['ours', 'ours+mallopt'],
                   choices=['ours', 'ours+mallopt'])
    p.add_argument('--memory-lengths', type=int, nargs='*', default=[256, 1024],
                   help='video lengths for the memory-vs-length check of ours (none: skip)')
    p.add_argument('--memory-frames', type=int, default=27)
    p.add_argument('--memory-variants', nargs='+', default=['ours', 'ours+mallopt'],
                   choices=['ours', 'ours+mallopt', 'naive'])
    p.add_argument('--quick', action='store_true', help='tiny smoke run (< 30 s)')
    p.add_argument('--full', action='store_true',
                   help="the issue's workload: 4 x 2,000 frames, 3 repeats, memory 2,000 vs 8,000 frames at 81")
    p.add_argument('--peak-size', type=int, default=2048, help='n of the n x n matmul peak measurement')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=0, help="torch threads in the workers (0: torch's default)")
    p.add_argument('--wait-quiet', type=float, default=0, metavar='S',
                   help='before each worker, wait up to S seconds for the CPUs to be < 30 %% busy')
    args = p.parse_args(argv)
    if args.quick:
        args.threads = args.threads or 1   # 2 threads on a busy 2-core machine are erratic for tiny ops
        args.frames, args.videos, args.length, args.repeats = [9], 1, 48, 1
        args.sweep, args.sweep_frames, args.sweep_length, args.sweep_repeats = [16], 9, 48, 1
        args.memory_lengths, args.memory_frames = [48, 96], 9
        args.sweep_variants = ['ours']
        args.peak_size = 1024
        args.memory_variants = ['ours']
    if args.full:
        args.videos, args.length, args.repeats = 4, 2000, 3
        args.sweep_length, args.sweep_repeats = 2048, 2
        args.memory_lengths, args.memory_frames = [2000, 8000], 81
    return args


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ['--worker']:
        return worker(argv[1:])
    args = parse_args(argv)
    script = os.path.abspath(__file__)
    load = cb.LoadMonitor()
    peaks = []
    print(f'# bench_evaluation  {time.strftime("%Y-%m-%d %H:%M")}  {cb.machine_summary()}')
    if args.quick:
        print('# --quick: smoke run, every measurement in this process (timings are not meaningful)')
    print(f'# workload: {args.videos} videos x {args.length} frames, flip TTA, default PoseFormer config, '
          f'{args.repeats} interleaved repeats; ours batch_size {args.batch_size}')
    t_start = time.time()

    def measure_peak():
        load.sample()
        peaks.append(cb.matmul_peak_gflops(args.peak_size))

    if 'main' in args.sections:
        _main_table(script, args, load, peaks, measure_peak)
    if args.sweep and 'sweep' in args.sections:
        _sweep(script, args, load)
    if args.memory_lengths and 'memory' in args.sections:
        _memory(script, args, load)
    print(f'\n# machine load during the run: {load.summary()}; total {time.time() - t_start:.0f} s')
    return 0


def _main_table(script, args, load, peaks, measure_peak):
    results = {}          # (variant, frames) -> list of worker dicts
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for frames in args.frames:
                measure_peak()
                for name in args.variants:
                    impl, malloc = VARIANTS[name]
                    save = os.path.join(tmp, f'{name}_{frames}.npy') if rep == 0 else ''
                    r = _run(script, args, load, ['--impl', impl, '--malloc', malloc, '--frames', frames,
                                               '--videos', args.videos, '--length', args.length,
                                               '--batch-size', args.batch_size, '--seed', args.seed,
                                               '--save', save])
                    r['peak'] = peaks[-1]     # the matmul peak measured just before this round
                    results.setdefault((name, frames), []).append(r)
                    print(f'  rep {rep + 1} {name:>12} F={frames:<3} {r["frames"] / r["seconds"]:7.1f} frames/s '
                          f'(CPUs {100 * r["busy_before"]:.0f} % busy before)', flush=True)
        measure_peak()
        diffs = _prediction_differences(tmp, args)
    peak = cb.median(peaks)

    print(f'\nfp32 torch.mm {args.peak_size}x{args.peak_size} peak: median {peak:.1f} GFLOP/s '
          f'(min {min(peaks):.1f}, max {max(peaks):.1f}, {len(peaks)} measurements between the runs)')
    rows = []
    for frames in args.frames:
        naive_rs = results.get(('naive', frames))
        for name in args.variants:
            rs = results[(name, frames)]
            # Ratios and % of peak are paired per round (same repeat, same moment), then the median.
            ratio = cb.median([(r['frames'] / r['seconds']) / (b['frames'] / b['seconds'])
                               for r, b in zip(rs, naive_rs)]) if naive_rs else float('nan')
            gflops = cb.median([2 * r['macs'] / r['seconds'] / 1e9 for r in rs])
            of_peak = cb.median([2 * r['macs'] / r['seconds'] / 1e9 / r['peak'] for r in rs])
            rows.append([
                name, frames, f'{_fps(rs):.1f}', f'{ratio:.2f}x' if ratio == ratio else '-',
                f'{gflops:.1f}', f'{100 * of_peak:.0f} %',
                f'{cb.median([r["rss_peak_mb"] for r in rs]):.0f}',
                f'{cb.median([r["rss_peak_mb"] - r["rss_base_mb"] for r in rs]):.0f}',
                f'{cb.median([r["minor_faults"] for r in rs]) / 1e3:.0f}k',
                f'{cb.median([r["sys_s"] / max(r["user_s"] + r["sys_s"], 1e-9) for r in rs]) * 100:.0f} %',
                diffs.get((name, frames), '-'),
                f'{sum(r["busy_before"] > 0.5 for r in rs)}/{len(rs)}',
            ])
    print(cb.format_table(['variant', 'F', 'frames/s', 'vs naive', 'GFLOP/s', '% of mm peak', 'peak RSS MiB',
                           'RSS above base MiB', 'page faults', 'sys CPU share', 'max |ours - naive| m',
                           'runs on busy CPUs'], rows))
    print('frames/s, GFLOP/s, RSS: medians over the repeats; vs naive and % of mm peak: medians of per-round '
          'ratios; runs on busy CPUs: runs that started with > 50 % of the CPUs busy with other processes')


def _run(script, args, load, worker_args):
    """One measurement in a fresh subprocess, after recording (and optionally waiting out) other load."""
    busy = load.before_worker(args.wait_quiet)
    r = cb.run_worker(script, worker_args + ['--threads', args.threads],
                      in_process=main if args.quick else None)
    r['busy_before'] = busy
    load.sample()
    if '--malloc' in worker_args and worker_args[worker_args.index('--malloc') + 1] == 'tuned' and not r['mallopt']:
        print('  WARNING: the malloc tuning was not applied (POSEFORMER_NO_MALLOC_TUNING set, or not glibc)')
    return r


def _fps(rs):
    if not rs:
        return float('nan')
    return cb.median([r['frames'] / r['seconds'] for r in rs])


def _prediction_differences(tmp, args):
    import numpy as np
    out = {}
    for frames in args.frames:
        naive_file = os.path.join(tmp, f'naive_{frames}.npy')
        if not os.path.exists(naive_file):
            continue
        reference = np.load(naive_file)
        for name in args.variants:
            path = os.path.join(tmp, f'{name}_{frames}.npy')
            if name != 'naive' and os.path.exists(path):
                out[(name, frames)] = f'{np.abs(np.load(path) - reference).max():.1e}'
    return out


def _sweep(script, args, load):
    print(f'\n## ours: batch-size sweep (F={args.sweep_frames}, 1 video x {args.sweep_length} frames, '
          f'{args.sweep_repeats} interleaved repeat(s))')
    sizes = [bs for bs in sorted(set(args.sweep)) if bs < args.sweep_length]
    sizes += [bs for bs in sorted(set(args.sweep)) if bs >= args.sweep_length][:1]
    if len(sizes) < len(set(args.sweep)):
        print(f'  (batch sizes >= {args.sweep_length} frames are one chunk per video: only {sizes[-1]} is run)')
    args.sweep = sizes
    results = {}
    for _ in range(args.sweep_repeats):
        for bs in args.sweep:
            for name in args.sweep_variants:
                impl, malloc = VARIANTS[name]
                r = _run(script, args, load, ['--impl', impl, '--malloc', malloc, '--frames', args.sweep_frames,
                                           '--videos', 1, '--length', args.sweep_length, '--batch-size', bs,
                                           '--seed', args.seed])
                results.setdefault((name, bs), []).append(r)
                print(f'  {name:>12} batch {bs:<5} {r["frames"] / r["seconds"]:7.1f} frames/s '
                      f'(CPUs {100 * r["busy_before"]:.0f} % busy before)', flush=True)
    rows = []
    for name in args.sweep_variants:
        best = max(args.sweep, key=lambda bs: _fps(results[(name, bs)]))
        for bs in args.sweep:
            rs = results[(name, bs)]
            rows.append([name, bs, f'{_fps(rs):.1f}', f'{cb.median([r["rss_peak_mb"] for r in rs]):.0f}',
                         f'{cb.median([r["sys_s"] / max(r["user_s"] + r["sys_s"], 1e-9) for r in rs]) * 100:.0f} %',
                         'best' if bs == best else ''])
    print(cb.format_table(['variant', 'batch size', 'frames/s', 'peak RSS MiB', 'sys CPU share', ''], rows))


def _memory(script, args, load):
    print(f'\n## ours: peak RSS vs video length (F={args.memory_frames}, batch {args.batch_size}, one video)')
    rows = []
    names = args.memory_variants
    for name in names:
        impl, malloc = VARIANTS[name]
        for length in args.memory_lengths:
            r = _run(script, args, load, ['--impl', impl, '--malloc', malloc, '--frames', args.memory_frames,
                                       '--videos', 1, '--length', length, '--batch-size', args.batch_size,
                                       '--seed', args.seed])
            rows.append([name, length, f'{r["rss_peak_mb"]:.0f}', f'{r["rss_peak_mb"] - r["rss_base_mb"]:.0f}',
                         f'{r["frames"] / r["seconds"]:.1f}'])
            print(f'  {name:>12} {length} frames: peak RSS {r["rss_peak_mb"]:.0f} MiB', flush=True)
    print(cb.format_table(['variant', 'video frames', 'peak RSS MiB', 'above base MiB', 'frames/s'], rows))


if __name__ == '__main__':
    sys.exit(main())
