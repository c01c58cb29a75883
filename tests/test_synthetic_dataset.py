"""The embedded synthetic dataset: community file layout, determinism, physical plausibility; and the
generator's building blocks (arm IK, key-pose easing, mirroring)."""
import numpy as np
import pytest

from common.data.camera import load_h36m_cameras
from common.data.layouts import H36M_32
from common.data.synthetic.body import bone_lengths
from common.data.synthetic.dataset import (ACTION_NAMES, SUBJECTS, ensure_synthetic_dataset,
                                           generate_synthetic_positions, make_2d_keypoints)
from common.data.synthetic.geometry import two_bone_ik
from common.data.synthetic.pose import DEFAULTS, mirror_pose
from common.data.synthetic.timeline import FPS, keyed_tracks
from common.io.npz import load_npz, save_npz

J = H36M_32.index  # joint name -> index in the 32-joint mocap skeleton
H36M_ACTIONS = ['Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Photo', 'Posing', 'Purchases',
                'Sitting', 'SittingDown', 'Smoking', 'Waiting', 'WalkDog', 'Walking', 'WalkTogether']


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp('synthetic')
    paths = ensure_synthetic_dataset(data_dir, seed=0, progress=False)
    return {
        'dir': data_dir,
        'paths': paths,
        '3d': load_npz(paths['3d'], required_keys=['positions_3d']),
        'gt': load_npz(paths['2d']['gt'], required_keys=['positions_2d', 'metadata']),
        'detected': load_npz(paths['2d']['detected'], required_keys=['positions_2d', 'metadata']),
    }


def test_paths_and_reuse(dataset, capsys):
    paths = dataset['paths']
    assert paths['3d'].name == 'data_3d_synthetic.npz'
    assert paths['2d']['gt'].name == 'data_2d_synthetic_gt.npz'
    assert paths['2d']['detected'].name == 'data_2d_synthetic_detected.npz'
    stamps = [p.stat().st_mtime_ns for p in (paths['3d'], *paths['2d'].values())]
    again = ensure_synthetic_dataset(dataset['dir'], seed=0, progress=True)
    assert again == paths
    assert [p.stat().st_mtime_ns for p in (paths['3d'], *paths['2d'].values())] == stamps
    assert capsys.readouterr().out == ''  # re-used silently


def test_subjects_and_actions(dataset):
    assert sorted(ACTION_NAMES) == sorted(H36M_ACTIONS)
    expected = set(H36M_ACTIONS) | {a + ' 1' for a in H36M_ACTIONS}
    for key in ('3d', 'gt', 'detected'):
        data = dataset[key]['positions_3d' if key == '3d' else 'positions_2d']
        assert set(data) == set(SUBJECTS) == {'S1', 'S5', 'S6', 'S7', 'S8', 'S9', 'S11'}
        for subject in SUBJECTS:
            assert set(data[subject]) == expected, (key, subject)


