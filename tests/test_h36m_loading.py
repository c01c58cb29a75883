"""Human3.6M-format data through `load_bundle`: camera-space 3D, normalised 2D, files checked against each other."""
import numpy as np
import pytest

from common.data.camera import load_h36m_cameras, normalize_screen_coordinates, world_to_camera
from common.data.h36m import load_h36m_3d
from common.data.keypoints_2d import keypoints_metadata, load_keypoints_2d
from common.data.layouts import COCO_17, H36M_17
from common.data.sources import DataConfig, load_bundle
from common.errors import UserError
from common.io.npz import save_npz
from tests.h36m_fixtures import KEPT


def _bundle(data_dir, **settings):
    settings = {'dataset': 'h36m', 'data_dir': str(data_dir), 'keypoints': 'gt', 'subjects_train': ('S1',),
                'subjects_test': ('S9',), **settings}
    return load_bundle(DataConfig(**settings))


def _find(sequences, subject, action, camera):
    return next(s for s in sequences if (s.subject, s.action, s.camera) == (subject, action, camera))


def test_camera_space_root_relative_3d_and_normalised_2d(h36m_dir):
    tmp_path, data = h36m_dir
    bundle = _bundle(tmp_path)
    assert bundle.name == 'h36m' and bundle.joints is H36M_17 and bundle.keypoints is H36M_17  # gt: no layout_name
    assert bundle.num_joints == 17 and bundle.root == 0 and bundle.fps == 50
    assert bundle.parents == list(H36M_17.parents)
    assert bundle.symmetry.kps_left == bundle.symmetry.joints_left == [4, 5, 6, 11, 12, 13]
    assert bundle.symmetry.kps_right == bundle.symmetry.joints_right == [1, 2, 3, 14, 15, 16]
    seq = _find(bundle.test, 'S9', 'Walking 1', 1)
    cam = load_h36m_cameras()['S9'][1]
    world = data['3d']['S9']['Walking 1'][:, KEPT]
    expected = world_to_camera(world, cam['orientation'], cam['translation'])
    assert seq.poses_3d.dtype == np.float32 and seq.poses_2d.dtype == np.float32
    assert np.allclose(seq.poses_3d[:, 0], expected[:, 0], atol=1e-5)                      # root keeps the trajectory
    assert np.allclose(seq.poses_3d[:, 1:], expected[:, 1:] - expected[:, :1], atol=1e-5)  # others root-relative
    assert seq.poses_2d.shape == (len(world), 17, 2)
    assert np.allclose(seq.poses_2d, normalize_screen_coordinates(data['2d_gt']['S9']['Walking 1'][1],
                                                                  cam['res_w'], cam['res_h']), atol=1e-5)
    assert seq.cam['id'] == cam['id'] and seq.valid is None


def test_sequence_order_and_lengths(h36m_dir):
    tmp_path, data = h36m_dir
    bundle = _bundle(tmp_path, keypoints='cpn_ft_h36m_dbb', subjects_train=('S9', 'S1'))
    # subjects in the order asked for, then actions in file order, then cameras
    expected = [(s, a, c) for s in ('S9', 'S1') for a in data['3d'][s] for c in range(4)]
    assert [(s.subject, s.action, s.camera) for s in bundle.train] == expected
    for seq in bundle.train:
        n3d = len(data['3d'][seq.subject][seq.action])
        assert len(data['2d_cpn'][seq.subject][seq.action][0]) == n3d + 3
        assert len(seq.poses_2d) == len(seq.poses_3d) == n3d  # longer 2D cut to the 3D length


def test_default_subjects_are_the_official_split(tmp_path):
    from tests.h36m_fixtures import write_h36m_fixture
    write_h36m_fixture(tmp_path, subjects=('S1', 'S5', 'S6', 'S7', 'S8', 'S9', 'S11'), actions=('Walking',),
                       frames=12)
    bundle = load_bundle(DataConfig(data_dir=str(tmp_path), keypoints='gt'))
    assert list(dict.fromkeys(s.subject for s in bundle.train)) == ['S1', 'S5', 'S6', 'S7', 'S8']
    assert list(dict.fromkeys(s.subject for s in bundle.test)) == ['S9', 'S11']


