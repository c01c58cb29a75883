"""A video file -> every person's 2D keypoints, each person under a stable id: the several-people 2D stage.

    from common.detection.people import detect_people, select_people
    result = detect_people('clip.mp4')                  # -> PeopleKeypoints (MultiPersonPose, nothing downloaded)
    for person in select_people(result, 'all'):         # or 'largest', or an id
        person.keypoints                                # (N, 17, 3) [x, y, score] pixels, COCO-17
        person.present                                  # (N,) bool: the frames this person is in

Stages: read the frames (`common.detection.video.open_video`), detect every person of each frame
(`multi_person.MultiPersonPose` unless another `Detector` factory is given), link them into
identities, drop short tracks, repair left/right and fill gaps per person
(`multi_tracking.track_people`). Each `PersonTrack` is one person's ``(N, 17, 3)`` keypoints of the
whole video with the video's frame rate and picture size here; `person_keypoints` turns one into
what the single-person pipeline lifts (a `VideoKeypoints` of the frames in ``present``).

Naming: person ``ID`` of the video ``<name>.mp4`` is ``<name>_person<ID>`` (`person_name`) in ``-d custom``
entries (`custom_entries`) and in the video command's files.
"""
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from common.detection.multi_tracking import track_people
from common.detection.video import VideoKeypoints, run_detector
from common.errors import UserError

CHOICES = ('all', 'largest')


@dataclass(frozen=True)
class PeopleKeypoints:
    """One video's people: ``people`` (list of `multi_tracking.PersonTrack`, by id), ``frames``,
    ``width`` / ``height`` pixels, ``fps`` (None when the file states none), ``layout`` of the
    keypoints, ``detector`` (its name), ``drop_rule`` (the short-track rule and what it dropped)."""
    name: str
    path: Path
    layout: object
    people: list
    frames: int
    width: int
    height: int
    fps: float | None
    detector: str
    drop_rule: str

    def describe(self):
        """One line: how many people, each one's frames."""
        each = ', '.join(f'#{p.id}: {int(p.detected.sum())} frames' for p in self.people)
        return f'{self.name}: {len(self.people)} people in {self.frames} frames ({each}); {self.drop_rule}'


def _default_detector():
    from common.detection.multi_person import MultiPersonPose
    return MultiPersonPose()


def detect_people(path, make_detector=_default_detector, min_confidence=0.3, progress=False, warn=None,
                  setting='videos', video=None):
    """Run the several-people 2D stage on one video file; returns `PeopleKeypoints`.

    make_detector: a callable returning a fresh `Detector` that gives several people per frame;
    min_confidence: joints scored lower are filled from neighbouring frames; video: an already open
    `VideoReader` of `path` (read to its end; the caller closes it). Raises UserError for an
    unreadable video and when nobody is found in it.
    """
    path = Path(path)
    done = run_detector(path, make_detector, progress, setting, video, desc='detect people')
    if done.truncated and warn is not None:
        warn(done.truncated)
    candidates, layout, name = done.candidates, done.layout, done.detector
    width, height, fps = done.width, done.height, done.fps
    people, rule = track_people(candidates, layout.num_joints, fps, min_confidence, where=str(path), warn=warn)
    if not people:
        raise UserError(f'{path}: nobody found in any of its {len(candidates)} frames ({rule}); give a video '
                        f'that shows people (whole body, not too small)', setting=setting)
    return PeopleKeypoints(name=path.name, path=path, layout=layout, people=people, frames=len(candidates),
                           width=width, height=height, fps=fps, detector=name, drop_rule=rule)


def select_people(result, choice, setting='person'):
    """The people of `result` (`PeopleKeypoints`) that `choice` names: 'all', 'largest' (the person
    largest in the picture over the frames they are in, times those frames: near and lasting) or an id."""
    if choice == 'all':
        return list(result.people)
    if choice == 'largest':
        return [max(result.people, key=lambda p: p.mean_size() * int(p.detected.sum()))]
    ids = [p.id for p in result.people]
    try:
        wanted = int(choice)
    except (TypeError, ValueError):
        wanted = None
    if wanted not in ids:
        raise UserError(f'{choice!r}: not a person of {result.name}; give all, largest or one of the ids '
                        f'{", ".join(map(str, ids))}', setting=setting)
    return [result.people[ids.index(wanted)]]


def check_choice(choice, setting='person'):
    """`choice` if it is 'all', 'largest' or a person id (a whole number >= 0), else UserError: the check made
    before any work (whether an id is in the video is known only after the detection: `select_people`)."""
    if choice in CHOICES or (isinstance(choice, int) and choice >= 0) or (isinstance(choice, str) and choice.isdigit()):
        return choice
    raise UserError(f'{choice!r}: give all, largest or a person id (0, 1, ...)', setting=setting)


def person_name(stem, person_id):
    """``<stem>_person<ID>``: a person's name in ``-d custom`` entries and file names (`stem`: the video's
    file name without extension)."""
    return f'{stem}_person{person_id}'


def custom_entries(result, people):
    """``{person_name: ((N, 17, 2) pixels, width, height, fps)}``: `people` of `result` as ``-d custom``
    entries (`common.data.custom.write_custom`), over all N frames of the video (aligned with it)."""
    stem = Path(result.name).stem
    return {person_name(stem, p.id): (p.keypoints[..., :2], result.width, result.height, result.fps)
            for p in people}


def person_keypoints(result, person):
    """One `PersonTrack` of `result` -> the single-person pipeline's 2D input (`VideoKeypoints`).

    The rows are the video frames from the person's first to last detection (``person.present``), gaps
    inside filled (`multi_tracking.track_people`); ``first_frame`` is the video frame of row 0, ``person``
    the id, ``name`` `person_name`. Scores are NaN in frames without a detection of this person (as the
    single-person path marks them); the gap report counts these rows only.
    """
    frames = np.flatnonzero(person.present)
    first, end = int(frames[0]), int(frames[-1]) + 1
    detected = person.detected[first:end]
    keypoints = person.keypoints[first:end]
    scores = np.where(detected[:, None], keypoints[..., 2], np.nan).astype(np.float32)
    report = person.report
    outside = report.frames - (end - first)          # every joint of a frame outside is filled
    report = replace(report, frames=end - first, frames_without_person=int((~detected).sum()),
                     joints_filled=report.joints_filled - outside * report.joints)
    return VideoKeypoints(name=person_name(Path(result.name).stem, person.id), path=result.path,
                          layout=result.layout, keypoints=np.ascontiguousarray(keypoints[..., :2], dtype=np.float32),
                          scores=scores, width=result.width, height=result.height, fps=result.fps, report=report,
                          tracks=len(result.people), detector=result.detector, first_frame=first, person=person.id)
