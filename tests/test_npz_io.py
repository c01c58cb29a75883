import os
import zipfile

import numpy as np
import pytest

from common.errors import UserError
from common.io.npz import load_npz, save_npz


class _RunsCommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_round_trip_of_community_layout(tmp_path):
    positions = {'S1': {'Walking 1': np.ones((3, 32, 3), np.float32)}}
    metadata = {'num_joints': 17, 'keypoints_symmetry': [[4, 5], [1, 2]]}
    save_npz(tmp_path / 'a.npz', positions_3d=positions, metadata=metadata, plain=np.arange(4))
    loaded = load_npz(tmp_path / 'a.npz')
    assert loaded['positions_3d']['S1']['Walking 1'].dtype == np.float32
    assert loaded['metadata'] == metadata
    assert loaded['plain'].tolist() == [0, 1, 2, 3]
    # Files written by plain numpy (as the community did) load the same way.
    holder = np.empty((), dtype=object)
    holder[()] = positions
    np.savez_compressed(tmp_path / 'b.npz', positions_3d=holder)
    assert load_npz(tmp_path / 'b.npz')['positions_3d']['S1']['Walking 1'].shape == (3, 32, 3)


def test_pickle_that_runs_a_command_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'MARKER'
    holder = np.empty((), dtype=object)
    holder[()] = {'S1': _RunsCommand(marker)}
    np.savez(tmp_path / 'evil.npz', positions_3d=holder)
    with pytest.raises(UserError, match='evil.npz'):
        load_npz(tmp_path / 'evil.npz')
    assert not marker.exists()


def test_missing_corrupt_and_incomplete_files(tmp_path):
    with pytest.raises(UserError, match='not found.*data/README.md'):
        load_npz(tmp_path / 'nope.npz')
    (tmp_path / 'bad.npz').write_bytes(b'not a zip')
    with pytest.raises(UserError, match='not a readable'):
        load_npz(tmp_path / 'bad.npz')
    save_npz(tmp_path / 'c.npz', other=np.zeros(2))
    with pytest.raises(UserError, match="no 'positions_3d'"):
        load_npz(tmp_path / 'c.npz', required_keys=['positions_3d'])


def test_save_is_atomic(tmp_path, monkeypatch):
    save_npz(tmp_path / 'd.npz', x=np.zeros(2))

    def broken(*args, **kwargs):
        raise RuntimeError('disk full')
    monkeypatch.setattr(np, 'savez_compressed', broken)
    with pytest.raises(RuntimeError):
        save_npz(tmp_path / 'd.npz', x=np.ones(2))
    monkeypatch.undo()
    assert load_npz(tmp_path / 'd.npz')['x'].tolist() == [0, 0]
    assert os.listdir(tmp_path) == ['d.npz']
    assert zipfile.is_zipfile(tmp_path / 'd.npz')
