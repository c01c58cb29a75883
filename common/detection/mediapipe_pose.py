"""The bundled backend: MediaPipe Pose (BlazePose, 33 landmarks), with models from inside the wheel.

``mediapipe==0.10.21`` (``requirements-video.txt``) is the last release whose wheel carries the pose
models (``mediapipe/modules/pose_detection/pose_detection.tflite`` and
``pose_landmark/pose_landmark_full.tflite``), so nothing is downloaded: the legacy
``mp.solutions.pose`` graph is used with ``model_complexity=1`` (the "full" landmark model; 0 and 2
would fetch other files). It finds one person, then follows that person from frame to frame
(``static_image_mode=False``): per frame it yields at most one candidate.

BlazePose's 33 landmarks come as fractions of the picture's width / height with a visibility
score; `BLAZEPOSE_TO_COCO` picks the 17 COCO keypoints out of them (nose, eye centres, ears,
shoulders, elbows, wrists, hips, knees, ankles, in COCO order) and the visibility is the score.
BlazePose may place a joint outside the picture (a guess, with a low visibility).

BlazePose also estimates 3D (``pose_world_landmarks``: metres, origin between the hips, x right,
y down, z away from the camera); after each ``detect`` its 17 COCO points per candidate are in
``world`` (the `Detector` interface's optional 3D), kept for comparison with the lifter.
"""
from pathlib import Path

import numpy as np

from common.data.layouts import COCO_17
from common.detection.base import Detector
from common.errors import UserError
from common.io.native_output import NativeStderrSilenced

# COCO_17 keypoint i is BlazePose landmark BLAZEPOSE_TO_COCO[i].
BLAZEPOSE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
BLAZEPOSE_LANDMARKS = 33
INSTALL = 'pip install -r requirements-video.txt (mediapipe==0.10.21)'
# Inside the mediapipe package: the models the graph of model_complexity=1 loads.
MODEL_FILES = ('modules/pose_detection/pose_detection.tflite', 'modules/pose_landmark/pose_landmark_full.tflite')


def mediapipe_missing_reason():
    """None when the backend can run here, else why not (one sentence, with the install line)."""
    try:
        import mediapipe
    except ImportError as exc:
        return f'the video detector needs mediapipe, which is not installed ({exc}); {INSTALL}'
    folder = Path(mediapipe.__file__).parent
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing or not hasattr(getattr(mediapipe, 'solutions', None), 'pose'):
        return (f'mediapipe {getattr(mediapipe, "__version__", "?")} carries no pose model inside its package '
                f'({", ".join(missing) or "no mp.solutions.pose"}); releases after 0.10.21 download it at run time. '
                f'{INSTALL}')
    return None


class MediaPipePose(Detector):
    """MediaPipe Pose on the frames of one video, in order; keypoints in `COCO_17` pixels.

    ``min_detection_confidence`` / ``min_tracking_confidence``: MediaPipe's thresholds (0.5 each) for
    finding a person and for keeping to follow them. Raises UserError when
    mediapipe is absent or carries no model (see `mediapipe_missing_reason`).
    """

    name = 'MediaPipe Pose (BlazePose full, mediapipe 0.10.21 wheel)'
    layout = COCO_17

    def __init__(self, min_detection_confidence=0.5, min_tracking_confidence=0.5):
        self._pose = None
        reason = mediapipe_missing_reason()
        if reason:
            raise UserError(reason)
        import mediapipe as mp
        self.name = f'MediaPipe Pose (BlazePose full, mediapipe {mp.__version__})'
        self._quiet = NativeStderrSilenced()
        try:
            self._pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                                                enable_segmentation=False,
                                                min_detection_confidence=min_detection_confidence,
                                                min_tracking_confidence=min_tracking_confidence)
        except BaseException:
            self.close()
            raise

    def detect(self, frame):
        """(H, W, 3) uint8 RGB -> [] or [(17, 3) [x, y, visibility] pixels]."""
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        height, width = frame.shape[:2]
        result = self._pose.process(frame)
        if result.pose_landmarks is None:
            self.world = []
            return []
        landmarks = result.pose_landmarks.landmark
        points = np.array([[landmarks[i].x * width, landmarks[i].y * height, landmarks[i].visibility]
                           for i in BLAZEPOSE_TO_COCO], dtype=np.float64)
        world = result.pose_world_landmarks
        self.world = [None if world is None else
                      np.array([[world.landmark[i].x, world.landmark[i].y, world.landmark[i].z]
                                for i in BLAZEPOSE_TO_COCO], dtype=np.float64)]
        return [points]

    def close(self):
        if self._pose is not None:
            self._pose.close()
            self._pose = None
        quiet, self._quiet = getattr(self, '_quiet', None), None
        if quiet is not None:
            quiet.restore()
