"""BlazePose's two stages run one by one, so that one picture gives every person in it.

MediaPipe's Pose solution (`common.detection.mediapipe_pose`) runs BlazePose's person detector and
landmark model (both inside the mediapipe 0.10.21 wheel) but keeps one person. Here the two run as
separate MediaPipe graphs (``mediapipe.python.solution_base.SolutionBase``, the machinery of
MediaPipe's own solutions; nothing downloaded):

* `PersonDetector`: ``pose_detection.tflite`` (a 224 x 224 letterboxed input, 2254 SSD anchors,
  per person a box and 4 points: point 0 the middle of the hips, point 1 a point whose distance from
  it is half the body's extent), with MediaPipe's own calculators and the options its pose graph
  documents, except the score threshold (``min_score``) and the tiling. The detector keys on the
  face, which is only a few pixels wide for a person far from the camera; so it runs on the whole
  picture and on overlapping square tiles as wide as the picture's short side (half a tile apart),
  and detections of one person from several tiles are merged (boxes overlapping more than
  `MERGE_IOU`: the higher score is kept). Each person becomes a `Region`: a square centred on the
  hips, 2 x distance x `REGION_SCALE` wide, turned so that point 1 lies straight above point 0.
* `LandmarkModel`: MediaPipe's ``PoseLandmarkByRoiCpu`` graph (``pose_landmark_full.tflite``, the
  model of `mediapipe_pose`) on one `Region` -> the 33 BlazePose landmarks ``[x, y, visibility]``
  in picture pixels, or None when the model finds nobody in the region (its presence score below
  0.5). Its two helper landmarks (middle of the hips, scale point) give the `Region` of the same
  person in the next frame, as MediaPipe follows one person.

All coordinates are pixels of the picture given (x right, y down); frames are (H, W, 3) uint8 RGB.
"""
import math
from dataclasses import dataclass

import numpy as np

from common.detection.mediapipe_pose import mediapipe_missing_reason
from common.detection.tracking import box_iou
from common.errors import UserError
from common.io.native_output import native_stderr_silenced

REGION_SCALE = 1.25         # the square is 2 x (hips -> scale point) x REGION_SCALE wide
MERGE_IOU = 0.3             # detections of one person from several tiles
TILE_STEP = 0.5             # tiles overlap by half their side

DETECTOR_GRAPH = '''
input_stream: "image"
output_stream: "detections"
node { calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" output_stream: "TENSORS:input_tensors"
  output_stream: "LETTERBOX_PADDING:letterbox_padding"
  options { [mediapipe.ImageToTensorCalculatorOptions.ext] { output_tensor_width: 224 output_tensor_height: 224
    keep_aspect_ratio: true output_tensor_float_range { min: -1.0 max: 1.0 } border_mode: BORDER_ZERO } } }
node { calculator: "InferenceCalculator" input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:detection_tensors"
  options { [mediapipe.InferenceCalculatorOptions.ext] {
    model_path: "mediapipe/modules/pose_detection/pose_detection.tflite" delegate { xnnpack {} } } } }
node { calculator: "SsdAnchorsCalculator" output_side_packet: "anchors"
  options { [mediapipe.SsdAnchorsCalculatorOptions.ext] { num_layers: 5 min_scale: 0.1484375 max_scale: 0.75
    input_size_height: 224 input_size_width: 224 anchor_offset_x: 0.5 anchor_offset_y: 0.5
    strides: 8 strides: 16 strides: 32 strides: 32 strides: 32 aspect_ratios: 1.0 fixed_anchor_size: true } } }
node { calculator: "TensorsToDetectionsCalculator" input_stream: "TENSORS:detection_tensors"
  input_side_packet: "ANCHORS:anchors" output_stream: "DETECTIONS:unfiltered"
  options { [mediapipe.TensorsToDetectionsCalculatorOptions.ext] { num_classes: 1 num_boxes: 2254 num_coords: 12
    box_coord_offset: 0 keypoint_coord_offset: 4 num_keypoints: 4 num_values_per_keypoint: 2 sigmoid_score: true
    score_clipping_thresh: 100.0 reverse_output_order: true x_scale: 224.0 y_scale: 224.0 h_scale: 224.0
    w_scale: 224.0 min_score_thresh: %(min_score)r } } }
node { calculator: "NonMaxSuppressionCalculator" input_stream: "unfiltered" output_stream: "filtered"
  options { [mediapipe.NonMaxSuppressionCalculatorOptions.ext] { min_suppression_threshold: 0.3
    overlap_type: INTERSECTION_OVER_UNION algorithm: WEIGHTED } } }
node { calculator: "DetectionLetterboxRemovalCalculator" input_stream: "DETECTIONS:filtered"
  input_stream: "LETTERBOX_PADDING:letterbox_padding" output_stream: "DETECTIONS:detections" }
'''

LANDMARK_GRAPH = '''
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "helpers"
node { calculator: "PoseLandmarkByRoiCpu" input_side_packet: "MODEL_COMPLEXITY:model_complexity"
  input_stream: "IMAGE:image" input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks" output_stream: "AUXILIARY_LANDMARKS:helpers" }
'''


