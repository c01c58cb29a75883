"""2D keypoint files (``data_2d_<dataset>_<keypoints>.npz``): finding, loading, checking against 3D, normalising.

Layout: ``positions_2d`` -> ``{subject: {action: [one (N, J, 2+) pixel array per camera]}}`` and
``metadata`` -> ``{'layout_name', 'num_joints', 'keypoints_symmetry': [left, right]}``, which must
describe one of `common.data.layouts.KEYPOINT_LAYOUTS` (``'h36m'`` or ``'coco'``). The community
ground-truth file has no ``layout_name`` (it is the Human3.6M layout).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.data.camera import normalize_screen_coordinates
from common.data.checks import require_finite
from common.data.layouts import KEYPOINT_LAYOUTS, JointLayout
from common.errors import UserError
from common.io.npz import load_npz


@dataclass
class Keypoints2D:
    """Normalised 2D keypoints: ``positions[subject][action][camera]`` is (N, J, 2) float32, in `layout`."""
    positions: dict
    layout: JointLayout


def keypoints_path(data_dir, dataset, keypoints):
    """``<data_dir>/data_2d_<dataset>_<keypoints>.npz``, with a helpful error when it is missing."""
    path = Path(data_dir) / f'data_2d_{dataset}_{keypoints}.npz'
    if not path.is_file():
        available = available_keypoints(data_dir, dataset)
        raise UserError(f'{keypoints}: 2D keypoint file {path} not found. '
                        + (f'Available in {data_dir}: {", ".join(available)}. ' if available else '')
                        + 'See data/README.md for how to obtain and prepare the data files.', setting='keypoints')
    return path


def available_keypoints(data_dir, dataset):
    """The sorted ``<keypoints>`` names of the 2D files of `dataset` in `data_dir`.

    Only real data files count: ``data_2d_<dataset>_<keypoints>.npz``, not hidden (``.name``) and
    not a temporary file an interrupted write left behind (a ``.tmp`` part in the name, e.g.
    ``data_2d_h36m_gt.npz.vet69fxj.tmp.npz``).
    """
    prefix = f'data_2d_{dataset}_'
    names = (p.name[len(prefix):-len('.npz')] for p in Path(data_dir).glob(f'{prefix}*.npz')
             if p.is_file() and not p.name.startswith('.'))
    return sorted(name for name in names if name and not _is_temporary(name))


def _is_temporary(name):
    """True for the name of a temporary file (``gt.npz.vet69fxj.tmp``, ``x.tmp.npz``)."""
    parts = name.lower().split('.')
    return 'tmp' in parts[1:] or 'npz' in parts[1:]


def keypoints_metadata(layout, with_layout_name=True):
    """The ``metadata`` entry of a 2D file in `layout` (the community ground-truth file has no layout_name)."""
    metadata = {'layout_name': layout.name} if with_layout_name else {}
    metadata.update(num_joints=layout.num_joints, keypoints_symmetry=[list(layout.left), list(layout.right)])
    return metadata


def keypoint_layout(path, metadata, default_name='h36m', hint=''):
    """The `JointLayout` a 2D file's metadata describes; `UserError` unless it is a known one, consistently.

    ``default_name``: the layout of files without ``layout_name`` (None: such files are rejected).
    """
    if not isinstance(metadata, dict) or 'keypoints_symmetry' not in metadata:
        raise UserError(f'{path}: metadata must be a dict with keypoints_symmetry [[left...], [right...]]. {hint}')
    name = metadata.get('layout_name', default_name)
    layout = KEYPOINT_LAYOUTS.get(name)
    if layout is None:
        raise UserError(f'{path}: metadata layout_name is {name!r}; PoseFormer reads 17 keypoints in the order '
                        f'{" or ".join(repr(n) for n in KEYPOINT_LAYOUTS)}. {hint}')
    try:
        left, right = ([int(j) for j in side] for side in metadata['keypoints_symmetry'])
        num_joints = int(metadata.get('num_joints', layout.num_joints))
    except (TypeError, ValueError):
        raise UserError(f'{path}: metadata keypoints_symmetry should be [[left...], [right...]] joint indices') from None
    if (num_joints, left, right) != (layout.num_joints, list(layout.left), list(layout.right)):
        raise UserError(f'{path}: metadata ({num_joints} joints, left {left}, right {right}) does not describe the '
                        f'{name!r} layout ({layout.num_joints} joints, left {list(layout.left)}, right '
                        f'{list(layout.right)}). {hint}')
    return layout


def load_keypoints_2d(path, positions_3d, cameras, subjects):
    """Load a 2D file for the 3D poses `positions_3d` and return `Keypoints2D` in normalised screen coordinates.

    ``positions_3d``: ``{subject: {action: (N, J, 3)}}``; ``cameras``: ``{subject: [camera dicts]}``.
    Only `subjects` are kept and checked: each must be in the 2D file with every action of the 3D
    data and one array per camera; 2D sequences longer than the 3D ones are cut to the 3D length
    (detector files often have a few extra frames).
    """
    data = load_npz(path, required_keys=['positions_2d', 'metadata'])
    metadata, positions = data['metadata'], data['positions_2d']
    layout = keypoint_layout(path, metadata)
    if not isinstance(positions, dict):
        raise UserError(f'{path}: positions_2d should be a dict {{subject: {{action: [arrays per camera]}}}}')
    result = {}
    for subject in subjects:
        if subject not in positions:
            raise UserError(f'{path}: subject {subject} is in the 3D data but missing from this 2D file '
                            f'(it has: {", ".join(sorted(positions))}); use the 2D file that matches the dataset')
        result[subject] = {}
        for action, world in positions_3d[subject].items():
            if action not in positions[subject]:
                raise UserError(f'{path}: action {action!r} of {subject} is in the 3D data but missing from '
                                f'this 2D file')
            where = f'{path}: {subject} / {action!r}'
            result[subject][action] = _check_and_normalise(where, positions[subject][action], len(world),
                                                           cameras[subject], layout.num_joints)
    return Keypoints2D(result, layout)


def _check_and_normalise(where, arrays, length_3d, cameras, num_joints):
    """Per-camera pixel arrays -> [(length_3d, J, 2) float32 normalised], checked."""
    if not isinstance(arrays, (list, tuple)) or len(arrays) != len(cameras):
        count = len(arrays) if isinstance(arrays, (list, tuple)) else type(arrays).__name__
        raise UserError(f'{where} should hold one 2D array per camera ({len(cameras)}), found {count}')
    out = []
    for cam_index, (kps, cam) in enumerate(zip(arrays, cameras)):
        kps = np.asarray(kps)
        if kps.ndim != 3 or kps.shape[1] != num_joints or kps.shape[2] < 2:
            raise UserError(f'{where} camera {cam_index}: shape {kps.shape}, expected (N, {num_joints}, 2)')
        if kps.shape[0] < length_3d:
            raise UserError(f'{where} camera {cam_index}: {kps.shape[0]} 2D frames but {length_3d} 3D frames; '
                            f'the 2D file does not match the 3D file')
        kps = kps[:length_3d, :, :2].astype(np.float32)
        require_finite(kps, f'{where} camera {cam_index}', 'every 2D keypoint must be a number of pixels: '
                       'correct the file or re-create it from its source')
        out.append(normalize_screen_coordinates(kps, w=cam['res_w'], h=cam['res_h']).astype(np.float32))
    return out
