"""A video file -> one person's 2D keypoints per frame, cleaned as `-d custom` needs them.

    result = detect_video('clip.mp4', MediaPipePose)     # -> VideoKeypoints

Stages: read the frames (`common.io.video.VideoReader`: imageio-ffmpeg, with the video's frame
rate), detect the people of each frame (a `common.detection.base.Detector`), keep one person
(`tracking.choose_person`), put left/right swaps back (`tracking.repair_swaps`), fill the gaps
(`gaps.fill_gaps`, the rule of every `-d custom` input). Messages concern the setting `setting`
(the program's video argument).
"""
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from common.detection.gaps import GapReport, fill_gaps
from common.detection.tracking import choose_person, repair_swaps
from common.errors import UserError
from common.progress import progress_bar
from common.io.video import VideoReader


@dataclass(frozen=True)
class VideoKeypoints:
    """One video's kept person.

    name: the video's name in a ``-d custom`` file (its file name, e.g. ``clip.mp4``);
    keypoints: (N, J, 2) float32 pixels in ``layout``, gaps filled; scores: (N, J) float32 detector
    scores of the kept person (NaN where absent); width / height: pixels; fps: frames per second
    (None when the file states none); report: `GapReport`; tracks: people tracks found; detector: its name;
    world: (N, J, 3) float32 metres, the detector's own 3D of the kept person in ``layout`` (NaN where
    absent), or None when the detector gives no 3D; first_frame: the video frame of row 0 (the N rows are
    the video's frames ``first_frame`` to ``first_frame + N - 1``; 0 for the one-person path, which covers
    the whole video); person: the several-people tracker's id of this person, or None (one-person path).
    """
    name: str
    path: Path
    layout: object
    keypoints: np.ndarray
    scores: np.ndarray
    width: int
    height: int
    fps: float | None
    report: GapReport
    tracks: int
    detector: str
    world: np.ndarray | None = None
    first_frame: int = 0
    person: int | None = None


def open_video(path, setting):
    """A `VideoReader` of a moving video (a single picture is refused)."""
    video = VideoReader(path, setting=setting)
    if video.still:
        video.close()
        raise UserError(f'{path}: a single picture, not a video; give a video file (.mp4, .avi, .mov, .gif ...)',
                        setting=setting)
    return video


def detect_frames(video, detector, progress=False, desc='detect'):
    """Per frame of an open `VideoReader`, the detector's list of (J, 3) candidates."""
    return detect_frames_3d(video, detector, progress, desc)[0]


def detect_frames_3d(video, detector, progress=False, desc='detect'):
    """(candidates, world): per frame the detector's list of (J, 3) candidates and its ``world`` list (or None)."""
    frames = progress_bar(video.frames(), enabled=progress, total=video.frame_count, desc=desc, unit='frame')
    candidates, world = [], []
    for frame in frames:
        candidates.append(detector.detect(frame))
        world.append(detector.world)
    return candidates, world


def kept_world(raw, candidates, world):
    """(F, J, 3) float32 metres: the detector's 3D of the candidate `choose_person` kept per frame (NaN where
    none), or None when the detector gives no 3D. The kept candidate is found as the one equal to ``raw[f]``."""
    if world is None or all(w is None for w in world):
        return None
    out = np.full(raw.shape, np.nan, dtype=np.float32)
    for frame, (people, points) in enumerate(zip(candidates, world)):
        for index, person in enumerate(people):
            if points and points[index] is not None and np.array_equal(np.asarray(person, dtype=np.float64),
                                                                       raw[frame], equal_nan=True):
                out[frame] = points[index]
                break
    return out


@dataclass(frozen=True)
class DetectorPass:
    """A detector's output on every frame of one video, with what the video says of itself."""
    candidates: list            # per frame: the detector's list of (J, 3) [x, y, score] pixel arrays
    world: list                 # per frame: the detector's ``world`` list (or None)
    detector: str               # the detector's name
    layout: object              # its `JointLayout`
    width: int
    height: int
    fps: float | None
    truncated: str | None       # a note when fewer frames decoded than the file announces


def run_detector(path, make_detector, progress=False, setting='videos', video=None, desc='detect'):
    """One decode of the video at `path` through a fresh detector (``make_detector()``); returns `DetectorPass`.

    video: an already open `VideoReader` of `path` (read to its end; the caller closes it), else the file is
    opened (`open_video`) and closed here. Raises UserError for an unreadable video or a single picture.
    """
    path = Path(path)
    own = video is None
    if own:
        video = open_video(path, setting)
    try:
        with make_detector() as detector:
            candidates, world = detect_frames_3d(video, detector, progress, desc=f'{desc} {path.name}')
            name, layout = detector.name, detector.layout
        width, height = video.size
        return DetectorPass(candidates, world, name, layout, width, height, video.fps, video.truncation_note())
    finally:
        if own:
            video.close()


def detect_video(path, make_detector, min_confidence=0.3, progress=False, warn=None, setting='videos', video=None):
    """Run the whole 2D stage on one video file; returns `VideoKeypoints`.

    make_detector: a callable returning a fresh `Detector` (one per video: video detectors track);
    min_confidence: joints scored lower are filled from neighbouring frames; video: an already open
    `VideoReader` of `path` (it is read to its end; the caller closes it), else the file is opened here.
    Raises UserError for an unreadable or empty video, and when no frame shows a person.
    """
    done = run_detector(path, make_detector, progress, setting, video)
    if done.truncated and warn is not None:
        warn(done.truncated)
    return keep_person(done.candidates, done.world, done.layout, done.detector, path, done.width, done.height,
                       done.fps, min_confidence, warn, setting)


def keep_person(candidates, world, layout, detector, path, width, height, fps, min_confidence=0.3, warn=None,
                setting='videos', confidences=None, source='a video'):
    """A detector's output on every frame of one video -> `VideoKeypoints`: the person kept
    (`choose_person`), swaps repaired, gaps filled: the one person rule of every 2D input (videos, and
    other detectors' files). ``world``: per frame the detector's ``world`` list (or None); ``detector``:
    its name; ``confidences``: per frame one score per candidate (a file's box scores), or None; joints
    scored below ``min_confidence`` are filled from neighbouring frames and do not shape the boxes that
    follow the person. UserError when no frame shows a person (the hint asks for `source` that shows one)."""
    path = Path(path)
    raw, tracks = choose_person(candidates, layout.num_joints, confidences, min_score=min_confidence)
    world = kept_world(raw, candidates, world)
    seen = np.all(np.isfinite(raw[..., :2]), axis=(1, 2))
    if not seen.any():
        raise UserError(f'{path}: no person found in any of its {len(raw)} frames; give {source} showing a '
                        f'person (whole body, not too small)', setting=setting)
    raw, swaps = repair_swaps(raw)
    keypoints, report = fill_gaps(raw, min_confidence, path, warn)
    return VideoKeypoints(name=path.name, path=path, layout=layout, keypoints=keypoints,
                          scores=raw[..., 2].astype(np.float32), width=width, height=height, fps=fps,
                          report=replace(report, swaps_repaired=swaps), tracks=tracks, detector=detector, world=world)
