"""Tests for MPI-INF-3DHP: loading the community npz layout (common/data/mpi3dhp.py) and the
PCK / AUC / MPJPE metrics (common/metrics_3dhp.py)."""
import numpy as np
import pytest

from common.data.types import DataBundle, Sequence
from common.errors import UserError
from common.metrics_3dhp import AUC_THRESHOLDS_MM, JOINTS_14, auc, evaluate_3dhp, mpjpe_3dhp, pck
from common.data.mpi3dhp import (JOINTS_LEFT, JOINTS_RIGHT, PARENTS, ROOT, load_3dhp,
                                    load_3dhp_test)
from tests.fixtures_3dhp import write_3dhp_fixture


@pytest.fixture
def fixture_dir(tmp_path):
    info = write_3dhp_fixture(tmp_path)
    return tmp_path, info


def _expected_3d(data_3d_mm):
    pos = data_3d_mm.astype(np.float64) / 1000
    rel = pos - pos[:, ROOT:ROOT + 1]
    rel[:, ROOT] = pos[:, ROOT]
    return rel


# ---------------------------------------------------------------- loading

def test_bundle_structure(fixture_dir):
    folder, _ = fixture_dir
    bundle = load_3dhp(folder)
    assert isinstance(bundle, DataBundle) and bundle.protocol.zero_predicted_root
    assert bundle.name == '3dhp' and bundle.root == 14 and bundle.num_joints == 17
    assert [(s.subject, s.action, s.camera) for s in bundle.train] == [
        ('S1', 'Seq1', 0), ('S1', 'Seq1', 2), ('S3', 'Seq2', 4), ('S3', 'Seq2', 8)]
    assert [(s.subject, s.action, s.camera) for s in bundle.test] == [('TS1', 'TS1', 0), ('TS5', 'TS5', 0)]
    assert all(isinstance(s, Sequence) for s in bundle.train + bundle.test)
    assert bundle.joints_left == bundle.kps_left == [5, 6, 7, 11, 12, 13]
    assert bundle.joints_right == bundle.kps_right == [2, 3, 4, 8, 9, 10]
    # left/right pairs are mirror joints of the skeleton: same parent structure
    for left, right in zip(JOINTS_LEFT, JOINTS_RIGHT):
        pl, pr = PARENTS[left], PARENTS[right]
        assert pl == pr or (pl in JOINTS_LEFT and pr == JOINTS_RIGHT[JOINTS_LEFT.index(pl)])
    for seq in bundle.train + bundle.test:
        assert seq.poses_2d.dtype == np.float32 and seq.poses_3d.dtype == np.float32
        assert seq.poses_2d.shape == seq.poses_3d.shape[:2] + (2,)
        assert {'id', 'res_w', 'res_h', 'azimuth', 'fps'} <= set(seq.cam)


def test_train_units_root_relative_and_normalisation(fixture_dir):
    folder, info = fixture_dir
    bundle = load_3dhp(folder)
    for seq in bundle.train:
        data_2d, data_3d = info['train'][(seq.subject, seq.action, seq.camera)]
        np.testing.assert_allclose(seq.poses_3d, _expected_3d(data_3d), atol=1e-6)
        # metres: the pelvis is a few metres from the camera, limbs well under a metre from it
        assert 2.0 < np.median(seq.poses_3d[:, ROOT, 2]) < 6.0
        others = np.delete(seq.poses_3d, ROOT, axis=1)
        assert np.abs(others).max() < 1.0
        # the pelvis-relative offsets add back up to the camera-frame positions
        absolute = others + seq.poses_3d[:, ROOT:ROOT + 1]
        np.testing.assert_allclose(absolute * 1000, np.delete(data_3d, ROOT, axis=1), atol=1e-2)
        np.testing.assert_allclose(seq.poses_2d, data_2d / 2048 * 2 - 1, atol=1e-6)
        assert (seq.cam['res_w'], seq.cam['res_h']) == (2048, 2048)
        assert seq.cam['fps'] == info['fps'][(seq.subject, seq.action)]
    assert bundle.fps in (25, 50)


def test_test_sequences_use_their_own_image_size(fixture_dir):
    folder, info = fixture_dir
    bundle = load_3dhp(folder)
    ts1, ts5 = bundle.test
    data_2d, data_3d, _ = info['test']['TS1']
    np.testing.assert_allclose(ts1.poses_2d, data_2d / 2048 * 2 - 1, atol=1e-6)
    np.testing.assert_allclose(ts1.poses_3d, _expected_3d(data_3d), atol=1e-6)
    data_2d, data_3d, _ = info['test']['TS5']
    expected = (data_2d / 1920 * 2 - np.array([1, 1080 / 1920])).astype(np.float32)
    np.testing.assert_allclose(ts5.poses_2d, expected, atol=1e-6)
    np.testing.assert_allclose(ts5.poses_3d, _expected_3d(data_3d), atol=1e-6)
    assert (ts1.cam['res_w'], ts1.cam['res_h']) == (2048, 2048)
    assert (ts5.cam['res_w'], ts5.cam['res_h']) == (1920, 1080)
    # x of the image centre maps to 0 whatever the size; y keeps the aspect ratio
    assert np.abs(ts5.poses_2d[..., 1]).max() <= 1080 / 1920 + 1e-6