class _Graph:
    """A MediaPipe graph (text) that `process`es frames; its start-up notices (TensorFlow Lite, absl:
    printed when it is made and at its first frame) are kept off the terminal. UserError when mediapipe
    cannot run it here."""

    def __init__(self, graph, outputs, side_inputs=None):
        reason = mediapipe_missing_reason()
        if reason:
            raise UserError(reason)
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.python.solution_base import SolutionBase
        config = text_format.Parse(graph, calculator_pb2.CalculatorGraphConfig())
        with native_stderr_silenced():
            self._solution = SolutionBase(graph_config=config, side_inputs=side_inputs, outputs=outputs)
        self._started = False

    def process(self, inputs):
        if self._started:
            return self._solution.process(inputs)
        with native_stderr_silenced():
            result = self._solution.process(inputs)
        self._started = True
        return result

    def close(self):
        self._solution.close()


@dataclass(frozen=True)
class Region:
    """Where one person is: a square of side ``size`` pixels centred on ``centre`` (x, y), turned by
    ``rotation`` radians (MediaPipe's convention: 0 upright, positive clockwise); ``score``."""
    centre: tuple
    size: float
    rotation: float
    score: float = 1.0

    @classmethod
    def from_points(cls, hips, scale_point, score=1.0):
        """The region that `hips` (x, y) and the body's `scale_point` place (see the module)."""
        dx, dy = scale_point[0] - hips[0], scale_point[1] - hips[1]
        rotation = math.pi / 2 - math.atan2(-dy, dx)
        rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
        size = 2.0 * math.hypot(dx, dy) * REGION_SCALE
        return cls((float(hips[0]), float(hips[1])), float(size), float(rotation), float(score))

    def normalized_rect(self, width, height):
        """The region as MediaPipe's NormalizedRect of a `width` x `height` picture."""
        from mediapipe.framework.formats import rect_pb2
        return rect_pb2.NormalizedRect(x_center=self.centre[0] / width, y_center=self.centre[1] / height,
                                       width=self.size / width, height=self.size / height, rotation=self.rotation)


def tiles(width, height):
    """Top-left corners and side of the square tiles covering a `width` x `height` picture (see the module)."""
    side = min(width, height)
    step = max(1, int(side * TILE_STEP))

    def starts(extent):
        last = extent - side
        return sorted(set(range(0, last + 1, step)) | {last})
    return [(x, y) for y in starts(height) for x in starts(width)], side


class PersonDetector:
    """BlazePose's person detector on the whole picture and its tiles -> a `Region` per person (see the module)."""

    def __init__(self, min_score=0.5):
        self._graph = _Graph(DETECTOR_GRAPH % {'min_score': float(min_score)}, ['detections'])

    def _detect(self, picture, origin):
        """Detections of one picture as (score, box, hips, scale point), pixels shifted by `origin`."""
        height, width = picture.shape[:2]
        found = []
        for detection in self._graph.process({'image': np.ascontiguousarray(picture)}).detections or []:
            box = detection.location_data.relative_bounding_box
            points = [(origin[0] + p.x * width, origin[1] + p.y * height)
                      for p in detection.location_data.relative_keypoints[:2]]
            corner = (origin[0] + box.xmin * width, origin[1] + box.ymin * height)
            found.append((float(detection.score[0]),
                          (corner[0], corner[1], corner[0] + box.width * width, corner[1] + box.height * height),
                          *points))
        return found

    def regions(self, frame):
        """(H, W, 3) uint8 RGB -> list of `Region`, best score first."""
        height, width = frame.shape[:2]
        found = self._detect(frame, (0, 0))
        corners, side = tiles(width, height)
        if len(corners) > 1:
            for x, y in corners:
                found += self._detect(frame[y:y + side, x:x + side], (x, y))
        found.sort(key=lambda item: -item[0])
        kept = []
        for item in found:
            if all(box_iou(item[1], other[1]) <= MERGE_IOU for other in kept):
                kept.append(item)
        return [Region.from_points(hips, scale_point, score) for score, _, hips, scale_point in kept]

    def close(self):
        self._graph.close()


class LandmarkModel:
    """BlazePose's landmark model on one `Region` of a picture (see the module)."""

    def __init__(self):
        self._graph = _Graph(LANDMARK_GRAPH, ['landmarks', 'helpers'], side_inputs={'model_complexity': 1})

    def landmarks(self, frame, region):
        """-> ((33, 3) [x, y, visibility] picture pixels, the next frame's `Region`), or None when nobody is there."""
        height, width = frame.shape[:2]
        result = self._graph.process({'image': frame, 'roi': region.normalized_rect(width, height)})
        if result.landmarks is None:
            return None
        points = np.array([[p.x * width, p.y * height, p.visibility] for p in result.landmarks.landmark])
        hips, scale_point = [(p.x * width, p.y * height) for p in result.helpers.landmark[:2]]
        return points, Region.from_points(hips, scale_point, score=region.score)

    def close(self):
        self._graph.close()
