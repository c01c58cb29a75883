"""The person placed in the scene: the camera-frame pelvis per frame, from the 2D keypoints.

The lifter predicts root-relative poses X (N, J, 3), metres, camera frame (x right, y down, z away
from the camera). Where the person stands follows from the 2D keypoints u (N, J, 2), pixels,
through a pinhole camera: focal length ``f`` pixels, principal point at the picture's centre, no
distortion. `fit_trajectory` finds the pelvis positions T (N, 3) minimising

    sum_t sum_j w_tj |project(X_tj + T_t) - u_tj|^2 / sigma_px^2        (w: detector confidences)
  + sum_t |T_{t+1} - 2 T_t + T_{t-1}|^2 / sigma_a^2                       (temporal consistency)

sigma_px, the keypoints' noise, is `KEYPOINT_NOISE` of the picture's diagonal; sigma_a, how much
the pelvis may accelerate, is `PELVIS_ACCELERATION` m/s^2 (walking moves the pelvis by 1-3 m/s^2),
i.e. sigma_a = PELVIS_ACCELERATION / fps^2 metres per frame^2. A steady walk costs nothing; what
the picture does not decide follows the motion around it. Sideways the 2D decides within a pixel;
the depth is known only through the person's size in the picture (a pose X of its size seen at
that distance), so it leans on the temporal term more. Each frame's reprojection is linear in T
once multiplied by the joint's depth, so the fit is a few rounds (depths of the previous round) of
a linear least-squares problem with that constant-velocity prior, solved exactly by a Kalman
filter and Rauch-Tung-Striebel smoother over the frames.

Default focal length (`default_focal_length`): the picture's diagonal in pixels, a field of view of
53 degrees across the diagonal, as CLIFF (Li et al., ECCV 2022) assumes for pictures of unknown
camera; pass the real one when known (a phone's main camera is often 60-70 degrees across the
diagonal, i.e. 0.7-0.9 times the diagonal).
"""
import numpy as np

from common.errors import UserError

KEYPOINT_NOISE = 0.005          # fraction of the picture's diagonal
PELVIS_ACCELERATION = 2.0       # m/s^2
ROUNDS = 3


def default_focal_length(width, height):
    """The focal length, in pixels, assumed when none is given: the picture's diagonal (see the module)."""
    return float(np.hypot(width, height))


def check_focal_length(value, setting='focal_length'):
    """A focal length in pixels as a positive float; UserError otherwise."""
    try:
        focal = float(value)
    except (TypeError, ValueError):
        focal = float('nan')
    if not np.isfinite(focal) or focal <= 0:
        raise UserError(f'{value}: the focal length must be a positive number of pixels (e.g. the picture\'s '
                        'width for a 53-degree lens)', setting=setting)
    return focal


def project(points, focal, centre):
    """(..., 3) camera-frame metres -> (..., 2) pixels through the pinhole (`focal` px, `centre` (cx, cy) px)."""
    points = np.asarray(points, dtype=np.float64)
    return focal * points[..., :2] / points[..., 2:3] + np.asarray(centre, dtype=np.float64)


def fit_trajectory(poses, keypoints, weights, focal, centre, fps, noise_px, acceleration=PELVIS_ACCELERATION):
    """Camera-frame pelvis per frame (see the module).

    poses: (N, J, 3) root-relative metres (joint 0 at the origin); keypoints: (N, J, 2) pixels of
    the same joints; weights: (N, J) confidences in [0, 1]; focal: pixels; centre: (cx, cy) pixels;
    fps: frames per second; noise_px: the keypoints' noise in pixels (`keypoint_noise`);
    acceleration: m/s^2 (None: no temporal term). Returns (N, 3) float64 metres. Frames whose
    joints all have weight 0 follow their neighbours. A frame the fit would put behind the camera (a
    pose that the 2D cannot explain) is placed by the pose's size instead, at the keypoints' centre.
    """
    poses = np.asarray(poses, dtype=np.float64)
    u = np.asarray(keypoints, dtype=np.float64) - np.asarray(centre, dtype=np.float64)      # (N, J, 2)
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), 0.0, None) / noise_px ** 2
    size_depth = _depth_from_size(poses, u, w, focal)                                         # (N,) > 0
    depth = size_depth
    sigma = acceleration / fps ** 2 if (acceleration and fps) else None
    for _ in range(ROUNDS):
        joint_depth = np.maximum(depth[:, None] + poses[..., 2], 0.1 * size_depth[:, None])  # (N, J)
        a, b = _normal_equations(poses, u, w / joint_depth ** 2, focal)
        trajectory = _smooth_constant_velocity(a, b, sigma)
        depth = np.maximum(trajectory[:, 2], 0.1 * size_depth)
    behind = trajectory[:, 2] <= 0          # a pose the 2D cannot explain (e.g. an untrained model's): by size
    if behind.any():
        root_pixels = (u * w[..., None]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)[:, None]
        trajectory[behind, 2] = size_depth[behind]
        trajectory[behind, :2] = root_pixels[behind] * size_depth[behind, None] / focal
    return trajectory


