"""HumanEva-I (datasets ``humaneva15`` / ``humaneva20``) in the community files of VideoPose3D's preparation.

3D: ``<data_dir>/data_3d_humaneva<J>.npz``, key ``positions_3d`` -> ``{subject: {action: float32
(N, J, 3)}}`` world metres (z up), 60 fps, J = 15 (`HUMANEVA_15`) or 20 (`HUMANEVA_20`).
2D: ``<data_dir>/data_2d_humaneva<J>_<keypoints>.npz`` (`common.data.keypoints_2d`): one pixel array
per camera (C1, C2, C3, 640x480) in the layout of the 3D (``gt``: the mocap projected by the
dataset's own code). The model lifts each keypoint to the joint of the same index, so 2D files in
another layout (e.g. the COCO detections) are refused, as the official code cannot use them either.

Naming, as in the files: a subject is ``<split>/<person>``: ``Train/S1`` ... ``Validate/S3`` (the
labelled frames of each video are cut into a training and a validation part; the validation part is
the test set). Detection files may add ``Unlabeled/...`` subjects, which have no 3D and are ignored.
An action is ``<action> <trial> chunk<k>``, e.g. ``'Walking 1 chunk0'``: each contiguous run of valid
motion-capture frames is its own chunk. Evaluation groups actions by their first word
('Walking', 'Jog', 'ThrowCatch', 'Gestures', 'Box'), and ``actions`` selects by prefix ('Walk').

Default split, the official command lines': train on Train/S1,S2,S3, test on Validate/S1,S2,S3.
Scored as Human3.6M is: MPJPE, P-MPJPE, N-MPJPE, MPJVE with the pelvis (joint 0) as the root, the
target's root zeroed and the prediction scored as the model outputs it.
"""
import json
from pathlib import Path

import numpy as np

from common.data.camera import world_to_camera
from common.data.checks import load_positions_3d
from common.data.keypoints_2d import keypoints_path, load_keypoints_2d
from common.data.layouts import HUMANEVA_15, HUMANEVA_20
from common.data.selection import require_subjects
from common.data.types import DataBundle, EvaluationProtocol, Sequence, root_relative
from common.errors import UserError
from common.metrics import MM_PER_M

HUMANEVA_FPS = 60
LAYOUTS = {'humaneva15': HUMANEVA_15, 'humaneva20': HUMANEVA_20}   # dataset name -> 3D (and 2D) layout
TRAIN_SUBJECTS = ('Train/S1', 'Train/S2', 'Train/S3')
TEST_SUBJECTS = ('Validate/S1', 'Validate/S2', 'Validate/S3')
CAMERA_FILE = Path(__file__).resolve().parents[1] / 'resources' / 'humaneva_cameras.json'


def load_humaneva(config):
    """The `DataBundle` of dataset ``humaneva15`` / ``humaneva20``; `config`: a `common.data.sources.DataConfig`.

    Subjects default to `TRAIN_SUBJECTS` / `TEST_SUBJECTS`. Every (subject, action, camera) becomes a
    `Sequence` whose 3D poses (N, J, 3) are in that camera's frame, metres, root-relative with the
    root trajectory in the root slot (`common.data.types.root_relative`).
    """
    layout = LAYOUTS[config.dataset]
    path_3d = Path(config.data_dir) / f'data_3d_{config.dataset}.npz'
    positions = load_positions_3d(path_3d, layout.num_joints, layout.name,
                                  'the community files keep only chunks of valid motion capture: re-create this file')
    selection = config.selection(TRAIN_SUBJECTS, TEST_SUBJECTS)
    subjects_train = selection.subjects_train if config.need_train else ()
    require_subjects(subjects_train, list(positions), 'subjects_train', path_3d)
    require_subjects(selection.subjects_test, list(positions), 'subjects_test', path_3d)
    subjects = tuple(dict.fromkeys(subjects_train + selection.subjects_test))
    cameras = subject_cameras(subjects, load_humaneva_cameras(), path_3d)
    path_2d = keypoints_path(config.data_dir, config.dataset, config.keypoints)
    keypoints = load_keypoints_2d(path_2d, positions, cameras, subjects)
    if keypoints.layout != layout:
        raise UserError(f'{config.keypoints}: {path_2d} holds {keypoints.layout.num_joints} keypoints in the '
                        f'{keypoints.layout.name!r} layout, but {config.dataset} needs the {layout.num_joints} of '
                        f'the {layout.name!r} layout (each keypoint is lifted to the joint of the same index); '
                        f'use a 2D file in that layout, e.g. gt', setting='keypoints')
    sequences = [Sequence(subject, action, index, poses_2d, _camera_frame(positions[subject][action], cam, layout), cam)
                 for subject in subjects for action in positions[subject]
                 for index, (poses_2d, cam) in enumerate(zip(keypoints.positions[subject][action], cameras[subject]))]
    return DataBundle(name=config.dataset, train=selection.training(sequences) if config.need_train else [],
                      test=selection.testing(sequences), joints=layout, keypoints=layout,
                      fps=HUMANEVA_FPS / selection.downsample, protocol=EvaluationProtocol(root=layout.root))


def load_humaneva_cameras(path=CAMERA_FILE):
    """``{person: [C1, C2, C3]}`` for S1, S2, S3 (S4 has no motion capture); facts in `CAMERA_FILE`.

    Each camera dict has ``id``, ``res_w``, ``res_h``, ``azimuth`` (degrees, for plots),
    ``orientation`` (4,) float32 (unit quaternion w, x, y, z: camera -> world) and ``translation``
    (3,) float32, the camera centre in world metres. There are no intrinsics: the 2D files are
    already pixels, and only the resolution is needed to normalise them.
    """
    with open(path) as f:
        calib = json.load(f)
    return {person: [{'id': intr['id'], 'res_w': int(intr['res_w']), 'res_h': int(intr['res_h']),
                      'azimuth': float(intr['azimuth']),
                      'orientation': np.array(extr['orientation'], dtype=np.float32),
                      'translation': (np.array(extr['translation'], dtype=np.float64) / MM_PER_M).astype(np.float32)}
                     for intr, extr in zip(calib['intrinsic'], extrinsics)]
            for person, extrinsics in calib['extrinsic'].items()}


def person_of(subject):
    """The person a subject name refers to: 'Validate/S2' -> 'S2', 'Unlabeled/Train/S1' -> 'S1'."""
    return subject.rsplit('/', 1)[-1]


def subject_cameras(subjects, cameras, where):
    """``{subject: [camera dicts]}``: every subject gets the calibration of its person (from `where`)."""
    unknown = [s for s in subjects if person_of(s) not in cameras]
    if unknown:
        raise UserError(f'{where}: subject {", ".join(unknown)} has no camera calibration '
                        f'(HumanEva-I calibrates {", ".join(cameras)})')
    return {subject: cameras[person_of(subject)] for subject in subjects}


def _camera_frame(world, cam, layout):
    """World positions (N, J, 3) metres -> float32 camera-frame poses, root-relative (root slot = trajectory)."""
    camera = world_to_camera(world, R=cam['orientation'], t=cam['translation'])
    return root_relative(camera, layout.root).astype(np.float32)
