"""Training throughput: our loop's step vs a naive, official-style step, on the same synthetic data.

    python benchmarks/bench_training.py              # default run (see README.md)
    python benchmarks/bench_training.py --quick      # smoke run, < 30 s
    python benchmarks/bench_training.py -b 512       # the official batch size (slow on 2 CPU cores)

Samples = predicted frames (a flip-augmented example counts as one). Every repeat of every variant
runs in a fresh subprocess (interleaved A, B, C, A, B, C, ...); inside it, `--warmup` steps are run
and then `--steps` steps are timed one by one; the step time of a run is the median of its steps, the
table reports the median over repeats.

* ``ours``          `common.windows.TrainingWindows.batches` (one gather per batch) + the product's
                    `common.training.TrainingStep` (PoseTransformer with timm blocks and fused
                    attention, AdamW(wd 0.1), MPJPE): what `common.training.train` runs per batch;
                    default glibc malloc.
* ``ours+mallopt``  the same after ``mallopt(M_MMAP_MAX=0, M_TOP_PAD=1 GiB, M_TRIM_THRESHOLD=1 GiB)``.
* ``ours+mallopt+amp``  the same with ``amp=True`` (`--amp`): on the CPU the temporal stage under
                    bf16 autocast (AMX on recent Xeons), the spatial stage in fp32.
* ``naive``         `benchmarks.naive_reference`: per-sample Python generator, explicit-attention
                    model, ``torch.cuda.empty_cache()`` after each step, same optimizer and loss;
                    default malloc.

All variants start from the same seeded weights (default PoseFormer config, drop_path 0.1) and see
the same shuffled examples.
"""
import argparse
import os
import sys
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)

VARIANTS = {'ours': ('ours', 'default'), 'ours+mallopt': ('ours', 'tuned'), 'naive': ('naive', 'default'),
            # --amp: on the CPU the temporal stage under bf16 autocast (AMX on recent Xeons)
            'ours+mallopt+amp': ('ours-amp', 'tuned')}
DEFAULT_VARIANTS = ['ours', 'ours+mallopt', 'naive']
# What run_poseformer.py trains with (it applies the malloc tuning at start-up): the variants the guard checks.
PRODUCT_VARIANTS = ('ours+mallopt', 'ours+mallopt+amp')


class _Sequence:
    def __init__(self, poses_2d, poses_3d):
        self.poses_2d, self.poses_3d = poses_2d, poses_3d


def _data(count, length, seed):
    """`count` synthetic sequences: smooth 3D poses (metres) and their pinhole projections."""
    seqs = []
    for i in range(count):
        p3 = cb.smooth_poses_3d(length, seed=seed + 10 * i)
        p2 = (p3[..., :2] / p3[..., 2:]).astype('float32')
        seqs.append(_Sequence(p2, p3))
    return seqs


