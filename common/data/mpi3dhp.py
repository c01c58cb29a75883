"""MPI-INF-3DHP (dataset ``3dhp``) from the community npz files ``data_train_3dhp.npz`` / ``data_test_3dhp.npz``.

These two files are what the lifting works of 2021-2023 (P-STMO, MixSTE, PoseFormerV2, ...) train and
test on; P-STMO's ``common/data_to_npz_3dhp.py`` and ``common/data_to_npz_3dhp_test.py`` make them
from the official ``annot.mat`` / ``annot_data.mat``. What we found by reading those scripts and the
loaders that consume them (P-STMO ``common/load_data_3dhp_mae.py``, ``run_3dhp.py``):

- Both files hold one key, ``data``: a pickled dict (0-d object array).
- Train: ``data['S<k> Seq<m>'] = [cameras, fps]`` where ``cameras = {'0': {...}, '1': ..., '2', '4',
  '5', '6', '7', '8'}`` (the string is the camera number; the script keeps the 8 cameras 0, 1, 2, 4,
  5, 6, 7, 8) and each camera dict holds ``data_2d`` (N, 17, 2) pixels of the 2048 x 2048 video and
  ``data_3d`` (N, 17, 3) from ``univ_annot3`` (camera frame, "universal" skeleton scaled to a common
  height). ``fps`` is 25 or 50 depending on the sequence (S1 Seq2, S3, S5 Seq1/2 are 50).
- Test: ``data['TS<k>'] = {'data_2d' (N, 17, 2) pixels, 'data_3d' (N, 17, 3), 'valid' (N,) 0/1}`` for
  TS1-TS6; images are 2048 x 2048 for TS1-TS4 and 1920 x 1080 for TS5-TS6 (the loaders normalise with
  these sizes). The file carries no frame rate.
- Units: ``data_3d`` is in **millimetres** (``univ_annot3`` is in mm; P-STMO prints its test MPJPE
  straight from these values as mm, without the x1000 it applies to metre-valued quantities). We divide
  by 1000: everything inside the program is metres. A file whose poses look like metres already (the
  head-top-to-pelvis distance below 10 units) is rejected rather than silently shrunk.
- Joint order: the 17 joints of the test set's ``annot_data.mat`` (the train script selects the same
  joints out of the 28 mocap joints), `common.data.layouts.MPI3DHP_17` (root: the pelvis, 14), for
  the 3D joints and the 2D keypoints alike.

Also accepted (our assumptions, for hand-made files): a train value that is a plain list of per-camera
dicts (camera number = position in the list) or a dict ``{camera: {...}}`` without the fps; a
per-camera dict may carry its own ``fps``. Sequences without a known fps get 25.

What `load_3dhp` returns (a `DataBundle`, name ``'3dhp'``, layout `MPI3DHP_17`, root 14):

- ``train``: one `Sequence` per (subject ``'S<k>'``, action ``'Seq<m>'``, camera number);
- ``test``: one `Sequence` per test sequence (subject = action = ``'TS<k>'``, camera 0), with
  ``valid`` (bool (N,)): test sequences keep all their frames (windows need context), metrics use
  only the valid ones (the protocol's mask);
- ``poses_3d``: camera frame, metres, every joint minus the pelvis except the pelvis slot, which keeps
  the pelvis position (the `Sequence` convention; it is zeroed for losses and metrics);
- ``poses_2d``: pixels normalised by the sequence's image size (`normalize_screen_coordinates`);
- ``cam``: ``{'id', 'res_w', 'res_h', 'azimuth' (0, only for plots), 'fps'}``.

Selection (`common.data.selection`) works as for Human3.6M: training subjects are ``S1`` ... ``S8``
and test subjects ``TS1`` ... ``TS6`` (default: all of each file); actions are ``Seq1`` / ``Seq2``
for training sequences and the sequence name (``TS1`` ...) for test sequences; ``subset`` cuts
training sequences; ``downsample`` strides both (and the valid masks with them).
"""
import re
from collections import Counter
from pathlib import Path

import numpy as np

from common.data.camera import normalize_screen_coordinates
from common.data.layouts import MPI3DHP_17
from common.data.selection import require_subjects
from common.data.types import DataBundle, EvaluationProtocol, Sequence, root_relative
from common.errors import UserError
from common.io.npz import load_npz
from common.metrics import MM_PER_M

TRAIN_FILE = 'data_train_3dhp.npz'
TEST_FILE = 'data_test_3dhp.npz'
NUM_JOINTS = MPI3DHP_17.num_joints
ROOT = MPI3DHP_17.root
TRAIN_RESOLUTION = (2048, 2048)
TEST_RESOLUTION = {'TS1': (2048, 2048), 'TS2': (2048, 2048), 'TS3': (2048, 2048), 'TS4': (2048, 2048),
                   'TS5': (1920, 1080), 'TS6': (1920, 1080)}
