"""Joint layouts, each defined once: joint names, the tree, left/right symmetry and the root.

- `H36M_17`: the 17-joint Human3.6M skeleton every Human3.6M-style file and the model use.
- `H36M_32`: the 32-joint Human3.6M motion-capture skeleton stored in ``data_3d_h36m.npz``;
  `H36M_32_TO_17` picks the 17 joints out of it (the others are static or duplicate markers,
  `H36M_32_REMOVED`).
- `COCO_17`: the keypoints 2D detectors output; `coco_to_h36m` converts them to `H36M_17`.
- `MPI3DHP_17`: the 17 joints of the MPI-INF-3DHP test set (root: the pelvis, joint 14).
- `HUMANEVA_15` / `HUMANEVA_20`: the HumanEva-I skeletons of the community files
  (``data_3d_humaneva15.npz`` / ``humaneva20``; root: the pelvis, joint 0).

`KEYPOINT_LAYOUTS` maps the ``layout_name`` stored in 2D keypoint files to the layout.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class JointLayout:
    """An ordered set of joints.

    ``names``: one per joint, in array order; ``parents``: parent index of every joint (-1 for the
    root), or None for a keypoint layout that defines no tree (COCO); ``left`` / ``right``: indices
    of mirror joints, pairwise (``left[i]`` mirrors ``right[i]``), which flipping swaps; ``root``:
    the joint 3D poses are expressed relative to (None without a tree); ``parts``: the body parts
    whose mirror pairs a detector tends to exchange together (e.g. face, arms, legs), each given by
    the left joints of its pairs; empty: the whole body is one part (see `mirror_groups`).
    """
    name: str
    names: tuple
    parents: tuple | None
    left: tuple
    right: tuple
    root: int | None = 0
    parts: tuple = ()

    def __post_init__(self):
        n = len(self.names)
        if self.parents is not None and len(self.parents) != n:
            raise ValueError(f'{self.name}: {len(self.parents)} parents for {n} joints')
        if len(self.left) != len(self.right) or not set(self.left + self.right) <= set(range(n)):
            raise ValueError(f'{self.name}: left/right must be pairs of joint indices below {n}')
        in_parts = [j for part in self.parts for j in part]
        if self.parts and sorted(in_parts) != sorted(self.left):
            raise ValueError(f'{self.name}: parts must share out the left joints, each once')

    @property
    def num_joints(self):
        return len(self.names)

    def index(self, joint_name):
        """Index of the joint called `joint_name`."""
        return self.names.index(joint_name)

    def mirror_groups(self):
        """The mirror pairs per body part: a tuple of parts, each a tuple of ``(left, right)`` joint indices."""
        mirror = dict(zip(self.left, self.right))
        parts = self.parts or (self.left,)
        return tuple(tuple((j, mirror[j]) for j in part) for part in parts)


H36M_17 = JointLayout(
    name='h36m',
    names=('hip', 'right_hip', 'right_knee', 'right_foot', 'left_hip', 'left_knee', 'left_foot', 'spine',
           'thorax', 'neck_nose', 'head', 'left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder',
           'right_elbow', 'right_wrist'),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    left=(4, 5, 6, 11, 12, 13),
    right=(1, 2, 3, 14, 15, 16),
    root=0)

# The mocap tree as stored; the shoulders hang off duplicates of the thorax marker (16, 24), which
# `H36M_17` replaces by the thorax itself.
H36M_32 = JointLayout(
    name='h36m_mocap',
    names=('hips', 'right_hip', 'right_knee', 'right_ankle', 'right_toe', 'right_toe_tip',
           'left_hip', 'left_knee', 'left_ankle', 'left_toe', 'left_toe_tip',
           'spine_base', 'spine', 'thorax', 'neck_nose', 'head_top',
           'left_shoulder_girdle', 'left_shoulder', 'left_elbow', 'left_wrist', 'left_thumb', 'left_thumb_tip',
           'left_hand_end', 'left_fingertip',
           'right_shoulder_girdle', 'right_shoulder', 'right_elbow', 'right_wrist', 'right_thumb',
           'right_thumb_tip', 'right_hand_end', 'right_fingertip'),
    parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26,
             27, 28, 27, 30),
    left=(6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23),
    right=(1, 2, 3, 4, 5, 24, 25, 26, 27, 28, 29, 30, 31),
    root=0)
# Static or duplicate markers left out of the 17-joint skeleton.
H36M_32_REMOVED = (4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31)
# ``positions_32[..., H36M_32_TO_17, :]`` are the `H36M_17` joints, in `H36M_17` order.
H36M_32_TO_17 = tuple(j for j in range(H36M_32.num_joints) if j not in H36M_32_REMOVED)

COCO_17 = JointLayout(
    name='coco',
    names=('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
           'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
           'right_knee', 'left_ankle', 'right_ankle'),
    parents=None,
    left=(1, 3, 5, 7, 9, 11, 13, 15),
    right=(2, 4, 6, 8, 10, 12, 14, 16),
    root=None,
    parts=((1, 3), (5, 7, 9), (11, 13, 15)))     # face (eyes, ears), arms, legs

MPI3DHP_17 = JointLayout(
    name='mpi3dhp',
    names=('head_top', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow',
           'left_wrist', 'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'pelvis',
           'spine', 'head'),
    parents=(16, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, -1, 14, 1),
    left=(5, 6, 7, 11, 12, 13),
    right=(2, 3, 4, 8, 9, 10),
    root=14)

# HumanEva-I, as its community conversion extracts it from the mocap body model: 15 joints (the
# evaluation skeleton of HumanEva's own error script; elbows and knees are the mean of the two
# limb ends that meet there) or 20 (every limb end kept).
HUMANEVA_15 = JointLayout(
    name='humaneva15',
    names=('pelvis', 'thorax', 'left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow',
           'right_wrist', 'left_hip', 'left_knee', 'left_ankle', 'right_hip', 'right_knee', 'right_ankle', 'head'),
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    left=(2, 3, 4, 8, 9, 10),
    right=(5, 6, 7, 11, 12, 13),
    root=0)

HUMANEVA_20 = JointLayout(
    name='humaneva20',
    names=('pelvis', 'torso_top', 'neck', 'left_shoulder', 'left_upper_arm_end', 'left_forearm_start',
           'left_wrist', 'right_shoulder', 'right_upper_arm_end', 'right_forearm_start', 'right_wrist',
           'left_hip', 'left_thigh_end', 'left_shin_start', 'left_ankle', 'right_hip', 'right_thigh_end',
           'right_shin_start', 'right_ankle', 'head'),
    parents=(-1, 0, 1, 1, 3, 4, 5, 1, 7, 8, 9, 0, 11, 12, 13, 0, 15, 16, 17, 2),
    left=(3, 4, 5, 6, 11, 12, 13, 14),
    right=(7, 8, 9, 10, 15, 16, 17, 18),
    root=0)

KEYPOINT_LAYOUTS = {layout.name: layout for layout in (H36M_17, COCO_17, HUMANEVA_15, HUMANEVA_20)}

# ------------------------------------------------------------------------------- COCO -> Human3.6M

# Human3.6M joint <- COCO joint, for the joints that exist in both layouts.
COCO_TO_H36M_DIRECT = {
    1: 12,   # right_hip      <- right_hip
    2: 14,   # right_knee     <- right_knee
    3: 16,   # right_foot     <- right_ankle
    4: 11,   # left_hip       <- left_hip
    5: 13,   # left_knee      <- left_knee
    6: 15,   # left_foot      <- left_ankle
    11: 5,   # left_shoulder  <- left_shoulder
    12: 7,   # left_elbow     <- left_elbow
    13: 9,   # left_wrist     <- left_wrist
    14: 6,   # right_shoulder <- right_shoulder
    15: 8,   # right_elbow    <- right_elbow
    16: 10,  # right_wrist    <- right_wrist
}

# How far the head point is moved from the centre of the face along the thorax -> nose direction,
# as a fraction of the thorax -> nose distance.
HEAD_EXTRAPOLATION = 0.5


def coco_to_h36m(keypoints):
    """COCO-17 keypoints (..., 17, 2 or 3) -> Human3.6M-17 keypoints (..., 17, 2).

    A third channel (confidence) is dropped. Any leading axes (frames, people) are kept.

    Copied directly (the same anatomical point in both layouts): `COCO_TO_H36M_DIRECT`.

    Built by formulas; all of these are approximations of the Human3.6M joints:

    - hip (pelvis) = (left_hip + right_hip) / 2
    - thorax = (left_shoulder + right_shoulder) / 2
    - spine = (pelvis + thorax) / 2
    - neck_nose = nose (Human3.6M's joint lies between the neck and the nose)
    - head = face centre + 0.5 * (nose - thorax), where the face centre is the mean of the two
      eyes and the two ears: a point on top of the head, reached from the face centre along the
      thorax -> nose direction.

    Detector keypoints also differ from motion-capture markers for the directly copied joints
    (for example COCO hips sit lower and wider than Human3.6M's), which no formula can undo.
    """
    kps = np.asarray(keypoints)
    if kps.ndim < 2 or kps.shape[-2] != COCO_17.num_joints or kps.shape[-1] not in (2, 3):
        raise ValueError(f'expected COCO keypoints shaped (..., 17, 2 or 3), got {kps.shape}')
    kps = kps[..., :2]
    coco, h36m = COCO_17.index, H36M_17.index
    out = np.empty_like(kps)
    for h36m_joint, coco_joint in COCO_TO_H36M_DIRECT.items():
        out[..., h36m_joint, :] = kps[..., coco_joint, :]
    pelvis = (kps[..., coco('left_hip'), :] + kps[..., coco('right_hip'), :]) / 2
    thorax = (kps[..., coco('left_shoulder'), :] + kps[..., coco('right_shoulder'), :]) / 2
    nose = kps[..., coco('nose'), :]
    face = [coco(name) for name in ('left_eye', 'right_eye', 'left_ear', 'right_ear')]
    face_centre = kps[..., face, :].mean(axis=-2)
    out[..., h36m('hip'), :] = pelvis
    out[..., h36m('spine'), :] = (pelvis + thorax) / 2
    out[..., h36m('thorax'), :] = thorax
    out[..., h36m('neck_nose'), :] = nose
    out[..., h36m('head'), :] = face_centre + HEAD_EXTRAPOLATION * (nose - thorax)
    return out
