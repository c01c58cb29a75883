"""Small Human3.6M-format files for tests, written exactly as the community files are laid out.

- ``data_3d_h36m.npz``: ``positions_3d`` -> {subject: {action: (N, 32, 3) float32 world metres}}.
- ``data_2d_h36m_gt.npz``: projected 17 joints per camera, metadata WITHOUT layout_name.
- ``data_2d_h36m_cpn_ft_h36m_dbb.npz``: noisy 2D, a few frames longer than the 3D, with an
  extra unlabelled subject (S2) and ``layout_name: 'h36m'``, like the CPN file.
"""
import numpy as np

from common.data.camera import load_h36m_cameras, project_world_to_pixels
from common.data.keypoints_2d import keypoints_metadata
from common.data.layouts import H36M_17, H36M_32_TO_17
from common.io.npz import save_npz

KEPT = list(H36M_32_TO_17)
DEFAULT_ACTIONS = ('Walking', 'Walking 1', 'Eating', 'Eating 2')


def make_motion(rng, frames):
    """A smooth (N, 32, 3) world motion in metres: a random rest pose swaying around the origin."""
    rest = np.zeros((32, 3))
    rest[:, 2] = np.linspace(0.1, 1.7, 32)          # spread over the body height
    rest[:, :2] = rng.normal(scale=0.15, size=(32, 2))
    t = np.arange(frames)[:, None, None] / 50.0
    phase = rng.uniform(0, 2 * np.pi, size=(1, 32, 3))
    motion = rest[None] + 0.05 * np.sin(2 * np.pi * 0.7 * t + phase)
    motion[:, :, :2] += 0.3 * np.sin(2 * np.pi * 0.1 * t[..., 0])[..., None]
    return motion.astype(np.float32)


def write_h36m_fixture(data_dir, subjects=('S1', 'S9'), actions=DEFAULT_ACTIONS, frames=60, extra_2d_frames=3,
                       seed=0):
    """Write the three files into data_dir; returns {'3d': positions, '2d_gt': ..., '2d_cpn': ...}."""
    rng = np.random.default_rng(seed)
    cameras = load_h36m_cameras()
    positions_3d, gt_2d, cpn_2d = {}, {}, {}
    for s_index, subject in enumerate(subjects):
        positions_3d[subject], gt_2d[subject], cpn_2d[subject] = {}, {}, {}
        for a_index, action in enumerate(actions):
            n = frames + 7 * a_index + 3 * s_index
            motion = make_motion(rng, n + extra_2d_frames)
            positions_3d[subject][action] = motion[:n]
            gt_2d[subject][action] = [project_world_to_pixels(motion[:n, KEPT], cam) for cam in cameras[subject]]
            cpn_2d[subject][action] = [
                (project_world_to_pixels(motion[:, KEPT], cam) + rng.normal(scale=2.0, size=(n + extra_2d_frames, 17, 2)))
                .astype(np.float32) for cam in cameras[subject]]
    cpn_2d['S2'] = {'Walking': [np.zeros((10, 17, 2), np.float32) for _ in range(4)]}
    save_npz(f'{data_dir}/data_3d_h36m.npz', positions_3d=positions_3d)
    save_npz(f'{data_dir}/data_2d_h36m_gt.npz', positions_2d=gt_2d,
             metadata=keypoints_metadata(H36M_17, with_layout_name=False))
    save_npz(f'{data_dir}/data_2d_h36m_cpn_ft_h36m_dbb.npz', positions_2d=cpn_2d, metadata=keypoints_metadata(H36M_17))
    return {'3d': positions_3d, '2d_gt': gt_2d, '2d_cpn': cpn_2d}
