"""The device-resident training set, the training step and config, distributed setup, numerics.

CPU checks run everywhere; the CUDA ones (bf16 accuracy, device-resident gather, determinism)
are skipped without a GPU.
"""
import numpy as np
import pytest
import torch

from common.io.checkpoint import load_checkpoint
from tests.windows_fixtures import official_example

from common.data.layouts import H36M_17
from common.data.types import DataBundle, EvaluationProtocol, Sequence
from common.distributed import DistributedContext, setup_distributed
from common.errors import UserError
from common.evaluation import EvalOptions
from common.model.poseformer import PoseTransformer
from common.training import (TrainConfig, TrainingStep, make_optimizer, new_state, state_from_checkpoint,
                             train)
from common.windows import TrainingWindows, rank_share

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason='needs a CUDA device')
LEFT, RIGHT = [1, 2], [3, 4]


def _sequence(n, joints=5, seed=0):
    rng = np.random.default_rng(seed)
    poses_3d = rng.normal(size=(n, joints, 3)).astype(np.float32)
    poses_2d = rng.normal(size=(n, joints, 2)).astype(np.float32)
    return Sequence('S1', 'Walking', 0, poses_2d, poses_3d, cam={})


def _windows(sequences, frames=5, device='cpu'):
    return TrainingWindows(sequences, frames, LEFT, RIGHT, LEFT, RIGHT, augment=True, root=0, device=device)


def _expected_example(seq, frames, centre, flip):
    """Example (centre, flip) by hand, as the official generator cuts it (see windows_fixtures)."""
    return official_example(seq, frames, centre, flip, LEFT, RIGHT)


def test_examples_are_the_centred_windows_then_their_mirrored_twins():
    seqs = [_sequence(7, seed=1), _sequence(4, seed=2)]
    windows = _windows(seqs)
    assert len(windows) == 2 * 11
    inputs, targets = windows.batch(torch.arange(len(windows)))
    assert inputs.shape == (22, 5, 5, 2) and targets.shape == (22, 1, 5, 3)
    k = 0
    for flip in (False, True):
        for seq in seqs:
            for centre in range(len(seq.poses_2d)):
                window, target = _expected_example(seq, 5, centre, flip)
                np.testing.assert_array_equal(inputs[k].numpy(), window)
                np.testing.assert_array_equal(targets[k, 0].numpy(), target)
                k += 1


def test_rank_shares_split_every_global_batch_like_array_split():
    for n in range(0, 12):
        for world in (1, 2, 3, 5):
            expected = np.array_split(np.arange(10, 10 + n), world)
            got = [np.arange(*rank_share(10, 10 + n, r, world)) for r in range(world)]
            assert [list(e) for e in expected] == [list(g) for g in got]


def test_batches_follow_the_order_and_together_the_ranks_see_each_batch_once():
    windows = _windows([_sequence(9)])
    order = np.random.RandomState(0).permutation(len(windows))
    single = list(windows.batches(order, 5))
    assert [b[2] for b in single] == [5, 5, 5, 3]
    shares = [list(windows.batches(order, 5, rank, 2)) for rank in range(2)]
    for i, (inputs, targets, global_batch) in enumerate(single):
        joined = torch.cat([shares[0][i][0], shares[1][i][0]])
        assert torch.equal(joined, inputs) and global_batch == shares[0][i][2]
    direct, _ = windows.batch(torch.from_numpy(order[:5]))
    assert torch.equal(single[0][0], direct)


def _bundle(frames=40):
    train_seqs = [_sequence(frames, joints=17, seed=s) for s in range(2)]
    test_seqs = [_sequence(20, joints=17, seed=9)]
    return DataBundle('tiny', train_seqs, test_seqs, H36M_17, H36M_17, 50.0, protocol=EvaluationProtocol())


def _tiny_model(device='cpu'):
    torch.manual_seed(0)
    return PoseTransformer(num_frame=3, embed_dim_ratio=4, depth=1, num_heads=2, drop_path_rate=0).to(device)


def test_train_stores_metres_inside_and_mm_in_the_checkpoint(tmp_path):
    bundle, model = _bundle(), _tiny_model()
    config = TrainConfig(epochs=2, batch_size=32, learning_rate=1e-3, checkpoint_dir=str(tmp_path),
                         checkpoint_frequency=2, validation=EvalOptions(batch_size=16))
    lines = []
    state = train(model, make_optimizer(model, 1e-3, 'cpu'), bundle, new_state(config), config, 'cpu',
                  log=lines.append)
    assert [line.split()[0] for line in lines] == ['[1]', '[2]']
    valid_mm = float(lines[-1].split(' 3d_valid ')[1])
    assert abs(state.history['valid'][-1] - valid_mm / 1000) < 1e-9      # printed to 1e-6 mm
    assert state.best_valid == min(state.history['valid'])               # metres
    saved = load_checkpoint(tmp_path / 'epoch_2.bin')
    assert abs(saved['extra']['best_valid'] - state.best_valid * 1000) < 1e-9   # the files' unit: mm
    restored = state_from_checkpoint(saved, make_optimizer(_tiny_model(), 1e-3, 'cpu'), seed=0)
    assert abs(restored.best_valid - state.best_valid) < 1e-15 and restored.history == state.history


def test_the_step_refuses_a_ddp_wrapped_model():
    wrapped = torch.nn.DataParallel(_tiny_model())      # (moved to the GPU where there is one)
    with pytest.raises(TypeError, match='plain PoseTransformer'):
        TrainingStep(wrapped, None, 'cpu')


def test_more_processes_than_gpus_is_a_user_error(monkeypatch):
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 1)
    with pytest.raises(UserError) as caught:
        setup_distributed(torch.device('cuda'))
    assert caught.value.setting == 'device' and 'only 1 CUDA device' in caught.value.message


def test_a_single_process_keeps_the_device_it_was_given(monkeypatch):
    monkeypatch.delenv('WORLD_SIZE', raising=False)
    context = setup_distributed(torch.device('cpu'))
    assert context == DistributedContext(rank=0, world_size=1, device=torch.device('cpu')) and context.is_main


def test_make_optimizer_is_adamw_with_the_reference_weight_decay():
    optimizer = make_optimizer(_tiny_model(), 3e-4, 'cpu')
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults['weight_decay'] == 0.1 and optimizer.defaults['lr'] == 3e-4
    assert not optimizer.defaults.get('fused')


@needs_cuda
def test_cuda_gather_equals_cpu_gather():
    seqs = [_sequence(30, seed=3), _sequence(11, seed=4)]
    cpu, gpu = _windows(seqs), _windows(seqs, device='cuda')
    order = np.random.RandomState(1).permutation(len(cpu))
    for (a, b, n), (c, d, m) in zip(cpu.batches(order, 16), gpu.batches(order, 16)):
        assert c.is_cuda and torch.equal(a, c.cpu()) and torch.equal(b, d.cpu()) and n == m


@needs_cuda
def test_cuda_optimizer_is_fused():
    assert make_optimizer(_tiny_model('cuda'), 1e-3, 'cuda').defaults['fused']