def worker(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--impl', choices=['ours', 'ours-amp', 'naive'], required=True)
    p.add_argument('--malloc', choices=['default', 'tuned'], default='default')
    p.add_argument('--frames', type=int, required=True)
    p.add_argument('--batch-size', type=int, required=True)
    p.add_argument('--sequences', type=int, default=4)
    p.add_argument('--length', type=int, default=1000)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--steps', type=int, default=8)
    p.add_argument('--profile', action='store_true', help='print a torch.profiler table of the timed steps')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=0)
    a = p.parse_args(argv)
    tuned = cb.tune_malloc() if a.malloc == 'tuned' else False

    import numpy as np
    import torch
    if a.threads > 0:
        torch.set_num_threads(a.threads)

    from benchmarks.naive_reference import NaivePoseFormer, naive_train_step, naive_training_batch
    from common.metrics import mpjpe
    from common.training import TrainingStep, make_optimizer
    from common.windows import TrainingWindows

    seqs = _data(a.sequences, a.length, a.seed)
    model = cb.make_model(a.frames, seed=a.seed, drop_path_rate=0.1)
    windows = TrainingWindows(seqs, a.frames, cb.KPS_LEFT, cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT,
                              augment=True)
    order = windows.epoch_order(np.random.default_rng(a.seed))
    n_steps = a.warmup + a.steps
    assert n_steps * a.batch_size <= len(order), 'not enough examples: raise --sequences/--length'
    torch.manual_seed(a.seed)
    data_times, step_times = [], []

    if a.impl in ('ours', 'ours-amp'):
        model.train()
        train_step = TrainingStep(model, make_optimizer(model, 1e-3, 'cpu'), 'cpu', amp=a.impl == 'ours-amp')
        batches = windows.batches(order[:n_steps * a.batch_size], a.batch_size)

        def step():
            t0 = time.perf_counter()
            inputs_2d, targets, global_batch = next(batches)
            t1 = time.perf_counter()
            train_step(inputs_2d, targets, global_batch).item()
            return t1 - t0
    else:
        naive = NaivePoseFormer(**model.config).train()
        naive.load_state_dict(model.state_dict(), strict=True)
        optimizer = torch.optim.AdamW(naive.parameters(), lr=1e-3, weight_decay=0.1)
        pad = (a.frames - 1) // 2
        padded = [np.pad(s.poses_2d, ((pad, pad), (0, 0), (0, 0)), mode='edge') for s in seqs]
        poses_3d = [s.poses_3d for s in seqs]
        # The same examples as ours, as (sequence, centre frame, flip) rows.
        seq_of = np.concatenate([np.full(len(s.poses_3d), i) for i, s in enumerate(seqs)])
        frame_of = np.concatenate([np.arange(len(s.poses_3d)) for s in seqs])
        plain = len(windows) // 2          # examples k and k + plain: a window and its mirrored twin
        target = order % plain
        pairs = np.stack([seq_of[target], frame_of[target], order >= plain], axis=1)
        position = [0]

        def step():
            t0 = time.perf_counter()
            rows = pairs[position[0]:position[0] + a.batch_size]
            position[0] += a.batch_size
            batch_2d, batch_3d = naive_training_batch(padded, poses_3d, rows.tolist(), a.frames, cb.KPS_LEFT,
                                                      cb.KPS_RIGHT, cb.JOINTS_LEFT, cb.JOINTS_RIGHT)
            t1 = time.perf_counter()
            naive_train_step(naive, optimizer, batch_2d, batch_3d, mpjpe)
            return t1 - t0

    rss_base = cb.rss_mb()
    for _ in range(a.warmup):
        step()
    faults0, cpu0 = cb.page_faults(), cb.cpu_seconds()
    profiler = None
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        profiler = profile(activities=[ProfilerActivity.CPU])
        profiler.__enter__()
    for _ in range(a.steps):
        start = time.perf_counter()
        data_times.append(step())
        step_times.append(time.perf_counter() - start)
    if profiler is not None:
        profiler.__exit__(None, None, None)
        print(profiler.key_averages().table(sort_by='self_cpu_time_total', row_limit=25), file=sys.stderr)
    faults1, cpu1 = cb.page_faults(), cb.cpu_seconds()
    import json
    print(json.dumps({
        'step_s': cb.median(step_times), 'data_s': cb.median(data_times), 'batch': a.batch_size,
        'rss_base_mb': rss_base, 'rss_peak_mb': cb.max_rss_mb(), 'minor_faults': (faults1[0] - faults0[0]) / a.steps,
        'user_s': (cpu1[0] - cpu0[0]) / a.steps, 'sys_s': (cpu1[1] - cpu0[1]) / a.steps, 'mallopt': tuned,
        'macs_fwd': cb.model_macs(model)[2] * a.batch_size,
    }))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('-f', '--frames', type=int, nargs='+', default=[27])
    p.add_argument('-b', '--batch-size', type=int, default=128,
                   help='examples per step (the official default 512 takes ~10 s a step here)')
    p.add_argument('--steps', type=int, default=8, help='timed steps per run (after --warmup)')
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--repeats', type=int, default=3, help='interleaved runs of every variant')
    p.add_argument('--variants', nargs='+', default=DEFAULT_VARIANTS, choices=list(VARIANTS),
                   help='ours+mallopt+amp: the product with --amp (bf16 temporal stage on the CPU)')
    p.add_argument('--sequences', type=int, default=4)
    p.add_argument('--length', type=int, default=1000)
    p.add_argument('--quick', action='store_true', help='tiny smoke run (< 30 s)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=0, help="torch threads in the workers (0: torch's default)")
    p.add_argument('--guard', type=float, default=1.0, metavar='RATIO',
                   help='fail (exit 1) when what the product runs (ours+mallopt, ours+mallopt+amp) is slower than the official-style step of the '
                        'same run by more than this factor, median of per-round ratios (default 1.0: never slower; '
                        '0 turns the check off)')
    p.add_argument('--wait-quiet', type=float, default=0, metavar='S',
                   help='before each worker, wait up to S seconds for the CPUs to be < 30 %% busy')
    args = p.parse_args(argv)
    if args.quick:
        args.threads = args.threads or 1   # 2 threads on a busy 2-core machine are erratic for tiny ops
        args.frames, args.batch_size, args.steps, args.warmup, args.repeats = [9], 16, 2, 1, 1
        args.sequences, args.length = 2, 100
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
    t_start = time.time()
    print(f'# bench_training  {time.strftime("%Y-%m-%d %H:%M")}  {cb.machine_summary()}')
    print(f'# batch {args.batch_size}, {args.warmup} warm-up + {args.steps} timed steps per run, '
          f'{args.repeats} interleaved runs per variant, {args.sequences} sequences x {args.length} frames, '
          f'flip augmentation, drop_path 0.1, AdamW(wd 0.1), MPJPE')
    if args.quick:
        print('# --quick: smoke run, every measurement in this process (timings are not meaningful)')
    results = {}
    for _ in range(args.repeats):
        for frames in args.frames:
            load.sample()
            peaks.append(cb.matmul_peak_gflops())
            for name in args.variants:
                impl, malloc = VARIANTS[name]
                busy = load.before_worker(args.wait_quiet)
                r = cb.run_worker(script, in_process=main if args.quick else None, worker_args=[
                                  '--threads', args.threads, '--impl', impl, '--malloc', malloc, '--frames', frames,
                                           '--batch-size', args.batch_size, '--sequences', args.sequences,
                                           '--length', args.length, '--warmup', args.warmup, '--steps', args.steps,
                                           '--seed', args.seed])
                load.sample()
                r['busy_before'] = busy
                r['peak'] = peaks[-1]
                if malloc == 'tuned' and not r['mallopt']:
                    print('  WARNING: the malloc tuning was not applied (POSEFORMER_NO_MALLOC_TUNING set, or not glibc)')
                results.setdefault((name, frames), []).append(r)
                print(f'  {name:>12} F={frames:<3} step {r["step_s"]:.3f} s  ({args.batch_size / r["step_s"]:.1f} '
                      f'samples/s; CPUs {100 * busy:.0f} % busy before)', flush=True)
    peak = cb.median(peaks)
    print(f'\nfp32 torch.mm 2048x2048 peak: median {peak:.1f} GFLOP/s (min {min(peaks):.1f}, max {max(peaks):.1f})')
    rows, regressions = [], []
    for frames in args.frames:
        naive_rs = results.get(('naive', frames))
        for name in args.variants:
            rs = results[(name, frames)]
            sps = cb.median([r['batch'] / r['step_s'] for r in rs])
            # paired per round (same repeat, same moment), then the median
            ratio = cb.median([b['step_s'] / r['step_s'] for r, b in zip(rs, naive_rs)]) if naive_rs else float('nan')
            # forward + backward ~ 3x the forward FLOPs (2 per MAC)
            if name in PRODUCT_VARIANTS and ratio == ratio and args.guard and ratio * args.guard < 1:
                regressions.append(f'{name} F={frames}: {1 / ratio:.2f}x the official-style step time')
            gflops = cb.median([3 * 2 * r['macs_fwd'] / r['step_s'] / 1e9 for r in rs])
            of_peak = cb.median([3 * 2 * r['macs_fwd'] / r['step_s'] / 1e9 / r['peak'] for r in rs])
            rows.append([name, frames, args.batch_size, f'{cb.median([r["step_s"] for r in rs]):.3f}',
                         f'{sps:.1f}', f'{ratio:.2f}x' if ratio == ratio else '-',
                         f'{1000 * cb.median([r["data_s"] for r in rs]):.1f}',
                         f'{gflops:.0f} ({100 * of_peak:.0f} %)',
                         f'{cb.median([r["rss_peak_mb"] for r in rs]):.0f}',
                         f'{cb.median([r["minor_faults"] for r in rs]) / 1e3:.0f}k',
                         f'{cb.median([r["sys_s"] / max(r["user_s"] + r["sys_s"], 1e-9) for r in rs]) * 100:.0f} %',
                         f'{sum(r["busy_before"] > 0.5 for r in rs)}/{len(rs)}'])
    print(cb.format_table(['variant', 'F', 'batch', 'step s', 'samples/s', 'vs naive', 'batch build ms',
                           '~GFLOP/s (% mm peak)', 'peak RSS MiB', 'faults/step', 'sys CPU share',
                           'runs on busy CPUs'], rows))
    print('step s, samples/s, GFLOP/s, RSS: medians over the runs; vs naive and % of mm peak: medians of per-round '
          'ratios; runs on busy CPUs: runs that started with > 50 % of the CPUs busy with other processes')
    print(f'\n# machine load during the run: {load.summary()}; total {time.time() - t_start:.0f} s')
    return guard_verdict(regressions, args.guard, 'naive' in args.variants and not args.quick)


def guard_verdict(regressions, limit, measured):
    """Print the regression guard's line; 1 when a product variant is slower than `limit` x the official-style
    step measured in the same run (a CPU training regression), else 0."""
    if not limit or not measured:
        print('# guard: off (needs the naive variant, a timed run and --guard > 0)')
        return 0
    if regressions:
        print(f'# guard: REGRESSION, slower than {limit:g}x the official-style loop: ' + '; '.join(regressions))
        return 1
    print(f'# guard: ok, every product variant within {limit:g}x the official-style step time')
    return 0


if __name__ == '__main__':
    sys.exit(main())
