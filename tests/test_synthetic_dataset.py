"""The embedded synthetic dataset: community file layout, determinism, physical plausibility; and the
generator's building blocks (arm IK, key-pose easing, mirroring)."""
import numpy as np
import pytest

from common.data.camera import load_h36m_cameras
from common.data.layouts import H36M_32
from common.data.synthetic.actions import EXTRA_ACTIONS
from common.data.synthetic.body import bone_lengths
from common.data.synthetic.dataset import (ACTION_NAMES, GENERATOR_VERSION, SUBJECTS, ensure_synthetic_dataset,
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


# Motions Human3.6M lacks, added by generator version 2 (issue 21).
EXTRA = ['Jumping', 'Running', 'Kicking', 'Squatting', 'LyingDown', 'Reaching', 'Throwing', 'Exercising', 'Sneaking']
# Actions whose people leave the floor (jumps, the flight phase of running, a jump shot).
AIRBORNE = ('Jumping', 'Running', 'Throwing')
# Actions with the head at or below the hips at times (lying, touching the toes, bending down to the floor, to
# the dog, from a crouch: with version 2's short lower spines a deep bend brings the head down to hip height).
HEAD_DOWN = ('LyingDown', 'Exercising', 'Reaching', 'Purchases', 'WalkDog', 'SittingDown')


def test_subjects_and_actions(dataset):
    assert list(ACTION_NAMES[:15]) == H36M_ACTIONS and list(EXTRA_ACTIONS) == EXTRA
    assert list(ACTION_NAMES) == H36M_ACTIONS + EXTRA
    expected = {a + suffix for a in H36M_ACTIONS + EXTRA for suffix in ('', ' 1')}
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
    save_npz(tmp_path / 'again.npz', positions_3d=positions, synthetic_version=np.int64(GENERATOR_VERSION))
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


def test_bone_lengths_constant_per_sequence_and_varied_between_people(dataset):
    # Since generator version 2 each sequence is performed by a person of its own (about the
    # subject's size, proportions varied): bones are constant within a sequence, differ between them.
    bodies = []
    for subject, actions in dataset['3d']['positions_3d'].items():
        heights = []
        for action, pos in actions.items():
            lengths = bone_lengths(pos.astype(np.float64))
            assert np.ptp(lengths, axis=0).max() < 1e-4, (subject, action)
            bodies.append(lengths[0])
            # Human-sized: thigh and shin around 0.4-0.5 m, upper arm around 0.25-0.3 m.
            assert 0.34 < lengths[0, J('right_knee')] < 0.58 and 0.34 < lengths[0, J('right_ankle')] < 0.58
            assert 0.2 < lengths[0, J('left_elbow')] < 0.37
            heights.append(lengths[0, J('right_knee')] + lengths[0, J('right_ankle')])
        assert np.ptp(heights) > 0.02, subject  # not one body per subject
    bodies = np.array(bodies)
    distinct = {tuple(np.round(b, 4)) for b in bodies}
    assert len(distinct) == len(bodies)  # every sequence a different person
    # Proportions vary, not just the overall size: hip width relative to the thigh spreads by > 10 %.
    ratio = bodies[:, J('right_hip')] / bodies[:, J('right_knee')]
    assert np.std(ratio) / np.mean(ratio) > 0.08


def test_skeleton_plausible(dataset):
    for subject, actions in dataset['3d']['positions_3d'].items():
        for action, pos in actions.items():
            assert pos[..., 2].min() >= -1e-3, (subject, action)  # nothing under the floor
            assert np.isfinite(pos).all()
            feet = pos[:, [J(f'{side}_{part}') for side in ('left', 'right') for part in ('ankle', 'toe', 'toe_tip')],
                       2].min(axis=1)
            group = action.split(' ')[0]
            if group in AIRBORNE:  # on the floor most of the time, never higher than a jump
                assert (feet < 0.05).mean() > 0.5 and feet.max() < 0.6, (subject, action)
            elif group == 'Squatting':  # kneeling on one knee lifts the back foot's toes a little
                assert feet.max() < 0.1, (subject, action)
            elif group not in ('SittingDown', 'LyingDown'):  # (which sit and lie on the floor)
                # A foot on the floor (within the few cm a toe lifts when only the heel touches).
                assert feet.max() < 0.05, (subject, action)
            head, root = pos[:, J('head_top')], pos[:, J('hips')]
            head_up = head[:, 2] > root[:, 2] + 0.1
            assert head_up.mean() > 0.15 if group in HEAD_DOWN else head_up.all(), (subject, action)
            # Duplicated joints of the mocap skeleton coincide as in Human3.6M.
            np.testing.assert_allclose(pos[:, J('spine_base')], root, atol=1e-6)
            for girdle in ('left_shoulder_girdle', 'right_shoulder_girdle'):
                np.testing.assert_allclose(pos[:, J(girdle)], pos[:, J('thorax')], atol=1e-5)
            # Inside the capture area (walks reach about 2.6 m from the world origin).
            assert np.abs(root[:, :2]).max() < 3.0
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
                outside = ((kp < 0) | (kp > np.array([cam['res_w'], cam['res_h']]))).any(axis=-1)
                if action.split(' ')[0] in AIRBORNE:
                    # Raised hands at the top of a jump (a run near the edge of the area) may leave one camera's
                    # image for a moment, as in real footage (the detector-like keypoints are clipped to the image).
                    assert outside.mean() < 0.1, (subject, action, cam['id'])
                else:
                    assert not outside.any(), (subject, action, cam['id'])


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


def test_new_motions_leave_the_upright_stance(dataset):
    """Generator version 2: people lie on the floor, jump, squat and run (what Human3.6M lacks)."""
    pos = dataset['3d']['positions_3d']
    feet_joints = [J(f'{side}_{part}') for side in ('left', 'right') for part in ('ankle', 'toe', 'toe_tip')]
    for subject in ('S1', 'S9'):
        lying = pos[subject]['LyingDown']
        assert (lying[:, J('head_top'), 2] < 0.35).mean() > 0.2  # the head on the floor for a good while
        jumping = pos[subject]['Jumping']
        assert (jumping[:, feet_joints, 2].min(axis=1) > 0.08).mean() > 0.03  # both feet off the floor
        squat = pos[subject]['Squatting']
        standing = np.median(pos[subject]['Waiting'][:, J('hips'), 2])
        assert squat[:, J('hips'), 2].min() < 0.65 * standing  # hips well down
        run = pos[subject]['Running']
        speed = np.linalg.norm(np.diff(run[:, J('hips'), :2], axis=0), axis=1) * FPS
        assert np.percentile(speed, 75) > 1.8  # m/s: running, not walking


def test_files_of_an_older_generator_are_regenerated(tmp_path, capsys):
    from common.data.synthetic import dataset as synthetic
    paths = synthetic.synthetic_paths(tmp_path)
    for path in (paths['3d'], *paths['2d'].values()):  # version-1 files: no version entry
        save_npz(path, positions_3d={'S1': {'Walking': np.zeros((2, 32, 3), np.float32)}})
    assert synthetic.stored_version(paths['3d']) == 1
    small = {'S1': {'Walking': np.random.default_rng(0).normal(0, 0.1, (40, 32, 3)).astype(np.float32) + 1.0}}
    original = synthetic.generate_synthetic_positions
    synthetic.generate_synthetic_positions = lambda seed=0: small  # keep the test fast: the files, not the motion
    try:
        synthetic.ensure_synthetic_dataset(tmp_path, seed=0, progress=True)
    finally:
        synthetic.generate_synthetic_positions = original
    assert f'generator version 1, this is version {synthetic.GENERATOR_VERSION}' in capsys.readouterr().out
    for path in (paths['3d'], *paths['2d'].values()):
        assert synthetic.stored_version(path) == synthetic.GENERATOR_VERSION
    assert load_npz(paths['3d'], required_keys=['positions_3d'])['positions_3d']['S1']['Walking'].shape == (40, 32, 3)


def test_skeleton_conventions_vary_like_real_skeletons(dataset):
    """Generator version 3: where the thorax, shoulder and knee joints sit varies as much as between real
    skeleton conventions. Motion-capture skeletons that put the thorax at mid-chest have a root-to-thorax
    trunk of about 0.25 m (others about 0.45 m) and shoulder joints above the thorax, Human3.6M's below it;
    some put the knee joint in front of the hip-ankle line (20-30 degrees between thigh and shin when
    standing), others on it."""
    trunks, shoulder_rise, standing_knees = [], [], []
    for actions in dataset['3d']['positions_3d'].values():
        for action, pos in actions.items():
            if action.split(' ')[0] == 'Waiting':
                hip, knee, ankle = (pos[:, J(f'right_{part}')].astype(np.float64) for part in ('hip', 'knee', 'ankle'))
                thigh, shin = unit_rows(knee - hip), unit_rows(ankle - knee)
                standing_knees.append(np.median(np.degrees(np.arccos(np.clip((thigh * shin).sum(1), -1, 1)))))
            first = pos[0].astype(np.float64)
            root, thorax = first[J('hips')], first[J('thorax')]
            trunk = np.linalg.norm(thorax - root)
            up = (thorax - root) / trunk
            shoulders = (first[J('left_shoulder')] + first[J('right_shoulder')]) / 2
            trunks.append(trunk)
            shoulder_rise.append(float((shoulders - thorax) @ up))
    trunks, shoulder_rise = np.array(trunks), np.array(shoulder_rise)
    assert (trunks < 0.28).mean() > 0.05 and (trunks > 0.45).mean() > 0.05, np.percentile(trunks, [5, 95])
    assert (shoulder_rise > 0.03).mean() > 0.1 and (shoulder_rise < -0.01).mean() > 0.1
    standing_knees = np.array(standing_knees)  # degrees between thigh and shin, median over a Waiting sequence
    assert (standing_knees > 20).mean() > 0.2 and (standing_knees < 14).mean() > 0.2, standing_knees


def unit_rows(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_people_walk_in_every_direction_across_the_capture_area(dataset):
    """Generator version 3: walking paths cross the area in every direction (not only along one axis), and
    people are seen from under 3.5 m to over 7 m away, as in real recordings."""
    cameras = load_h36m_cameras()
    directions, distances = [], []
    for subject, actions in dataset['3d']['positions_3d'].items():
        for action, pos in actions.items():
            root = pos[:, J('hips')].astype(np.float64)
            step = np.diff(root[:, :2], axis=0)
            moving = np.linalg.norm(step, axis=1) * FPS > 0.8
            directions.extend(np.degrees(np.arctan2(step[moving, 1], step[moving, 0])) % 180.0)
            for cam in cameras[subject]:
                distances.extend(np.linalg.norm(root[::25] - np.asarray(cam['translation']), axis=1))
    sectors = np.histogram(directions, bins=6, range=(0, 180))[0] / len(directions)
    assert sectors.min() > 0.06, sectors  # every 30-degree sector of headings (forwards or backwards) used
    distances = np.array(distances)  # root to camera, metres (the cameras stand about 5 m from the centre)
    assert (distances < 3.5).mean() > 0.005 and (distances > 7.0).mean() > 0.005, (distances.min(), distances.max())
