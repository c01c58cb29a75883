"""Small HumanEva-I files for tests, laid out as VideoPose3D's ``prepare_data_humaneva.py`` writes them.

- ``data_3d_humaneva<J>.npz``: ``positions_3d`` -> {'Train/S1': {'Walking 1 chunk0': (N, J, 3) float32
  world metres, ...}, ...}; J = 15 or 20.
- ``data_2d_humaneva<J>_gt.npz``: ``positions_2d`` -> {subject: {action: [C1, C2, C3 pixel arrays (N, J, 2)]}}
  and the community ``metadata`` of that layout (written out literally below, not by our code).
- ``data_2d_humaneva15_detectron_pt_coco.npz`` (J = 15 only): 17 COCO keypoints per frame, with an
  extra ``Unlabeled/S4`` subject, as the detections file is.

The 2D is the 3D seen through the official camera extrinsics (`OFFICIAL_EXTRINSICS`) and a plain
pinhole (`FOCAL_PX`, image centre), with a rotation matrix built here from the quaternions.
"""
import numpy as np

from common.io.npz import save_npz

# Camera extrinsics of the dataset's community preprocessing: per person, C1..C3, (quaternion w, x,
# y, z rotating camera -> world; camera centre in world millimetres).
OFFICIAL_EXTRINSICS = {
    'S1': [([0.424207, -0.4983646, -0.5802981, 0.4847012], [4062.227, 663.2477, 1528.397]),
           ([0.6503354, -0.7481602, -0.0919284, 0.0941766], [844.8131, -3805.2092, 1504.9929]),
           ([0.0664734, -0.0690535, 0.7416416, -0.6639132], [-797.67377, 3916.3174, 1433.6602])],
    'S2': [([0.4214752, -0.4961493, -0.5838273, 0.4851187], [4112.9121, 626.4929, 1545.2988]),
           ([0.6501393, -0.7476588, -0.0954617, 0.0959808], [923.5740, -3877.9243, 1504.5518]),
           ([0.0699353, -0.0712403, 0.7421637, -0.662742], [-781.4915, 3838.8853, 1444.9929])],
    'S3': [([0.424207, -0.4983646, -0.5802981, 0.4847012], [4062.2271, 663.2477, 1528.3970]),
           ([0.6503354, -0.7481602, -0.0919284, 0.0941766], [844.8131, -3805.2092, 1504.9929]),
           ([0.0664734, -0.0690535, 0.7416416, -0.6639132], [-797.6738, 3916.3174, 1433.6602])],
}
RES_W, RES_H = 640, 480
FOCAL_PX = 500.0

METADATA = {
    15: {'layout_name': 'humaneva15', 'num_joints': 15,
         'keypoints_symmetry': [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]]},
    20: {'layout_name': 'humaneva20', 'num_joints': 20,
         'keypoints_symmetry': [[3, 4, 5, 6, 11, 12, 13, 14], [7, 8, 9, 10, 15, 16, 17, 18]]},
}
COCO_METADATA = {'layout_name': 'coco', 'num_joints': 17,
                 'keypoints_symmetry': [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]}

SUBJECTS = ('Train/S1', 'Train/S2', 'Train/S3', 'Validate/S1', 'Validate/S2', 'Validate/S3')
# Chunk 1 of 'Walking 1' stands for a corrupted mocap stretch, which the community files leave out.
ACTIONS = ('Walking 1 chunk0', 'Walking 1 chunk2', 'Jog 1 chunk0')


def rotation_matrix(q):
    """3x3 matrix of the unit quaternion q = (w, x, y, z)."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def world_to_camera_official(world_m, person, camera):
    """World positions (..., 3) metres -> camera frame of `person`'s camera `camera` (0..2), metres."""
    q, t_mm = OFFICIAL_EXTRINSICS[person][camera]
    return (np.asarray(world_m, dtype=np.float64) - np.asarray(t_mm) / 1000.0) @ rotation_matrix(q)


def pixels(world_m, person, camera):
    """Pinhole projection of world positions (N, J, 3) metres to pixels (N, J, 2) float32."""
    cam = world_to_camera_official(world_m, person, camera)
    return (FOCAL_PX * cam[..., :2] / cam[..., 2:] + [RES_W / 2, RES_H / 2]).astype(np.float32)


def make_motion(rng, frames, joints):
    """A smooth (N, J, 3) world motion in metres: a random standing body moving around the origin, z up."""
    rest = np.zeros((joints, 3))
    rest[:, 2] = np.linspace(0.1, 1.7, joints)[rng.permutation(joints)]
    rest[0, 2] = 0.95                                   # the pelvis
    rest[:, :2] = rng.normal(scale=0.15, size=(joints, 2))
    t = np.arange(frames)[:, None, None] / 60.0
    phase = rng.uniform(0, 2 * np.pi, size=(1, joints, 3))
    motion = rest[None] + 0.05 * np.sin(2 * np.pi * 0.8 * t + phase)
    motion[:, :, :2] += 0.4 * np.sin(2 * np.pi * 0.2 * t[..., 0])[..., None]
    return motion.astype(np.float32)


def write_humaneva_fixture(data_dir, joints=15, frames=30, seed=0):
    """Write the files above into `data_dir`; returns {'3d': positions, '2d_gt': pixels} as written."""
    rng = np.random.default_rng(seed)
    positions_3d, gt_2d, coco_2d = {}, {}, {}
    for s_index, subject in enumerate(SUBJECTS):
        person = subject.split('/')[-1]
        positions_3d[subject], gt_2d[subject], coco_2d[subject] = {}, {}, {}
        for a_index, action in enumerate(ACTIONS):
            motion = make_motion(rng, frames + 5 * a_index + 2 * s_index, joints)
            positions_3d[subject][action] = motion
            gt_2d[subject][action] = [pixels(motion, person, camera) for camera in range(3)]
            coco_2d[subject][action] = [rng.uniform(0, RES_H, size=(len(motion), 17, 2)).astype(np.float32)
                                        for _ in range(3)]
    coco_2d['Unlabeled/S4'] = {'Box 2': [np.zeros((20, 17, 2), np.float32) for _ in range(3)]}
    save_npz(f'{data_dir}/data_3d_humaneva{joints}.npz', positions_3d=positions_3d)
    save_npz(f'{data_dir}/data_2d_humaneva{joints}_gt.npz', positions_2d=gt_2d, metadata=METADATA[joints])
    if joints == 15:
        save_npz(f'{data_dir}/data_2d_humaneva15_detectron_pt_coco.npz', positions_2d=coco_2d,
                 metadata=COCO_METADATA)
    return {'3d': positions_3d, '2d_gt': gt_2d}
