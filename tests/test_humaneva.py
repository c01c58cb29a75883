"""HumanEva-I (-d humaneva15 / humaneva20), written from the official behaviour (PoseFormer's
run_poseformer.py on VideoPose3D's HumanEva files): subjects Train/S* and Validate/S*, actions
'<name> <trial> chunk<k>' grouped by their first word, 15 or 20 joints with the community symmetry,
3 cameras 640x480, 60 fps, camera-frame targets with the pelvis trajectory in the root slot, and
MPJPE scored with the target's root zeroed."""
import json

import numpy as np
import pytest

from common.data.sources import DATASETS, DataConfig, load_bundle
from common.evaluation import predict_sequence
from common.io.checkpoint import load_checkpoint
from common.io.npz import save_npz
from common.model.poseformer import PoseTransformer
from common.model.release import load_model_weights, strip_module_prefix
from run_poseformer import main
from tests.humaneva_fixtures import (ACTIONS, METADATA, RES_H, RES_W, SUBJECTS, world_to_camera_official,
                                     write_humaneva_fixture)

OFFICIAL_PARENTS_15 = [-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1]
SMALL = ['-f', '9', '--embed-dim-ratio', '8', '--depth', '1', '--num-heads', '2', '-b', '64', '-lr', '0.002']


@pytest.fixture
def he15(tmp_path):
    return tmp_path, write_humaneva_fixture(tmp_path, joints=15)


def load(folder, dataset='humaneva15', **settings):
    return load_bundle(DataConfig(dataset=dataset, keypoints='gt', data_dir=str(folder), **settings))


def keys(sequences):
    return [(s.subject, s.action, s.camera) for s in sequences]


def test_dataset_names_are_choices():
    assert 'humaneva15' in DATASETS and 'humaneva20' in DATASETS


def test_default_split_is_train_vs_validate_with_three_cameras(he15):
    folder, _ = he15
    bundle = load(folder)
    expected = lambda split: [(f'{split}/{p}', a, c) for p in ('S1', 'S2', 'S3') for a in ACTIONS for c in range(3)]
    assert keys(bundle.train) == expected('Train')
    assert keys(bundle.test) == expected('Validate')
    assert bundle.fps == 60 and bundle.root == 0 and not bundle.protocol.zero_predicted_root
    assert bundle.num_joints == 15 and bundle.parents == OFFICIAL_PARENTS_15
    assert bundle.joints_left == bundle.kps_left == METADATA[15]['keypoints_symmetry'][0]
    assert bundle.joints_right == bundle.kps_right == METADATA[15]['keypoints_symmetry'][1]
    for seq in bundle.train + bundle.test:
        assert (seq.cam['res_w'], seq.cam['res_h']) == (RES_W, RES_H)
        assert seq.poses_2d.dtype == np.float32 and seq.poses_3d.dtype == np.float32


def test_targets_are_camera_frame_with_the_pelvis_trajectory_in_the_root_slot(he15):
    folder, data = he15
    bundle = load(folder)
    for seq in bundle.train + bundle.test:
        person = seq.subject.split('/')[1]
        camera = world_to_camera_official(data['3d'][seq.subject][seq.action], person, seq.camera)
        expected = camera - camera[:, :1]
        expected[:, 0] = camera[:, 0]
        np.testing.assert_allclose(seq.poses_3d, expected, atol=2e-5)


def test_keypoints_are_normalised_by_the_640x480_frame(he15):
    folder, data = he15
    for seq in load(folder).test:
        pixels = data['2d_gt'][seq.subject][seq.action][seq.camera]
        np.testing.assert_allclose(seq.poses_2d, pixels / RES_W * 2 - [1, RES_H / RES_W], atol=1e-6)


def test_subjects_actions_and_downsample_follow_the_official_flags(he15):
    folder, _ = he15
    bundle = load(folder, subjects_train=('Train/S2',), subjects_test=('Validate/S1', 'Validate/S3'),
                  actions=('Walk',), downsample=2)
    assert {s.subject for s in bundle.train} == {'Train/S2'}
    assert {s.subject for s in bundle.test} == {'Validate/S1', 'Validate/S3'}
    assert {s.action for s in bundle.train + bundle.test} == {'Walking 1 chunk0', 'Walking 1 chunk2'}
    assert bundle.fps == 30


