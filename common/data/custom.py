"""In-the-wild videos (``-d custom``): 2D keypoints only, no 3D ground truth.

The 2D file is ``data_2d_custom_<name>.npz`` as written by ``data/prepare_data_2d_custom.py``:
``positions_2d`` -> ``{video: {'custom': [(N, 17, 2) pixels]}}`` and ``metadata`` with
``layout_name`` (``'coco'`` or ``'h36m'``), ``num_joints`` 17, ``keypoints_symmetry`` and
``video_metadata`` -> ``{video: {'w', 'h'}}``.

Each video is a "subject" with a single action ``'custom'`` seen by one camera. Its sequence dict
holds only ``cameras`` (no ``positions``). The camera is made up: the video's resolution with
Human3.6M camera 0's intrinsics and S1's extrinsics for that camera, so that predictions can be
drawn in a plausible world frame; nothing is measured.
"""
import numpy as np

from common.data.camera import load_h36m_cameras, normalize_screen_coordinates
from common.errors import UserError
from common.data.layouts import H36M_LEFT, H36M_RIGHT, coco_to_h36m
from common.data.keypoints_2d import Keypoints2D
from common.data.mocap import MocapDataset
from common.io.npz import load_npz
from common.data.skeleton import h36m_skeleton_17

CUSTOM_ACTION = 'custom'
DEFAULT_FPS = 50
_HINT = 'Create it with data/prepare_data_2d_custom.py (see data/README.md).'


def _load(path_2d):
    data = load_npz(path_2d, required_keys=['positions_2d', 'metadata'], hint=_HINT)
    positions, metadata = data['positions_2d'], data['metadata']
    if not isinstance(positions, dict) or not positions:
        raise UserError(f'{path_2d}: positions_2d should be a non-empty dict {{video: {{"custom": [array]}}}}')
    if not isinstance(metadata, dict) or not isinstance(metadata.get('video_metadata'), dict):
        raise UserError(f'{path_2d}: metadata has no video_metadata {{video: {{"w", "h"}}}}; is it a custom 2D '
                        f'file? {_HINT}')
    return positions, metadata


class CustomDataset(MocapDataset):
    """Videos of ``data_2d_custom_*.npz`` as subjects, each with one action ``'custom'`` and one camera."""

    def __init__(self, path_2d, fps=DEFAULT_FPS):
        if not fps or fps <= 0:
            raise UserError(f'the frame rate of custom videos must be positive, got {fps}')
        super().__init__(fps=fps, skeleton=h36m_skeleton_17())
        positions, metadata = _load(path_2d)
        template = load_h36m_cameras()['S1'][0]
        for video in positions:
            size = metadata['video_metadata'].get(video)
            if not isinstance(size, dict) or 'w' not in size or 'h' not in size:
                raise UserError(f'{path_2d}: video {video!r} has no size in metadata["video_metadata"]')
            try:
                w, h = int(size['w']), int(size['h'])
            except (TypeError, ValueError):
                raise UserError(f'{path_2d}: video {video!r} size is not integer: {size}') from None
            if w <= 0 or h <= 0:
                raise UserError(f'{path_2d}: video {video!r} has size {w} x {h}; width and height must be positive')
            cam = {key: (value.copy() if isinstance(value, np.ndarray) else value) for key, value in template.items()}
            cam.update({'id': video, 'res_w': w, 'res_h': h})
            self._cameras[video] = [cam]
            self._data[video] = {CUSTOM_ACTION: {'cameras': [cam]}}


def load_custom_keypoints(path_2d, dataset, subjects=None):
    """Keypoints of a custom 2D file in the Human3.6M-17 layout, normalised per video.

    COCO-layout files are converted with `common.data.layouts.coco_to_h36m`; files whose
    ``layout_name`` is ``'h36m'`` are used as they are. Returns `Keypoints2D` with
    ``positions[video]['custom'] = [(N, 17, 2) float32]``, Human3.6M left/right joints and layout
    ``'h36m'``.
    """
    positions, metadata = _load(path_2d)
    layout = metadata.get('layout_name')
    if layout not in ('coco', 'h36m'):
        raise UserError(f'{path_2d}: metadata layout_name is {layout!r}; custom files must be "coco" (COCO-17 '
                        f'detector keypoints) or "h36m" (Human3.6M-17 order). {_HINT}')
    subjects = dataset.subjects() if subjects is None else subjects
    result = {}
    for video in subjects:
        if video not in dataset:
            raise UserError(f'{path_2d}: video {video!r} is not in the custom dataset '
                            f'(it has: {", ".join(dataset.subjects())})')
        if video not in positions:
            raise UserError(f'{path_2d}: no video {video!r} (it has: {", ".join(sorted(positions))})')
        where = f'{path_2d}: video {video!r}'
        arrays = positions[video].get(CUSTOM_ACTION) if isinstance(positions[video], dict) else None
        if isinstance(arrays, np.ndarray) and arrays.dtype != object:
            arrays = [arrays]
        if arrays is None or len(arrays) != 1:
            raise UserError(f'{where}: expected {{"custom": [one (N, 17, 2) array]}}')
        kps = np.asarray(arrays[0])
        if kps.ndim != 3 or kps.shape[1] != 17 or kps.shape[2] not in (2, 3) or len(kps) == 0:
            raise UserError(f'{where}: keypoints shaped {kps.shape}, expected (N, 17, 2) with N > 0')
        if not np.all(np.isfinite(kps[..., :2])):
            raise UserError(f'{where}: keypoints contain NaN or infinite values; re-create the file with '
                            f'data/prepare_data_2d_custom.py (it fills missing detections)')
        kps = coco_to_h36m(kps) if layout == 'coco' else kps[..., :2]
        cam = dataset[video][CUSTOM_ACTION]['cameras'][0]
        normalised = normalize_screen_coordinates(kps.astype(np.float32), w=cam['res_w'], h=cam['res_h'])
        result[video] = {CUSTOM_ACTION: [normalised.astype(np.float32)]}
    return Keypoints2D(result, list(H36M_LEFT), list(H36M_RIGHT), 17, 'h36m')
