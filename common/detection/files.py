"""Readers of other detectors' output files: Detectron-style npz and COCO-format keypoint results (JSON).

Both give one video's detections as per frame a list of ``(17, 3)`` ``[x, y, score]`` COCO-17 pixel
arrays (every person the file holds for that frame; an empty list where it holds none) and per frame
one confidence per person (the box score, else the mean keypoint score; a COCO result's ``score``).
The person to keep is then chosen as for a video, by `common.detection.video.keep_person` (the
largest, most lasting and confident track, left/right swaps repaired, gaps filled), not frame by
frame: the official converter took the highest-scoring person of each frame, which jumps between
people when several are in the picture. The file formats are described in ``data/prepare_data_2d_custom.py``,
the program that converts them into ``-d custom`` files. Problems are `UserError`s naming the file
(and the setting: ``width``, ``num_frames``, ``coco_json``, ``fps`` where one is at fault).
"""
import json
import re
from pathlib import Path

import numpy as np

from common.data.layouts import COCO_17
from common.errors import UserError
from common.io.npz import load_npz

NUM_JOINTS = COCO_17.num_joints
MAX_FRAMES = 10_000_000  # a larger frame number means image_id is not a frame index


# ----------------------------------------------------------------------------------------------
# Detectron-style npz

def _is_class_indexed(entry):
    """``[[], people]`` (Detectron's per-class lists, class 0 background)."""
    if isinstance(entry, np.ndarray) and entry.dtype != object:
        return False
    try:
        return len(entry) == 2 and np.size(entry[0]) == 0
    except TypeError:
        return False


def _people(entry):
    """Per-frame entry -> list of per-person arrays (may be empty)."""
    if entry is None:
        return []
    if _is_class_indexed(entry):
        entry = entry[1]
    if isinstance(entry, np.ndarray) and entry.dtype != object:
        return [] if entry.size == 0 else list(entry)
    return [p for p in entry]


def person_keypoints(person, where):
    """One person's keypoints in a supported shape -> (17, 3) [x, y, score]."""
    try:
        p = np.asarray(person, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f'{where}: keypoints of a person are not numeric arrays') from None
    if p.shape == (4, NUM_JOINTS):
        return p[[0, 1, 3]].T  # [x, y, logit, prob] rows
    if p.shape == (NUM_JOINTS, 3):
        return p
    if p.shape == (3, NUM_JOINTS):
        return p.T
    if p.ndim == 2 and NUM_JOINTS not in p.shape:
        count = p.shape[1] if p.shape[0] in (3, 4) else p.shape[0]
        raise UserError(f'{where}: a person has {count} keypoints (array {p.shape}); expected {NUM_JOINTS} '
                        f'(COCO layout). Use a COCO-17 keypoint model')
    raise UserError(f'{where}: person keypoints shaped {p.shape}; expected (4, 17) [x, y, logit, prob] '
                    f'or (17, 3) [x, y, score]')


def read_detectron_npz(path, width=None, height=None, fps=None):
    """-> (candidates, confidences, w, h, fps or None): per frame a list of (17, 3) people and their scores.

    ``fps``: the frame rate to record (default: the file's ``metadata['fps']`` if any)."""
    data = load_npz(path, required_keys=['keypoints'],
                    hint='Expected a Detectron-style file with keys keypoints, boxes, metadata.')
    keypoints = data['keypoints']
    boxes = data.get('boxes')
    if np.ndim(keypoints) == 0 or isinstance(keypoints, dict):
        raise UserError(f'{path}: "keypoints" should hold one entry per frame')
    if boxes is not None and (np.ndim(boxes) == 0 or len(boxes) != len(keypoints)):
        raise UserError(f'{path}: "boxes" has {len(boxes) if np.ndim(boxes) else 0} frames but "keypoints" has '
                        f'{len(keypoints)}')
    w, h = _detectron_size(path, data.get('metadata'), width, height)
    metadata = data.get('metadata')
    if fps is None and isinstance(metadata, dict) and metadata.get('fps') is not None:
        fps = check_fps(metadata['fps'], f'{path}: metadata fps')
    candidates, confidences = [], []
    for frame, entry in enumerate(keypoints):
        where = f'{path}: frame {frame}'
        people = [person_keypoints(p, where) for p in _people(entry)]
        candidates.append(people)
        confidences.append([])
        if not people:
            continue
        box_rows = _people(boxes[frame]) if boxes is not None else []
        scores = None
        if len(box_rows) == len(people):
            try:
                scores = [float(np.asarray(b, dtype=np.float64).reshape(-1)[4]) for b in box_rows]
            except (TypeError, ValueError, IndexError):
                raise UserError(f'{where}: boxes should be rows [x1, y1, x2, y2, score]') from None
        if scores is None:
            scores = [_mean_score(p) for p in people]
        confidences[-1] = scores
    return candidates, confidences, w, h, fps


