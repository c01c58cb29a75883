"""2D keypoint layouts and the conversion from COCO-17 (what detectors output) to Human3.6M-17.

COCO-17 order (``layout_name`` ``'coco'``):
0 nose, 1 l-eye, 2 r-eye, 3 l-ear, 4 r-ear, 5 l-shoulder, 6 r-shoulder, 7 l-elbow, 8 r-elbow,
9 l-wrist, 10 r-wrist, 11 l-hip, 12 r-hip, 13 l-knee, 14 r-knee, 15 l-ankle, 16 r-ankle.

Human3.6M-17 order (``layout_name`` ``'h36m'``, see `common.data.skeleton`):
0 hip (pelvis), 1 RHip, 2 RKnee, 3 RFoot, 4 LHip, 5 LKnee, 6 LFoot, 7 Spine, 8 Thorax,
9 Neck/Nose, 10 Head, 11 LShoulder, 12 LElbow, 13 LWrist, 14 RShoulder, 15 RElbow, 16 RWrist.
"""
import numpy as np

COCO_NAMES = ['nose', 'l-eye', 'r-eye', 'l-ear', 'r-ear', 'l-shoulder', 'r-shoulder', 'l-elbow', 'r-elbow',
              'l-wrist', 'r-wrist', 'l-hip', 'r-hip', 'l-knee', 'r-knee', 'l-ankle', 'r-ankle']
COCO_LEFT = [1, 3, 5, 7, 9, 11, 13, 15]
COCO_RIGHT = [2, 4, 6, 8, 10, 12, 14, 16]
COCO_SYMMETRY = [COCO_LEFT, COCO_RIGHT]

H36M_LEFT = [4, 5, 6, 11, 12, 13]
H36M_RIGHT = [1, 2, 3, 14, 15, 16]
H36M_SYMMETRY = [H36M_LEFT, H36M_RIGHT]

# Human3.6M joint <- COCO joint, for the joints that exist in both layouts.
COCO_TO_H36M_DIRECT = {
    1: 12,   # RHip      <- r-hip
    2: 14,   # RKnee     <- r-knee
    3: 16,   # RFoot     <- r-ankle
    4: 11,   # LHip      <- l-hip
    5: 13,   # LKnee     <- l-knee
    6: 15,   # LFoot     <- l-ankle
    11: 5,   # LShoulder <- l-shoulder
    12: 7,   # LElbow    <- l-elbow
    13: 9,   # LWrist    <- l-wrist
    14: 6,   # RShoulder <- r-shoulder
    15: 8,   # RElbow    <- r-elbow
    16: 10,  # RWrist    <- r-wrist
}
# Human3.6M joints built by a formula instead of a direct copy (see `coco_to_h36m`).
H36M_APPROXIMATED = [0, 7, 8, 9, 10]

# How far the head point is moved from the centre of the face along the thorax -> nose direction,
# as a fraction of the thorax -> nose distance.
HEAD_EXTRAPOLATION = 0.5


def coco_to_h36m(keypoints):
    """COCO-17 keypoints (..., 17, 2 or 3) -> Human3.6M-17 keypoints (..., 17, 2).

    A third channel (confidence) is dropped. Any leading axes (frames, people) are kept.

    Copied directly (the same anatomical point in both layouts): RHip, RKnee, RFoot (= ankle),
    LHip, LKnee, LFoot, LShoulder, LElbow, LWrist, RShoulder, RElbow, RWrist.

    Built by formulas; all of these are approximations of the Human3.6M joints:

    - 0 hip (pelvis) = (l-hip + r-hip) / 2
    - 8 thorax = (l-shoulder + r-shoulder) / 2
    - 7 spine = (pelvis + thorax) / 2
    - 9 neck/nose = nose (Human3.6M's joint lies between the neck and the nose)
    - 10 head = face centre + 0.5 * (nose - thorax), where the face centre is the mean of the two
      eyes and the two ears: a point on top of the head, reached from the face centre along the
      thorax -> nose direction.

    Detector keypoints also differ from motion-capture markers for the directly copied joints
    (for example COCO hips sit lower and wider than Human3.6M's), which no formula can undo.
    """
    kps = np.asarray(keypoints)
    if kps.ndim < 2 or kps.shape[-2] != 17 or kps.shape[-1] not in (2, 3):
        raise ValueError(f'expected COCO keypoints shaped (..., 17, 2 or 3), got {kps.shape}')
    kps = kps[..., :2]
    out = np.empty_like(kps)
    for h36m_joint, coco_joint in COCO_TO_H36M_DIRECT.items():
        out[..., h36m_joint, :] = kps[..., coco_joint, :]
    pelvis = (kps[..., 11, :] + kps[..., 12, :]) / 2
    thorax = (kps[..., 5, :] + kps[..., 6, :]) / 2
    nose = kps[..., 0, :]
    face_centre = kps[..., 1:5, :].mean(axis=-2)
    out[..., 0, :] = pelvis
    out[..., 7, :] = (pelvis + thorax) / 2
    out[..., 8, :] = thorax
    out[..., 9, :] = nose
    out[..., 10, :] = face_centre + HEAD_EXTRAPOLATION * (nose - thorax)
    return out