def test_actions_subset_downsample(h36m_dir):
    tmp_path, _ = h36m_dir
    full = _bundle(tmp_path, actions=('Eating',))
    assert {s.action for s in full.train + full.test} == {'Eating', 'Eating 2'}       # prefix match
    walk = _bundle(tmp_path, actions=('Walking 1', 'Eating 2'))
    assert {s.action for s in walk.test} == {'Walking 1', 'Eating 2'}
    down = _bundle(tmp_path, actions=('Eating',), downsample=2)
    assert down.fps == 25
    for a, b in zip(full.train + full.test, down.train + down.test):
        assert np.array_equal(b.poses_3d, a.poses_3d[::2]) and np.array_equal(b.poses_2d, a.poses_2d[::2])
    half = _bundle(tmp_path, actions=('Eating',), subset=0.5)
    for a, b in zip(full.train, half.train):   # one contiguous chunk of half of each training sequence
        n = len(a.poses_2d)
        assert len(b.poses_2d) == int(round(n * 0.5))
        start = next(i for i in range(n) if np.array_equal(a.poses_2d[i], b.poses_2d[0]))
        assert np.array_equal(b.poses_3d, a.poses_3d[start:start + len(b.poses_3d)])
    assert all(np.array_equal(a.poses_2d, b.poses_2d) for a, b in zip(full.test, half.test))  # test: whole


def test_evaluation_only_skips_training_subjects(h36m_dir):
    tmp_path, _ = h36m_dir
    bundle = _bundle(tmp_path, need_train=False, subjects_train=('S42',))
    assert bundle.train == [] and {s.subject for s in bundle.test} == {'S9'}


def test_selection_errors_name_the_setting(h36m_dir):
    tmp_path, _ = h36m_dir
    with pytest.raises(UserError, match=r'S3: not in .*data_3d_h36m.npz \(it has: S1, S9\)') as err:
        _bundle(tmp_path, subjects_train=('S1', 'S3'))
    assert err.value.setting == 'subjects_train'
    with pytest.raises(UserError) as err:
        _bundle(tmp_path, subjects_test=('S11',))
    assert err.value.setting == 'subjects_test'
    with pytest.raises(UserError, match=r'Nope: no action of subjects S1 starts with these \(their actions: Walking,') \
            as err:
        _bundle(tmp_path, actions=('Nope',))
    assert err.value.setting == 'actions'
    for setting, value in (('subset', 0.0), ('subset', 1.5), ('downsample', 0)):
        with pytest.raises(UserError) as err:
            _bundle(tmp_path, **{setting: value})
        assert err.value.setting == setting and str(value) in err.value.message
    with pytest.raises(UserError, match='cpn: 2D keypoint file .* not found. Available in .*: cpn_ft_h36m_dbb, gt') \
            as err:
        _bundle(tmp_path, keypoints='cpn')
    assert err.value.setting == 'keypoints'
    with pytest.raises(UserError, match='unknown dataset') as err:
        _bundle(tmp_path, dataset='h37m')
    assert err.value.setting == 'dataset'


