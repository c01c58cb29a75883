"""Bad data and bad selections give one clear message at load time (issue 15: data items; issue 12.3).

Each message names what is wrong (the file, subject, action, camera, or the setting) and the fix.
"""
import numpy as np
import pytest

from common.data.keypoints_2d import keypoints_path
from common.data.selection import select
from common.data.sources import DataConfig, load_bundle
from common.data.synthetic import dataset as synthetic_dataset
from common.data.types import Sequence
from common.errors import UserError
from common.io.npz import load_npz, save_npz


def _config(data_dir, **settings):
    settings = {'keypoints': 'cpn_ft_h36m_dbb', 'subjects_train': ('S1',), 'subjects_test': ('S9',), **settings}
    return DataConfig(dataset='h36m', data_dir=str(data_dir), **settings)


def _edit(path, change):
    """Rewrite the npz at `path` after `change(entries)`."""
    entries = load_npz(path)
    change(entries)
    save_npz(path, **entries)


# ----------------------------------------------------------------------------- non-finite input (15.1)

def test_an_infinite_training_keypoint_is_refused_naming_file_subject_action_camera(h36m_dir):
    data_dir, _ = h36m_dir
    path = data_dir / 'data_2d_h36m_cpn_ft_h36m_dbb.npz'

    def poison(entries):
        entries['positions_2d']['S1']['Eating'][2][5, 3, 0] = np.inf
    _edit(path, poison)
    with pytest.raises(UserError) as err:
        load_bundle(_config(data_dir))
    message = str(err.value)
    assert f"{path}: S1 / 'Eating' camera 2" in message and 'frame 5, joint 3' in message
    assert 'NaN or infinity' in message


def test_nan_in_the_3d_is_refused_naming_file_subject_and_action(h36m_dir):
    data_dir, _ = h36m_dir
    path = data_dir / 'data_3d_h36m.npz'

    def poison(entries):
        entries['positions_3d']['S9']['Walking 1'][4, 6, 1] = np.nan
    _edit(path, poison)
    with pytest.raises(UserError) as err:
        load_bundle(_config(data_dir, keypoints='gt', need_train=False))
    assert f"{path}: S9 / 'Walking 1'" in str(err.value) and 'frame 4, joint 6' in str(err.value)


def test_non_finite_2d_frames_beyond_the_3d_length_are_cut_not_refused(h36m_dir):
    # Detector files carry a few extra frames that loading cuts to the 3D length: they are never used.
    data_dir, _ = h36m_dir

    def poison_tail(entries):
        entries['positions_2d']['S1']['Walking'][0][-1] = np.nan
    _edit(data_dir / 'data_2d_h36m_cpn_ft_h36m_dbb.npz', poison_tail)
    bundle = load_bundle(_config(data_dir))
    assert all(np.isfinite(seq.poses_2d).all() for seq in bundle.train)


# -------------------------------------------------------------------- keypoint choices (15.5)

def test_only_real_keypoint_files_are_offered(h36m_dir):
    data_dir, _ = h36m_dir
    real = (data_dir / 'data_2d_h36m_gt.npz').read_bytes()
    for leftover in ('data_2d_h36m_gt.npz.vet69fxj.tmp.npz',    # left by a kill during a write
                     'data_2d_h36m_gt.npz.vet69fxj.tmp',
                     '.data_2d_h36m_gt.npz.k2j3.tmp',             # hidden temporary file
                     '.data_2d_h36m_hidden.npz'):
        (data_dir / leftover).write_bytes(real)
    (data_dir / 'data_2d_h36m_walk.mp4.npz').write_bytes(real)  # a real name with a dot
    with pytest.raises(UserError) as err:
        keypoints_path(data_dir, 'h36m', 'cpn')
    assert err.value.setting == 'keypoints'
    assert 'Available in' in str(err.value)
    assert str(err.value).split('Available in ')[1].split(': ', 1)[1].startswith('cpn_ft_h36m_dbb, gt, walk.mp4. ')


# ----------------------------------------------------------------- the synthetic seed (15.6)

@pytest.fixture
def small_synthetic(monkeypatch):
    """The synthetic generator cut to one short action per subject (fast), same files and seeds."""
    monkeypatch.setattr(synthetic_dataset, 'ACTION_NAMES', ('Walking',))
    monkeypatch.setattr(synthetic_dataset, 'REPETITIONS', 1)
    return synthetic_dataset


def _poses(paths):
    return load_npz(paths['3d'])['positions_3d']['S1']['Walking']


def test_a_different_seed_regenerates_the_dataset(tmp_path, small_synthetic, capsys):
    paths = small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=False)
    seed_0 = {p: p.read_bytes() for p in (paths['3d'], *paths['2d'].values())}
    assert 'synthetic_seed' not in load_npz(paths['3d'])   # seed-0 files keep the community layout
    first = _poses(paths)

    small_synthetic.ensure_synthetic_dataset(tmp_path, seed=7, progress=True)
    assert 'with seed 7 (its files were generated with seed 0)' in capsys.readouterr().out
    assert all(small_synthetic.stored_seed(p) == 7 for p in seed_0)
    assert not np.array_equal(_poses(paths), first)
    load_bundle(DataConfig(dataset='synthetic', data_dir=str(tmp_path), keypoints='gt', synthetic_seed=7,
                           actions=('Walking',)))
    assert capsys.readouterr().out == ''                    # same seed: reused as it is

    small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=False)
    assert {p: p.read_bytes() for p in seed_0} == seed_0    # back to the byte-identical seed-0 files


