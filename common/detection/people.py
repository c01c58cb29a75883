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
whole video with the video's frame rate and picture size here: what the single-person pipeline
lifts (take the frames of ``present``).
"""
from dataclasses import dataclass
from pathlib import Path

from common.detection.multi_tracking import track_people
from common.detection.video import run_detector
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
