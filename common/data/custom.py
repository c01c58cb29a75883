"""In-the-wild videos (dataset ``custom``): 2D keypoints only, no 3D ground truth.

The 2D file is ``data_2d_custom_<name>.npz`` as written by ``data/prepare_data_2d_custom.py``:
``positions_2d`` -> ``{video: {'custom': [(N, 17, 2) pixels]}}`` and ``metadata`` with
``layout_name`` (``'coco'`` or ``'h36m'``), ``num_joints`` 17, ``keypoints_symmetry`` and
``video_metadata`` -> ``{video: {'w', 'h'}}``, plus ``'fps'`` (frames per second) where the
preparation step knew the video's frame rate.

Each video is a subject with a single action ``'custom'`` seen by one camera (camera 0); its
`Sequence` has no 3D (``poses_3d is None``) and its keypoints are converted to `H36M_17`, the
layout the model expects. The camera is made up: the video's resolution with Human3.6M camera 0's
intrinsics and S1's extrinsics for that camera, so that predictions can be drawn in a plausible
world frame; nothing is measured.

Frame rate (the official code takes it from the video): the rate recorded in the file for the
selected videos (their most common one; each camera dict carries its video's ``fps`` when
recorded), else `DEFAULT_FPS` with ``DataBundle.fps_known`` False, so that a renderer can take the
rate of the video it draws on instead.
"""
import dataclasses
import math
from collections import Counter

import numpy as np

from common.data.camera import load_h36m_cameras, normalize_screen_coordinates
from common.data.keypoints_2d import keypoint_layout, keypoints_metadata, keypoints_path
from common.data.layouts import COCO_17, H36M_17, coco_to_h36m
from common.data.selection import require_subjects
from common.data.types import DataBundle, EvaluationProtocol, Sequence
from common.errors import UserError
from common.io.npz import load_npz, save_npz

CUSTOM_ACTION = 'custom'
DEFAULT_FPS = 50
HINT = 'Create it with data/prepare_data_2d_custom.py (see data/README.md).'
# Keypoints (N, 17, 2 or 3) in a file's layout -> (N, 17, 2) in H36M_17.
_TO_H36M = {COCO_17.name: coco_to_h36m, H36M_17.name: lambda kps: kps[..., :2]}


def load_custom(config):
    """The `DataBundle` of ``<data_dir>/data_2d_custom_<keypoints>.npz``: test sequences only.

    `config`: a `common.data.sources.DataConfig`. The videos are ``config.only_subject`` when given,
    else ``config.subjects_test`` (default: all, in file order); ``actions`` and ``downsample`` apply.
    """
    if config.need_train:
        raise UserError(f'{config.dataset}: 2D keypoints without 3D ground truth, nothing to train on; evaluate or '
                        f'render a trained checkpoint instead (e.g. a released one or one trained on Human3.6M)',
                        setting='dataset')
    path = keypoints_path(config.data_dir, 'custom', config.keypoints)
    positions, metadata = _read(path)
    cameras = video_cameras(path, positions, metadata)
    videos = tuple(positions)
    if config.only_subject:
        require_subjects([config.only_subject], videos, 'viz_subject', path)
        config = dataclasses.replace(config, subjects_test=(config.only_subject,))
    selection = config.selection((), videos)
    require_subjects(selection.subjects_test, videos, 'subjects_test', path)
    layout = keypoint_layout(path, metadata, default_name=None, hint=HINT)
    sequences = [Sequence(video, CUSTOM_ACTION, 0, _keypoints(path, video, positions[video], layout, cameras[video]),
                          None, cameras[video]) for video in dict.fromkeys(selection.subjects_test)]
    test = selection.testing(sequences)
    recorded = [seq.cam['fps'] for seq in test if 'fps' in seq.cam]
    fps = Counter(recorded).most_common(1)[0][0] if recorded else DEFAULT_FPS
    return DataBundle(name=config.dataset, train=[], test=test, joints=H36M_17, keypoints=H36M_17,
                      fps=fps / selection.downsample, protocol=EvaluationProtocol(root=H36M_17.root),
                      fps_known=bool(recorded))


def write_custom(path, videos):
    """Write a ``custom`` dataset file (atomically): videos ``{name: (positions (N, 17, 2) COCO-17 pixels, w, h,
    fps or None)}``; the one writer of data/prepare_data_2d_custom.py and tools/video_to_3d.py. Returns `path`."""
    positions = {name: {CUSTOM_ACTION: [np.asarray(pos, dtype=np.float32)]} for name, (pos, *_) in videos.items()}
    metadata = keypoints_metadata(COCO_17)
    metadata['video_metadata'] = {name: {'w': int(w), 'h': int(h), **({} if fps is None else {'fps': float(fps)})}
                                  for name, (_, w, h, fps) in videos.items()}
    save_npz(path, positions_2d=positions, metadata=metadata)
    return path


def _read(path):
    data = load_npz(path, required_keys=['positions_2d', 'metadata'], hint=HINT)
    positions, metadata = data['positions_2d'], data['metadata']
    if not isinstance(positions, dict) or not positions:
        raise UserError(f'{path}: positions_2d should be a non-empty dict {{video: {{"custom": [array]}}}}')
    if not isinstance(metadata, dict) or not isinstance(metadata.get('video_metadata'), dict):
        raise UserError(f'{path}: metadata has no video_metadata {{video: {{"w", "h"}}}}; is it a custom 2D '
                        f'file? {HINT}')
    return positions, metadata


def video_cameras(path, positions, metadata):
    """``{video: camera dict}``: Human3.6M S1 camera 0 with each video's resolution and name as ``id``
    (and its frame rate as ``fps`` when the file records one)."""
    template = load_h36m_cameras()['S1'][0]
    cameras = {}
    for video in positions:
        size = metadata['video_metadata'].get(video)
        if not isinstance(size, dict) or 'w' not in size or 'h' not in size:
            raise UserError(f'{path}: video {video!r} has no size in metadata["video_metadata"]')
        try:
            w, h = int(size['w']), int(size['h'])
        except (TypeError, ValueError):
            raise UserError(f'{path}: video {video!r} size is not integer: {size}') from None
        if w <= 0 or h <= 0:
            raise UserError(f'{path}: video {video!r} has size {w} x {h}; width and height must be positive')
        cam = {key: (value.copy() if isinstance(value, np.ndarray) else value) for key, value in template.items()}
        cam.update({'id': video, 'res_w': w, 'res_h': h})
        if size.get('fps') is not None:
            cam['fps'] = _recorded_fps(path, video, size['fps'])
        cameras[video] = cam
    return cameras


def _recorded_fps(path, video, value):
    """A video's recorded frame rate as a positive float; `UserError` naming the file otherwise."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = math.nan
    if not (math.isfinite(fps) and fps > 0):
        raise UserError(f'{path}: video {video!r} has frame rate {value!r} in metadata["video_metadata"]; it must '
                        f'be a positive number of frames per second. {HINT}')
    return fps


def _keypoints(path, video, entry, layout, cam):
    """One video's keypoints -> (N, 17, 2) float32 in `H36M_17`, normalised by the video's size."""
    where = f'{path}: video {video!r}'
    arrays = entry.get(CUSTOM_ACTION) if isinstance(entry, dict) else None
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
    kps = _TO_H36M[layout.name](kps)
    return normalize_screen_coordinates(kps.astype(np.float32), w=cam['res_w'], h=cam['res_h']).astype(np.float32)