def test_valid_masks_keep_all_frames(fixture_dir):
    folder, info = fixture_dir
    bundle = load_3dhp(folder)
    assert sorted(bundle.protocol.valid_frames.valid) == ['TS1', 'TS5']
    for seq in bundle.test:
        raw_valid = info['test'][seq.subject][2]
        mask = bundle.protocol.valid_frames.valid[seq.subject]
        assert mask.dtype == bool and len(mask) == len(seq.poses_2d) == len(raw_valid)
        np.testing.assert_array_equal(mask, raw_valid == 1)
        assert not mask[:3].any() and mask.sum() == len(mask) - 4
        np.testing.assert_array_equal(bundle.protocol.valid_mask(seq), mask)
    assert bundle.protocol.valid_mask(bundle.train[0]).all()


def test_list_layout_and_subject_filters(tmp_path):
    info = write_3dhp_fixture(tmp_path, train_layout='list')
    bundle = load_3dhp(tmp_path, train_subjects=['S3'], test_subjects=['TS5'])
    assert [(s.subject, s.camera) for s in bundle.train] == [('S3', 0), ('S3', 1)]
    assert [s.subject for s in bundle.test] == ['TS5'] and list(bundle.protocol.valid_frames.valid) == ['TS5']
    assert all(s.cam['fps'] == 25 for s in bundle.train)  # no fps in this layout: the default
    np.testing.assert_allclose(bundle.train[1].poses_3d, _expected_3d(info['train'][('S3', 'Seq2', 1)][1]), atol=1e-6)
    with pytest.raises(UserError, match='S9'):
        load_3dhp(tmp_path, train_subjects=['S9'])


def test_skipping_a_file(fixture_dir):
    folder, _ = fixture_dir
    bundle = load_3dhp(folder, train_file=None)
    assert bundle.train == [] and len(bundle.test) == 2


# ---------------------------------------------------------------- loading errors

def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(UserError, match='data_train_3dhp.npz') as err:
        load_3dhp(tmp_path)
    assert str(tmp_path) in str(err.value) and 'P-STMO' in str(err.value)


def test_missing_data_key(tmp_path):
    write_3dhp_fixture(tmp_path)
    np.savez_compressed(tmp_path / 'data_test_3dhp.npz', positions=np.zeros(3))
    with pytest.raises(UserError, match="'data'"):
        load_3dhp(tmp_path)


def _rewrite(path, mutate):
    data = np.load(path, allow_pickle=True)['data'].item()  # our own fixture file
    mutate(data)
    np.savez_compressed(path, data=data)


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d['TS1'].pop('valid'), 'valid'),
    (lambda d: d['TS1'].update(valid=d['TS1']['valid'][:-1]), 'valid has'),
    (lambda d: d['TS1'].update(data_3d=d['TS1']['data_3d'][:, :16]), r'\(N, 17, 3\)'),
    (lambda d: d['TS1'].update(data_2d=d['TS1']['data_2d'][:-2]), 'frames'),
    (lambda d: d['TS1'].update(data_3d=d['TS1']['data_3d'] / 1000), 'millimetres'),
    (lambda d: d.update(TS9=d['TS1']), 'TS9'),
    (lambda d: d.update({'S1 Seq1': d['TS1']}), 'training file'),
])
def test_test_file_layout_errors(tmp_path, mutate, message):
    info = write_3dhp_fixture(tmp_path)
    _rewrite(info['test_file'], mutate)
    with pytest.raises(UserError, match=message):
        load_3dhp_test(info['test_file'])


@pytest.mark.parametrize('mutate, message', [
    (lambda d: d.update(TS1=d['S1 Seq1']), 'S1 Seq1'),
    (lambda d: d.update({'S1 Seq1': [{'0': {'data_2d': np.zeros((5, 17, 2))}}, 25]}), 'data_3d'),
    (lambda d: d.update({'S1 Seq1': [{'front': d['S1 Seq1'][0]['0']}, 25]}), 'front'),
    (lambda d: d.update({'S1 Seq1': [d['S1 Seq1'][0], 'fast']}), 'frame rate'),
    (lambda d: d.update({'S1 Seq1': np.zeros((4, 17, 3))}), 'S1 Seq1'),
])
def test_train_file_layout_errors(tmp_path, mutate, message):
    info = write_3dhp_fixture(tmp_path)
    _rewrite(info['train_file'], mutate)
    with pytest.raises(UserError, match=message):
        load_3dhp(tmp_path)