def test_humaneva20_has_its_own_skeleton_and_symmetry(tmp_path):
    write_humaneva_fixture(tmp_path, joints=20)
    bundle = load(tmp_path, dataset='humaneva20')
    assert bundle.num_joints == 20 and len(bundle.parents) == 20 and bundle.parents[0] == -1
    assert bundle.joints_left == bundle.kps_left == METADATA[20]['keypoints_symmetry'][0]
    assert bundle.joints_right == bundle.kps_right == METADATA[20]['keypoints_symmetry'][1]
    assert all(seq.poses_3d.shape[1:] == (20, 3) for seq in bundle.test)


@pytest.mark.parametrize('argv, expected', [
    (['-str', 'S1'], ['error: -str', 'S1: not in', 'Train/S1']),
    (['-k', 'detectron_pt_coco'], ['error: -k', "'coco' layout", "'humaneva15' layout"]),
    (['-d', 'humaneva20'], ['error:', 'data_3d_humaneva20.npz']),
])
def test_mistakes_get_a_message(he15, capsys, argv, expected):
    folder, _ = he15
    assert main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(folder), '-e', '1'] + SMALL + argv) == 2
    err = capsys.readouterr().err
    for text in expected:
        assert text in err


def test_trains_and_evaluates_per_action_group_as_the_official(he15, capsys):
    folder, _ = he15
    ckpt = folder / 'ckpt'
    assert main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(folder), '-c', str(ckpt), '-e', '2',
                 '--checkpoint-frequency', '2'] + SMALL) == 0
    assert main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(folder), '-c', str(ckpt), '--evaluate',
                 'epoch_2.bin', '--num-heads', '2', '--results-json', str(folder / 'r.json')]) == 0
    assert 'Protocol #1   (MPJPE) action-wise average' in capsys.readouterr().out
    per_action = json.loads((folder / 'r.json').read_text())['per_action']

    # The official evaluation: every (Validate subject, chunk, camera) of an action group pooled,
    # the target's root zeroed, the prediction as the model outputs it, in millimetres.
    checkpoint = load_checkpoint(ckpt / 'epoch_2.bin')
    model = PoseTransformer(**checkpoint['config']).eval()
    load_model_weights(model, strip_module_prefix(checkpoint['model_pos']), 'epoch_2.bin')
    bundle = load(folder, need_train=False)
    errors = {}
    for seq in bundle.test:
        target = seq.poses_3d.copy()
        target[:, 0] = 0
        pred = predict_sequence(model, seq.poses_2d, bundle.symmetry)
        errors.setdefault(seq.action.split(' ')[0], []).append(np.linalg.norm(pred - target, axis=-1).mean(-1))
    assert list(per_action) == ['Walking', 'Jog']
    for group, frame_errors in errors.items():
        pooled = np.concatenate(frame_errors)
        assert per_action[group]['frames'] == len(pooled) == sum(
            len(seq.poses_2d) for seq in bundle.test if seq.action.startswith(group))
        assert per_action[group]['mpjpe'] == pytest.approx(pooled.mean() * 1000, abs=1e-3)
    assert {seq.subject for seq in bundle.test} == set(SUBJECTS[3:])


def test_non_finite_3d_is_refused_naming_the_chunk(he15, capsys):
    folder, data = he15
    data['3d']['Validate/S2']['Jog 1 chunk0'][4, 7, 1] = np.nan
    save_npz(folder / 'data_3d_humaneva15.npz', positions_3d=data['3d'])
    assert main(['-d', 'humaneva15', '-k', 'gt', '--data-dir', str(folder), '-e', '1'] + SMALL) == 2
    err = capsys.readouterr().err
    assert "Validate/S2 / 'Jog 1 chunk0'" in err and 'non-finite' in err
