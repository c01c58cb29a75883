"""Several people through a video, each keeping one identity: per frame candidates -> one track per person.

`link_people` links the candidates of consecutive frames (``(J, 3)`` ``[x, y, score]`` pixels, as
a `common.detection.base.Detector` gives them) into tracks:

* motion model: a track's keypoints are predicted into the current frame at constant velocity (per
  joint, from its last two detections; none after a single one);
* similarity of a candidate to a track: keypoint similarity in the style of COCO's OKS, the mean
  over the joints confident in both (score >= `MIN_SCORE`) of exp(-d^2 / 2 (`KAPPA` s)^2), with d
  the distance from the predicted joint and s the track's size (box diagonal), ``KAPPA`` widened
  by the square root of the frames since the track was last seen (uncertainty grows with time);
* association: greedy, the most similar (track, candidate) pair first, one candidate per track,
  pairs below `MIN_SIMILARITY` refused; a track unseen for more than `MAX_GAP_FRAMES` frames is
  closed (a short occlusion, a missed detection or a crossing keeps the identity; a longer absence
  starts a new one); candidates left over start new tracks.

Comparing joints rather than boxes is what keeps two people apart where their boxes overlap (one
passing in front of the other): their limbs still lie in different places.

`track_people` then keeps the tracks seen in at least ``min_frames`` frames (`drop_rule` says the
rule in words, for printing), and per kept person puts left/right swaps back
(`tracking.repair_swaps`) and fills the gaps (`gaps.fill_gaps`, the rule of every ``-d custom``
input) -> `PersonTrack`: ``(N, 17, 3)`` ``[x, y, score]`` pixels + a presence mask, i.e. one
person's 2D keypoints in the shape the single-person pipeline lifts.
"""
from dataclasses import dataclass, replace

import numpy as np

from common.detection.gaps import GapReport, fill_gaps
from common.detection.tracking import person_box, repair_swaps

MIN_SCORE = 0.3
KAPPA = 0.1                 # joint tolerance, as a fraction of the person's size
MIN_SIMILARITY = 0.2
MAX_GAP_FRAMES = 30
MIN_TRACK_SECONDS = 0.25    # shorter tracks are dropped (flickers, duplicates)
FALLBACK_FPS = 30.0         # for the frame count of that rule when a video states no frame rate


def _size(keypoints):
    box = person_box(keypoints)
    return 0.0 if box is None else float(np.hypot(box[2] - box[0], box[3] - box[1]))


def keypoint_similarity(predicted, candidate, size, gap=1):
    """OKS-style similarity in [0, 1] of two (J, 3) [x, y, score] poses (see the module); 0 without shared joints."""
    with np.errstate(invalid='ignore'):
        shared = ((predicted[:, 2] >= MIN_SCORE) & (candidate[:, 2] >= MIN_SCORE)
                  & np.isfinite(predicted[:, :2]).all(axis=1) & np.isfinite(candidate[:, :2]).all(axis=1))
    if not shared.any() or size <= 0:
        return 0.0
    tolerance = KAPPA * size * np.sqrt(gap)
    squared = ((predicted[shared, :2] - candidate[shared, :2]) ** 2).sum(axis=1)
    return float(np.exp(-squared / (2 * tolerance ** 2)).mean())


class _Track:
    """A track being linked: its detections ``{frame: (J, 3)}`` and its motion."""

    def __init__(self, frame, keypoints):
        self.detections = {frame: keypoints}
        self.last_frame = frame
        self.velocity = np.zeros(2)[None].repeat(len(keypoints), axis=0)    # (J, 2) pixels per frame

    def predict(self, frame):
        last = self.detections[self.last_frame].copy()
        last[:, :2] += self.velocity * (frame - self.last_frame)
        return last

    def add(self, frame, keypoints):
        previous = self.detections[self.last_frame]
        step = (keypoints[:, :2] - previous[:, :2]) / (frame - self.last_frame)
        self.velocity = np.where(np.isfinite(step), step, 0.0)
        self.detections[frame] = keypoints
        self.last_frame = frame


