"""Tests for MPI-INF-3DHP: loading the community npz layout (common/data/mpi3dhp.py); its metrics are
tested in test_metrics.py and test_evaluation.py."""
import numpy as np
import pytest

from common.data.layouts import MPI3DHP_17
from common.data.mpi3dhp import ROOT, load_3dhp_test
from common.data.sources import DataConfig, load_bundle
from common.data.types import DataBundle, Sequence
from common.errors import UserError
from tests.fixtures_3dhp import write_3dhp_fixture


@pytest.fixture
def fixture_dir(tmp_path):
    info = write_3dhp_fixture(tmp_path)
    return tmp_path, info


def load_3dhp(folder, **settings):
    return load_bundle(DataConfig(dataset='3dhp', data_dir=str(folder), **settings))


def _keys(sequences):
    return [(s.subject, s.action, s.camera) for s in sequences]


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
    assert bundle.joints is bundle.keypoints is MPI3DHP_17 and bundle.parents == list(MPI3DHP_17.parents)
    assert _keys(bundle.train) == [('S1', 'Seq1', 0), ('S1', 'Seq1', 2), ('S3', 'Seq2', 4), ('S3', 'Seq2', 8)]
    assert _keys(bundle.test) == [('TS1', 'TS1', 0), ('TS5', 'TS5', 0)]
    assert all(isinstance(s, Sequence) for s in bundle.train + bundle.test)
    assert bundle.joints_left == bundle.kps_left == [5, 6, 7, 11, 12, 13]
    assert bundle.joints_right == bundle.kps_right == [2, 3, 4, 8, 9, 10]
    assert bundle.protocol.extra_metrics == ('pck', 'auc')
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
    for seq in bundle.test:
        raw_valid = info['test'][seq.subject][2]
        mask = seq.valid
        assert mask.dtype == bool and len(mask) == len(seq.poses_2d) == len(raw_valid)
        np.testing.assert_array_equal(mask, raw_valid == 1)
        assert not mask[:3].any() and mask.sum() == len(mask) - 4
        np.testing.assert_array_equal(bundle.protocol.valid_mask(seq), mask)
    assert bundle.protocol.valid_mask(bundle.train[0]) is None  # every training frame counts


def test_list_layout_and_subject_selection(tmp_path):
    info = write_3dhp_fixture(tmp_path, train_layout='list')
    bundle = load_3dhp(tmp_path, subjects_train=('S3',), subjects_test=('TS5',))
    assert [(s.subject, s.camera) for s in bundle.train] == [('S3', 0), ('S3', 1)]
    assert [s.subject for s in bundle.test] == ['TS5']
    assert all(s.cam['fps'] == 25 for s in bundle.train)  # no fps in this layout: the default
    np.testing.assert_allclose(bundle.train[1].poses_3d, _expected_3d(info['train'][('S3', 'Seq2', 1)][1]), atol=1e-6)
    with pytest.raises(UserError, match=r'S9: not in .*data_train_3dhp.npz \(it has: S1, S3\)') as err:
        load_3dhp(tmp_path, subjects_train=('S9',))
    assert err.value.setting == 'subjects_train'
    with pytest.raises(UserError, match=r'S9: not in .*data_test_3dhp.npz \(it has: TS1, TS5\)') as err:
        load_3dhp(tmp_path, subjects_test=('S9',))   # e.g. the Human3.6M test subjects
    assert err.value.setting == 'subjects_test'


def test_actions_select_training_and_test_sequences(fixture_dir):
    folder, _ = fixture_dir
    bundle = load_3dhp(folder, actions=('Seq2', 'TS5'))
    assert _keys(bundle.train) == [('S3', 'Seq2', 4), ('S3', 'Seq2', 8)] and _keys(bundle.test) == [('TS5', 'TS5', 0)]
    assert bundle.fps == 50  # the frame rate of the selected training sequences
    bundle = load_3dhp(folder, actions=('Seq1', 'TS'))
    assert _keys(bundle.train) == [('S1', 'Seq1', 0), ('S1', 'Seq1', 2)] and len(bundle.test) == 2
    with pytest.raises(UserError, match=r'Seq1: no action of subjects TS1,TS5 starts with these \(their actions: '
                                        r'TS1, TS5\)') as err:
        load_3dhp(folder, actions=('Seq1',))
    assert err.value.setting == 'actions'


def test_subset_and_downsample(fixture_dir):
    folder, _ = fixture_dir
    full = load_3dhp(folder)
    half = load_3dhp(folder, subset=0.5)
    for a, b in zip(full.train, half.train):
        assert len(b.poses_2d) == round(len(a.poses_2d) * 0.5)
        start = next(i for i in range(len(a.poses_2d)) if np.array_equal(a.poses_2d[i], b.poses_2d[0]))
        np.testing.assert_array_equal(b.poses_3d, a.poses_3d[start:start + len(b.poses_3d)])
    assert [len(s.poses_2d) for s in half.test] == [len(s.poses_2d) for s in full.test]  # test: whole
    down = load_3dhp(folder, downsample=3)
    assert down.fps == full.fps / 3
    for a, b in zip(full.train + full.test, down.train + down.test):
        np.testing.assert_array_equal(b.poses_2d, a.poses_2d[::3])
        np.testing.assert_array_equal(b.poses_3d, a.poses_3d[::3])
    for a, b in zip(full.test, down.test):   # the frames scored stay the valid ones
        np.testing.assert_array_equal(down.protocol.valid_mask(b), a.valid[::3])


def test_evaluation_only_reads_the_test_file(fixture_dir):
    folder, _ = fixture_dir
    (folder / 'data_train_3dhp.npz').unlink()
    bundle = load_3dhp(folder, need_train=False, subjects_train=('S42',))
    assert bundle.train == [] and len(bundle.test) == 2 and bundle.fps == 25


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
