"""Checks every loader applies to the arrays it reads from a data file.

One non-finite value (NaN or infinity) in the 2D input or the 3D target silently turns a training
run into NaN weights and an evaluation into an SVD failure, so loaders reject such data at load
time, naming where it is (file, subject, action, camera) and the first bad frame and joint.
"""
import numpy as np

from common.errors import UserError
from common.io.npz import load_npz


def require_finite(array, where, fix='correct or re-create the file'):
    """Raise `UserError` unless every value of `array` (N, J, C) is finite.

    ``where``: what the array is, for the message, e.g. ``"data_2d_h36m_gt.npz: S1 / 'Walking' camera 2"``;
    ``fix``: how to repair it.
    """
    finite = np.isfinite(array)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    frame, joint = (int(i) for i in bad[0][:2])
    value = array[tuple(bad[0])]
    raise UserError(f'{where}: {len(bad)} non-finite value(s) (NaN or infinity), the first {value} at frame '
                    f'{frame}, joint {joint}; {fix}')


def load_positions_3d(path, num_joints, skeleton, fix):
    """``{subject: {action: float32 (N, num_joints, 3)}}`` world metres: the ``positions_3d`` of a 3D file, checked.

    Every sequence must be (N, `num_joints`, 3) with N >= 1 and finite. ``skeleton``: its name, for messages;
    ``fix``: how to repair a file with non-finite values.
    """
    stored = load_npz(path, required_keys=['positions_3d'])['positions_3d']
    expected = f'(N, {num_joints}, 3)'
    if not isinstance(stored, dict) or not all(isinstance(actions, dict) for actions in stored.values()):
        raise UserError(f'{path}: positions_3d should hold a dict {{subject: {{action: {expected}}}}}')
    positions = {}
    for subject, actions in stored.items():
        positions[subject] = {}
        for action, pos in actions.items():
            pos = np.asarray(pos)
            if pos.ndim != 3 or pos.shape[1:] != (num_joints, 3):
                raise UserError(f'{path}: {subject} / {action!r} has shape {pos.shape}, expected {expected} world '
                                f'positions in metres of the {skeleton} skeleton')
            if len(pos) == 0:
                raise UserError(f'{path}: {subject} / {action!r} has 0 frames (shape {pos.shape}): a sequence needs '
                                'at least one frame; remove it from the file or re-create the file')
            require_finite(pos, f'{path}: {subject} / {action!r} (3D, every camera)', fix)
            positions[subject][action] = pos.astype(np.float32)
    return positions
