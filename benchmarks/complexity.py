"""Complexity of PoseFormer for 9 / 27 / 81 input frames: parameters, MACs per output frame, throughput.

    python benchmarks/complexity.py                    # 2,000-frame video, 3 repeats (minutes on a laptop CPU)
    python benchmarks/complexity.py --quick            # smoke run, < 30 s
    python benchmarks/complexity.py --out figure/complexity.md

Columns (default PoseFormer configuration: embedding 32 per joint, 4 + 4 blocks, 8 heads, random
seeded weights, eval mode, fp32):

* parameters: `common.model.complexity.count_parameters`.
* MACs per output frame, full window: `common.model.complexity.macs_per_output_frame` (one window
  counted; the spatial stage runs on all F frames of the window, as a per-window model evaluates).
* MACs per output frame, our evaluation: the spatial stage on ONE frame plus the temporal stage
  on one window (`common.model.complexity.stage_macs`): `common.evaluation.predict_sequence`
  computes each frame's spatial features once and shares them between the F windows that contain
  it. "as run" adds what `predict_sequence` really recomputes: each batch of B windows embeds its
  B + F - 1 frames, so the F - 1 frames of overlap with the neighbouring batch are embedded twice.
  Flip test-time augmentation doubles every MAC figure.
* throughput: output frames per second of `predict_sequence` on one synthetic, smooth 2D
  sequence (17 joints), TTA on and off, median over repeats (each repeat times the whole sequence;
  one untimed warm-up on 16 frames first; repeats interleave TTA on / off so load changes hit both).

MAC rules (`common.model.complexity`, PyTorch's FlopCounterMode / 2): ``nn.Linear`` in*out per
token, ``nn.Conv1d`` in/groups*out*kernel per position, attention 2*N*N*dim (q @ k^T and
attn @ v); norms, softmax, GELU and additions are not counted.
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FRAMES = (9, 27, 81)
LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]


def evaluation_macs_as_run(spatial, temporal, frames, length, batch_size):
    """MACs per output frame of `predict_sequence` on a `length`-frame video (no TTA), padding included.

    Every padded frame is embedded once (chunks of `batch_size` windows hand their last 2 * pad frames'
    features to the next chunk), so the batch size no longer adds work; it stays an argument because
    the table states the protocol it was measured with.
    """
    pad = (frames - 1) // 2
    embedded = length + 2 * pad
    return (embedded * spatial + length * temporal) / length


def smooth_sequence(length, joints=17, seed=0):
    """(length, joints, 2) float32 smooth 2D keypoints in normalised screen coordinates."""
    import numpy as np
    rng = np.random.default_rng(seed)
    t = np.arange(length)[:, None, None] / 50.0
    rest = rng.uniform(-0.3, 0.3, size=(1, joints, 2))
    freq = rng.uniform(0.2, 1.5, size=(1, joints, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(1, joints, 2))
    return (rest + 0.05 * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def device_name(device):
    import torch
    if device.type == 'cuda':
        return f'{torch.cuda.get_device_name(device)} (CUDA)'
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(frames_list, length, repeats, batch_size, device, seed=0, log=print):
    """Rows (dicts) of the table; throughput measured when `repeats` > 0."""
    import torch

    from common.data.types import Symmetry
    from common.evaluation import predict_sequence
    from common.model.complexity import count_parameters, macs_per_output_frame, stage_macs
    from common.model.poseformer import PoseTransformer
    symmetry = Symmetry(LEFT, RIGHT, LEFT, RIGHT)
    poses = smooth_sequence(length, seed=seed)
    rows = []
    for frames in frames_list:
        torch.manual_seed(seed)
        model = PoseTransformer(num_frame=frames).eval()      # the paper's default configuration
        with torch.no_grad():                                  # zeros at construction: make them matter
            model.Spatial_pos_embed.normal_(0, 0.02)
            model.Temporal_pos_embed.normal_(0, 0.02)
        model.to(device)
        spatial, temporal = stage_macs(model)
        full = macs_per_output_frame(model)
        row = {'frames': frames, 'parameters': count_parameters(model), 'macs_full_window': full,
               'macs_spatial_per_frame': spatial, 'macs_temporal_per_window': temporal,
               'macs_our_evaluation': spatial + temporal,
               'macs_our_evaluation_as_run': evaluation_macs_as_run(spatial, temporal, frames, length, batch_size),
               'fps_tta': [], 'fps_no_tta': []}
        if repeats > 0:
            predict_sequence(model, poses[:min(length, 16)], symmetry, tta=True, batch_size=batch_size,
                             device=device)                    # warm-up
            for _ in range(repeats):
                for tta, key in ((True, 'fps_tta'), (False, 'fps_no_tta')):
                    start = time.perf_counter()
                    predict_sequence(model, poses, symmetry, tta=tta, batch_size=batch_size, device=device)
                    row[key].append(length / (time.perf_counter() - start))
            log(f'  {frames} frames: TTA on {statistics.median(row["fps_tta"]):.1f} frames/s, '
                f'off {statistics.median(row["fps_no_tta"]):.1f} frames/s')
        rows.append(row)
    return rows


def _millions(value):
    return f'{value / 1e6:,.1f} M'


def _rate(values):
    """'median (min-max)' of the repeats' frames/s."""
    if not values:
        return 'not measured'
    text = f'{statistics.median(values):,.1f}'
    return text + (f' ({min(values):,.1f}–{max(values):,.1f})' if len(values) > 1 else '')


