"""Several people of one video, each lifted in 3D by the single-person stages.

    from common.video_pipeline import VideoLifter
    result = VideoLifter().lift_people('tests/data/pose2sim_multi_cam04.mp4')   # -> PeopleResult
    for person_id, person in result.people.items():                            # by track id
        person.frames               # (N_p,) the video frames its rows cover
        person.poses_camera         # (N_p, 17, 3) metres, camera frame: placed by its own trajectory

Stages: the several-people 2D stage (`common.detection.people.detect_people`: every person under a
stable id, gaps filled per person), the people chosen (`select_people`: 'all', 'largest' or an id),
then each person through `VideoLifter.lift_keypoints`, the same code as the one-person path (codec,
PoseFormer, bones, One-Euro, placement), with its own fitted skeleton, smoothing and trajectory.

Frames: a person is lifted on the frames from their first to their last detection
(`PersonTrack.present`); frames inside where they were not detected are filled from the
neighbouring detections (the gap rule of every ``-d custom`` input). Their `VideoResult`'s rows are
the video frames ``result.frames`` (= ``first_frame`` + 0 .. N_p - 1); before and after, the person
has no 3D.
"""
from dataclasses import dataclass

import numpy as np

from common.detection.people import detect_people, person_keypoints, select_people


@dataclass
class PeopleResult:
    """The people of one video lifted: ``detected`` the several-people 2D stage (`PeopleKeypoints`, every
    person found), ``people`` ``{track id: VideoResult}`` of the people chosen, in id order."""
    detected: object
    people: dict

    @property
    def name(self):
        return self.detected.name

    @property
    def frames(self):
        """The video's frame count (each person covers some of them: `VideoResult.frames`)."""
        return self.detected.frames

    @property
    def rate(self):
        return next(iter(self.people.values())).rate

    def placed(self):
        """(F, P, 17, 3) float32: every chosen person's camera-frame poses at the video's F frames (P in id
        order), NaN where a person has no 3D (before their first / after their last detection)."""
        out = np.full((self.frames, len(self.people), 17, 3), np.nan, dtype=np.float32)
        for index, person in enumerate(self.people.values()):
            out[person.frames, index] = person.poses_camera
        return out


def lift_people(lifter, path, choice='all', progress=False, warn=None, make_detector=None):
    """The people `choice` names in the video file `path`, each lifted by `lifter` (a `VideoLifter`);
    returns a `PeopleResult`.

    make_detector: a several-people `Detector` factory (default: `common.detection.multi_person.MultiPersonPose`).
    UserError: an unreadable video, nobody in it (setting ``video``), an id not in it (``person``, the ids
    found listed).
    """
    options = {} if make_detector is None else {'make_detector': make_detector}
    detected = detect_people(path, min_confidence=lifter.settings.min_confidence, progress=progress, warn=warn,
                             setting='video', **options)
    return lift_detected(lifter, detected, choice, progress=progress)


def lift_detected(lifter, detected, choice='all', progress=False):
    """The 3D stages on an earlier several-people 2D stage (`detect_people`'s `PeopleKeypoints`): the people
    `choice` names, each lifted by `lifter` (`VideoLifter.lift_keypoints`); returns a `PeopleResult`."""
    chosen = select_people(detected, choice, setting='person')
    people = {person.id: lifter.lift_keypoints(person_keypoints(detected, person), progress=progress)
              for person in chosen}
    return PeopleResult(detected=detected, people=people)
