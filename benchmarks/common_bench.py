"""Helpers shared by the benchmarks: malloc tuning, matmul peak, MACs, synthetic inputs,
worker subprocesses, resource usage and table printing.

Nothing here runs at import time except defining functions; torch is imported lazily where the
worker processes want to tune malloc before it is loaded.
"""
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KPS_LEFT, KPS_RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
JOINTS_LEFT, JOINTS_RIGHT = KPS_LEFT, KPS_RIGHT

def tune_malloc(pad_bytes=1 << 30):
    """The product's glibc malloc tuning (`common.malloc_tuning`, what run_poseformer.py applies at
    start), so the benchmark measures exactly that. Returns True when glibc accepted it."""
    from common.malloc_tuning import tune_malloc as product_tune_malloc
    return product_tune_malloc(pad_bytes)


def matmul_peak_gflops(n=2048, repeats=7):
    """Median GFLOP/s of an fp32 `torch.mm` of two n x n matrices at torch's default thread count."""
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        rates.append(2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return statistics.median(rates)


def model_macs(model):
    """(spatial MACs per frame, temporal MACs per window, full-window MACs) of a PoseTransformer,
    counted by the product's `common.model.complexity`."""
    from common.model.complexity import macs_per_output_frame, stage_macs
    spatial, temporal = stage_macs(model)
    return spatial, temporal, macs_per_output_frame(model)


def make_model(frames, seed=0, drop_path_rate=0.0, **config):
    """The product PoseTransformer (default config) with seeded random weights.

    The position embeddings (zeros at construction) are filled with N(0, 0.02) so that they matter.
    """
    import torch

    from common.model.poseformer import PoseTransformer
    torch.manual_seed(seed)
    model = PoseTransformer(num_frame=frames, drop_path_rate=drop_path_rate, **config)
    with torch.no_grad():
        model.Spatial_pos_embed.normal_(0, 0.02)
        model.Temporal_pos_embed.normal_(0, 0.02)
    return model


def smooth_keypoints(length, joints=17, seed=0):
    """(length, joints, 2) float32 random-but-smooth 2D keypoints in normalised screen coordinates.

    A random rest pose plus, per joint and axis, a sum of three low-frequency sinusoids with random
    amplitudes and phases, plus a slow global drift.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)[:, None, None]
    rest = rng.uniform(-0.4, 0.4, size=(1, joints, 2))
    motion = np.zeros((length, joints, 2))
    for _ in range(3):
        period = rng.uniform(20, 200, size=(1, joints, 2))
        motion += rng.uniform(0.0, 0.05, size=(1, joints, 2)) * np.sin(2 * np.pi * t / period
                                                                          + rng.uniform(0, 2 * np.pi, (1, joints, 2)))
    drift = 0.2 * np.sin(2 * np.pi * t / (length + 100) + rng.uniform(0, 2 * np.pi, (1, 1, 2)))
    return (rest + motion + drift).astype(np.float32)


def smooth_poses_3d(length, joints=17, seed=0):
    """(length, joints, 3) float32 smooth 3D poses (metres), a target for the training benchmark."""
    import numpy as np
    xy = smooth_keypoints(length, joints, seed)
    z = smooth_keypoints(length, joints, seed + 1000)[..., :1] + 4.0
    return np.concatenate([xy, z], axis=-1).astype(np.float32)


def rss_mb():
    """Current resident set size (MiB), from /proc/self/status."""
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float('nan')


def max_rss_mb():
    """High-water mark of this process's resident set size (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_faults():
    """(minor, major) page faults of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt, usage.ru_majflt


def cpu_seconds():
    """(user, system) CPU seconds of this process so far (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def run_worker(script, worker_args, timeout=3600, in_process=None):
    """Run `python script --worker ...` in a fresh process; returns the JSON dict it prints last.

    `in_process` (smoke runs only): a callable ``main(argv)`` run here instead, stdout captured; no
    fresh process, so allocator settings and state are shared between measurements.
    """
    worker_args = [str(a) for a in worker_args]
    if in_process is not None:
        import contextlib
        import io
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            in_process(['--worker'] + worker_args)
        return json.loads(buffer.getvalue().strip().splitlines()[-1])
    cmd = [sys.executable, script, '--worker'] + worker_args
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f'worker failed ({proc.returncode}): {" ".join(cmd)}\n{proc.stdout}\n{proc.stderr}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def timed_detections(make_detector, frames):
    """A fresh detector (``make_detector()``, a context manager) over `frames`: (candidates per frame, seconds per
    frame of frames 1.., the first one's start-up left out)."""
    seconds, candidates = [], []
    with make_detector() as detector:
        for index, frame in enumerate(frames):
            start = time.perf_counter()
            candidates.append(detector.detect(frame))
            if index:
                seconds.append(time.perf_counter() - start)
    return candidates, seconds


def load_average():
    """The 1-minute load average (and the number of CPUs), for the record."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float('nan')


def machine_summary():
    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (f'{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} threads), '
            f'python {platform.python_version()}')


def median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float('nan')


def format_table(headers, rows):
    """Plain-text table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ['| ' + ' | '.join(c.ljust(w) for c, w in zip(cells[0], widths)) + ' |',
             '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    lines += ['| ' + ' | '.join(c.rjust(w) for c, w in zip(row, widths)) + ' |' for row in cells[1:]]
    return '\n'.join(lines)


def cpu_busy(interval=1.0):
    """Fraction (0..1) of all CPUs busy (user + system + ...) over the next `interval` seconds."""
    def read():
        with open('/proc/stat') as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)   # idle + iowait
        return sum(values), idle
    try:
        total0, idle0 = read()
        time.sleep(interval)
        total1, idle1 = read()
    except OSError:
        return float('nan')
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_for_quiet(max_wait, threshold=0.3):
    """Wait (at most `max_wait` s) until less than `threshold` of the CPUs is busy; returns the last busy fraction."""
    deadline = time.time() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.time() < deadline:
        busy = cpu_busy(2.0)
    return busy


class LoadMonitor:
    """Records the machine load around the runs: the 1-min load average and, just before each worker
    starts, the fraction of the CPUs busy with other processes."""

    def __init__(self):
        self.samples = []
        self.busy = []

    def sample(self):
        self.samples.append(load_average())

    def before_worker(self, wait=0.0, threshold=0.3, interval=0.5):
        """Optionally wait for a quiet moment, then record how busy the CPUs were; returns that fraction."""
        busy = wait_for_quiet(wait, threshold) if wait > 0 else cpu_busy(interval)
        self.busy.append(busy)
        self.sample()
        return busy

    def summary(self):
        if not self.samples:
            return 'n/a'
        text = (f'1-min load average min {min(self.samples):.2f} / median {median(self.samples):.2f} / '
                f'max {max(self.samples):.2f} ({len(self.samples)} samples)')
        if self.busy:
            text += (f'; CPUs busy (other processes) just before each worker: median {100 * median(self.busy):.0f} %, '
                     f'max {100 * max(self.busy):.0f} %')
        return text
