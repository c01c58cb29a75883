"""Training reliability (issue 15 items 1, 2, 3, 5, 6 part; issue 12 item 10): divergence stops cleanly,
one training per checkpoint folder, the latest state is kept, kills during a checkpoint write lose
nothing, and our checkpoints carry what the official script's resume reads.

The fault-injection tests run training in child processes (the library, as run_poseformer drives
it) and kill or interrupt them at chosen moments.
"""
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from common.data.sources import DataConfig, load_bundle
from common.errors import UserError
from common.io.atomic import is_temporary_name
from common.io.checkpoint import load_checkpoint
from common.io.run_lock import LOCK_NAME, claim_checkpoint_folder
from common.model.poseformer import PoseTransformer
from common.model.release import load_model_weights
from common.training import TrainConfig, make_optimizer, new_state, state_from_checkpoint, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIONS = ('Walk',)


def data_config(data_dir):
    return DataConfig(dataset='synthetic', keypoints='gt', data_dir=str(data_dir), actions=ACTIONS, subset=0.3,
                      downsample=10)


def tiny_model(num_joints):
    torch.manual_seed(0)
    return PoseTransformer(num_frame=9, num_joints=num_joints, embed_dim_ratio=8, depth=1, num_heads=2,
                           drop_path_rate=0.0)


def run_training(bundle, folder, epochs, resume=False, **overrides):
    """Train a tiny model in this process, fresh or resumed from `folder`/last_epoch.bin.

    Returns (model, optimizer, final state).
    """
    settings = dict(batch_size=256, learning_rate=0.003, checkpoint_frequency=100, validate=False)
    config = TrainConfig(epochs=epochs, checkpoint_dir=str(folder), **{**settings, **overrides})
    model = tiny_model(bundle.num_joints)
    optimizer = make_optimizer(model, config.learning_rate, 'cpu')
    state = new_state(config)
    if resume:
        checkpoint = load_checkpoint(folder / 'last_epoch.bin')
        load_model_weights(model, checkpoint['model_pos'], 'last_epoch.bin')
        state = state_from_checkpoint(checkpoint, optimizer, config.seed)
    return model, optimizer, train(model, optimizer, bundle, state, config, 'cpu', log=lambda *a: None)


@pytest.fixture(scope='module')
def data_dir(synthetic_model):
    return synthetic_model[0]


@pytest.fixture(scope='module')
def bundle(data_dir):
    return load_bundle(data_config(data_dir))


def weights_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a['model_pos'].values(), b['model_pos'].values()))


# ---------------------------------------------------------------------------------------------
# 15.3: the latest state is kept every epoch, and resuming from it is exact

def test_no_eval_three_epochs_leaves_last_epoch_and_resumes_exactly(bundle, tmp_path):
    run_training(bundle, tmp_path / 'full', 3)
    assert sorted(os.listdir(tmp_path / 'full')) == ['last_epoch.bin']     # epoch_N only every 100
    full = load_checkpoint(tmp_path / 'full' / 'last_epoch.bin')
    assert full['epoch'] == 3 and len(full['extra']['history']['train']) == 3

    run_training(bundle, tmp_path / 'split', 2)
    run_training(bundle, tmp_path / 'split', 3, resume=True)
    resumed = load_checkpoint(tmp_path / 'split' / 'last_epoch.bin')
    assert resumed['epoch'] == 3 and weights_equal(resumed, full)
    assert resumed['extra']['history'] == full['extra']['history']


def test_resume_past_the_requested_epochs_is_refused(bundle, tmp_path):
    run_training(bundle, tmp_path, 3)
    for epochs in (2, 3):
        with pytest.raises(UserError, match=f'already at epoch 3 of {epochs}') as err:
            run_training(bundle, tmp_path, epochs, resume=True)
        assert err.value.setting == 'epochs' and err.value.message.startswith(f'{epochs}:')


# ---------------------------------------------------------------------------------------------
# 15.1: non-finite loss or weights stop training; nothing non-finite is written