def link_people(candidates):
    """Per frame a list of (J, 3) candidates -> tracks, each ``{frame: (J, 3) float64}``, by first appearance."""
    tracks, open_tracks = [], []
    for frame, people in enumerate(candidates):
        people = [np.asarray(p, dtype=np.float64) for p in people]
        open_tracks = [t for t in open_tracks if frame - t.last_frame <= MAX_GAP_FRAMES]
        pairs = []
        for t, track in enumerate(open_tracks):
            predicted = track.predict(frame)
            size = _size(track.detections[track.last_frame])
            for c, person in enumerate(people):
                similarity = keypoint_similarity(predicted, person, size, frame - track.last_frame)
                if similarity >= MIN_SIMILARITY:
                    pairs.append((similarity, t, c))
        used_tracks, used_people = set(), set()
        for _, t, c in sorted(pairs, reverse=True):
            if t not in used_tracks and c not in used_people:
                open_tracks[t].add(frame, people[c])
                used_tracks.add(t)
                used_people.add(c)
        for c, person in enumerate(people):
            if c not in used_people and person_box(person) is not None:
                track = _Track(frame, person)
                tracks.append(track)
                open_tracks.append(track)
    return [track.detections for track in tracks]


def _first_seen(track):
    """Sort key of the ids: the first frame, then the box centre's x there (left to right)."""
    frame = min(track)
    box = person_box(track[frame])
    return frame, (box[0] + box[2]) / 2


def min_track_frames(fps):
    """The fewest frames a kept track has: `MIN_TRACK_SECONDS` of video (at least 2 frames)."""
    return max(2, int(np.ceil(MIN_TRACK_SECONDS * (fps or FALLBACK_FPS))))


def drop_rule(min_frames, dropped):
    """The rule of `track_people`, in words, with how many tracks it dropped."""
    return (f'{dropped} track(s) seen in fewer than {min_frames} frames dropped (a person must be detected in '
            f'at least {MIN_TRACK_SECONDS:g} s of video; shorter tracks are flickers or duplicates)')


@dataclass(frozen=True)
class PersonTrack:
    """One person of a video.

    ``id``: stable over the video (0, 1, ... in order of first appearance among the kept people, left
    to right among those appearing in the same frame);
    ``keypoints``: (N, J, 3) float32 ``[x, y, score]`` pixels over all N frames of the video, x and y
    gap-filled (`gaps.fill_gaps`; before the first / after the last detection the nearest detection is
    repeated), score the detector's (0 where not detected); ``detected``: (N,) bool, frames with a
    detection of this person; ``present``: (N,) bool, from the first to the last detection (the
    frames to lift); ``report``: what the gap filling and the left/right repair did.
    """
    id: int
    keypoints: np.ndarray
    detected: np.ndarray
    present: np.ndarray
    report: GapReport

    def mean_size(self):
        """The mean box diagonal (pixels) over the frames with a detection: how large the person appears."""
        return float(np.mean([_size(self.keypoints[f]) for f in np.flatnonzero(self.detected)]))


def track_people(candidates, num_joints, fps=None, min_confidence=0.3, where='video', warn=None):
    """Per frame a list of (J, 3) candidates -> (list of `PersonTrack`, the drop rule in words).

    ``fps`` sets the shortest track kept (`min_track_frames`); ``min_confidence``: joints scored lower
    are filled from neighbouring frames; ``where`` names the video in warnings. An empty list when
    nobody is found.
    """
    frames = len(candidates)
    min_frames = min_track_frames(fps)
    linked = link_people(candidates)
    kept = sorted((t for t in linked if len(t) >= min_frames), key=_first_seen)
    people = []
    for track in kept:
        raw = np.full((frames, num_joints, 3), np.nan)
        for frame, keypoints in track.items():
            raw[frame] = keypoints
        raw, swaps = repair_swaps(raw)
        filled, report = fill_gaps(raw, min_confidence, f'{where}, person {len(people)}', warn)
        detected = np.isfinite(raw[..., :2]).all(axis=(1, 2))
        seen = np.flatnonzero(detected)
        present = np.zeros(frames, dtype=bool)
        present[seen[0]:seen[-1] + 1] = True
        scores = np.where(detected[:, None], np.nan_to_num(raw[..., 2]), 0.0)
        keypoints = np.concatenate([filled, scores[..., None].astype(np.float32)], axis=-1)
        people.append(PersonTrack(id=len(people), keypoints=keypoints, detected=detected, present=present,
                                  report=replace(report, swaps_repaired=swaps)))
    return people, drop_rule(min_frames, len(linked) - len(kept))