def test_keypoint_layouts_from_metadata(h36m_dir):
    tmp_path, data = h36m_dir
    positions, cameras = load_h36m_3d(tmp_path / 'data_3d_h36m.npz'), load_h36m_cameras()
    save_npz(tmp_path / 'data_2d_h36m_coco.npz', positions_2d=data['2d_gt'], metadata=keypoints_metadata(COCO_17))
    bundle = _bundle(tmp_path, keypoints='coco')   # e.g. the community detectron_pt_coco file
    assert bundle.keypoints is COCO_17 and bundle.joints is H36M_17
    assert bundle.kps_left == [1, 3, 5, 7, 9, 11, 13, 15] and bundle.joints_left == [4, 5, 6, 11, 12, 13]
    path = tmp_path / 'k.npz'
    for metadata, message in (({'layout_name': 'mpii', 'num_joints': 16, 'keypoints_symmetry': [[3], [0]]},
                               "layout_name is 'mpii'"),
                              ({'num_joints': 16, 'keypoints_symmetry': [[3, 4, 5], [0, 1, 2]]},
                               r"16 joints, left \[3, 4, 5\].*does not describe the 'h36m' layout"),
                              ({'layout_name': 'coco', 'num_joints': 17, 'keypoints_symmetry': [[4, 5], [1, 2]]},
                               "does not describe the 'coco' layout"),
                              ({'num_joints': 17}, 'keypoints_symmetry')):
        save_npz(path, positions_2d=data['2d_gt'], metadata=metadata)
        with pytest.raises(UserError, match=message):
            load_keypoints_2d(path, positions, cameras, ['S9'])


def test_clear_errors_for_mismatched_files(h36m_dir):
    tmp_path, data = h36m_dir
    positions, cameras = load_h36m_3d(tmp_path / 'data_3d_h36m.npz'), load_h36m_cameras()
    metadata = keypoints_metadata(H36M_17, with_layout_name=False)
    no_s9 = {k: v for k, v in data['2d_gt'].items() if k != 'S9'}
    save_npz(tmp_path / 'x.npz', positions_2d=no_s9, metadata=metadata)
    with pytest.raises(UserError, match='subject S9 is in the 3D data but missing'):
        load_keypoints_2d(tmp_path / 'x.npz', positions, cameras, ['S1', 'S9'])
    assert list(load_keypoints_2d(tmp_path / 'x.npz', positions, cameras, ['S1']).positions) == ['S1']
    no_action = {s: {a: v for a, v in acts.items() if a != 'Eating'} for s, acts in data['2d_gt'].items()}
    save_npz(tmp_path / 'y.npz', positions_2d=no_action, metadata=metadata)
    with pytest.raises(UserError, match="action 'Eating'"):
        load_keypoints_2d(tmp_path / 'y.npz', positions, cameras, ['S9'])
    short = {s: {a: [k[:5] for k in v] for a, v in acts.items()} for s, acts in data['2d_gt'].items()}
    save_npz(tmp_path / 'z.npz', positions_2d=short, metadata=metadata)
    with pytest.raises(UserError, match='5 2D frames'):
        load_keypoints_2d(tmp_path / 'z.npz', positions, cameras, ['S9'])
    three_cameras = {s: {a: v[:3] for a, v in acts.items()} for s, acts in data['2d_gt'].items()}
    save_npz(tmp_path / 'c.npz', positions_2d=three_cameras, metadata=metadata)
    with pytest.raises(UserError, match=r'one 2D array per camera \(4\), found 3'):
        load_keypoints_2d(tmp_path / 'c.npz', positions, cameras, ['S9'])
    save_npz(tmp_path / 'bad3d.npz', positions_3d={'S1': {'Walking': np.zeros((5, 17, 3))}})
    with pytest.raises(UserError, match=r'expected \(N, 32, 3\)'):
        load_h36m_3d(tmp_path / 'bad3d.npz')
    save_npz(tmp_path / 'unknown.npz', positions_3d={'S42': {'Walking': np.zeros((5, 32, 3))}})
    with pytest.raises(UserError, match='S42'):
        load_h36m_3d(tmp_path / 'unknown.npz')


def test_h36m_3d_keeps_the_17_joints_unless_asked(h36m_dir):
    tmp_path, data = h36m_dir
    stored = data['3d']['S1']['Walking']
    np.testing.assert_array_equal(load_h36m_3d(tmp_path / 'data_3d_h36m.npz')['S1']['Walking'], stored[:, KEPT])
    np.testing.assert_array_equal(load_h36m_3d(tmp_path / 'data_3d_h36m.npz', all_joints=True)['S1']['Walking'],
                                  stored)