def format_table(rows):
    header = ['Frames', 'Parameters', 'MACs / output frame, full window (`macs_per_output_frame`)',
              'MACs / output frame, our evaluation (spatial once per frame)',
              'our evaluation, as run (padding included)', 'frames/s, TTA on: median (min–max)',
              'frames/s, TTA off: median (min–max)']
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(['---:'] * len(header)) + '|']
    for r in rows:
        fps = [_rate(r[k]) for k in ('fps_tta', 'fps_no_tta')]
        lines.append('| ' + ' | '.join([str(r['frames']), f"{r['parameters']:,}", _millions(r['macs_full_window']),
                                         _millions(r['macs_our_evaluation']),
                                         _millions(r['macs_our_evaluation_as_run'])] + fps) + ' |')
    return '\n'.join(lines)


def protocol_text(device, threads, batch_size, length, repeats, load_before, load_after):
    import torch
    return (f'Device: {device_name(device)}; {os.cpu_count()} logical CPUs; torch {torch.__version__} with '
            f'{threads} thread(s); dtype fp32; eval batch size {batch_size} windows; one synthetic {length:,}-frame '
            f'2D sequence (17 joints) through `common.evaluation.predict_sequence`; throughput = {length:,} / '
            f'seconds for the whole sequence, median of {repeats} repeat(s) after a 16-frame warm-up; TTA (flip '
            f'test-time augmentation) doubles the work and every MAC figure. 1-minute load average '
            f'{load_before:.2f} before, {load_after:.2f} after. MACs count Linear, Conv1d and attention '
            f'matmuls (M = 10^6).')


def build_parser():
    p = argparse.ArgumentParser(description='PoseFormer parameters, MACs per output frame and throughput '
                                            'for 9 / 27 / 81 frames (markdown table).')
    p.add_argument('--quick', action='store_true', help='short sequence (a smoke run, < 30 s)')
    p.add_argument('--frames', type=int, nargs='+', default=list(FRAMES), help='receptive fields (default 9 27 81)')
    p.add_argument('--length', type=int, help='frames of the timed sequence (default 2000; --quick 24)')
    p.add_argument('--repeats', type=int, default=3, help='timed repeats per setting (median; 0 = no timing)')
    p.add_argument('--batch-size', type=int, default=256, help='windows per batch (default 256, as the CLI)')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    p.add_argument('--threads', type=int, default=0, help='torch CPU threads (default: torch default)')
    p.add_argument('--out', help='also write the markdown (table, protocol, command, date) to this file')
    return p


def main(argv=None):
    import torch
    args = build_parser().parse_args(argv)
    length = args.length or (24 if args.quick else 2000)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('error: --device cuda: no CUDA device is available', file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    rows = measure(args.frames, length, args.repeats, args.batch_size, device,
                   log=lambda *a: print(*a, file=sys.stderr, flush=True))
    command = 'python benchmarks/complexity.py' + ''.join(f' {a}' for a in (sys.argv[1:] if argv is None else argv))
    text = '\n'.join([
        format_table(rows), '',
        protocol_text(device, torch.get_num_threads(), args.batch_size, length, args.repeats, load_before,
                      os.getloadavg()[0]),
        '', f'Command: `{command}`; {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; '
            f'{time.perf_counter() - started:.0f} s.'])
    print(text)
    if args.out:
        from common.io.atomic import atomic_write_text
        atomic_write_text(args.out, text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
