"""Human3.6M-format data (dataset ``h36m``, and ``synthetic`` which writes the same files).

3D: ``data_3d_<dataset>.npz``, key ``positions_3d`` -> ``{subject: {action: float32 (N, 32, 3)}}``
world metres, 50 fps, the 32-joint mocap skeleton (`common.data.layouts.H36M_32`); reduced to
`H36M_17` on load. 2D: ``data_2d_<dataset>_<keypoints>.npz`` (see `common.data.keypoints_2d`),
one array per camera of the subject (the 4 Human3.6M cameras, `common.data.camera`).

Every (subject, action, camera) becomes a `Sequence` whose 3D poses are in that camera's frame,
root-relative with the root trajectory in the root slot (`common.data.types.root_relative`).
"""
import numpy as np

from common.data.camera import load_h36m_cameras, world_to_camera
from common.data.checks import load_positions_3d
from common.data.keypoints_2d import keypoints_path, load_keypoints_2d
from common.data.layouts import H36M_17, H36M_32, H36M_32_TO_17
from common.data.selection import require_subjects
from common.data.types import DataBundle, EvaluationProtocol, Sequence, root_relative
from common.errors import UserError

H36M_FPS = 50
TRAIN_SUBJECTS = ('S1', 'S5', 'S6', 'S7', 'S8')
TEST_SUBJECTS = ('S9', 'S11')


def load_h36m_format(config, path_3d):
    """The `DataBundle` of a Human3.6M-format 3D file and ``<data_dir>/data_2d_<dataset>_<keypoints>.npz``.

    `config`: a `common.data.sources.DataConfig`; the subjects default to the official split.
    """
    path_2d = keypoints_path(config.data_dir, config.dataset, config.keypoints)
    cameras = load_h36m_cameras()
    positions = load_h36m_3d(path_3d, cameras)
    selection = config.selection(TRAIN_SUBJECTS, TEST_SUBJECTS)
    subjects_train = selection.subjects_train if config.need_train else ()
    require_subjects(subjects_train, list(positions), 'subjects_train', path_3d)
    require_subjects(selection.subjects_test, list(positions), 'subjects_test', path_3d)
    subjects = tuple(dict.fromkeys(subjects_train + selection.subjects_test))
    keypoints = load_keypoints_2d(path_2d, positions, cameras, subjects)
    sequences = [Sequence(subject, action, index, poses_2d, camera_frame(positions[subject][action], cam), cam)
                 for subject in subjects for action in positions[subject]
                 for index, (poses_2d, cam) in enumerate(zip(keypoints.positions[subject][action], cameras[subject]))]
    return DataBundle(name=config.dataset, train=selection.training(sequences) if config.need_train else [],
                      test=selection.testing(sequences), joints=H36M_17, keypoints=keypoints.layout,
                      fps=H36M_FPS / selection.downsample, protocol=EvaluationProtocol(root=H36M_17.root))


def camera_frame(world, cam):
    """World positions (N, J, 3) metres -> float32 camera-frame poses of `cam`, root-relative (root slot = trajectory)."""
    return root_relative(world_to_camera(world, R=cam['orientation'], t=cam['translation']), H36M_17.root) \
        .astype(np.float32)


def load_h36m_3d(path, cameras=None, all_joints=False):
    """``{subject: {action: float32 (N, 17, 3)}}`` world metres from a Human3.6M-format 3D file.

    ``all_joints``: keep the 32 mocap joints instead of the 17 (`H36M_32_TO_17`). Every subject
    must have a calibration in `cameras` (default: the Human3.6M cameras).
    """
    cameras = load_h36m_cameras() if cameras is None else cameras
    stored = load_positions_3d(path, H36M_32.num_joints, 'Human3.6M 32-joint mocap',
                               'every 3D position must be a number of metres: correct the file or re-create it '
                               'with data/prepare_data_h36m.py')
    joints = list(range(H36M_32.num_joints)) if all_joints else list(H36M_32_TO_17)
    positions = {}
    for subject, actions in stored.items():
        if subject not in cameras:
            raise UserError(f'{path}: subject {subject!r} has no camera calibration '
                            f'(known: {", ".join(cameras)})')
        positions[subject] = {action: pos[:, joints] for action, pos in actions.items()}
    return positions
