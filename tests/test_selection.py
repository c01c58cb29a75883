"""Selection of sequences and frames (common/data/selection.py), the same for every source."""
import numpy as np
import pytest

from common.data.selection import Selection, deterministic_random, select, subsample
from common.data.types import Sequence
from common.errors import UserError


def _sequence(subject, action, n_frames, camera=0, valid=False):
    frames = np.arange(n_frames, dtype=np.float32)
    """Frame i of the 2D and 3D poses holds the value i everywhere: the frames kept can be read off."""
    return Sequence(subject, action, camera, poses_2d=frames[:, None, None] * np.ones((1, 3, 2)),
                    poses_3d=frames[:, None, None] * np.ones((1, 3, 3)), cam={'id': camera},
                    valid=(frames % 3 > 0) if valid else None)


SEQUENCES = [_sequence('S1', 'Walking', 100), _sequence('S1', 'Walking 1', 80), _sequence('S1', 'Eating', 60),
             _sequence('S9', 'Walking', 90, camera=1), _sequence('S9', 'WalkDog', 70)]


def _keys(sequences):
    return [(s.subject, s.action, s.camera) for s in sequences]


def test_subjects_in_the_order_given_actions_by_prefix():
    assert _keys(select(SEQUENCES, ['S9', 'S1'], ('Walk',))) == [
        ('S9', 'Walking', 1), ('S9', 'WalkDog', 0), ('S1', 'Walking', 0), ('S1', 'Walking 1', 0)]
    assert _keys(select(SEQUENCES, ['S1'], ('Walking 1', 'Eat'))) == [('S1', 'Walking 1', 0), ('S1', 'Eating', 0)]
    assert len(select(SEQUENCES, ['S1', 'S9'])) == 5


def test_the_subset_chunk_is_the_official_one():
    # SHA-256 of the length picks the start: the same chunks as the reference implementation.
    assert deterministic_random(0, 100, 'abc') == 74
    assert deterministic_random(0, 1383 - 692 + 1, '1383') == 223
    assert deterministic_random(5, 10, '1234') == 6
    seq = _sequence('S1', 'Walking', 1383)
    chunk = subsample(seq, subset=0.5)
    assert len(chunk.poses_2d) == 692 and chunk.poses_3d[0, 0, 0] == 223
    assert np.array_equal(chunk.poses_3d, seq.poses_3d[223:223 + 692])
    # with a stride, the chunk length is a multiple of it and its frames are every stride-th
    strided = subsample(seq, subset=0.5, stride=10)
    n_frames = int(round(1383 // 10 * 0.5) * 10)
    start = deterministic_random(0, 1383 - n_frames + 1, '1383')
    assert np.array_equal(strided.poses_2d, seq.poses_2d[start:start + n_frames:10])


def test_stride_cuts_every_array_alike():
    seq = _sequence('TS1', 'TS1', 31, valid=True)
    cut = subsample(seq, stride=4)
    assert len(cut.poses_2d) == len(cut.poses_3d) == len(cut.valid) == 8
    assert np.array_equal(cut.valid, seq.valid[::4]) and np.array_equal(cut.poses_3d, seq.poses_3d[::4])
    assert seq.valid.shape == (31,)  # the original is left alone
    no_3d = subsample(Sequence('v', 'custom', 0, seq.poses_2d, None, {}), stride=2)
    assert no_3d.poses_3d is None and len(no_3d.poses_2d) == 16


def test_training_and_test_splits():
    selection = Selection(subjects_train=('S1',), subjects_test=('S9',), actions=('Walking',), subset=0.5,
                          downsample=2)
    train, test = selection.training(SEQUENCES), selection.testing(SEQUENCES)
    assert _keys(train) == [('S1', 'Walking', 0), ('S1', 'Walking 1', 0)]
    assert [len(s.poses_2d) for s in train] == [25, 20]          # half, every 2nd frame
    assert _keys(test) == [('S9', 'Walking', 1)] and len(test[0].poses_2d) == 45   # whole, every 2nd frame


def test_errors_name_the_setting():
    with pytest.raises(UserError, match='S2: no sequences') as err:
        select(SEQUENCES, ['S2'], setting='subjects_test')
    assert err.value.setting == 'subjects_test'
    with pytest.raises(UserError, match=r'Sit: no action of subjects S9 starts with these \(their actions: '
                                        r'Walking, WalkDog\)') as err:
        select(SEQUENCES, ['S9'], ('Sit',))
    assert err.value.setting == 'actions'
    for settings, setting in (({'subset': 0}, 'subset'), ({'subset': 1.01}, 'subset'),
                              ({'downsample': 0}, 'downsample'), ({'downsample': 1.5}, 'downsample')):
        with pytest.raises(UserError) as err:
            Selection(('S1',), ('S9',), **settings)
        assert err.value.setting == setting