def keypoint_noise(width, height):
    """The keypoints' assumed noise in pixels for a picture of that size (`KEYPOINT_NOISE` of its diagonal)."""
    return KEYPOINT_NOISE * float(np.hypot(width, height))


def _depth_from_size(poses, u, w, focal):
    """A first depth per frame: focal * (3D spread across the picture) / (2D spread), both weighted."""
    weight = w + 1e-9
    total = weight.sum(axis=1, keepdims=True)

    def spread(points):
        centre = (points * weight[..., None]).sum(axis=1, keepdims=True) / total[..., None]
        squared = ((points - centre) ** 2).sum(axis=-1)
        return np.sqrt((squared * weight).sum(axis=1) / total[:, 0])
    depth = focal * spread(poses[..., :2]) / np.maximum(spread(u), 1e-6)
    good = np.isfinite(depth) & (depth > 0)
    fallback = np.median(depth[good]) if good.any() else 3.0
    return np.where(good, depth, fallback)


def _normal_equations(poses, u, w, focal):
    """Per frame the 3x3 normal matrix and 3-vector of the linearised reprojection (see the module)."""
    n, joints = poses.shape[:2]
    rows = np.zeros((n, joints, 2, 3))
    rows[..., 0, 0] = focal
    rows[..., 0, 2] = -u[..., 0]
    rows[..., 1, 1] = focal
    rows[..., 1, 2] = -u[..., 1]
    rhs = np.stack([u[..., 0] * poses[..., 2] - focal * poses[..., 0],
                    u[..., 1] * poses[..., 2] - focal * poses[..., 1]], axis=-1)                # (N, J, 2)
    a = np.einsum('nj,njki,njkl->nil', w, rows, rows)
    b = np.einsum('nj,njki,njk->ni', w, rows, rhs)
    return a, b


def _smooth_constant_velocity(a, b, sigma):
    """argmin_T sum_t (T_t'a_t T_t - 2 b_t'T_t) + sum_t |second difference of T|^2 / sigma^2.

    a: (N, 3, 3) information, b: (N, 3); sigma: metres per frame^2, or None (each frame alone, a
    tiny ridge where a frame has no information). A constant-velocity Kalman filter (state: position,
    velocity; white acceleration noise of variance sigma^2 per frame) and its RTS smoother.
    """
    n = len(a)
    if sigma is None:
        return np.linalg.solve(a + 1e-9 * np.eye(3), b[..., None])[..., 0]
    eye, zero = np.eye(3), np.zeros((3, 3))
    step = np.block([[eye, eye], [zero, eye]])                                      # position += velocity
    noise = sigma ** 2 * np.block([[eye / 4, eye / 2], [eye / 2, eye]])           # acceleration a: p += a/2, v += a
    noise += 1e-12 * np.eye(6)
    state, cov = np.zeros(6), np.diag([1e4] * 3 + [1e2] * 3)                       # broad start
    filtered, filtered_cov = np.empty((n, 6)), np.empty((n, 6, 6))
    predicted, predicted_cov = np.empty((n, 6)), np.empty((n, 6, 6))
    for t in range(n):
        if t:
            state, cov = step @ state, step @ cov @ step.T + noise
        predicted[t], predicted_cov[t] = state, cov
        information = np.linalg.inv(cov)
        information[:3, :3] += a[t]
        cov = np.linalg.inv(information)
        state = cov @ (np.linalg.solve(predicted_cov[t], predicted[t]) + np.concatenate([b[t], np.zeros(3)]))
        filtered[t], filtered_cov[t] = state, cov
    smoothed = filtered.copy()
    for t in range(n - 2, -1, -1):
        gain = filtered_cov[t] @ step.T @ np.linalg.inv(predicted_cov[t + 1])
        smoothed[t] = filtered[t] + gain @ (smoothed[t + 1] - predicted[t + 1])
    return smoothed[:, :3]
