"""`load_bundle(DataConfig(...))`: the one entry to every dataset (per-source details: test_h36m_loading.py,
test_3dhp.py, test_custom_keypoints.py)."""
import pytest

from common.data.layouts import H36M_17
from common.data.sources import DATASETS, DataConfig, load_bundle


def test_known_datasets():
    assert DATASETS[:4] == ('h36m', 'synthetic', 'custom', '3dhp')
    assert {'humaneva15', 'humaneva20'} <= set(DATASETS)


def test_synthetic_is_generated_and_read_as_human36m(tmp_path):
    bundle = load_bundle(DataConfig(dataset='synthetic', data_dir=str(tmp_path), keypoints='detected',
                                    actions=('Walking',), downsample=10))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'data_2d_synthetic_detected.npz', 'data_2d_synthetic_gt.npz', 'data_3d_synthetic.npz']
    assert bundle.name == 'synthetic' and bundle.joints is bundle.keypoints is H36M_17 and bundle.fps == 5
    assert list(dict.fromkeys(s.subject for s in bundle.train)) == ['S1', 'S5', 'S6', 'S7', 'S8']
    assert list(dict.fromkeys(s.subject for s in bundle.test)) == ['S9', 'S11']
    assert {s.action for s in bundle.train + bundle.test} == {'Walking', 'Walking 1'}
    assert all(len(s.poses_2d) == len(s.poses_3d) for s in bundle.train + bundle.test)


def test_subjects_are_sequences_of_names():
    with pytest.raises(TypeError, match='not a string'):
        DataConfig(subjects_test='S9')