def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(bundle, tmp_path):
    model, _, _ = run_training(bundle, tmp_path, 1)
    good = load_checkpoint(tmp_path / 'last_epoch.bin')
    poisoned = [replace(seq, poses_2d=seq.poses_2d.copy()) for seq in bundle.train]
    poisoned[0].poses_2d[3, 5, 0] = np.inf
    with pytest.raises(UserError, match=r'loss became nan in epoch 2 \(first at batch \d+ of \d+\)') as err:
        run_training(replace(bundle, train=poisoned), tmp_path, 2, resume=True)
    assert err.value.setting == 'learning_rate'
    assert 'Lower the learning rate' in err.value.message and 'check the training data' in err.value.message
    assert sorted(os.listdir(tmp_path)) == ['last_epoch.bin']
    kept = load_checkpoint(tmp_path / 'last_epoch.bin')
    assert kept['epoch'] == 1 and weights_equal(kept, good)


class OverflowingAdamW(torch.optim.AdamW):
    """AdamW whose update overflows one weight to inf (as a huge learning rate does), the loss still finite."""

    def step(self, closure=None):
        super().step(closure)
        with torch.no_grad():
            self.param_groups[0]['params'][0].view(-1)[0] = float('inf')


def test_weights_that_overflow_are_never_written(bundle, tmp_path):
    frames = sum(len(seq.poses_2d) for seq in bundle.train) * 2        # one batch per epoch
    config = TrainConfig(epochs=2, batch_size=frames, checkpoint_dir=str(tmp_path), validate=False)
    model = tiny_model(bundle.num_joints)
    optimizer = OverflowingAdamW(model.parameters(), lr=config.learning_rate)
    with pytest.raises(UserError, match=r'weights became non-finite during epoch 1 \(the loss was still finite\)'):
        train(model, optimizer, bundle, new_state(config), config, 'cpu', log=lambda *a: None)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# 15.2: one training per folder, and an earlier run's checkpoints are not replaced silently

def test_folder_with_an_earlier_run_is_refused_unless_resumed_or_overwritten(tmp_path):
    (tmp_path / 'best_epoch.bin').write_bytes(b'earlier run')
    (tmp_path / 'detected81f.bin').write_bytes(b'a release file is no obstacle')
    with pytest.raises(UserError, match=r'holds the checkpoints of an earlier run \(best_epoch.bin\)') as err:
        with claim_checkpoint_folder(tmp_path):
            pass
    assert err.value.setting == 'overwrite' and str(tmp_path) in err.value.message
    assert (tmp_path / 'best_epoch.bin').read_bytes() == b'earlier run'
    with claim_checkpoint_folder(tmp_path, resume_from=tmp_path / 'best_epoch.bin'):
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()
    with claim_checkpoint_folder(tmp_path, overwrite=True):
        pass
    with pytest.raises(UserError, match='earlier run'):       # resuming from a file of another folder
        with claim_checkpoint_folder(tmp_path, resume_from=tmp_path.parent / 'elsewhere' / 'last_epoch.bin'):
            pass
    with claim_checkpoint_folder(tmp_path / 'new' / 'folder'):   # created on the way
        pass


def test_checkpoint_path_that_is_a_file_is_a_user_error(tmp_path):
    (tmp_path / 'file').write_text('')
    for folder in (tmp_path / 'file', tmp_path / 'file' / 'below'):
        with pytest.raises(UserError) as err:
            with claim_checkpoint_folder(folder):
                pass
        assert err.value.setting == 'checkpoint' and err.value.message.startswith(str(folder))


def test_lock_is_released_after_an_error(tmp_path):
    with pytest.raises(RuntimeError, match='boom'):
        with claim_checkpoint_folder(tmp_path):
            raise RuntimeError('boom')
    with claim_checkpoint_folder(tmp_path):
        pass


