import numpy as np
import pytest

from common.data.camera import normalize_screen_coordinates, world_to_camera
from common.data.types import deterministic_random, fetch_sequences, prepare_camera_space
from common.errors import UserError
from common.data.h36m import Human36mDataset
from common.data.keypoints_2d import load_keypoints_2d
from common.io.npz import save_npz
from tests.h36m_fixtures import KEPT, SYMMETRY


def _load(tmp_path, keypoints='cpn_ft_h36m_dbb'):
    dataset = Human36mDataset(tmp_path / 'data_3d_h36m.npz')
    prepare_camera_space(dataset)
    return dataset, load_keypoints_2d(tmp_path / f'data_2d_h36m_{keypoints}.npz', dataset)


def test_camera_space_root_relative_3d_and_normalised_2d(h36m_dir):
    tmp_path, data = h36m_dir
    dataset, keypoints = _load(tmp_path, 'gt')
    assert dataset.skeleton().num_joints() == 17
    seq = dataset['S9']['Walking 1']
    cam = seq['cameras'][1]
    world = data['3d']['S9']['Walking 1'][:, KEPT]
    expected = world_to_camera(world, cam['orientation'], cam['translation'])
    got = seq['positions_3d'][1]
    assert np.allclose(got[:, 0], expected[:, 0], atol=1e-5)                      # root keeps the trajectory
    assert np.allclose(got[:, 1:], expected[:, 1:] - expected[:, :1], atol=1e-5)  # others root-relative
    kps = keypoints.positions['S9']['Walking 1'][1]
    assert kps.shape == (len(world), 17, 2)
    assert np.allclose(kps, normalize_screen_coordinates(data['2d_gt']['S9']['Walking 1'][1], cam['res_w'], cam['res_h']),
                       atol=1e-5)
    assert keypoints.layout == 'h36m'          # the gt file has no layout_name
    assert [keypoints.joints_left, keypoints.joints_right] == SYMMETRY


def test_longer_2d_is_cut_to_3d_length_and_unlabelled_subjects_ignored(h36m_dir):
    tmp_path, data = h36m_dir
    dataset, keypoints = _load(tmp_path)
    assert 'S2' not in keypoints.positions
    for subject in ('S1', 'S9'):
        for action in data['3d'][subject]:
            n3d = len(data['3d'][subject][action])
            assert len(data['2d_cpn'][subject][action][0]) == n3d + 3
            assert all(len(k) == n3d for k in keypoints.positions[subject][action])


def test_fetch_sequences_actions_prefix_subset_downsample(h36m_dir):
    tmp_path, data = h36m_dir
    dataset, keypoints = _load(tmp_path)
    seqs = fetch_sequences(dataset, keypoints, ['S9'], action_filter=['Walk'])
    assert {s.action for s in seqs} == {'Walking', 'Walking 1'} and len(seqs) == 8
    assert all(len(s.poses_2d) == len(s.poses_3d) for s in seqs)
    down = fetch_sequences(dataset, keypoints, ['S9'], action_filter=['Eating'], downsample=2)
    full = fetch_sequences(dataset, keypoints, ['S9'], action_filter=['Eating'])
    assert np.array_equal(down[0].poses_3d, full[0].poses_3d[::2])
    half = fetch_sequences(dataset, keypoints, ['S9'], action_filter=['Eating'], subset=0.5)
    n = len(full[0].poses_2d)
    start = deterministic_random(0, n - int(round(n * 0.5)) + 1, str(n))
    assert np.array_equal(half[0].poses_2d, full[0].poses_2d[start:start + len(half[0].poses_2d)])
    assert len(half[0].poses_2d) == int(round(n * 0.5))
    with pytest.raises(UserError, match='no sequences'):
        fetch_sequences(dataset, keypoints, ['S9'], action_filter=['Nope'])


def test_deterministic_random_is_stable():
    assert deterministic_random(0, 100, 'abc') == deterministic_random(0, 100, 'abc')
    assert 0 <= deterministic_random(0, 10, '1234') < 10


def test_clear_errors_for_mismatched_files(h36m_dir):
    tmp_path, data = h36m_dir
    dataset = Human36mDataset(tmp_path / 'data_3d_h36m.npz')
    no_s9 = {k: v for k, v in data['2d_gt'].items() if k != 'S9'}
    save_npz(tmp_path / 'x.npz', positions_2d=no_s9, metadata={'num_joints': 17, 'keypoints_symmetry': SYMMETRY})
    with pytest.raises(UserError, match='subject S9 is in the 3D data but missing'):
        load_keypoints_2d(tmp_path / 'x.npz', dataset)
    no_action = {s: {a: v for a, v in acts.items() if a != 'Eating'} for s, acts in data['2d_gt'].items()}
    save_npz(tmp_path / 'y.npz', positions_2d=no_action, metadata={'num_joints': 17, 'keypoints_symmetry': SYMMETRY})
    with pytest.raises(UserError, match="action 'Eating'"):
        load_keypoints_2d(tmp_path / 'y.npz', dataset)
    short = {s: {a: [k[:5] for k in v] for a, v in acts.items()} for s, acts in data['2d_gt'].items()}
    save_npz(tmp_path / 'z.npz', positions_2d=short, metadata={'num_joints': 17, 'keypoints_symmetry': SYMMETRY})
    with pytest.raises(UserError, match='5 2D frames'):
        load_keypoints_2d(tmp_path / 'z.npz', dataset)
    save_npz(tmp_path / 'bad3d.npz', positions_3d={'S1': {'Walking': np.zeros((5, 17, 3))}})
    with pytest.raises(UserError, match=r'expected \(N, 32, 3\)'):
        Human36mDataset(tmp_path / 'bad3d.npz')
    save_npz(tmp_path / 'unknown.npz', positions_3d={'S42': {'Walking': np.zeros((5, 32, 3))}})
    with pytest.raises(UserError, match='S42'):
        Human36mDataset(tmp_path / 'unknown.npz')
