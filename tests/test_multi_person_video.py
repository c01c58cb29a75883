"""The several-people detector (BlazePose's models from the mediapipe 0.10.21 wheel) on a real clip of two people.

tests/data/pose2sim_multi_cam04.mp4: 100 frames at 60 fps, 272 x 480, a re-encoded view of pose2sim's
multi-person demo (BSD-3-Clause, see its .LICENSE.txt). What a person sees in it (every 10th frame
looked at): two people in every frame, both whole in the picture and nobody else; a woman standing
on the right (her hips near x = 200, moving little) and a man on the left of her who moves to the
right, towards her (his hips from x ~ 100 at the start to ~ 130 by frame 50, where he stays), so
that from about frame 50 his arm and leg reach across her box. The checks encode that: two people and no more, each found in (nearly)
every frame, the man left of the woman in every frame (no identity swap where they overlap), his
drift to the right, her standing still, no jump of either identity from one frame to the next.

Skipped, with the reason, where mediapipe is not installed (pip install -r requirements-video.txt).
"""
import numpy as np
import pytest

from common.detection import mediapipe_missing_reason
from common.detection.people import detect_people, select_people
from tests.video_fixtures import REPO

REASON = mediapipe_missing_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f'real-detector tests skipped: {REASON}')

CLIP = REPO / 'tests' / 'data' / 'pose2sim_multi_cam04.mp4'
FRAMES, WIDTH, HEIGHT = 100, 272, 480
HIPS = [11, 12]


@pytest.fixture(scope='module')
def result():
    return detect_people(CLIP)


def hips_x(person):
    return person.keypoints[:, HIPS, 0].mean(axis=1)


def test_two_people_found_in_nearly_every_frame(result):
    assert (result.frames, result.width, result.height) == (FRAMES, WIDTH, HEIGHT)
    assert result.fps == pytest.approx(60.0)
    assert len(result.people) == 2
    for person in result.people:
        assert person.detected.sum() >= 95 and person.present.all()
        assert person.keypoints.shape == (FRAMES, 17, 3)
        inside = ((person.keypoints[..., 0] >= 0) & (person.keypoints[..., 0] < WIDTH)
                  & (person.keypoints[..., 1] >= 0) & (person.keypoints[..., 1] < HEIGHT))
        assert inside.mean() > 0.95


def test_identities_do_not_swap_where_the_two_overlap(result):
    man, woman = result.people                     # ids go left to right at the first frame
    assert (hips_x(man) < hips_x(woman)).all()
    assert hips_x(man)[45:55].mean() - hips_x(man)[:10].mean() > 0.08 * WIDTH      # he moves right
    assert np.ptp(hips_x(woman)) < 0.06 * WIDTH                                     # she stands
    assert man.mean_size() > woman.mean_size()      # he is nearer the camera
    for person in result.people:                    # no jump from one body to the other
        hips = person.keypoints[:, HIPS, :2].mean(axis=1)
        assert np.linalg.norm(np.diff(hips, axis=0), axis=-1).max() < 0.1 * person.mean_size()


def test_the_largest_person_is_the_man_in_front(result):
    assert [p.id for p in select_people(result, 'largest')] == [0]
