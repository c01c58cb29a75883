"""Spatial attention on the CPU: PyTorch's fused kernel vs the explicit softmax(q k^T / sqrt(d)) v.

    python benchmarks/bench_attention.py              # quick-start and paper configurations
    python benchmarks/bench_attention.py --quick      # smoke run, a few seconds

The spatial stage attends over 17 joint tokens with narrow heads (c / heads channels: 2 in the quick
start's configuration, 4 in the paper's). Which way is faster decides `PoseTransformer.choose_attention`
on the CPU (`CPU_EXPLICIT_MAX_HEAD_DIM`; the last column is the choice a new model makes); this table is the evidence. Both variants are the same
model with the same seeded weights (drop_path 0.1), only the spatial blocks' ``fused_attn`` flag
differs; the temporal stage keeps the fused kernel. Per configuration and mode, each round times
`--steps` steps of the fused variant, then of the explicit one (after `--warmup` steps each, in one
process at `--threads` torch threads); a round's time is the median of its steps, the table gives the
medians over `--repeats` rounds and the median of the per-round ratios.

Modes: ``train``: `common.training.TrainingStep` (forward, MPJPE, backward, AdamW) on random
(B, F, 17, 2) inputs; ``infer``: one eval-mode forward of the same batch without gradients.
"""
import argparse
import os
import sys
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common_bench as cb  # noqa: E402  (path set up above)

# name: (model configuration, batch)
CONFIGS = {
    'quick start (f9, c16, 8 heads, depth 2)': (dict(frames=9, embed_dim_ratio=16, depth=2, num_heads=8), 256),
    'paper (f27, c32, 8 heads, depth 4)': (dict(frames=27, embed_dim_ratio=32, depth=4, num_heads=8), 64),
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=5, help='timed steps per variant and round (default 5)')
    p.add_argument('--warmup', type=int, default=2, help='untimed steps before them (default 2)')
    p.add_argument('--repeats', type=int, default=3, help='rounds (default 3)')
    p.add_argument('--threads', type=int, default=0, help='torch threads (default: all cores)')
    p.add_argument('--quick', action='store_true', help='smoke run: batch 8, 1 step, 1 round')
    return p.parse_args(argv)


def time_steps(step, warmup, steps):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return cb.median(times)


def make_steps(config, batch, mode):
    """{'fused' | 'explicit': step()} for one configuration; both models share the seeded weights."""
    import torch

    from common.metrics import mpjpe
    from common.training import TrainingStep, make_optimizer
    config = dict(config)
    frames = config.pop('frames')
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, frames, 17, 2, generator=generator)
    targets = torch.randn(batch, 1, 17, 3, generator=generator) * 0.2
    steps = {}
    for variant in ('fused', 'explicit'):
        model = cb.make_model(frames, drop_path_rate=0.1, **config)
        for blk in model.Spatial_blocks:
            blk.attn.fused_attn = variant == 'fused'
        if mode == 'train':
            train_step = TrainingStep(model.train(), make_optimizer(model, 1e-3, 'cpu'), 'cpu')
            steps[variant] = lambda s=train_step: s(inputs, targets, batch).item()
        else:
            model.eval()

            def infer(m=model):
                with torch.no_grad():
                    return mpjpe(m(inputs), targets).item()
            steps[variant] = infer
    return steps


def main(argv=None):
    args = parse_args(argv)
    cb.tune_malloc()
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    steps, warmup, repeats = (1, 0, 1) if args.quick else (args.steps, args.warmup, args.repeats)
    print(f'# {cb.machine_summary()}')
    print(f'# load {cb.load_average():.2f}; {repeats} rounds x {steps} timed steps (+{warmup} warm-up) per variant; '
          'seconds per step, medians; speed-up = fused / explicit')
    rows = []
    for name, (config, batch) in CONFIGS.items():
        batch = 8 if args.quick else batch
        head_dim = config['embed_dim_ratio'] // config['num_heads']
        product = cb.make_model(**config)              # the constructor applies the product's CPU choice
        choice = 'fused' if product.Spatial_blocks[0].attn.fused_attn else 'explicit'
        for mode in ('train', 'infer'):
            variants = make_steps(config, batch, mode)
            times = {'fused': [], 'explicit': []}
            for _ in range(repeats):
                for variant, step in variants.items():
                    times[variant].append(time_steps(step, warmup, steps))
            ratio = cb.median([f / e for f, e in zip(times['fused'], times['explicit'])])
            rows.append([name, str(head_dim), mode, str(batch), f'{cb.median(times["fused"]):.3f}',
                         f'{cb.median(times["explicit"]):.3f}', f'{ratio:.2f}x', choice])
    print(cb.format_table(['configuration', 'head dim', 'mode', 'batch', 'fused s', 'explicit s',
                           'explicit speed-up', 'product (CPU)'], rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())