CHILD = r'''
import io, json, os, signal, sys, time
import torch
# Ctrl-C as at a terminal: a test run started in the background by a non-interactive shell (nohup ... &, some CI
# runners) passes SIGINT down ignored, and Python then keeps it ignored: the SIGINT test's child would never see it.
signal.signal(signal.SIGINT, signal.default_int_handler)
from cli.entry import run_program
from common.data.sources import DataConfig, load_bundle
from common.io.run_lock import claim_checkpoint_folder
from common.model.poseformer import PoseTransformer
from common.training import TrainConfig, make_optimizer, new_state, train

opts = json.loads(sys.argv[1])


class StallingFile(io.RawIOBase):
    """Passes torch.save's writes (made from C++) to the real file; the third one stalls."""
    def __init__(self, f):
        self.f, self.writes = f, 0
    def writable(self):
        return True
    def write(self, data):
        self.writes += 1
        if self.writes == 3:
            self.f.flush()
            open(opts['marker'], 'w').close()
            # Stall for up to 600 s in short sleeps, as a slow write returns to Python between its chunks:
            # the kernel hands a signal sent to the process to any of its threads (torch's workers too), and
            # Python runs the handler in the main thread between instructions, so one long sleep would hide
            # a signal that landed on another thread until it ended (a 300 s hang in one CI run of five).
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                time.sleep(0.05)
        return self.f.write(data)


real_save, saves = torch.save, [0]
def save(obj, f, *args, **kwargs):
    saves[0] += 1
    return real_save(obj, StallingFile(f) if saves[0] == opts.get('stall_save') else f, *args, **kwargs)
torch.save = save


def pause(state):
    if state.epoch == opts.get('pause_after_epoch'):
        while not os.path.exists(opts['release']):
            time.sleep(0.05)


def body():
    with claim_checkpoint_folder(opts['folder'], overwrite=opts.get('overwrite', False)):
        print('training', flush=True)
        cfg = DataConfig(dataset='synthetic', keypoints='gt', data_dir=opts['data'], actions=('Walk',),
                         subset=0.3, downsample=10)
        bundle = load_bundle(cfg)
        torch.manual_seed(0)
        model = PoseTransformer(num_frame=9, num_joints=bundle.num_joints, embed_dim_ratio=8, depth=1, num_heads=2)
        config = TrainConfig(epochs=opts['epochs'], batch_size=256, learning_rate=0.003,
                             checkpoint_dir=opts['folder'], checkpoint_frequency=100, validate=False)
        train(model, make_optimizer(model, 0.003, 'cpu'), bundle, new_state(config), config, 'cpu',
              on_epoch_end=pause)


sys.exit(run_program(body, {'checkpoint': '-c', 'overwrite': '--overwrite'}))
'''


def start_child(**opts):
    env = dict(os.environ, OMP_NUM_THREADS='1', CI='1', PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, '-c', CHILD, json.dumps({k: str(v) if isinstance(v, os.PathLike) else v
                                                                       for k, v in opts.items()})],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, process, timeout=300):
    end = time.time() + timeout
    while not os.path.exists(path):
        if process.poll() is not None:
            raise AssertionError(f'child ended early ({process.returncode}): {process.communicate()}')
        assert time.time() < end, f'{path} did not appear'
        time.sleep(0.05)


def test_two_concurrent_trainings_into_one_folder(data_dir, tmp_path):
    folder = tmp_path / 'ckpt'
    first = start_child(folder=folder, data=data_dir, epochs=3, pause_after_epoch=1, release=tmp_path / 'go')
    try:
        wait_for(folder / 'last_epoch.bin', first)
        second = start_child(folder=folder, data=data_dir, epochs=1, overwrite=True)
        out, err = second.communicate(timeout=300)
        assert second.returncode == 2, (out, err)
        assert f'error: -c {folder}: another training (process {first.pid} on ' in err
        assert 'Traceback' not in err and 'training' not in out
        # refused at once, not after waiting for the lock: the first run is paused until released below
        assert first.poll() is None
    finally:
        (tmp_path / 'go').touch()
        out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(os.listdir(folder)) == ['last_epoch.bin']
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 3


# ---------------------------------------------------------------------------------------------
# 15.5: kills during a checkpoint write

