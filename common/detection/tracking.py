"""One person per frame out of a detector's candidates, and left/right swaps put back.

`choose_person`: the candidates of consecutive frames are linked into tracks (a candidate continues
a track whose last box overlaps it, IoU >= `MIN_IOU`, or whose last box centre lies within
`MAX_CENTRE_SHIFT` of the box's size, when that track was seen at most `MAX_GAP_FRAMES` frames
before; the closest continuations, by overlap then by centre distance, are settled first, so a
wrong large box cannot take the track of a person it merely contains); the track kept is the one with the largest sum of box sizes over its frames, each size
weighted by the detection's confidence where the input gives one: the person who is both large in
the picture and there for long (and confidently detected), not whoever appears first or scores
highest in one frame. Frames where that track has no candidate become NaN rows (gaps, filled later
by `common.detection.gaps`). With `repair_swaps` this is the one person rule of every 2D input
(`common.detection.video.keep_person`: a video through the bundled detector, and other detectors'
files read by `common.detection.files`).

`repair_swaps`: detectors sometimes label a left limb right and the right one left for a few
frames (typically while the person turns). A joint moves little from one frame to the next, so
the labelling of every frame (as detected, or swapped: the whole body, then each group of mirror
pairs: face, arms, legs) is chosen to make the motion smoothest over the whole video, with a small
cost per swapped frame (`SWAP_PRIOR`) so that the detector's labels win where motion cannot tell.
`OnlineTrack` (no look-ahead) compares each frame with the previous one instead (`SWAP_RATIO`).
"""
import numpy as np

from common.data.layouts import COCO_17

MIN_IOU = 0.3
MAX_CENTRE_SHIFT = 0.5      # fraction of the box's diagonal
MAX_GAP_FRAMES = 30
MIN_SCORE_FOR_BOX = 0.1     # joints scored lower do not shape the person's box (offline: min_confidence)
SWAP_RATIO = 0.5           # online rule: swap when the exchanged labels are twice as close
SWAP_PRIOR = 0.05          # offline: cost of one swapped frame, in person sizes of motion

# Mirror pairs of `common.data.layouts.COCO_17` per body part (face, arms, legs), swapped together.
COCO_SWAP_GROUPS = COCO_17.mirror_groups()


def person_box(keypoints, min_score=MIN_SCORE_FOR_BOX):
    """(J, 3) [x, y, score] pixels -> (x1, y1, x2, y2) of its joints scored at least `min_score` (all finite
    ones if none), or None."""
    kps = np.asarray(keypoints, dtype=np.float64)
    finite = np.all(np.isfinite(kps[:, :2]), axis=1)
    if not finite.any():
        return None
    with np.errstate(invalid='ignore'):
        confident = finite & (kps[:, 2] >= min_score)
    points = kps[confident if confident.any() else finite, :2]
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _size(box):
    return float(np.hypot(box[2] - box[0], box[3] - box[1]))


def box_iou(a, b):
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _affinity(track_box, box):
    """How well `box` continues a track whose last box is `track_box` (> 0: a match; higher: better)."""
    iou = box_iou(track_box, box)
    if iou >= MIN_IOU:
        return 1.0 + iou
    centre_shift = np.hypot(*((track_box[:2] + track_box[2:]) / 2 - (box[:2] + box[2:]) / 2))
    reach = MAX_CENTRE_SHIFT * max(_size(track_box), _size(box), 1e-9)
    return 1.0 - centre_shift / reach if centre_shift < reach else 0.0