DEFAULT_FPS = 25
PROTOCOL = EvaluationProtocol(root=ROOT, zero_predicted_root=True, extra_metrics=('pck', 'auc'))
HINT = ('Make the MPI-INF-3DHP files with P-STMO\'s common/data_to_npz_3dhp.py and data_to_npz_3dhp_test.py '
        '(layout: see common/data/mpi3dhp.py) and pass the folder that holds them.')

_TRAIN_KEY = re.compile(r'^S(\d+) Seq(\d+)$')
_TEST_KEY = re.compile(r'^TS(\d+)$')


def load_3dhp(config):
    """The `DataBundle` of ``<data_dir>/data_{train,test}_3dhp.npz`` (see the module docstring).

    `config`: a `common.data.sources.DataConfig`; the training file is read only when
    ``config.need_train``. The frame rate is the most common one of the training sequences
    (`DEFAULT_FPS` without them), divided by ``downsample``.
    """
    data_dir = Path(config.data_dir)
    train_all = load_3dhp_train(data_dir / TRAIN_FILE) if config.need_train else []
    test_all = load_3dhp_test(data_dir / TEST_FILE)
    selection = config.selection(_subjects(train_all), _subjects(test_all))
    require_subjects(selection.subjects_train if config.need_train else (), _subjects(train_all), 'subjects_train',
                     data_dir / TRAIN_FILE)
    require_subjects(selection.subjects_test, _subjects(test_all), 'subjects_test', data_dir / TEST_FILE)
    train = selection.training(train_all) if config.need_train else []
    fps_values = [seq.cam['fps'] for seq in train]
    fps = Counter(fps_values).most_common(1)[0][0] if fps_values else DEFAULT_FPS
    return DataBundle(name=config.dataset, train=train, test=selection.testing(test_all), joints=MPI3DHP_17,
                      keypoints=MPI3DHP_17, fps=fps / selection.downsample, protocol=PROTOCOL)


def _subjects(sequences):
    return tuple(dict.fromkeys(seq.subject for seq in sequences))


def _sequence_keys(path, pattern, expected):
    """[(numbers in the key, key, value)] of a 3DHP file, sorted by those numbers; any other key is refused."""
    found = []
    for key, value in _load_data(path).items():
        match = pattern.match(str(key))
        if match is None:
            raise UserError(f'{path}: unexpected sequence key {key!r}; {expected} {HINT}')
        found.append((tuple(int(g) for g in match.groups()), key, value))
    return sorted(found, key=lambda item: item[0])


def load_3dhp_train(path):
    """All training sequences of ``data_train_3dhp.npz``: list of `Sequence`, sorted by subject, sequence, camera."""
    found = _sequence_keys(path, _TRAIN_KEY, 'training keys look like "S1 Seq1". Is this the test file?')
    sequences = []
    for (subject_no, seq_no), key, value in found:
        subject, action = f'S{subject_no}', f'Seq{seq_no}'
        cameras, fps = _train_cameras(path, key, value)
        for camera, entry in cameras:
            where = f'{path}: {key!r} camera {camera}'
            poses_2d, poses_3d = _convert(where, entry, *TRAIN_RESOLUTION)
            cam_fps = _fps(where, entry.get('fps', fps))
            cam = {'id': f'cam{camera}', 'res_w': TRAIN_RESOLUTION[0], 'res_h': TRAIN_RESOLUTION[1],
                   'azimuth': 0.0, 'fps': cam_fps}
            sequences.append(Sequence(subject, action, camera, poses_2d, poses_3d, cam))
    if not sequences:
        raise UserError(f'{path} holds no training sequences. {HINT}')
    return sequences


