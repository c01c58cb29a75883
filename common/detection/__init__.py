"""The 2D detection stage: a video in, one person's 2D keypoints per frame out, ready for ``-d custom``.

* `base`: the `Detector` interface (a picture -> people as (J, 3) [x, y, score] pixels in a
  named `JointLayout`);
* `mediapipe_pose`: `MediaPipePose`, the bundled backend (models inside the mediapipe 0.10.21
  wheel, nothing downloaded), `mediapipe_missing_reason`;
* `tracking`: `choose_person` (the largest, most lasting track), `repair_swaps` (left/right),
  `OnlineTrack` (the same, frame by frame, for a live stream);
* `gaps`: `fill_gaps` / `fill_missing`, the gap rule of every ``-d custom`` input, and `GapReport`;
* `video`: `detect_video` (all of it on one file) and `VideoKeypoints`.

mediapipe is imported only when a `MediaPipePose` is made.
"""
from common.detection.base import Detector
from common.detection.gaps import GapReport, fill_gaps, fill_missing
from common.detection.mediapipe_pose import BLAZEPOSE_TO_COCO, MediaPipePose, mediapipe_missing_reason
from common.detection.tracking import OnlineTrack, choose_person, repair_swaps, swap_against
from common.detection.video import VideoKeypoints, detect_video, open_video

__all__ = ['Detector', 'GapReport', 'fill_gaps', 'fill_missing', 'BLAZEPOSE_TO_COCO', 'MediaPipePose',
           'mediapipe_missing_reason', 'OnlineTrack', 'choose_person', 'repair_swaps', 'swap_against', 'VideoKeypoints',
           'detect_video', 'open_video']
