"""From datasets to lists of sequences: camera-space 3D targets, subject/action selection, subsets.

A `Sequence` is one (subject, action, camera) video: the unit that training windows and
evaluation are built from.
"""
import hashlib
from dataclasses import dataclass

import numpy as np

from common.data.camera import world_to_camera
from common.errors import UserError


@dataclass
class Sequence:
    subject: str
    action: str
    camera: int
    poses_2d: np.ndarray          # (N, J, 2) normalised screen coordinates
    poses_3d: np.ndarray | None   # (N, J, 3) camera frame, metres; joints relative to the root, root slot = root trajectory
    cam: dict                     # camera dict (see common.data.camera)


def prepare_camera_space(dataset):
    """Add ``positions_3d`` to every sequence with 3D: one array per camera, camera frame, metres.

    Every joint but the root is made relative to the root; the root slot keeps the root's camera-frame
    trajectory (it is zeroed for losses and metrics).
    """
    for subject in dataset.subjects():
        for sequence in dataset[subject].values():
            if 'positions' not in sequence:
                continue
            per_camera = []
            for cam in sequence['cameras']:
                pos = world_to_camera(sequence['positions'], R=cam['orientation'], t=cam['translation'])
                pos[:, 1:] -= pos[:, :1]
                per_camera.append(pos.astype(np.float32))
            sequence['positions_3d'] = per_camera


def action_matches(action, action_filter):
    """Official `-a` semantics: an action is kept when it starts with any of the filter's names."""
    return action_filter is None or any(action.startswith(prefix) for prefix in action_filter)


def deterministic_random(min_value, max_value, text):
    """A pseudo-random int in [min_value, max_value) fixed by `text` (SHA-256 based, as the reference)."""
    raw = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], byteorder='little', signed=False)
    return int(raw / (2 ** 32 - 1) * (max_value - min_value)) + min_value


def fetch_sequences(dataset, keypoints, subjects, action_filter=None, subset=1.0, downsample=1):
    """All (subject, action, camera) sequences of `subjects`, optionally filtered / subsampled.

    subset < 1 keeps one contiguous chunk of that fraction per sequence (position fixed by the
    sequence length, as the official `--subset`); downsample keeps every n-th frame.
    """
    if not 0 < subset <= 1:
        raise UserError(f'--subset must be in (0, 1], got {subset}')
    if downsample < 1:
        raise UserError(f'--downsample must be a positive integer, got {downsample}')
    sequences = []
    for subject in subjects:
        for action in keypoints.positions[subject]:
            if not action_matches(action, action_filter):
                continue
            seq = dataset[subject][action]
            for cam_index, poses_2d in enumerate(keypoints.positions[subject][action]):
                poses_3d = seq['positions_3d'][cam_index] if 'positions_3d' in seq else None
                poses_2d, poses_3d = _subsample(poses_2d, poses_3d, subset, downsample)
                sequences.append(Sequence(subject, action, cam_index, poses_2d, poses_3d, seq['cameras'][cam_index]))
    if not sequences:
        raise UserError(f'no sequences selected for subjects {",".join(subjects)}'
                        + (f' with actions starting with {",".join(action_filter)} (-a)' if action_filter else ''))
    return sequences


def _subsample(poses_2d, poses_3d, subset, stride):
    if subset < 1:
        n_frames = int(round(len(poses_2d) // stride * subset) * stride)
        start = deterministic_random(0, len(poses_2d) - n_frames + 1, str(len(poses_2d)))
        window = slice(start, start + n_frames, stride)
    else:
        window = slice(None, None, stride)
    return poses_2d[window], (None if poses_3d is None else poses_3d[window])


@dataclass(frozen=True)
class Symmetry:
    """Left/right index lists of the 2D keypoints and of the 3D joints (for flipping)."""
    kps_left: list
    kps_right: list
    joints_left: list
    joints_right: list


@dataclass(frozen=True)
class EvaluationProtocol:
    """How a data source is scored; evaluation, validation and rendering read it, never the source's name.

    ``root``: index of the root joint (the target's root slot holds the trajectory and is zeroed
    before scoring); ``zero_predicted_root``: also centre the prediction on its root (MPI-INF-3DHP)
    instead of scoring it as the model outputs it (Human3.6M); ``extra_metrics``: metrics beyond the
    Human3.6M protocols, e.g. ``('pck', 'auc')``; ``valid_frames``: ``sequence -> bool (N,)`` mask of
    the frames to score, or None to score every frame.
    """
    root: int = 0
    zero_predicted_root: bool = False
    extra_metrics: tuple = ()
    valid_frames: object = None

    def valid_mask(self, sequence):
        """Bool (N,) mask of the frames of `sequence` to score; None scores every frame."""
        return None if self.valid_frames is None else self.valid_frames(sequence)


@dataclass
class DataBundle:
    """Everything training and evaluation need from a dataset, whatever its source.

    ``train`` / ``test``: lists of `Sequence` (``test`` sequences may have no 3D, ``poses_3d is
    None``, for in-the-wild keypoints); ``joints_left/right``: 3D joint symmetry;
    ``kps_left/right``: 2D keypoint symmetry (flip augmentation); ``parents``: parent of every 3D
    joint (-1 for the root), for drawing; ``fps``: frame rate after downsampling; ``name``: the
    source's name (for messages only); ``protocol``: how it is scored.
    """
    name: str
    train: list
    test: list
    joints_left: list
    joints_right: list
    kps_left: list
    kps_right: list
    num_joints: int
    fps: float
    parents: list = None
    protocol: EvaluationProtocol = EvaluationProtocol()

    @property
    def root(self):
        return self.protocol.root

    @property
    def symmetry(self):
        return Symmetry(list(self.kps_left), list(self.kps_right), list(self.joints_left), list(self.joints_right))


# The root convention, in one place. A sequence's 3D poses (N, J, 3), camera frame, metres, hold
# every joint relative to the root joint, and the root slot holds the root's own camera-frame
# trajectory. Losses, metrics and drawings use root-relative poses, i.e. the root slot zeroed.

def root_relative(positions, root=0):
    """Camera-frame positions (N, J, 3) -> the convention above: joints minus root, root slot = trajectory."""
    poses = positions.copy()
    others = [j for j in range(positions.shape[-2]) if j != root]
    poses[..., others, :] -= positions[..., root:root + 1, :]
    return poses


def zero_root(poses, root=0):
    """A copy of poses (..., J, 3) (numpy or torch) with the root slot zeroed: root-relative poses."""
    poses = poses.clone() if hasattr(poses, 'clone') else poses.copy()
    poses[..., root, :] = 0
    return poses
