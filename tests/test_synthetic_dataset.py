"""The embedded synthetic dataset: community file layout, determinism, physical plausibility."""
import numpy as np
import pytest

from common.data.camera import load_h36m_cameras
from common.io.npz import load_npz, save_npz
from common.data.skeleton import H36M_32_PARENTS
from common.data.synthetic.dataset import (ACTION_NAMES, SUBJECTS, ensure_synthetic_dataset,
                                      generate_synthetic_positions, make_2d_keypoints)
from common.data.synthetic.motion import bone_lengths

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
        assert 0.36 < lengths[2] < 0.54 and 0.36 < lengths[3] < 0.54
        assert 0.22 < lengths[18] < 0.34
    subjects = list(means)
    for i in range(len(subjects)):
        for j in range(i + 1, len(subjects)):
            assert np.abs(means[subjects[i]] - means[subjects[j]]).max() > 5e-3, (subjects[i], subjects[j])


def test_skeleton_plausible(dataset):
    for subject, actions in dataset['3d']['positions_3d'].items():
        for action, pos in actions.items():
            assert pos[..., 2].min() >= -1e-3, (subject, action)  # nothing under the floor
            assert np.isfinite(pos).all()
            feet = pos[:, [3, 4, 5, 8, 9, 10], 2].min(axis=1)
            if not action.startswith('SittingDown'):  # (which sits on the floor)
                # A foot on the floor (within the few cm a toe lifts when only the heel touches).
                assert feet.max() < 0.05, (subject, action)
            head, root = pos[:, 15], pos[:, 0]
            assert (head[:, 2] > root[:, 2] + 0.1).all(), (subject, action)  # head up
            # Duplicated joints of the mocap skeleton coincide as in Human3.6M.
            np.testing.assert_allclose(pos[:, 11], pos[:, 0], atol=1e-6)
            np.testing.assert_allclose(pos[:, 16], pos[:, 13], atol=1e-5)
            np.testing.assert_allclose(pos[:, 24], pos[:, 13], atol=1e-5)
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