def signal_during_a_checkpoint_write(data_dir, tmp_path, signum):
    """Train 2 epochs in a child; send `signum` while epoch 2's last_epoch.bin is being written.

    Returns (child, stdout, stderr, checkpoint folder).
    """
    folder = tmp_path / 'ckpt'
    child = start_child(folder=folder, data=data_dir, epochs=2, stall_save=2, marker=tmp_path / 'writing')
    wait_for(tmp_path / 'writing', child)
    child.send_signal(signum)
    out, err = child.communicate(timeout=300)   # a limit against hangs, not a speed check
    return child, out, err, folder


def test_sigkill_during_a_checkpoint_write_loses_nothing_and_the_next_run_cleans_up(data_dir, tmp_path):
    _, _, _, folder = signal_during_a_checkpoint_write(data_dir, tmp_path, signal.SIGKILL)
    temporaries = [name for name in os.listdir(folder) if is_temporary_name(name)]
    assert len(temporaries) == 1 and temporaries[0].startswith('.last_epoch.bin.')
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 1

    with claim_checkpoint_folder(folder, resume_from=folder / 'last_epoch.bin'):
        assert sorted(os.listdir(folder)) == [LOCK_NAME, 'last_epoch.bin']
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 1


def test_sigterm_during_a_checkpoint_write_exits_143_keeping_the_previous_checkpoint(data_dir, tmp_path):
    # pre-emption (issue 20): the file being written is abandoned, the lock released, a requeueable status
    child, _, err, folder = signal_during_a_checkpoint_write(data_dir, tmp_path, signal.SIGTERM)
    assert child.returncode == 143, err
    assert err.startswith('terminated (SIGTERM):') and 'Traceback' not in err
    assert sorted(os.listdir(folder)) == ['last_epoch.bin']       # no temporary file, no lock file
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 1


def test_ctrl_c_during_a_checkpoint_write_exits_130_without_a_traceback(data_dir, tmp_path):
    child, _, err, folder = signal_during_a_checkpoint_write(data_dir, tmp_path, signal.SIGINT)
    assert child.returncode == 130, err
    assert err.startswith('interrupted:') and 'Traceback' not in err
    assert sorted(os.listdir(folder)) == ['last_epoch.bin']       # no temporary file, no lock file
    assert load_checkpoint(folder / 'last_epoch.bin')['epoch'] == 1


# ---------------------------------------------------------------------------------------------
# 12.10: the official script's resume (run_poseformer.py, `if args.resume:`) reads our files

def test_our_checkpoint_has_what_the_official_resume_reads(bundle, tmp_path):
    model, optimizer, state = run_training(bundle, tmp_path, 2)
    # What the official script does on -r: torch.load, then these keys (its generator keeps the
    # RandomState and draws each epoch's order with .permutation).
    raw = torch.load(tmp_path / 'last_epoch.bin', map_location='cpu', weights_only=False)
    assert isinstance(raw['epoch'], int) and raw['epoch'] == 2
    assert isinstance(raw['lr'], float) and raw['lr'] == pytest.approx(0.003 * 0.99 ** 2)
    assert raw['optimizer'] is not None
    official_net = torch.nn.DataParallel(tiny_model(bundle.num_joints).cpu())
    missing, unexpected = official_net.load_state_dict(raw['model_pos'], strict=False)
    assert not missing and not unexpected
    official_optimizer = torch.optim.AdamW(official_net.parameters(), lr=0.003, weight_decay=0.1)
    official_optimizer.load_state_dict(raw['optimizer'])
    random_state = raw['random_state']
    assert isinstance(random_state, np.random.RandomState)
    ours = state.sampler.get_state()
    saved = random_state.get_state()
    assert saved[0] == ours[0] and np.array_equal(saved[1], ours[1]) and saved[2:] == ours[2:]
    assert np.array_equal(random_state.permutation(10), state.sampler.permutation(10))

    # our own loading stays weights-only (allow-list) and resumes from our plain-data RNG state
    ours_loaded = load_checkpoint(tmp_path / 'last_epoch.bin')
    assert isinstance(ours_loaded['random_state'], np.random.RandomState) and 'rng_state' in ours_loaded
