"""Training on a cluster (issue 20): `-r auto`, elastic restarts, two nodes, pre-emption (SIGTERM).

The three fault tests run the README's torchrun lines (section "Training on a cluster") as
written, read from README.md: the shell variables are set here (one machine, a free port) and the
flags after ``run_poseformer.py`` are replaced by a tiny CPU configuration (gloo), ``-r auto``
kept. Every claim of equal results compares the saved weights.

Processes are started in their own session and every descendant (torchrun starts its workers in
sessions of their own) is killed when a test ends, however it ends.
"""
import contextlib
import io
import os
import random
import re
import shlex
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from common.io.atomic import is_temporary_name
from common.io.checkpoint import load_checkpoint
from common.io.run_lock import LOCK_NAME
from run_poseformer import main

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run']
EPOCHS = 3
# A tiny model on the CPU: an epoch is 36 steps of a global batch of 64 (about a second). No stochastic
# depth: its random masks depend on how the batch is split, so one process could not match two.
TINY = ['--device', 'cpu', '-str', 'S1', '-ste', 'S9', '-f', '3', '--embed-dim-ratio', '8', '--depth', '1',
        '--num-heads', '2', '--drop-path', '0', '-b', '64', '-lr', '0.002', '--threads', '1', '--no-eval',
        '--checkpoint-frequency', '100', '-e', str(EPOCHS)]
TINY_1_EPOCH = TINY[:-1] + ['1']
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', CI='1', PYTHONUNBUFFERED='1')
TIMEOUT = 240


# ------------------------------------------------------------------ the README's commands

def readme_section():
    text = (ROOT / 'README.md').read_text()
    start = text.index('\n## Training on a cluster\n')
    end = text.index('\n## ', start + 1)
    return text[start:end]


def readme_torchrun_lines():
    """Every line of the section's code blocks that runs torchrun (the SLURM script's srun line included)."""
    lines = []
    for block in re.findall(r'```[a-z]*\n(.*?)```', readme_section(), flags=re.S):
        lines += [line for line in block.splitlines() if re.match(r'(srun )?torchrun ', line)]
    return lines


def launch_command(line, checkpoint, data_dir, **variables):
    """A README torchrun line as this test runs it: variables set, the training flags replaced by TINY."""
    tokens = shlex.split(string.Template(line).substitute(variables))
    script = tokens.index('run_poseformer.py')
    assert tokens[0] == 'torchrun', line
    readme_flags = tokens[script + 1:]
    assert readme_flags[-2:] == ['-r', 'auto'] and '-c' in readme_flags, line
    return TORCHRUN + tokens[1:script] + ['run_poseformer.py', '--data-dir', str(data_dir)] + TINY + \
        ['-c', str(checkpoint), '-r', 'auto']


def test_readme_cluster_section_has_the_tested_commands():
    lines = readme_torchrun_lines()
    standalone = [line for line in lines if '--standalone' in line]
    nodes = [line for line in lines if '--node-rank' in line]
    slurm = [line for line in lines if line.startswith('srun ')]
    assert len(standalone) == 1 and len(nodes) == 2 and len(slurm) == 1, lines
    assert '--max-restarts 2' in standalone[0] and all('--max-restarts 2' in line for line in nodes + slurm)
    assert [re.search(r'--node-rank (\d)', line).group(1) for line in nodes] == ['0', '1']
    # the SLURM line is the by-hand line without --node-rank (the c10d rendezvous numbers the machines)
    by_hand = shlex.split(nodes[0].replace('--node-rank 0 ', '').replace('--nnodes 2', '--nnodes $SLURM_NNODES')
                          .replace('poseformer81', '$SLURM_JOB_ID'))
    assert shlex.split(slurm[0])[1:-1] == by_hand
    section = readme_section()
    assert '#SBATCH --requeue' in section and '#SBATCH --signal=B:USR1@' in section
    script = re.search(r'```bash\n(#!/bin/bash\n.*?)```', section, flags=re.S).group(1)
    assert subprocess.run(['bash', '-n'], input=script, text=True).returncode == 0


