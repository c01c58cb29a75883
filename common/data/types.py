"""The data types every source produces and every consumer reads, and the root convention.

A `Sequence` is one (subject, action, camera) video: the unit that training windows and evaluation
are built from. A `DataBundle` is what a source delivers (see `common.data.sources.load_bundle`):
train / test sequences, their joint layouts, frame rate and how they are scored.
"""
from dataclasses import dataclass

import numpy as np

from common.data.layouts import JointLayout


@dataclass
class Sequence:
    subject: str
    action: str
    camera: int
    poses_2d: np.ndarray          # (N, J, 2) normalised screen coordinates
    poses_3d: np.ndarray | None   # (N, J, 3) camera frame, metres; joints relative to the root, root slot = root trajectory
    cam: dict                     # camera dict (see common.data.camera)
    valid: np.ndarray | None = None  # bool (N,): frames whose ground truth may be scored; None = all


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
    Human3.6M protocols, e.g. ``('pck', 'auc')``. Only the frames of `Sequence.valid` are scored.
    """
    root: int = 0
    zero_predicted_root: bool = False
    extra_metrics: tuple = ()

    def valid_mask(self, sequence):
        """Bool (N,) mask of the frames of `sequence` to score; None scores every frame."""
        return sequence.valid


@dataclass
class DataBundle:
    """Everything training and evaluation need from a dataset, whatever its source.

    ``train`` / ``test``: lists of `Sequence` (``test`` sequences may have no 3D, ``poses_3d is
    None``, for in-the-wild keypoints); ``joints``: layout of the 3D poses; ``keypoints``: layout of
    the 2D poses; ``fps``: frame rate after downsampling; ``fps_known``: False when the source does not
    know its frame rate and ``fps`` is a fallback (custom videos whose file records none: a
    renderer should then prefer the rate of the video it draws on); ``name``: the source's name
    (for messages only); ``protocol``: how it is scored (its root is the 3D layout's).
    """
    name: str
    train: list
    test: list
    joints: JointLayout
    keypoints: JointLayout
    fps: float
    protocol: EvaluationProtocol = EvaluationProtocol()
    fps_known: bool = True

    def __post_init__(self):
        if self.protocol.root != self.joints.root:
            raise ValueError(f'protocol root {self.protocol.root} is not the root {self.joints.root} of {self.joints.name}')

    @property
    def layout_names(self):
        """``{'joints': ..., 'keypoints': ...}``: the layout names a checkpoint trained on this data stores."""
        return {'joints': self.joints.name, 'keypoints': self.keypoints.name}

    @property
    def num_joints(self):
        """Joints per pose fed to the model (the 2D keypoints; the 3D poses have as many)."""
        return self.keypoints.num_joints

    @property
    def parents(self):
        """Parent of every 3D joint (-1 for the root), for drawing."""
        return list(self.joints.parents)

    @property
    def root(self):
        return self.protocol.root

    @property
    def joints_left(self):
        return list(self.joints.left)

    @property
    def joints_right(self):
        return list(self.joints.right)

    @property
    def kps_left(self):
        return list(self.keypoints.left)

    @property
    def kps_right(self):
        return list(self.keypoints.right)

    @property
    def symmetry(self):
        return Symmetry(self.kps_left, self.kps_right, self.joints_left, self.joints_right)


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
