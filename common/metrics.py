"""Pose errors, each defined once: MPJPE (protocol #1), P-MPJPE (#2), N-MPJPE (#3), velocity error
(MPJVE), acceleration error (MPJAE, "Accel" of HMMR / VIBE), jitter, and MPI-INF-3DHP's PCK and AUC.

Poses are arrays whose last two axes are ``(J, 3)``: joints and xyz, root-relative (see
`common.data.types.zero_root`). The distance metrics return the units that went in (metres inside
the program; `MM_PER_M` converts for reports); PCK / AUC take metres and return percentages.

* torch, differentiable (the training loss): ``mpjpe``.
* numpy (evaluation), one value per frame so that evaluation can weight frames across sequences and
  drop invalid ones: ``*_per_frame`` take ``(N, J, 3)`` and return ``(N,)`` (velocity: ``(N-1,)``,
  acceleration and jitter: ``(N-2,)``). ``mean_velocity_error`` / ``mean_acceleration_error`` are
  the per-sequence MPJVE / MPJAE. Velocities and accelerations are per frame (differences of
  consecutive poses), so reports give mm/frame and mm/frame^2. They also accept torch tensors.

PCK / AUC follow the official MPI-INF-3DHP evaluator (MATLAB ``mpii_compute_3d_pck.m``): the share
of joint errors **strictly below** a threshold, times 100; AUC is the mean PCK over the 31 thresholds
0, 5, ..., 150 mm. Because the comparison is strict, a perfect pose scores PCK(0 mm) = 0 and AUC =
30/31 * 100 = 96.77, as the official script would. All 17 joints are scored (the original
evaluator's joint groups cover them all).
"""

import numpy as np
import torch

__all__ = [
    "MM_PER_M", "joint_errors_mm", "mpjpe", "mean_velocity_error", "mpjpe_per_frame", "n_mpjpe_per_frame",
    "p_mpjpe_per_frame", "velocity_error_per_frame", "acceleration_error_per_frame",
    "mean_acceleration_error", "jitter_per_frame", "pck_per_frame", "auc_per_frame", "PER_FRAME_METRICS",
]

MM_PER_M = 1000            # metres inside the program, millimetres in reports
PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 151.0, 5.0)   # 0, 5, ..., 150: 31 thresholds


def _check_shapes(pred, target, name):
    if tuple(pred.shape) != tuple(target.shape):
        raise ValueError(f"{name}: prediction shape {tuple(pred.shape)} differs from target "
                         f"shape {tuple(target.shape)}")
    if len(pred.shape) < 2:
        raise ValueError(f"{name}: expected poses (..., J, 3), got shape {tuple(pred.shape)}")


def _as_numpy(a):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# torch

def mpjpe(pred, target):
    """Mean per-joint position error: mean Euclidean distance over the last axis.

    Args: ``pred``, ``target``: tensors ``(..., J, 3)`` of equal shape (e.g. ``(B, 1, J, 3)``).
    Returns: scalar tensor, mean over all joints and all leading axes.
    """
    _check_shapes(pred, target, "mpjpe")
    return torch.linalg.vector_norm(pred - target, dim=-1).mean()


# ---------------------------------------------------------------------------------------------
# numpy

def mpjpe_per_frame(pred, target):
    """MPJPE per pose: ``(N, J, 3)`` (or any ``(..., J, 3)``) -> ``(N,)`` mean over joints."""
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "mpjpe_per_frame")
    return np.linalg.norm(pred - target, axis=-1).reshape(-1, pred.shape[-2]).mean(axis=1)


def n_mpjpe_per_frame(pred, target):
    """N-MPJPE per pose (see ``n_mpjpe``): ``(N, J, 3)`` -> ``(N,)``."""
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "n_mpjpe_per_frame")
    scale = (target * pred).sum(axis=(-2, -1), keepdims=True) / \
        (pred * pred).sum(axis=(-2, -1), keepdims=True)
    return mpjpe_per_frame(scale * pred, target)