def link_tracks(candidates, confidences=None, min_score=MIN_SCORE_FOR_BOX):
    """Per frame a list of (J, 3) candidates -> tracks, each ``{frame: candidate index}``, and their sizes.

    Returns (tracks, scores): ``scores[i]`` is the sum over its frames of track i's box diagonal in pixels,
    each times the candidate's confidence (``confidences``: per frame a list of floats in [0, 1], one per
    candidate; None: 1 for every candidate). Joints scored below `min_score` do not shape the boxes.
    """
    tracks, scores, last = [], [], []     # last: (frame, box) per track
    for frame, people in enumerate(candidates):
        boxes = {i: b for i, b in enumerate(person_box(p, min_score) for p in people) if b is not None}
        # every (candidate, track) continuation, the best settled first (greedy global matching)
        pairs = sorted(((_affinity(last[t][1], box), index, t) for index, box in boxes.items()
                        for t in range(len(last)) if frame - last[t][0] <= MAX_GAP_FRAMES), reverse=True)
        matched = {}                      # candidate index -> track
        for affinity, index, t in pairs:
            if affinity > 0 and index not in matched and t not in matched.values():
                matched[index] = t
        for index in sorted(boxes, key=lambda i: -_size(boxes[i])):
            if index not in matched:      # nobody continued: a new track
                matched[index] = len(tracks)
                tracks.append({})
                scores.append(0.0)
                last.append(None)
            t, box = matched[index], boxes[index]
            tracks[t][frame] = index
            scores[t] += _size(box) * (1.0 if confidences is None else float(confidences[frame][index]))
            last[t] = (frame, box)
    return tracks, scores


def choose_person(candidates, num_joints, confidences=None, min_score=MIN_SCORE_FOR_BOX):
    """Per frame a list of (J, 3) [x, y, score] candidates -> (F, J, 3) float64, NaN rows where the kept person is absent.

    The kept person is the track with the largest summed box size, weighted by ``confidences`` when
    given, of boxes made of the joints scored at least `min_score` (see the module and `link_tracks`):
    a misplaced joint the detector doubts does not make a box jump to someone else. Also returns the number of tracks found: ``(raw, num_tracks)``.
    """
    raw = np.full((len(candidates), num_joints, 3), np.nan)
    tracks, scores = link_tracks(candidates, confidences, min_score)
    if tracks:
        best = tracks[int(np.argmax(scores))]
        for frame, index in best.items():
            raw[frame] = np.asarray(candidates[frame][index], dtype=np.float64)
    return raw, len(tracks)


def _group_swapped(points, group):
    """(..., J, C) -> a copy with the left and right joints of `group` (mirror pairs) exchanged."""
    left, right = [pair[0] for pair in group], [pair[1] for pair in group]
    out = np.array(points, copy=True)
    out[..., left + right, :] = points[..., right + left, :]
    return out


def repair_swaps(raw, groups=COCO_SWAP_GROUPS, prior=SWAP_PRIOR):
    """(F, J, 3) track with NaN rows -> (repaired copy, number of (frame, group) labellings changed).

    Each frame with a person is kept as detected or swapped; the choice minimises, over the whole
    video (Viterbi, two states), the joints' motion between consecutive frames with a person (in
    units of the person's median box diagonal) plus `prior` for every swapped frame: a run of
    exchanged labels costs two jumps and is swapped back, a genuine crossing (the same motion either
    way) is left alone, and where the detector's labels stay changed for longer than about (two
    jumps / prior) frames, the detector is followed, so one missed swap never flips the rest of the
    video. First the whole body is decided (detectors mostly flip every pair at once, when the
    person turns), then each group (face, arms, legs) on the result.
    """
    out = np.array(raw, dtype=np.float64, copy=True)
    frames = np.flatnonzero(np.all(np.isfinite(out[..., :2]), axis=(1, 2)))
    if len(frames) < 2:
        return out, 0
    points = out[frames, :, :2]                                          # (n, J, 2)
    scale = float(np.median(np.hypot(*(points.max(axis=1) - points.min(axis=1)).T))) or 1.0
    changed = np.zeros((len(frames), len(groups)), dtype=bool)
    whole_body = tuple(pair for group in groups for pair in group)
    for pairs in (whole_body, *groups):
        swapped = _best_labelling(out[frames, :, :2], pairs, prior, scale)
        for t in np.flatnonzero(swapped):
            out[frames[t]] = _group_swapped(out[frames[t]], pairs)                # positions and scores
        for g, group in enumerate(groups):
            if set(group) <= set(pairs):
                changed[:, g] ^= swapped
    return out, int(changed.sum())


