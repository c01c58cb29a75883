"""Human3.6M 3D ground truth from ``data_3d_h36m.npz`` (or a file in the same layout).

Layout: key ``positions_3d`` -> ``{subject: {action: float32 (N, 32, 3)}}`` world metres, 50 fps.
The 32 mocap joints are reduced to the 17-joint skeleton on load (see `common.data.skeleton`).
"""
import numpy as np

from common.data.camera import load_h36m_cameras
from common.errors import UserError
from common.data.mocap import MocapDataset
from common.io.npz import load_npz
from common.data.skeleton import H36M_REMOVED_JOINTS, h36m_skeleton_32

H36M_FPS = 50
TRAIN_SUBJECTS = ['S1', 'S5', 'S6', 'S7', 'S8']
TEST_SUBJECTS = ['S9', 'S11']


class Human36mDataset(MocapDataset):
    def __init__(self, path, remove_static_joints=True, cameras=None):
        super().__init__(fps=H36M_FPS, skeleton=h36m_skeleton_32())
        cameras = load_h36m_cameras() if cameras is None else cameras
        positions = load_npz(path, required_keys=['positions_3d'])['positions_3d']
        if not isinstance(positions, dict):
            raise UserError(f'{path}: positions_3d should hold a dict {{subject: {{action: (N, 32, 3)}}}}, '
                            f'found {type(positions).__name__}')
        for subject, actions in positions.items():
            if subject not in cameras:
                raise UserError(f'{path}: subject {subject!r} has no camera calibration '
                                f'(known: {", ".join(cameras)})')
            if not isinstance(actions, dict):
                raise UserError(f'{path}: positions_3d[{subject!r}] should be a dict of actions')
            self._cameras[subject] = cameras[subject]
            self._data[subject] = {}
            for action, pos in actions.items():
                pos = np.asarray(pos)
                if pos.ndim != 3 or pos.shape[1:] != (32, 3):
                    raise UserError(f'{path}: {subject} / {action!r} has shape {pos.shape}, expected (N, 32, 3) '
                                    f'world positions in metres')
                self._data[subject][action] = {'positions': pos.astype(np.float32),
                                               'cameras': cameras[subject]}
        if remove_static_joints:
            self.remove_joints(H36M_REMOVED_JOINTS)
            # In the mocap tree the shoulders hang off removed duplicates of the spine joint; the
            # 17-joint convention attaches them to the thorax (joint 8).
            self._skeleton.set_parent(11, 8)
            self._skeleton.set_parent(14, 8)