def test_files_without_a_recorded_seed_are_seed_0_and_reused(tmp_path, small_synthetic, capsys):
    paths = small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=False)
    stamps = [p.stat().st_mtime_ns for p in (paths['3d'], *paths['2d'].values())]
    small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=True)
    assert [p.stat().st_mtime_ns for p in (paths['3d'], *paths['2d'].values())] == stamps
    assert capsys.readouterr().out == ''


def test_a_mix_of_seeds_left_by_an_interrupted_regeneration_is_regenerated(tmp_path, small_synthetic, capsys):
    paths = small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=False)
    _edit(paths['2d']['gt'], lambda entries: entries.update(synthetic_seed=np.int64(3)))
    small_synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=True)
    assert 'generated with seed 0, 3' in capsys.readouterr().out
    assert small_synthetic.stored_seed(paths['2d']['gt']) == 0


@pytest.mark.parametrize('seed', [-1, 1.5, 'x'])
def test_a_bad_seed_is_refused(tmp_path, seed):
    with pytest.raises(UserError, match='must be a non-negative integer') as err:
        synthetic_dataset.ensure_synthetic_dataset(tmp_path, seed=seed)
    assert err.value.setting == 'synthetic_seed'


# --------------------------------------------------------------- metadata out of range (15.6, 15.7)

@pytest.mark.parametrize('metadata', [
    {'num_joints': 40, 'keypoints_symmetry': [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]},
    {'num_joints': 17, 'keypoints_symmetry': [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15]]},   # unequal lengths
    {'num_joints': 17, 'keypoints_symmetry': [[4, 5, 6, 11, 12, 99], [1, 2, 3, 14, 15, 16]]},  # out of range
    {'num_joints': 17, 'keypoints_symmetry': [[4, 5, 6, 11, 12, 13]]},
    {'num_joints': None, 'keypoints_symmetry': 5},
])
def test_metadata_that_does_not_describe_the_keypoints_is_refused(h36m_dir, metadata):
    data_dir, _ = h36m_dir
    _edit(data_dir / 'data_2d_h36m_gt.npz', lambda entries: entries.update(metadata=metadata))
    with pytest.raises(UserError, match='data_2d_h36m_gt.npz: metadata'):
        load_bundle(_config(data_dir, keypoints='gt'))


# ------------------------------------------------------------------ empty selections (15.7, 15.8)

def test_a_subset_that_keeps_no_frame_names_the_subset(h36m_dir):
    data_dir, _ = h36m_dir
    with pytest.raises(UserError) as err:
        load_bundle(_config(data_dir, subset=0.001))
    assert err.value.setting == 'subset'
    assert str(err.value).startswith('subset 0.001: keeps no frame of any selected sequence')
    assert len(load_bundle(_config(data_dir, subset=0.02)).train) > 0   # the smallest fraction it suggests works


def test_an_empty_subject_list_says_so(h36m_dir):
    data_dir, _ = h36m_dir
    with pytest.raises(UserError) as err:
        load_bundle(_config(data_dir, subjects_train=()))
    assert err.value.setting == 'subjects_train' and 'the subject list is empty' in str(err.value)
    assert len(load_bundle(_config(data_dir, subjects_train=(), need_train=False)).test) > 0  # not needed: fine


# ------------------------------------------------------------------ action names (issue 12.3)
# Official semantics (PoseFormer's run_poseformer.py): training and validation keep a sequence when its
# full name starts with a name of -a; the final per-action evaluation groups sequences by the part of
# the name before the first space and keeps a group when ITS name starts with a name of -a.

def _sequences(*actions):
    return [Sequence('S1', action, 0, np.zeros((4, 17, 2)), np.zeros((4, 17, 3)), {}) for action in actions]


H36M_NAMES = ('Walking', 'Walking 1', 'WalkDog', 'WalkDog 1', 'Sitting 1', 'Sitting 2', 'SittingDown',
              'Eating', 'Eating 2')


def _actions(names):
    return [seq.action for seq in select(_sequences(*H36M_NAMES), ['S1'], names)]


def test_a_group_name_selects_every_take_and_the_groups_it_prefixes():
    assert _actions(('Walking',)) == ['Walking', 'Walking 1']
    assert _actions(('Walk',)) == ['Walking', 'Walking 1', 'WalkDog', 'WalkDog 1']
    assert _actions(('Sitting',)) == ['Sitting 1', 'Sitting 2', 'SittingDown']   # official: prefix of the group
    assert _actions(('Eating', 'Sitting 2')) == ['Sitting 2', 'Eating', 'Eating 2']


def test_a_full_sequence_name_selects_that_take_for_training_and_evaluation(h36m_dir):
    # The official trains on 'Walking 1' but its final evaluation matches no group and prints nan;
    # here the same take is trained on and evaluated.
    data_dir, _ = h36m_dir
    assert _actions(('Walking 1',)) == ['Walking 1']
    bundle = load_bundle(_config(data_dir, actions=('Walking 1',)))
    assert {s.action for s in bundle.train} == {s.action for s in bundle.test} == {'Walking 1'}
    assert len(bundle.test) == 4                                               # its 4 cameras
    with pytest.raises(UserError) as err:
        load_bundle(_config(data_dir, actions=('Walking 3',)))
    assert err.value.setting == 'actions' and 'Walking, Walking 1, Eating, Eating 2' in str(err.value)