# ------------------------------------------------------------------ processes

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start(command):
    return subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def children(pid):
    """The process ids whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                stat = Path(f'/proc/{entry}/stat').read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def descendants(pid):
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


def kill_all(processes):
    """SIGKILL every process of `processes` and all their descendants (sessions of their own included)."""
    for process in processes:
        if process.poll() is None:
            for pid in descendants(process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def worker_with_rank(launcher, rank):
    """The pid of the torchrun worker (a child of `launcher`) whose environment says RANK=`rank`, or None."""
    for pid in children(launcher.pid):
        try:
            environ = Path(f'/proc/{pid}/environ').read_bytes().split(b'\0')
        except OSError:
            continue
        if f'RANK={rank}'.encode() in environ:
            return pid
    return None


def wait_until(condition, processes, what, timeout=TIMEOUT):
    end = time.time() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f'a process ended ({process.returncode}) before {what}: '
                                     f'{process.stdout.read()[-3000:]}')
        assert time.time() < end, f'no {what} after {timeout} s'
        time.sleep(0.02)


def finish(process):
    out, _ = process.communicate(timeout=TIMEOUT)
    return process.returncode, out


class OutputLines:
    """A process's output read on a thread of its own, every line kept.

    Iterating over ``process.stdout`` and then calling ``communicate()`` loses the lines that the text
    wrapper had already buffered; here one reader owns the stream, a test waits for a line (an event, not
    a sleep) and still gets the whole output at the end.
    """

    def __init__(self, process):
        self.process, self.lines, self.ended = process, [], False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def wait_for(self, prefix, timeout=TIMEOUT):
        """True once a line starting with `prefix` was printed; False if the output ended without one."""
        def seen():
            return any(line.startswith(prefix) for line in self.lines)
        with self._changed:
            assert self._changed.wait_for(lambda: seen() or self.ended, timeout), f'no {prefix!r} after {timeout} s'
            return seen()

    def finish(self):
        """(exit status, the whole output) once the process has ended."""
        self.process.wait(timeout=TIMEOUT)
        self._thread.join(timeout=TIMEOUT)
        return self.process.returncode, ''.join(self.lines)


def weights(path):
    return load_checkpoint(path)['model_pos']


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    different = [key for key in a if not torch.equal(a[key], b[key])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'


def folder_is_clean(folder):
    """No lock file and no temporary file left in a checkpoint folder."""
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return not [name for name in names if name == LOCK_NAME or is_temporary_name(name)]


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    from tests.h36m_fixtures import write_h36m_fixture
    folder = tmp_path_factory.mktemp('h36m')
    write_h36m_fixture(folder)
    return folder


@pytest.fixture(scope='module')
def single(data_dir, tmp_path_factory):
    """One uninterrupted process (in this process): (the path of its last_epoch.bin, its output)."""
    folder = tmp_path_factory.mktemp('single')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(['--data-dir', str(data_dir), '-c', str(folder)] + TINY) == 0
    return folder / 'last_epoch.bin', out.getvalue()


@pytest.fixture(scope='module')
def two_nodes(data_dir, tmp_path_factory):
    """The README's two-machine lines run as two torchrun launchers here, one process each, uninterrupted.

    Returns (path of last_epoch.bin, [(exit status, output) of each launcher]).
    """
    folder = tmp_path_factory.mktemp('two_nodes')
    lines = [line for line in readme_torchrun_lines() if '--node-rank' in line]
    port = free_port()
    started = []
    try:
        for line in lines:
            started.append(start(launch_command(line, folder, data_dir, GPUS_PER_NODE=1, RDZV_HOST='127.0.0.1',
                                                RDZV_PORT=port)))
        results = [finish(process) for process in started]
    finally:
        kill_all(started)
    return folder / 'last_epoch.bin', results


def test_mpjpe(output):
    """The final evaluation's frame-weighted MPJPE (mm) printed in a run's output."""
    return float(re.search(r'Protocol #1   \(MPJPE\) frame-weighted average \(all test frames\): ([\d.]+) mm',
                           output).group(1))


test_mpjpe.__test__ = False


# ------------------------------------------------------------------ -r auto (in this process)

def test_auto_resume_starts_continues_and_refuses_another_run(data_dir, tmp_path, capsys):
    folder = tmp_path / 'ckpt'
    base = ['--data-dir', str(data_dir), '-c', str(folder), '-r', 'auto']
    assert main(base + TINY_1_EPOCH) == 0
    assert '-r auto: no last_epoch.bin' in capsys.readouterr().out
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 1
    # the same command with more epochs continues (after a requeue: the same command, see below)
    assert main(base + TINY) == 0
    out = capsys.readouterr().out
    assert 'Resuming from last_epoch.bin at epoch 1' in out and '[2] time' in out and '[1] time' not in out
    # everything trained already (e.g. requeued during the final evaluation): evaluate, train nothing
    assert main(base + TINY) == 0
    out = capsys.readouterr().out
    assert f'has trained all {EPOCHS} epochs; evaluating it' in out and '] time' not in out and 'Evaluating' in out
    # another run's folder: refused, naming every differing flag; nothing changes
    before = (folder / 'last_epoch.bin').read_bytes()
    assert main(base + TINY + ['-lr', '0.001', '--seed', '5']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: -r/--resume auto: ') and err.count('\n') == 1
    assert '-lr/--learning-rate 0.002 there, 0.001 here' in err and '--seed 1234 there, 5 here' in err
    assert (folder / 'last_epoch.bin').read_bytes() == before and folder_is_clean(folder)
    # without -r auto the no-clobber rule stays; --overwrite with auto is contradictory
    assert main(['--data-dir', str(data_dir), '-c', str(folder)] + TINY) == 2
    assert 'holds the checkpoints of an earlier run' in capsys.readouterr().err
    assert main(base + TINY + ['--overwrite']) == 2
    assert 'cannot be used together' in capsys.readouterr().err


def test_auto_resume_refuses_a_file_without_recorded_settings_and_a_folder_without_last_epoch(data_dir, tmp_path,
                                                                                               capsys):
    folder = tmp_path / 'ckpt'
    assert main(['--data-dir', str(data_dir), '-c', str(folder), '-r', 'auto'] + TINY_1_EPOCH) == 0
    checkpoint = torch.load(folder / 'last_epoch.bin', weights_only=False)
    del checkpoint['extra']['settings']           # as written by an older version
    torch.save(checkpoint, folder / 'last_epoch.bin')
    assert main(['--data-dir', str(data_dir), '-c', str(folder), '-r', 'auto'] + TINY) == 2
    assert 'does not record the settings of its run' in capsys.readouterr().err
    # other checkpoints but no last_epoch.bin: a fresh start would replace them, so the folder rule refuses
    os.replace(folder / 'last_epoch.bin', folder / 'best_epoch.bin')
    assert main(['--data-dir', str(data_dir), '-c', str(folder), '-r', 'auto'] + TINY) == 2
    assert 'holds the checkpoints of an earlier run (best_epoch.bin)' in capsys.readouterr().err


# ------------------------------------------------------------------ the fault tests

def test_elastic_restart_after_a_worker_is_killed_mid_epoch_ends_with_the_uninterrupted_weights(data_dir, tmp_path,
                                                                                                two_nodes):
    line = next(line for line in readme_torchrun_lines() if '--standalone' in line)
    folder = tmp_path / 'ckpt'
    last = folder / 'last_epoch.bin'
    faulty = start(launch_command(line, folder, data_dir, GPUS_PER_NODE=2))
    try:
        wait_until(last.exists, [faulty], 'the first checkpoint')
        killed_at = load_checkpoint(last)['epoch']
        victim = worker_with_rank(faulty, 0)       # rank 0: it holds the folder lock and writes the checkpoints
        assert victim is not None
        os.kill(victim, signal.SIGKILL)            # the next epoch is under way (an epoch takes about a second)
        rc, out = finish(faulty)
    finally:
        kill_all([faulty])
    assert rc == 0, out[-4000:]
    assert killed_at < EPOCHS
    # torchrun saw the killed process, restarted both, and they continued from the last complete checkpoint
    assert 'exitcode: -9' in out, out[-4000:]
    resumed = re.findall(r'Resuming from last_epoch.bin at epoch (\d+)', out)
    assert resumed and int(resumed[0]) == killed_at, out[-4000:]
    assert folder_is_clean(folder)
    # The uninterrupted reference: the same two ranks, one per launcher (gloo adds the two halves of
    # each gradient the same way whichever machine a rank is on).
    reference, results = two_nodes
    assert all(rc == 0 for rc, _ in results), results
    assert_bitwise_equal(weights(last), weights(reference))


def test_two_torchrun_nodes_train_as_one_process_with_the_same_global_batch(two_nodes, single):
    reference, results = two_nodes
    for rc, out in results:
        assert rc == 0, out[-4000:]
    printed = ''.join(out for _, out in results)
    assert printed.count(f'[{EPOCHS}] time') == 1 and printed.count('Evaluating') == 1   # global rank 0 only
    single_path, single_out = single
    two, one = weights(reference), weights(single_path)
    differences = {key: (two[key] - one[key]).abs().max().item() for key in one}
    assert any(value > 0 for value in differences.values())      # two processes really ran (not a copy)
    # Two processes sum the gradient of their half batch each and gloo adds the halves; one process
    # sums the whole batch: the same numbers in another order, so float32 rounding differs in the last
    # bits. Where a gradient is exactly zero in exact arithmetic, only that rounding noise is left,
    # and AdamW (a step of about lr whatever the gradient's size) turns it into visible steps: the
    # weighted mean's bias (a constant the head's LayerNorm removes), the attention key biases
    # (softmax ignores them), and the temporal query/key weights (3 frames: nearly uniform attention).
    # The first two change no prediction; the last do, a little: the test errors are compared too.
    noisy = {key for key in one if key == 'module.weighted_mean.bias' or '.attn.qkv.' in key}
    worst_noisy = max(differences[key] for key in noisy)
    worst = max(value for key, value in differences.items() if key not in noisy)
    mpjpe_two = test_mpjpe([out for _, out in results if 'Evaluating' in out][0])
    mpjpe_one = test_mpjpe(single_out)
    print(f'two nodes vs one process: max |weight difference| {worst:.3g} ({worst_noisy:.3g} for the q/k and '
          f'zero-gradient ones); test MPJPE {mpjpe_two:.4f} vs {mpjpe_one:.4f} mm')
    assert worst < 1e-5 and worst_noisy < 0.1
    assert abs(mpjpe_two - mpjpe_one) < 0.01       # mm


def test_sigterm_at_random_moments_then_auto_resume_ends_with_the_uninterrupted_weights(data_dir, tmp_path, single):
    folder = tmp_path / 'ckpt'
    command = [sys.executable, 'run_poseformer.py', '--data-dir', str(data_dir), '-c', str(folder), '-r', 'auto'] + TINY
    # Each signal is sent on an event (a line of the run's output) plus a delay. The first comes as soon as the
    # first of the EPOCHS epochs has ended, so at least one signal lands inside the training on a fast machine
    # as on a loaded one; the second at a random moment after the (resumed) training began.
    delay = random.Random(20).choice([0.1 * k for k in range(1, 16)])
    moments = [('[1] ', 0.0), ('Training epochs', delay)]
    stopped = []
    for event, delay in moments:
        process = start(command)
        try:
            output = OutputLines(process)
            if output.wait_for(event):
                time.sleep(delay)
                process.send_signal(signal.SIGTERM)
            rc, out = output.finish()
        finally:
            kill_all([process])
        # The run may have ended before the signal came (exit 0, or -15 when it came while Python shut down)
        finished = 'frame-weighted average (all test frames)' in out
        assert rc == 143 or (finished and rc in (0, -signal.SIGTERM)), out[-3000:]
        assert 'Traceback' not in out
        if rc == 143:
            assert out.rstrip().splitlines()[-1].startswith('terminated (SIGTERM): ')
        assert folder_is_clean(folder)             # lock released, no half-written checkpoint
        epoch = load_checkpoint(folder / 'last_epoch.bin')['epoch'] if (folder / 'last_epoch.bin').exists() else 0
        stopped.append((event, delay, rc, epoch))
    process = start(command)
    try:
        rc, out = finish(process)
    finally:
        kill_all([process])
    assert rc == 0, out[-3000:]
    print('SIGTERM (after line, delay s, status, last_epoch.bin epoch):', stopped)
    assert stopped[0][2] == 143, stopped
    assert any(rc == 143 for _, _, rc, _ in stopped)
    assert_bitwise_equal(weights(folder / 'last_epoch.bin'), weights(single[0]))


# ------------------------------------------------------------------ pieces, in this process

def test_each_node_takes_cuda_local_rank_not_the_global_rank(monkeypatch):
    """Rank 5 of 8 on a machine of 4 processes is that machine's process 1: it takes cuda:1."""
    import torch.distributed as dist

    from common.distributed import setup_distributed
    chosen, joined = [], {}
    for name, value in dict(WORLD_SIZE='8', RANK='5', LOCAL_RANK='1', LOCAL_WORLD_SIZE='4', MASTER_ADDR='127.0.0.1',
                            MASTER_PORT='1', TORCHELASTIC_RESTART_COUNT='2').items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 4)
    monkeypatch.setattr(torch.cuda, 'set_device', chosen.append)
    monkeypatch.setattr(dist, 'rendezvous', lambda url: iter([('store', 5, 8)]))
    monkeypatch.setattr(dist, 'PrefixStore', lambda prefix, store: (prefix, store))
    monkeypatch.setattr(dist, 'init_process_group', lambda **kwargs: joined.update(kwargs))
    monkeypatch.setattr(dist, 'get_rank', lambda: 5)
    monkeypatch.setattr(dist, 'get_world_size', lambda: 8)
    context = setup_distributed(torch.device('cuda'))
    assert context.device == torch.device('cuda', 1) and chosen == [torch.device('cuda', 1)]
    assert context.rank == 5 and not context.is_main
    # a restarted attempt reads and writes keys of its own in torchrun's store
    assert joined == dict(backend='nccl', store=('poseformer/attempt_2', 'store'), rank=5, world_size=8)


