"""2D keypoint files (``data_2d_<dataset>_<keypoints>.npz``): loading, checking against 3D, normalising.

Layout: ``positions_2d`` -> ``{subject: {action: [one (N, J, 2+) pixel array per camera]}}`` and
``metadata`` -> ``{'layout_name', 'num_joints', 'keypoints_symmetry': [left, right]}``. The
community ground-truth file has no ``layout_name`` (it is the Human3.6M layout).
"""
from dataclasses import dataclass

import numpy as np

from common.data.camera import normalize_screen_coordinates
from common.errors import UserError
from common.io.npz import load_npz


@dataclass
class Keypoints2D:
    """Normalised 2D keypoints: ``positions[subject][action][camera]`` is (N, J, 2) float32."""
    positions: dict
    joints_left: list
    joints_right: list
    num_joints: int
    layout: str


def load_keypoints_2d(path, dataset, subjects=None):
    """Load a 2D file for `dataset` and return `Keypoints2D` in normalised screen coordinates.

    Only the given subjects (default: the dataset's) are kept and checked: each must be in the
    2D file with every action of the 3D data and one array per camera; 2D sequences longer than
    the 3D ones are cut to the 3D length (detector files often have a few extra frames).
    """
    data = load_npz(path, required_keys=['positions_2d', 'metadata'])
    metadata, positions = data['metadata'], data['positions_2d']
    if not isinstance(metadata, dict) or 'keypoints_symmetry' not in metadata:
        raise UserError(f'{path}: metadata must be a dict with keypoints_symmetry [[left...], [right...]]')
    if not isinstance(positions, dict):
        raise UserError(f'{path}: positions_2d should be a dict {{subject: {{action: [arrays per camera]}}}}')
    left, right = (list(map(int, side)) for side in metadata['keypoints_symmetry'])
    num_joints = int(metadata.get('num_joints', dataset.skeleton().num_joints()))
    layout = metadata.get('layout_name', 'h36m')
    subjects = dataset.subjects() if subjects is None else subjects

    result = {}
    for subject in subjects:
        if subject not in positions:
            raise UserError(f'{path}: subject {subject} is in the 3D data but missing from this 2D file '
                            f'(it has: {", ".join(sorted(positions))}); use the 2D file that matches the dataset')
        result[subject] = {}
        for action, sequence in dataset[subject].items():
            if action not in positions[subject]:
                raise UserError(f'{path}: action {action!r} of {subject} is in the 3D data but missing from '
                                f'this 2D file')
            result[subject][action] = _check_and_normalise(path, subject, action, positions[subject][action],
                                                           sequence, num_joints)
    return Keypoints2D(result, left, right, num_joints, layout)


def _check_and_normalise(path, subject, action, arrays, sequence, num_joints):
    cameras = sequence['cameras']
    where = f'{path}: {subject} / {action!r}'
    if not isinstance(arrays, (list, tuple)) or len(arrays) != len(cameras):
        count = len(arrays) if isinstance(arrays, (list, tuple)) else type(arrays).__name__
        raise UserError(f'{where} should hold one 2D array per camera ({len(cameras)}), found {count}')
    out = []
    for cam_index, (kps, cam) in enumerate(zip(arrays, cameras)):
        kps = np.asarray(kps)
        if kps.ndim != 3 or kps.shape[1] != num_joints or kps.shape[2] < 2:
            raise UserError(f'{where} camera {cam_index}: shape {kps.shape}, expected (N, {num_joints}, 2)')
        if 'positions' in sequence:
            length_3d = sequence['positions'].shape[0]
            if kps.shape[0] < length_3d:
                raise UserError(f'{where} camera {cam_index}: {kps.shape[0]} 2D frames but {length_3d} 3D frames; '
                                f'the 2D file does not match the 3D file')
            kps = kps[:length_3d]
        kps = kps[..., :2].astype(np.float32)
        out.append(normalize_screen_coordinates(kps, w=cam['res_w'], h=cam['res_h']).astype(np.float32))
    return out
