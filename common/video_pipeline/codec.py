"""The one owner of the 2D/3D conventions between a detector and the lifter.

Detector keypoints are COCO-17 pixels of the video (x right, y down, origin at the top-left
corner). The lifter reads Human3.6M-17 keypoints in normalised screen coordinates
(`common.data.camera.normalize_screen_coordinates`: the width maps to [-1, 1], the aspect kept,
as the official code and ``-d custom``) and predicts (N, 17, 3) metres, camera frame, whose joint 0
(the pelvis) is only close to the origin. `KeypointCodec` does every conversion of that chain:

* ``pixels(coco)`` (N, 17, 2|3) COCO pixels -> (N, 17, 2) Human3.6M pixels (`coco_to_h36m`);
* ``points_3d(coco)``: the same conversion for 3D points;
* ``weights(scores)`` (N, 17) COCO scores -> (N, 17) Human3.6M confidences (a joint built from
  several keypoints gets the smallest of their scores; NaN -> 0);
* ``normalise(h36m_pixels)`` -> the model's input; ``to_pixels`` back;
* ``root_relative(poses)``: every joint minus joint 0, so joint 0 is exactly the origin.

Normalising by the width means a person occupies a smaller part of [-1, 1] in a wide picture than
in a tall one: the same clip padded to landscape gives the model a smaller-looking person, and
the predicted body follows the training data's size-to-depth relation (see README "Your own video").
"""
import numpy as np

from common.data.camera import image_coordinates, normalize_screen_coordinates
from common.data.layouts import COCO_17, COCO_TO_H36M_DIRECT, H36M_17, coco_to_h36m

# Human3.6M joints built from several COCO keypoints (see `coco_to_h36m`): their sources.
_BUILT_FROM = {
    H36M_17.index('hip'): ('left_hip', 'right_hip'),
    H36M_17.index('spine'): ('left_hip', 'right_hip', 'left_shoulder', 'right_shoulder'),
    H36M_17.index('thorax'): ('left_shoulder', 'right_shoulder'),
    H36M_17.index('neck_nose'): ('nose',),
    H36M_17.index('head'): ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                            'right_shoulder'),
}


class KeypointCodec:
    """Conversions for one video of ``width`` x ``height`` pixels (see the module)."""

    joints = H36M_17

    def __init__(self, width, height):
        self.width, self.height = int(width), int(height)

    @staticmethod
    def pixels(coco):
        """(N, 17, 2|3) COCO-17 pixels -> (N, 17, 2) float32 Human3.6M-17 pixels."""
        return coco_to_h36m(np.asarray(coco, dtype=np.float32)).astype(np.float32)

    @staticmethod
    def weights(scores):
        """(N, 17) COCO-17 detector scores -> (N, 17) float32 Human3.6M-17 confidences in [0, 1]."""
        scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=0.0).clip(0.0, 1.0)
        out = np.zeros(scores.shape[:-1] + (H36M_17.num_joints,), dtype=np.float64)
        for h36m_joint, coco_joint in COCO_TO_H36M_DIRECT.items():
            out[..., h36m_joint] = scores[..., coco_joint]
        for h36m_joint, names in _BUILT_FROM.items():
            out[..., h36m_joint] = scores[..., [COCO_17.index(n) for n in names]].min(axis=-1)
        return out.astype(np.float32)

    @staticmethod
    def points_3d(coco):
        """(N, 17, 3) COCO-17 3D points (e.g. MediaPipe's world landmarks) -> (N, 17, 3) float32 Human3.6M-17
        by the same rules as the 2D keypoints (`coco_to_h36m` is linear, applied per coordinate)."""
        coco = np.asarray(coco, dtype=np.float32)
        xy = coco_to_h36m(coco[..., :2])
        z = coco_to_h36m(coco[..., [2, 2]])[..., :1]
        return np.concatenate([xy, z], axis=-1).astype(np.float32)

    def normalise(self, h36m_pixels):
        """(N, 17, 2) pixels -> (N, 17, 2) float32 normalised screen coordinates (the model's input)."""
        return normalize_screen_coordinates(np.asarray(h36m_pixels, dtype=np.float32), w=self.width,
                                            h=self.height).astype(np.float32)

    def to_pixels(self, normalised):
        """Inverse of `normalise`."""
        return image_coordinates(np.asarray(normalised, dtype=np.float32), w=self.width, h=self.height)

    @staticmethod
    def root_relative(poses):
        """(N, J, 3) predicted poses -> every joint minus joint 0 (joint 0 exactly at the origin), float32."""
        poses = np.asarray(poses, dtype=np.float32)
        return poses - poses[..., :1, :]
