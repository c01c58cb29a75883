"""The several-people detector (BlazePose's models from the mediapipe 0.10.21 wheel) on a real clip of two people.

tests/data/pose2sim_multi_cam04.mp4: 100 frames at 60 fps, 272 x 480, a re-encoded view of pose2sim's
multi-person demo (BSD-3-Clause, see its .LICENSE.txt). What a person sees in it (every 10th frame
looked at): two people in every frame, both whole in the picture and nobody else; a woman standing
on the right (her hips near x = 200, moving little) and a man on the left of her who moves to the
right, towards her (his hips from x ~ 100 at the start to ~ 130 by frame 50, where he stays), so
that from about frame 50 his arm and leg reach across her box. The checks encode that: two people
and no more, each found in (nearly) every frame, the man left of the woman in every frame (no
identity swap where they overlap), his drift to the right, her standing still, no jump of either
identity from one frame to the next.

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


def test_each_person_lifted_by_the_shipped_model_has_human_bone_lengths(result, tmp_path):
    """Each person, written as the tool writes them and lifted through -d custom (the README's path),
    gets limbs of human length: every limb's median over the frames within 0.15-0.65 m (an untrained
    or mis-scaled lift is far off)."""
    from common.data.custom import write_custom
    from common.data.layouts import H36M_17
    from run_poseformer import main
    write_custom(tmp_path / 'data_2d_custom_clip_people.npz',
                 {f'clip_person{p.id}': (p.keypoints[..., :2], result.width, result.height, result.fps)
                  for p in result.people})
    limbs = {name: H36M_17.index(name) for name in ('left_knee', 'left_foot', 'left_elbow', 'left_wrist',
                                                    'right_knee', 'right_foot', 'right_elbow', 'right_wrist')}
    for person in result.people:
        export = tmp_path / f'person{person.id}.npy'
        assert main(['-d', 'custom', '-k', 'clip_people', '--data-dir', str(tmp_path), '-c', str(tmp_path / 'c'),
                     '--evaluate', str(REPO / 'models' / 'embedded_f27.bin'), '--render', '--viz-subject',
                     f'clip_person{person.id}', '--viz-action', 'custom', '--viz-limit', '1',
                     '--viz-output', str(tmp_path / 'one.gif'), '--viz-export', str(export)]) == 0
        poses = np.load(export)[:, 0]                                           # (N, 17, 3) metres
        assert poses.shape == (FRAMES, 17, 3)
        length = {name: float(np.median(np.linalg.norm(poses[:, j] - poses[:, H36M_17.parents[j]], axis=-1)))
                  for name, j in limbs.items()}
        assert all(0.15 < value < 0.65 for value in length.values()), length
