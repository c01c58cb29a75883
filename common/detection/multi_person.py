"""Every person in each frame: BlazePose's person detector, then its landmark model once per person.

`MultiPersonPose` is a `common.detection.base.Detector` (frames of one video, in order -> per frame
a list of (17, 3) ``[x, y, score]`` COCO-17 pixels, one per person). Per frame:

1. the regions to look at: first the region each person seen in the previous frame leads to (their
   own landmarks place it, as MediaPipe follows one person), then the person detector's regions
   (people who came in or were lost), best score first, except those centred on a person already
   found in this frame;
2. the landmark model on each region; a person is kept when the model finds one there and its
   keypoints are not a copy of a person already kept (`same_person`: two regions on one body);
3. at most ``max_people`` people.

The person detector runs on every frame (it is cheap: one 224 x 224 picture); the landmark model
once per person. Keypoint scores are BlazePose's visibilities, as in `mediapipe_pose`.
"""
import contextlib

import numpy as np

from common.data.layouts import COCO_17
from common.detection.base import Detector
from common.detection.blazepose import LandmarkModel, PersonDetector
from common.detection.mediapipe_pose import BLAZEPOSE_TO_COCO
from common.detection.tracking import person_box
from common.io.native_output import native_stderr_silenced

SAME_PERSON_DISTANCE = 0.1     # mean joint distance, in person sizes, below which two results are one body


def _near(region, other):
    """Whether two regions are centred on one body (centres closer than `SAME_PERSON_DISTANCE` of their size)."""
    distance = np.hypot(region.centre[0] - other.centre[0], region.centre[1] - other.centre[1])
    return distance < SAME_PERSON_DISTANCE * max(region.size, other.size)


def same_person(a, b):
    """Whether two (J, 3) [x, y, score] results lie on one body: their joints, on average, closer than
    `SAME_PERSON_DISTANCE` times the larger one's box diagonal (people side by side or one behind the
    other differ in most joints, two regions on one body in none)."""
    sizes = [person_box(p) for p in (a, b)]
    size = max(float(np.hypot(box[2] - box[0], box[3] - box[1])) for box in sizes)
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=-1).mean()) < SAME_PERSON_DISTANCE * size


class MultiPersonPose(Detector):
    """Several people per frame through BlazePose's two models (see the module); models from the
    mediapipe 0.10.21 wheel, run as MediaPipe graphs. Raises UserError when mediapipe cannot run them."""

    name = "BlazePose person detector + landmarks per person (mediapipe 0.10.21 models)"
    layout = COCO_17

    def __init__(self, max_people=10, min_detection_score=0.5):
        self.max_people = max_people
        self._detector = self._landmarks = None
        self._following = []        # the regions the previous frame's people lead to
        # The graphs' threads print start-up notices (TensorFlow Lite, absl) at moments of their own
        # until the first frame is through: file descriptor 2 stays quiet until then.
        self._quiet = contextlib.ExitStack()
        self._quiet.enter_context(native_stderr_silenced())
        try:
            self._detector = PersonDetector(min_score=min_detection_score)
            self._landmarks = LandmarkModel()
        except BaseException:
            self.close()
            raise

    def detect(self, frame):
        """(H, W, 3) uint8 RGB -> list of (17, 3) [x, y, visibility] pixels, one per person."""
        try:
            return self._detect(np.ascontiguousarray(frame, dtype=np.uint8))
        finally:
            self._quiet.close()

    def _detect(self, frame):
        people, following = [], []
        for region in self._following + self._detector.regions(frame):
            if any(_near(region, known) for known in following):
                continue            # a detection of someone already followed into this frame
            result = self._landmarks.landmarks(frame, region)
            if result is None:
                continue
            keypoints = result[0][list(BLAZEPOSE_TO_COCO)]
            if any(same_person(keypoints, other) for other in people):
                continue
            people.append(keypoints)
            following.append(result[1])
            if len(people) == self.max_people:
                break
        self._following = following
        return people

    def close(self):
        self._quiet.close()
        for stage in (self._detector, self._landmarks):
            if stage is not None:
                stage.close()
        self._detector = self._landmarks = None