def _mean_score(person):
    """(17, 3) -> the mean of its finite keypoint scores (0 when none)."""
    scores = person[:, 2][np.isfinite(person[:, 2])]
    return float(scores.mean()) if scores.size else 0.0


def _detectron_size(path, metadata, width, height):
    if width is not None and height is not None:
        return check_size(width, height, 'the given width / height')
    if not isinstance(metadata, dict) or 'w' not in metadata or 'h' not in metadata:
        raise UserError(f'not given, and {path} has no metadata {{"w": width, "h": height}} of the video; give '
                        'the video\'s width and height (pixels)', setting='width')
    try:
        return check_size(int(metadata['w']), int(metadata['h']), f'{path}: metadata')
    except (TypeError, ValueError):
        raise UserError(f'{path}: metadata w/h are not integers: {metadata}') from None


def check_fps(value, where, setting=None):
    """A frame rate as a positive float; `UserError` (naming `where`, or the `setting`) otherwise."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = float('nan')
    if not (np.isfinite(fps) and fps > 0):
        raise UserError(f'{where}: {value!r} is not a frame rate; give a positive number of frames per second'
                        if setting is None else f'{value}: must be a positive number of frames per second',
                        setting=setting)
    return fps


def check_size(w, h, where):
    if w <= 0 or h <= 0:
        raise UserError(f'{where}: the video size must be positive, got {w} x {h}')
    return int(w), int(h)


# ----------------------------------------------------------------------------------------------
# COCO-format JSON results

def frame_index(image_id, where):
    """int image_id, a digit string, or a file name whose last digit run is the frame number."""
    if isinstance(image_id, (int, np.integer)) and not isinstance(image_id, bool):
        index = int(image_id)
    elif isinstance(image_id, str):
        digits = re.findall(r'\d+', Path(image_id).stem if not image_id.isdigit() else image_id)
        if not digits:
            raise UserError(f'{where}: image_id {image_id!r} has no frame number (expected an int or a name '
                            f'like frame_000123.jpg)')
        index = int(digits[-1])
    else:
        raise UserError(f'{where}: image_id {image_id!r} should be an int or an image file name')
    if index < 0:
        raise UserError(f'{where}: negative frame number {index}')
    return index


def read_coco_json(path, num_frames=None):
    """-> (candidates, confidences): per frame a list of (17, 3) people (empty where none) and their scores."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f'{path}: file not found', setting='coco_json')
    try:
        results = json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as exc:
        raise UserError(f'{path}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); '
                        f'expected a COCO keypoint results list') from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f'{path}: cannot read ({exc})') from None
    if isinstance(results, dict) and isinstance(results.get('annotations'), list):
        results = results['annotations']
    if not isinstance(results, list):
        raise UserError(f'{path}: expected a list of detections [{{"image_id", "keypoints", "score"}}, ...], '
                        f'found a JSON {type(results).__name__}')
    found = {}  # frame -> [(score, (17, 3)), ...]
    for i, det in enumerate(results):
        where = f'{path}: entry {i}'
        if not isinstance(det, dict) or 'image_id' not in det or 'keypoints' not in det:
            raise UserError(f'{where} should be an object with "image_id" and "keypoints"')
        if det.get('category_id', 1) != 1:
            continue  # not a person
        try:
            kps = np.asarray(det['keypoints'], dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise UserError(f'{where}: "keypoints" should be a flat list of numbers [x, y, score] * 17') from None
        if kps.size != NUM_JOINTS * 3:
            count = f'{kps.size // 3} keypoints' if kps.size % 3 == 0 else f'{kps.size} numbers'
            raise UserError(f'{where}: {count}, expected {NUM_JOINTS} (COCO layout, [x, y, score] each)')
        kps = kps.reshape(NUM_JOINTS, 3)
        try:
            score = float(det['score']) if 'score' in det else _mean_score(kps)
        except (TypeError, ValueError):
            raise UserError(f'{where}: "score" should be a number') from None
        found.setdefault(frame_index(det['image_id'], where), []).append((score, kps))
    if not found:
        raise UserError(f'{path}: no person detections in the file; nothing to convert')
    length = max(found) + 1
    if length > MAX_FRAMES:
        raise UserError(f'{path}: frame number {length - 1} from image_id is implausibly large; image_id must be '
                        f'the frame index (0, 1, ...) or an image name with the frame number in it')
    if num_frames is not None:
        if num_frames < length:
            raise UserError(f'{num_frames}: {path} has detections up to frame {length - 1}', setting='num_frames')
        length = num_frames
    people = [found.get(frame, []) for frame in range(length)]
    return [[kps for _, kps in frame] for frame in people], [[score for score, _ in frame] for frame in people]