def test_each_rank_resumes_its_own_random_state():
    import numpy as np

    from common.distributed import DistributedContext
    from common.io.rng import capture_rng_state
    from common.model.poseformer import PoseTransformer
    from common.training import make_optimizer, state_from_checkpoint
    states = []
    for rank in range(2):
        torch.manual_seed(100 + rank)
        states.append(capture_rng_state(np.random.RandomState(7)))
    checkpoint = {'epoch': 3, 'lr': 1e-3, 'rng_state': states[0], 'extra': {'rank_rng_states': states}}
    optimizer = make_optimizer(PoseTransformer(num_frame=3, embed_dim_ratio=8, depth=1, num_heads=2), 1e-3, 'cpu')
    draws = []
    for rank, world_size in ((1, 2), (0, 2), (1, 3)):
        state_from_checkpoint(checkpoint, optimizer, 0, DistributedContext(rank=rank, world_size=world_size))
        draws.append(torch.rand(3))
    torch.manual_seed(101)
    assert torch.equal(draws[0], torch.rand(3))          # rank 1 continues rank 1's generator
    torch.manual_seed(100)
    expected = torch.rand(3)
    # rank 0 its own; another process count cannot match ranks: every rank takes rank 0's (as before)
    assert torch.equal(draws[1], expected) and torch.equal(draws[2], expected)