def _best_labelling(points, pairs, prior, scale):
    """(n, J, 2) consecutive frames -> (n,) bool: the frames whose `pairs` to swap (see `repair_swaps`)."""
    joints = [j for pair in pairs for j in pair]
    versions = [points[:, joints], _group_swapped(points, pairs)[:, joints]]           # kept, swapped
    # step[i, j, t-1]: motion from state i at frame t-1 to state j at frame t
    step = np.array([[np.linalg.norm(versions[j][1:] - versions[i][:-1], axis=-1).sum(axis=-1) / scale
                      for j in (0, 1)] for i in (0, 1)])
    cost = np.array([0.0, prior])
    back = np.zeros((len(points), 2), dtype=np.int64)
    for t in range(1, len(points)):
        options = cost[:, None] + step[:, :, t - 1]                      # (from, to)
        back[t] = np.argmin(options, axis=0)
        cost = options[back[t], (0, 1)] + (0.0, prior)
    swapped = np.zeros(len(points), dtype=bool)
    state = int(np.argmin(cost))
    for t in range(len(points) - 1, -1, -1):
        swapped[t] = bool(state)
        state = back[t, state]
    return swapped


def swap_against(reference, current, groups=COCO_SWAP_GROUPS, ratio=SWAP_RATIO):
    """(J, 2) `current` with each group swapped whose exchanged labels lie much closer to `reference`
    (the swapped distance below `ratio` times the kept one): the online rule, without look-ahead."""
    current = np.array(current, dtype=np.float64, copy=True)
    for group in groups:
        joints = [j for pair in group for j in pair]
        swapped = _group_swapped(current, group)
        kept_distance = np.linalg.norm(current[joints] - reference[joints], axis=-1).sum()
        swapped_distance = np.linalg.norm(swapped[joints] - reference[joints], axis=-1).sum()
        if swapped_distance < ratio * kept_distance:
            current = swapped
    return current


class OnlineTrack:
    """`choose_person` + `repair_swaps` + gap filling frame by frame, for a live stream (no look-ahead).

    ``push(candidates)`` takes one frame's list of (J, 3) [x, y, score] candidates and returns that
    frame's (J, 2) float32 pixels of the followed person, or None before anyone was seen. The person
    followed is the candidate that best continues the previous frame's box, else (at the start or
    after `MAX_GAP_FRAMES` frames without a match) the largest; swapped left/right groups are put
    back against the previous frame; joints scored below ``min_confidence``, and frames without the
    person, repeat the last accepted value (offline, `fill_gaps` interpolates instead).
    """

    def __init__(self, min_confidence=0.3, groups=COCO_SWAP_GROUPS):
        self.min_confidence = min_confidence
        self.groups = groups
        self._last = None           # (J, 2) last returned pixels
        self._box = None
        self._seen = None           # frame index of the last match
        self.frame = -1

    def push(self, candidates):
        self.frame += 1
        chosen = self._choose(candidates)
        if chosen is None:
            return None if self._last is None else self._last.copy()
        kps = np.asarray(chosen, dtype=np.float64)
        points = kps[:, :2].copy()
        with np.errstate(invalid='ignore'):
            weak = ~(np.isfinite(points).all(axis=1) & (kps[:, 2] >= self.min_confidence))
        if self._last is not None:
            points[weak] = self._last[weak]
            points = swap_against(self._last, points, self.groups)
        elif weak.all():
            return None
        else:
            fallback = points[~weak].mean(axis=0)
            points[weak] = fallback
        self._last = points.astype(np.float32)
        return self._last.copy()

    def _choose(self, candidates):
        boxes = [(person_box(p), p) for p in candidates]
        boxes = [(b, p) for b, p in boxes if b is not None]
        if not boxes:
            return None
        if self._box is not None and self.frame - self._seen <= MAX_GAP_FRAMES:
            best = max(boxes, key=lambda bp: _affinity(self._box, bp[0]))
            if _affinity(self._box, best[0]) <= 0:
                best = None
        else:
            best = None
        if best is None:
            if self._box is not None and self.frame - self._seen <= MAX_GAP_FRAMES:
                return None     # the followed person is missing; do not jump to someone else yet
            best = max(boxes, key=lambda bp: _size(bp[0]))
        self._box, self._seen = best[0], self.frame
        return best[1]