def load_3dhp_test(path):
    """All test sequences of ``data_test_3dhp.npz``: list of `Sequence` (with ``valid``), sorted by number."""
    found = _sequence_keys(path, _TEST_KEY, 'test keys are TS1 ... TS6. Is this the training file?')
    sequences = []
    for _, name, entry in found:
        name = str(name)
        where = f'{path}: {name!r}'
        if name not in TEST_RESOLUTION:
            raise UserError(f'{where}: unknown test sequence, its image size is not known '
                            f'(known: {", ".join(TEST_RESOLUTION)})')
        if not isinstance(entry, dict):
            raise UserError(f'{where} should be a dict with data_2d, data_3d and valid, '
                            f'found {type(entry).__name__}. {HINT}')
        _require(where, entry, ('data_2d', 'data_3d', 'valid'))
        w, h = TEST_RESOLUTION[name]
        poses_2d, poses_3d = _convert(where, entry, w, h)
        mask = np.asarray(entry['valid']).reshape(-1)
        if len(mask) != len(poses_2d):
            raise UserError(f'{where}: valid has {len(mask)} entries for {len(poses_2d)} frames. {HINT}')
        if not np.isin(mask, (0, 1)).all():
            raise UserError(f'{where}: valid should hold 0/1 flags, found values {np.unique(mask)[:5]}')
        cam = {'id': name, 'res_w': w, 'res_h': h, 'azimuth': 0.0, 'fps': _fps(where, entry.get('fps'))}
        sequences.append(Sequence(name, name, 0, poses_2d, poses_3d, cam, valid=mask.astype(bool)))
    if not sequences:
        raise UserError(f'{path} holds no test sequences. {HINT}')
    return sequences


def _load_data(path):
    data = load_npz(path, required_keys=['data'], hint=HINT)['data']
    if not isinstance(data, dict):
        raise UserError(f'{path}: entry "data" should hold a dict of sequences, found {type(data).__name__}. {HINT}')
    return data


def _train_cameras(path, key, value):
    """[(camera number, camera dict)] sorted by camera, and the sequence fps (None if not stored)."""
    fps = None
    if isinstance(value, (list, tuple)) and value and all(_is_camera_entry(v) for v in value):
        return list(enumerate(value)), None  # plain list of per-camera dicts
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
        if len(value) > 1:
            fps = value[1]
        value = value[0]
    if not isinstance(value, dict) or not value or _is_camera_entry(value) \
            or not all(_is_camera_entry(v) for v in value.values()):
        raise UserError(f'{path}: {key!r} should be [{{camera: {{"data_2d", "data_3d"}}}}, fps] '
                        f'(or a list of per-camera dicts with data_2d and data_3d). {HINT}')
    cameras = []
    for camera, entry in value.items():
        try:
            cameras.append((int(camera), entry))
        except (TypeError, ValueError):
            raise UserError(f'{path}: {key!r} has camera key {camera!r}; expected camera numbers such as "0"') from None
    return sorted(cameras, key=lambda item: item[0]), fps


def _is_camera_entry(value):
    return isinstance(value, dict) and 'data_2d' in value and 'data_3d' in value


def _require(where, entry, keys):
    missing = [k for k in keys if k not in entry]
    if missing:
        raise UserError(f'{where} has no {", ".join(missing)} (it has: {", ".join(map(str, entry))}). {HINT}')


def _fps(where, value):
    if value is None:
        return DEFAULT_FPS
    try:
        fps = float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise UserError(f'{where}: frame rate {value!r} is not a number') from None
    if not fps > 0:
        raise UserError(f'{where}: frame rate {fps} is not positive')
    return int(fps) if fps == int(fps) else fps


def _convert(where, entry, res_w, res_h):
    """(poses_2d normalised float32 (N, 17, 2), poses_3d metres float32 (N, 17, 3)) of one sequence."""
    pos_2d = _array(where, entry, 'data_2d', 2)
    pos_3d = _array(where, entry, 'data_3d', 3)
    if len(pos_2d) != len(pos_3d):
        raise UserError(f'{where}: data_2d has {len(pos_2d)} frames but data_3d has {len(pos_3d)}. {HINT}')
    if len(pos_3d) == 0:
        raise UserError(f'{where} has no frames. {HINT}')
    torso = np.median(np.linalg.norm(pos_3d[:, 0] - pos_3d[:, ROOT], axis=-1))
    if torso < 10:
        raise UserError(f'{where}: data_3d looks like metres (head-top to pelvis {torso:.3g}); the community files '
                        f'are in millimetres. Re-create the file in mm. {HINT}')
    poses_3d = root_relative(pos_3d / MM_PER_M, ROOT)
    poses_2d = normalize_screen_coordinates(pos_2d, w=res_w, h=res_h)
    return poses_2d.astype(np.float32), poses_3d.astype(np.float32)


def _array(where, entry, key, channels):
    array = np.asarray(entry[key])
    if array.ndim == 4 and array.shape[1] == 1:  # (N, 1, 17, C) as squeezed from some .mat exports
        array = array[:, 0]
    if array.dtype == object or array.ndim != 3 or array.shape[1:] != (NUM_JOINTS, channels):
        raise UserError(f'{where}: {key} has shape {array.shape}, expected (N, {NUM_JOINTS}, {channels}). {HINT}')
    if not np.isfinite(array).all():
        raise UserError(f'{where}: {key} contains NaN or infinite values. {HINT}')
    return array.astype(np.float64)
