"""SIGTERM through the command line (issue 26 item 5): the `terminated (SIGTERM): ...` line says what is true at
that moment (the note of `run_poseformer.RunPhase`), at start-up, in training and on every torchrun rank.

Each run is a real `run_poseformer.py` process; the signal is sent when its output shows the moment wanted (a
line in its stdout file), never after a sleep.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.entry import run_program
from common.termination import Terminated

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', CI='1', PYTHONUNBUFFERED='1')
TINY = ['--device', 'cpu', '-str', 'S1', '-ste', 'S9', '-f', '3', '--embed-dim-ratio', '8', '--depth', '1',
        '--num-heads', '2', '--drop-path', '0', '-b', '64', '--threads', '1', '--no-eval', '-e', '1000']
TIMEOUT = 240


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    from tests.h36m_fixtures import write_h36m_fixture
    folder = tmp_path_factory.mktemp('h36m')
    write_h36m_fixture(folder)
    return folder


def start(command, out_path):
    """`command` in a session of its own; stdout to `out_path` (read while it runs), stderr piped."""
    with open(out_path, 'w') as out:
        return subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=out, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)


def wait_for_line(process, out_path, prefix, count=1):
    """Until `count` lines of `out_path` start with `prefix` (the process must still run)."""
    end = time.time() + TIMEOUT
    while sum(line.startswith(prefix) for line in Path(out_path).read_text().splitlines()) < count:
        if process.poll() is not None:
            raise AssertionError(f'the run ended ({process.returncode}) before {prefix!r}: '
                                 f'{Path(out_path).read_text()[-2000:]} {process.stderr.read()[-2000:]}')
        assert time.time() < end, f'no {prefix!r} line after {TIMEOUT} s'
        time.sleep(0.02)


def terminate(process, signalled=None):
    """SIGTERM to `signalled` (default: the process), then its exit status and stderr."""
    os.kill(signalled or process.pid, signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, err


def test_the_note_of_a_function_is_called_for_sigterm_as_for_ctrl_c(capsys):
    for exception, prefix in ((Terminated, 'terminated (SIGTERM): '), (KeyboardInterrupt, 'interrupted: ')):
        def body():
            raise exception()
        assert run_program(body, interrupted_note=lambda: 'the note of now') in (130, 143)
        assert capsys.readouterr().err == f'{prefix}the note of now\n'


def test_sigterm_at_start_up_says_no_checkpoint_was_written(tmp_path):
    # a fresh data folder: the embedded dataset is generated first (seconds), before any training
    out = tmp_path / 'out.txt'
    process = start([sys.executable, 'run_poseformer.py', '-d', 'synthetic', '-k', 'gt', '--data-dir',
                     str(tmp_path / 'data'), '-c', str(tmp_path / 'ckpt')] + TINY, out)
    wait_for_line(process, out, 'Generating the embedded synthetic dataset')
    rc, err = terminate(process)
    assert rc == 143, err
    assert err == ('terminated (SIGTERM): stopped before training began: no checkpoint was written; files written '
                   'so far are complete (writes are atomic)\n')
    assert not (tmp_path / 'ckpt').exists()          # the folder the run had created for its checkpoints, empty


def test_sigterm_in_training_names_the_checkpoint_to_resume_from(data_dir, tmp_path):
    out, folder = tmp_path / 'out.txt', tmp_path / 'ckpt'
    process = start([sys.executable, 'run_poseformer.py', '--data-dir', str(data_dir), '-c', str(folder)] + TINY, out)
    wait_for_line(process, out, '[2] time')        # epoch 1's checkpoints are written before epoch 2 begins
    rc, err = terminate(process)
    assert rc == 143, err
    assert err == (f'terminated (SIGTERM): checkpoints written so far are complete (writes are atomic); '
                   f'-r last_epoch.bin (or the same command with -r auto) continues from the last finished epoch '
                   f'({folder / "last_epoch.bin"})\n')


def test_sigterm_to_torchrun_every_rank_says_the_note(data_dir, tmp_path):
    out, folder = tmp_path / 'out.txt', tmp_path / 'ckpt'
    process = start([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2',
                     'run_poseformer.py', '--data-dir', str(data_dir), '-c', str(folder)] + TINY, out)
    wait_for_line(process, out, '[2] time')
    _, err = terminate(process)       # torchrun passes the signal on to its workers
    notes = [line for line in err.splitlines() if line.startswith('terminated (SIGTERM): ')]
    assert len(notes) == 2, err
    assert set(notes) == {f'terminated (SIGTERM): checkpoints written so far are complete (writes are atomic); '
                          f'-r last_epoch.bin (or the same command with -r auto) continues from the last finished '
                          f'epoch ({folder / "last_epoch.bin"})'}, err