def test_community_layout(dataset):
    for subject, actions in dataset['3d']['positions_3d'].items():
        for action, pos in actions.items():
            assert pos.dtype == np.float32 and pos.ndim == 3 and pos.shape[1:] == (32, 3)
            assert 400 <= len(pos) <= 600
            for kind in ('gt', 'detected'):
                views = dataset[kind]['positions_2d'][subject][action]
                assert isinstance(views, list) and len(views) == 4
                for kp in views:
                    assert kp.dtype == np.float32 and kp.shape[1:] == (17, 2)
                    assert len(kp) >= len(pos)
                    if kind == 'gt':
                        assert len(kp) == len(pos)
    for kind in ('gt', 'detected'):
        assert dataset[kind]['metadata'] == {'layout_name': 'h36m', 'num_joints': 17,
                                             'keypoints_symmetry': [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}


def test_deterministic(dataset, tmp_path):
    positions = generate_synthetic_positions(seed=0)
    for subject in SUBJECTS:
        for action, pos in positions[subject].items():
            np.testing.assert_array_equal(pos, dataset['3d']['positions_3d'][subject][action])
    save_npz(tmp_path / 'again.npz', positions_3d=positions)
    assert (tmp_path / 'again.npz').read_bytes() == dataset['paths']['3d'].read_bytes()
    cameras = load_h36m_cameras()
    subset = {'S9': positions['S9']}
    for kind in ('gt', 'detected'):
        keypoints = make_2d_keypoints(subset, cameras, detector_noise=(kind == 'detected'), seed=0)
        for action, views in keypoints['S9'].items():
            for a, b in zip(views, dataset[kind]['positions_2d']['S9'][action]):
                np.testing.assert_array_equal(a, b)
    other = generate_synthetic_positions(seed=1)
    for subject in ('S1', 'S11'):
        for action in ('Walking', 'Sitting 1'):
            a, b = other[subject][action], positions[subject][action]
            assert a.shape != b.shape or np.abs(a - b).max() > 0.05


def test_bone_lengths_constant_and_subject_specific(dataset):
    means = {}
    for subject, actions in dataset['3d']['positions_3d'].items():
        per_sequence = []
        for action, pos in actions.items():
            lengths = bone_lengths(pos.astype(np.float64))
            assert np.ptp(lengths, axis=0).max() < 1e-4, (subject, action)
            per_sequence.append(lengths[0])
        per_sequence = np.array(per_sequence)
        assert np.ptp(per_sequence, axis=0).max() < 1e-4  # the same body in every action
        means[subject] = per_sequence[0]
    # Human-sized: thigh and shin around 0.4-0.5 m, upper arm around 0.25-0.3 m.
    for lengths in means.values():
        assert 0.36 < lengths[J('right_knee')] < 0.54 and 0.36 < lengths[J('right_ankle')] < 0.54
        assert 0.22 < lengths[J('left_elbow')] < 0.34
    subjects = list(means)
    for i in range(len(subjects)):
        for j in range(i + 1, len(subjects)):
            assert np.abs(means[subjects[i]] - means[subjects[j]]).max() > 5e-3, (subjects[i], subjects[j])


def test_skeleton_plausible(dataset):
    for subject, actions in dataset['3d']['positions_3d'].items():
        for action, pos in actions.items():
            assert pos[..., 2].min() >= -1e-3, (subject, action)  # nothing under the floor
            assert np.isfinite(pos).all()
            feet = pos[:, [J(f'{side}_{part}') for side in ('left', 'right') for part in ('ankle', 'toe', 'toe_tip')],
                       2].min(axis=1)
            if not action.startswith('SittingDown'):  # (which sits on the floor)
                # A foot on the floor (within the few cm a toe lifts when only the heel touches).
                assert feet.max() < 0.05, (subject, action)
            head, root = pos[:, J('head_top')], pos[:, J('hips')]
            assert (head[:, 2] > root[:, 2] + 0.1).all(), (subject, action)  # head up
            # Duplicated joints of the mocap skeleton coincide as in Human3.6M.
            np.testing.assert_allclose(pos[:, J('spine_base')], root, atol=1e-6)
            for girdle in ('left_shoulder_girdle', 'right_shoulder_girdle'):
                np.testing.assert_allclose(pos[:, J(girdle)], pos[:, J('thorax')], atol=1e-5)
            # Inside the capture area.
            assert np.abs(root[:, :2]).max() < 2.5
    standing = dataset['3d']['positions_3d']['S1']['Waiting']
    seated = dataset['3d']['positions_3d']['S1']['Sitting']
    assert np.median(standing[:, 0, 2]) > np.median(seated[:, 0, 2]) + 0.25
    walk = dataset['3d']['positions_3d']['S5']['Walking 1']
    assert np.linalg.norm(np.diff(walk[:, 0, :2], axis=0), axis=1).sum() > 5.0  # metres walked


def test_projection_inside_images(dataset):
    cameras = load_h36m_cameras()
    for subject, actions in dataset['gt']['positions_2d'].items():
        for action, views in actions.items():
            for cam, kp in zip(cameras[subject], views):
                assert kp.min() >= 0, (subject, action, cam['id'])
                assert kp[..., 0].max() <= cam['res_w'] and kp[..., 1].max() <= cam['res_h'], (subject, action)


def test_detected_like_a_detector(dataset):
    errors, longer, total = [], 0, 0
    for subject, actions in dataset['gt']['positions_2d'].items():
        for action, views in actions.items():
            total += 1
            detected = dataset['detected']['positions_2d'][subject][action]
            longer += len(detected[0]) > len(views[0])
            for gt, det in zip(views, detected):
                assert len(det) - len(gt) in (0, 2, 3, 4)
                assert len(det) == len(detected[0])
                errors.append(np.linalg.norm(det[:len(gt)] - gt, axis=-1).ravel())
    errors = np.concatenate(errors)
    assert 1.5 < np.median(errors) < 6.0
    assert (errors > 20).mean() > 1e-3  # outliers and left/right swaps
    assert (errors > 20).mean() < 0.05
    assert 0.2 * total < longer < 0.8 * total


def test_two_bone_ik_keeps_bone_lengths_and_bends_towards_the_pole():
    rng = np.random.default_rng(0)
    root = rng.normal(size=(200, 3))
    direction = rng.normal(size=(200, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    reach = rng.uniform(0.1, 0.7, size=(200, 1))  # the limb spans 0.28 + 0.25 = 0.53 m
    pole = rng.normal(size=(200, 3))
    elbow, wrist, _ = two_bone_ik(root, root + reach * direction, pole, 0.28, 0.25)
    np.testing.assert_allclose(np.linalg.norm(elbow - root, axis=1), 0.28, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(wrist - elbow, axis=1), 0.25, atol=1e-9)
    reachable = (reach[:, 0] > 0.06) & (reach[:, 0] < 0.52)
    np.testing.assert_allclose(wrist[reachable], (root + reach * direction)[reachable], atol=1e-9)
    # Beyond reach the wrist goes as far as it can towards the target.
    far = reach[:, 0] >= 0.53
    assert far.any() and (np.linalg.norm(wrist - root, axis=1)[far] > 0.52).all()
    # The elbow leaves the root -> wrist line on the side the pole points to.
    axis = (wrist - root) / np.linalg.norm(wrist - root, axis=1, keepdims=True)
    bend = elbow - root - np.sum((elbow - root) * axis, 1, keepdims=True) * axis
    pole_across = pole - np.sum(pole * axis, 1, keepdims=True) * axis
    assert (np.sum(bend * pole_across, axis=1) > 0).all()


def test_key_poses_are_held_and_eased_between():
    keys = [(0.0, {'knee_r': 10.0}), (1.0, {'knee_r': 10.0}), (2.0, {'knee_r': 50.0}), (3.0, {'knee_r': 50.0})]
    tracks = keyed_tracks(4 * FPS, keys)
    knee, t = tracks['knee_r'], np.arange(4 * FPS) / FPS
    np.testing.assert_array_equal(knee[t <= 1.0], 10.0)
    np.testing.assert_array_equal(knee[t >= 2.0], 50.0)  # held after the last key too
    assert (np.diff(knee) >= 0).all() and np.abs(np.diff(knee)).max() < 2.0  # smooth, no jump
    np.testing.assert_array_equal(tracks['knee_l'], DEFAULTS['knee_l'])  # unset: the default


def test_mirrored_pose_swaps_sides():
    pose = {'knee_r': 30.0, 'hipf_l': 10.0, 'ntwist': 20.0, 'sflex': 5.0}
    mirrored = mirror_pose(pose)
    assert mirrored == {'knee_l': 30.0, 'hipf_r': 10.0, 'ntwist': -20.0, 'sflex': 5.0}
    assert mirror_pose(mirrored) == pose
