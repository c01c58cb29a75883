"""Camera geometry: screen normalisation, world <-> camera transforms, projection with distortion.

Conventions:
- 3D in metres. Camera orientation is a unit quaternion (w, x, y, z) rotating camera-frame vectors
  into the world frame; translation is the camera centre in world metres.
- 2D "normalised screen coordinates": pixel x in [0, w] maps to [-1, 1], y keeps the aspect ratio
  (``X / w * 2 - [1, h / w]``).
- The 9-vector of intrinsics: ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` with focal length and
  centre already in normalised screen units.

Every function takes numpy arrays or torch tensors; numpy in gives numpy out.
"""
import json
from pathlib import Path

import numpy as np
import torch

from common.data.quaternion import qinverse, qrot
from common.metrics import MM_PER_M

CAMERA_FILE = Path(__file__).resolve().parents[1] / 'resources' / 'h36m_cameras.json'


def normalize_screen_coordinates(X, w, h):
    """Pixels (..., 2) -> normalised screen coordinates; [0, w] maps to [-1, 1]."""
    assert X.shape[-1] == 2
    return X / w * 2 - _like(X, [1, h / w])


def image_coordinates(X, w, h):
    """Inverse of `normalize_screen_coordinates`: normalised (..., 2) -> pixels."""
    assert X.shape[-1] == 2
    return (X + _like(X, [1, h / w])) * w / 2


def world_to_camera(X, R, t):
    """World positions (..., 3) -> camera frame, for camera orientation R (4,) and centre t (3,)."""
    return qrot(_tile_like(qinverse(_as(R, X)), X), X - _as(t, X))


def camera_to_world(X, R, t):
    """Camera-frame positions (..., 3) -> world frame."""
    return qrot(_tile_like(_as(R, X), X), X) + _as(t, X)


def project_to_2d(X, camera_params):
    """Perspective projection with Human3.6M radial (k1..k3) and tangential (p1, p2) distortion.

    X: camera-frame points (N, *, 3) in metres; camera_params: (N, 9) intrinsic vectors (or (9,)
    for all points). Returns normalised screen coordinates (N, *, 2). The normalised image-plane
    coordinates are clamped to [-1, 1] before distortion, as in the dataset's reference processing
    (points outside the ~90 degree field of view are not meaningful under this distortion model).
    """
    if isinstance(X, np.ndarray):
        return project_to_2d(torch.from_numpy(X), torch.as_tensor(camera_params)).numpy()
    f, c, k, p = _split_intrinsics(X, camera_params)
    XX = torch.clamp(X[..., :2] / X[..., 2:], min=-1, max=1)
    r2 = torch.sum(XX ** 2, dim=-1, keepdim=True)
    radial = 1 + torch.sum(k * torch.cat((r2, r2 ** 2, r2 ** 3), dim=-1), dim=-1, keepdim=True)
    tangential = torch.sum(p * XX, dim=-1, keepdim=True)
    XXX = XX * (radial + tangential) + p * r2
    return f * XXX + c


def project_world_to_pixels(positions_world, cam):
    """World positions (N, J, 3) metres -> pixels (N, J, 2) through camera dict `cam` (with distortion).

    This is how ground-truth 2D keypoint files are made (data preparation and the embedded dataset).
    """
    pos_cam = world_to_camera(positions_world.astype(np.float32), cam['orientation'], cam['translation'])
    pos_2d = project_to_2d(pos_cam, cam['intrinsic'])
    return image_coordinates(pos_2d, w=cam['res_w'], h=cam['res_h']).astype(np.float32)


def load_h36m_cameras(path=CAMERA_FILE):
    """The Human3.6M calibration of the 7 subjects with 3D poses (S1, S5, S6, S7, S8, S9, S11).

    Returns a dict ``{subject: [cam0, cam1, cam2, cam3]}``; each camera dict has ``id``, ``res_w``,
    ``res_h``, ``azimuth`` (degrees, for plots), ``center`` / ``focal_length`` (normalised screen
    units), ``radial_distortion`` (3), ``tangential_distortion`` (2), ``intrinsic`` (9,),
    ``orientation`` (4,) and ``translation`` (3,) in metres.
    """
    with open(path) as f:
        calib = json.load(f)
    cameras = {}
    for subject, extrinsics in calib['extrinsic'].items():
        cameras[subject] = [_make_camera(calib['intrinsic'][i], extr) for i, extr in enumerate(extrinsics)]
    return cameras


def _make_camera(intrinsic, extrinsic):
    cam = {'id': intrinsic['id'], 'res_w': int(intrinsic['res_w']), 'res_h': int(intrinsic['res_h']),
           'azimuth': float(intrinsic['azimuth'])}
    w, h = cam['res_w'], cam['res_h']
    cam['center'] = normalize_screen_coordinates(np.array(intrinsic['center'], dtype=np.float32), w, h).astype(np.float32)
    cam['focal_length'] = (np.array(intrinsic['focal_length'], dtype=np.float32) / w * 2).astype(np.float32)
    cam['radial_distortion'] = np.array(intrinsic['radial_distortion'], dtype=np.float32)
    cam['tangential_distortion'] = np.array(intrinsic['tangential_distortion'], dtype=np.float32)
    cam['intrinsic'] = np.concatenate((cam['focal_length'], cam['center'], cam['radial_distortion'],
                                       cam['tangential_distortion'])).astype(np.float32)
    cam['orientation'] = np.array(extrinsic['orientation'], dtype=np.float32)
    cam['translation'] = np.array(extrinsic['translation'], dtype=np.float32) / MM_PER_M  # stored in mm
    return cam


def _split_intrinsics(X, camera_params):
    params = torch.as_tensor(camera_params, dtype=X.dtype, device=X.device)
    if params.dim() == 1:
        params = params.expand(X.shape[0], 9)
    assert params.shape[-1] == 9 and params.shape[0] == X.shape[0]
    # Insert singleton axes so each row of params broadcasts over X's middle axes.
    params = params.reshape(params.shape[:1] + (1,) * (X.dim() - 2) + (9,))
    return params[..., :2], params[..., 2:4], params[..., 4:7], params[..., 7:]


def _like(X, values):
    if isinstance(X, torch.Tensor):
        return torch.tensor(values, dtype=X.dtype, device=X.device)
    return np.array(values, dtype=X.dtype)


def _as(value, X):
    if isinstance(X, torch.Tensor):
        return torch.as_tensor(value, dtype=X.dtype, device=X.device)
    return np.asarray(value, dtype=X.dtype)


def _tile_like(q, X):
    """Repeat one quaternion (4,) to X's leading shape (..., 4)."""
    if isinstance(X, torch.Tensor):
        return q.expand(X.shape[:-1] + (4,))
    return np.broadcast_to(q, X.shape[:-1] + (4,)).copy()
