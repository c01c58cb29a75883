"""Window geometry and training examples: centred and causal windows, as the official generators cut them."""
import numpy as np
import pytest
import torch

from common.data.types import Sequence
from common.windows import TrainingWindows, pad_edges, window_padding
from tests.windows_fixtures import official_example

LEFT, RIGHT = [1, 2], [3, 4]


def _sequence(n, joints=5, seed=0):
    rng = np.random.default_rng(seed)
    return Sequence('S1', 'Walking', 0, rng.normal(size=(n, joints, 2)).astype(np.float32),
                    rng.normal(size=(n, joints, 3)).astype(np.float32), cam={})


def test_window_padding_centred_and_causal():
    assert window_padding(9) == (4, 4)
    assert window_padding(81, causal=False) == (40, 40)
    assert window_padding(9, causal=True) == (8, 0)
    assert window_padding(1) == window_padding(1, causal=True) == (0, 0)


def test_pad_edges_repeats_the_first_and_last_frames():
    poses = np.arange(3, dtype=np.float32).reshape(3, 1, 1)
    assert pad_edges(poses, 2)[:, 0, 0].tolist() == [0, 0, 0, 1, 2, 2, 2]
    assert pad_edges(poses, 2, 0)[:, 0, 0].tolist() == [0, 0, 0, 1, 2]
    assert pad_edges(poses, 0, 1)[:, 0, 0].tolist() == [0, 1, 2, 2]


@pytest.mark.parametrize('causal', [False, True])
def test_training_examples_are_the_official_windows(causal):
    seqs = [_sequence(6, seed=1), _sequence(3, seed=2)]
    frames = 5
    windows = TrainingWindows(seqs, frames, LEFT, RIGHT, LEFT, RIGHT, augment=True, causal=causal)
    assert len(windows) == 2 * 9
    # every example once, in the order of one epoch
    order = windows.epoch_order(np.random.RandomState(3))
    assert sorted(order.tolist()) == list(range(len(windows)))
    inputs, targets = windows.batch(torch.arange(len(windows)))
    expected = {}
    for s, seq in enumerate(seqs):
        for target in range(len(seq.poses_2d)):
            for flip in (False, True):
                expected[s, target, flip] = official_example(seq, frames, target, flip, LEFT, RIGHT, causal)
    # each gathered example is one official example, and all of them are there
    found = set()
    for window, pose in zip(inputs.numpy(), targets[:, 0].numpy()):
        match = [key for key, (w, p) in expected.items() if np.array_equal(w, window) and np.array_equal(p, pose)]
        assert len(match) == 1
        found.add(match[0])
    assert found == set(expected)


def test_a_causal_window_ends_at_its_target():
    seq = _sequence(4, joints=5)
    seq.poses_2d[:] = np.arange(4, dtype=np.float32)[:, None, None]     # frame i's keypoints are all i
    windows = TrainingWindows([seq], 3, LEFT, RIGHT, LEFT, RIGHT, augment=False, causal=True)
    inputs, _ = windows.batch(torch.arange(4))
    assert inputs[:, :, 0, 0].tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [1, 2, 3]]