# ---------------------------------------------------------------- metrics

def _with_errors(errors_mm, n_joints=3):
    """Target at the origin, prediction displaced along x by the given per-(frame, joint) errors."""
    errors_mm = np.asarray(errors_mm, dtype=np.float64).reshape(-1, n_joints)
    target = np.zeros(errors_mm.shape + (3,))
    pred = target.copy()
    pred[..., 0] = errors_mm
    return pred, target


def test_pck_hand_made():
    # 2 frames x 3 joints: 100, 149.9, 150 (not strictly below), 150.1, 0, 300 mm -> 3 of 6 within
    pred, target = _with_errors([[100, 149.9, 150.0], [150.1, 0, 300]])
    assert pck(pred, target) == pytest.approx(50.0)
    assert pck(pred, target, threshold=200) == pytest.approx(5 / 6 * 100)  # all but the 300 mm one
    # in 3D, not per axis: (90, 90, 90) is 155.9 mm away
    pred3 = np.full((1, 1, 3), 90.0)
    assert pck(pred3, np.zeros((1, 1, 3))) == 0.0


def test_auc_limits_and_a_hand_computed_case():
    assert len(AUC_THRESHOLDS_MM) == 31 and AUC_THRESHOLDS_MM[0] == 0 and AUC_THRESHOLDS_MM[-1] == 150
    pred, target = _with_errors(np.zeros((4, 3)))
    # strict "error < t" as the official evaluator: a perfect pose fails only the 0 mm threshold
    assert auc(pred, target) == pytest.approx(30 / 31 * 100)
    pred, target = _with_errors(np.full((4, 3), 1e-9))
    assert auc(pred, target) == pytest.approx(30 / 31 * 100)
    pred, target = _with_errors(np.full((4, 3), 200.0))
    assert auc(pred, target) == 0.0
    pred, target = _with_errors(np.full((4, 3), 72.5))
    n_above = sum(1 for t in range(0, 151, 5) if t >= 72.5)  # 75, 80, ..., 150
    assert n_above == 16
    assert auc(pred, target) == pytest.approx(n_above / 31 * 100)


def test_invalid_frames_change_nothing():
    pred, target = _with_errors([[10, 20, 30], [40, 50, 60], [1e6, 1e6, 1e6]])
    valid = np.array([1, 1, 0])
    reference = _with_errors([[10, 20, 30], [40, 50, 60]])
    assert mpjpe_3dhp(pred, target, valid) == pytest.approx(35.0)
    assert mpjpe_3dhp(pred, target, valid) == pytest.approx(mpjpe_3dhp(*reference))
    assert pck(pred, target, valid) == pytest.approx(100.0)
    assert auc(pred, target, valid) == pytest.approx(auc(*reference))
    assert pck(pred, target) < 100.0  # without the mask the bad frame counts
    with pytest.raises(ValueError, match='no valid'):
        pck(pred, target, np.zeros(3))
    with pytest.raises(ValueError, match='valid mask'):
        pck(pred, target, np.ones(2))


def test_joint_selection_and_sequence_lists():
    errors = np.zeros((2, 17))
    errors[:, 14:] = 500.0  # only pelvis, spine and head are wrong
    pred, target = _with_errors(errors, n_joints=17)
    assert pck(pred, target) == pytest.approx(14 / 17 * 100)
    assert pck(pred, target, joints=JOINTS_14) == 100.0
    # lists of per-sequence arrays are pooled frame by frame
    a, b = _with_errors([[10, 10, 10]]), _with_errors([[40, 40, 40], [40, 40, 40]])
    assert mpjpe_3dhp([a[0], b[0]], [a[1], b[1]]) == pytest.approx(30.0)


def test_evaluate_3dhp_from_metres(fixture_dir):
    folder, _ = fixture_dir
    bundle = load_3dhp(folder, train_file=None)
    seq = bundle.test[1]
    target = seq.poses_3d  # root slot holds the trajectory: evaluate_3dhp zeroes it
    pred = target.copy()
    pred[:, :ROOT] += np.array([0.0525, 0.0, 0.0], dtype=np.float32)  # 52.5 mm on joints 0-13
    pred[:, ROOT] = 0  # what the model outputs there
    result = evaluate_3dhp(pred, target, bundle.protocol.valid_mask(seq))
    assert result['frames'] == int(bundle.protocol.valid_frames.valid['TS5'].sum())
    assert result['mpjpe'] == pytest.approx(52.5 * 14 / 17, rel=1e-4)
    assert result['pck'] == pytest.approx(100.0)
    # joints 0-13 pass thresholds 55..150 (20 of 31); pelvis, spine, head pass 5..150 (30 of 31)
    assert result['auc'] == pytest.approx((14 * 20 + 3 * 30) / (17 * 31) * 100, rel=1e-4)