def p_mpjpe_per_frame(pred, target):
    """MPJPE after rigid alignment with scale (Procrustes) of each predicted pose to its target.

    Per pose, find the scale ``a``, rotation ``R`` (a proper rotation: ``det(R) = +1``, so a
    mirrored prediction is not undone) and translation ``t`` minimising
    ``|| a * pred @ R + t - target ||``, then take the MPJPE of the aligned pose.

    Args: ``pred``, ``target``: ``(N, J, 3)`` (or any ``(..., J, 3)``), numpy or torch.
    Returns: ``(N,)`` float64 errors, one per pose.
    """
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "p_mpjpe_per_frame")
    joints, dims = pred.shape[-2:]
    y = pred.reshape(-1, joints, dims)     # aligned onto x
    x = target.reshape(-1, joints, dims)

    mu_x = x.mean(axis=1, keepdims=True)
    mu_y = y.mean(axis=1, keepdims=True)
    x0, y0 = x - mu_x, y - mu_y
    # Frobenius norms; a degenerate (all joints equal) pose is left unscaled instead of NaN
    norm_x = np.maximum(np.sqrt((x0 ** 2).sum(axis=(1, 2), keepdims=True)), 1e-12)
    norm_y = np.maximum(np.sqrt((y0 ** 2).sum(axis=(1, 2), keepdims=True)), 1e-12)
    x0, y0 = x0 / norm_x, y0 / norm_y

    # maximise trace(R^T H) with H = x0^T y0 = U S V^T: R = V U^T, row-vector convention y0 @ R
    h = np.matmul(x0.transpose(0, 2, 1), y0)
    u, s, vt = np.linalg.svd(h)
    v = vt.transpose(0, 2, 1)
    r = np.matmul(v, u.transpose(0, 2, 1))
    # enforce det(R) = +1: flip the axis of the smallest singular value where needed
    sign = np.sign(np.linalg.det(r))
    sign[sign == 0] = 1.0
    v[:, :, -1] *= sign[:, None]
    s[:, -1] *= sign
    r = np.matmul(v, u.transpose(0, 2, 1))

    trace = s.sum(axis=1)[:, None, None]
    a = trace * norm_x / norm_y
    t = mu_x - a * np.matmul(mu_y, r)
    aligned = a * np.matmul(y, r) + t
    return np.linalg.norm(aligned - x, axis=-1).mean(axis=1)


def velocity_error_per_frame(pred, target):
    """Error of the first time derivative: ``(N, J, 3)`` -> ``(N-1,)``, mean over joints.

    Velocities are differences of consecutive poses along axis 0 (per frame, not per second).
    """
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "velocity_error_per_frame")
    diff = np.diff(pred, axis=0) - np.diff(target, axis=0)
    return np.linalg.norm(diff, axis=-1).reshape(diff.shape[0], -1).mean(axis=1)


def mean_velocity_error(pred, target):
    """MPJVE: mean norm of the difference of velocities along axis 0 (numpy float)."""
    return float(velocity_error_per_frame(pred, target).mean())


def acceleration_error_per_frame(pred, target):
    """Error of the second time derivative: ``(N, J, 3)`` -> ``(N-2,)``, mean over joints.

    Accelerations are second differences of consecutive poses along axis 0 (``x[t+1] - 2 x[t] + x[t-1]``,
    per frame squared, not per second squared), compared joint by joint.
    """
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "acceleration_error_per_frame")
    diff = np.diff(pred, n=2, axis=0) - np.diff(target, n=2, axis=0)
    return np.linalg.norm(diff, axis=-1).reshape(diff.shape[0], -1).mean(axis=1)


def mean_acceleration_error(pred, target):
    """MPJAE ("Accel"): mean norm of the difference of accelerations along axis 0 (numpy float)."""
    return float(acceleration_error_per_frame(pred, target).mean())


def jitter_per_frame(poses):
    """How much poses shake: ``(N, J, 3)`` -> ``(N-2,)`` the mean norm of each joint's acceleration (per frame^2)."""
    poses = _as_numpy(poses)
    accel = np.diff(poses, n=2, axis=0)
    return np.linalg.norm(accel, axis=-1).reshape(accel.shape[0], -1).mean(axis=1)


def joint_errors_mm(pred, target):
    """Per-(frame, joint) Euclidean errors in mm, (N, J), from poses in metres."""
    pred, target = _as_numpy(pred), _as_numpy(target)
    _check_shapes(pred, target, "joint errors")
    return np.linalg.norm(pred - target, axis=-1).reshape(-1, pred.shape[-2]) * MM_PER_M


def pck_per_frame(pred, target, threshold_mm=PCK_THRESHOLD_MM):
    """Percentage of joints whose error is strictly below `threshold_mm`, per frame: (N, J, 3) m -> (N,) %."""
    return (joint_errors_mm(pred, target) < threshold_mm).mean(axis=-1) * 100


def auc_per_frame(pred, target, thresholds_mm=AUC_THRESHOLDS_MM):
    """Mean over `thresholds_mm` of the PCK, per frame: (N, J, 3) m -> (N,) %."""
    errors = joint_errors_mm(pred, target)
    return np.mean([(errors < t).mean(axis=-1) for t in thresholds_mm], axis=0) * 100


# metric -> per-frame function of (predicted, target) in metres, returning report units (mm or %).
# MPJVE is a property of a whole sequence (it needs neighbouring frames): see mean_velocity_error.
PER_FRAME_METRICS = {
    'mpjpe': lambda p, t: mpjpe_per_frame(p, t) * MM_PER_M,
    'p_mpjpe': lambda p, t: p_mpjpe_per_frame(p, t) * MM_PER_M,
    'n_mpjpe': lambda p, t: n_mpjpe_per_frame(p, t) * MM_PER_M,
    'pck': pck_per_frame,
    'auc': auc_per_frame,
}
