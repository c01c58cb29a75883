"""MPI-INF-3DHP test metrics: MPJPE, PCK (150 mm) and AUC, in numpy.

What the official evaluation does (the MATLAB ``test_util`` shipped with the test set, as copied into
the P-STMO / PoseFormerV2 repositories: ``mpii_test_predictions_py.m``, ``mpii_evaluate_errors.m``,
``mpii_compute_3d_pck.m``) and what we do:

- Ground truth and prediction are root-relative: every joint minus the pelvis (joint 14), so the
  pelvis itself is (0, 0, 0). **Inputs here must already be root-relative** (`evaluate_3dhp` does it
  for you from our `Sequence` convention). Errors are per-joint Euclidean distances in mm.
- Only frames whose ``valid_frame`` flag is set are scored; all valid frames of TS1-TS6 are pooled
  (the "All" row), so sequences weigh by their number of valid frames. Pass a ``valid`` mask (or
  concatenate sequences) accordingly; invalid frames never influence a number.
- PCK: the share of (frame, joint) errors **strictly below** the threshold (MATLAB ``error < t``),
  times 100. AUC: the mean of PCK over the 31 thresholds 0, 5, ..., 150 mm, times 100. Because the
  comparison is strict, a perfect prediction scores PCK(0 mm) = 0 and AUC = 30/31 * 100 = 96.77,
  exactly as the official script would; the difference to a ``<=`` convention only shows for errors
  lying exactly on a threshold (in practice: the pelvis, whose error is always exactly 0).
- Joint set: the original evaluator's joint groups cover **all 17 joints** (head = {head-top, head},
  spine, hip = {r-hip, l-hip, pelvis}, ...); that is our default. Some later repositories (P-STMO,
  PoseFormerV2) comment out head, spine and pelvis and score only the 14 joints 0-13: pass
  ``joints=JOINTS_14`` for that variant. MPJPE is averaged over all 17 joints in both (pelvis error 0
  included), as in the official per-joint table.

Units: the functions work in whatever unit the inputs are in, but the thresholds are millimetres, so
give positions in mm (``evaluate_3dhp`` converts from metres).
"""
import numpy as np

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 151.0, 5.0)  # 0, 5, ..., 150: 31 thresholds
ALL_JOINTS = tuple(range(17))
JOINTS_14 = tuple(range(14))  # head-top .. l-ankle: the P-STMO variant without pelvis, spine, head
ROOT = 14


def _as_frames(x):
    """Array (N, J, 3) from an array or a list of per-sequence arrays (concatenated)."""
    if isinstance(x, (list, tuple)):
        x = np.concatenate([np.asarray(a, dtype=np.float64) for a in x], axis=0)
    return np.asarray(x, dtype=np.float64)


def _check_pair(pred, target):
    if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f'pred {pred.shape} and target {target.shape} must both be (N, J, 3)')
    return pred, target


def _as_mask(valid, n_frames):
    if valid is None:
        return np.ones(n_frames, dtype=bool)
    if isinstance(valid, (list, tuple)):
        valid = np.concatenate([np.asarray(v).reshape(-1) for v in valid])
    valid = np.asarray(valid).reshape(-1)
    if len(valid) != n_frames:
        raise ValueError(f'valid mask has {len(valid)} entries for {n_frames} frames')
    return valid.astype(bool)


def joint_errors(pred, target, valid=None, joints=None):
    """Per-(frame, joint) Euclidean errors (M, J') over the valid frames and the selected joints.

    pred, target: (N, J, 3) arrays (or lists of per-sequence arrays, concatenated); valid: (N,) 0/1
    or bool, None = all frames; joints: indices to score, None = all.
    """
    pred, target = _check_pair(_as_frames(pred), _as_frames(target))
    mask = _as_mask(valid, len(pred))
    if not mask.any():
        raise ValueError('no valid frames to evaluate')
    errors = np.linalg.norm(pred[mask] - target[mask], axis=-1)
    if joints is not None:
        errors = errors[:, list(joints)]
    return errors


def mpjpe_3dhp(pred, target, valid=None, joints=None):
    """Mean per-joint position error over valid frames (same unit as the inputs)."""
    return float(joint_errors(pred, target, valid, joints).mean())


def pck(pred, target, valid=None, threshold=PCK_THRESHOLD_MM, joints=None):
    """Percentage (0-100) of (valid frame, joint) errors strictly below `threshold` (mm)."""
    return float((joint_errors(pred, target, valid, joints) < threshold).mean() * 100)


def auc(pred, target, valid=None, joints=None, thresholds=AUC_THRESHOLDS_MM):
    """Area under the PCK curve: mean of PCK over `thresholds` (default 0, 5, ..., 150 mm), 0-100."""
    errors = joint_errors(pred, target, valid, joints)
    return float(np.mean([(errors < t).mean() for t in thresholds]) * 100)


def evaluate_3dhp(pred, target, valid=None, root=ROOT, joints=None, scale=1000.0):
    """All three numbers the paper reports, from predictions in our program's convention.

    pred, target: (N, 17, 3) in metres (or lists of per-sequence arrays). The root slot is set to 0 in
    copies of both (a `Sequence` keeps the trajectory there; the model's output keeps 0 there), so
    other joints must already be relative to the root. ``scale`` converts to mm (1000 for metres).
    ``joints`` selects the PCK / AUC joint set (default all 17; see the module docstring); MPJPE always
    uses all joints. Returns ``{'mpjpe': mm, 'pck': %, 'auc': %, 'frames': number of valid frames}``.
    """
    pred, target = _check_pair(_as_frames(pred) * scale, _as_frames(target) * scale)
    pred[:, root] = 0
    target[:, root] = 0
    mask = _as_mask(valid, len(pred))
    return {'mpjpe': mpjpe_3dhp(pred, target, mask),
            'pck': pck(pred, target, mask, joints=joints),
            'auc': auc(pred, target, mask, joints=joints),
            'frames': int(mask.sum())}
