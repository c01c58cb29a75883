"""Several people per video without a real detector: identities through crossings and occlusions, short
tracks dropped, per-person gaps and presence, the choice of people, the region geometry of the
several-person detector. Scripted candidates stand in for the detector (tests/video_fixtures.py), so
this runs on the core install; tests/test_multi_person_video.py runs the real detector on a real clip.
"""
import math

import numpy as np
import pytest

from common.detection import mediapipe_missing_reason
from common.detection.blazepose import Region, tiles
from common.detection.multi_person import same_person
from common.detection.multi_tracking import (MAX_GAP_FRAMES, keypoint_similarity, link_people, min_track_frames,
                                             track_people)
from common.detection.people import detect_people, select_people
from common.errors import UserError
from tests.video_fixtures import ScriptedDetector, walking_person, write_video

FRAMES = 60
HIPS = [11, 12]


def hip_x(keypoints):
    return np.asarray(keypoints)[..., HIPS, 0].mean(axis=-1)


def crossing_people(frames=FRAMES):
    """Two people of one size walking towards each other along one line; they pass at frame ~30."""
    right = walking_person(frames, shift=(0, 0), speed=8.0)           # hips x: 100 -> 572
    left = walking_person(frames, shift=(480, 6), speed=-8.0)         # hips x: 580 -> 108
    return right, left


def test_two_people_crossing_keep_their_identities():
    right, left = crossing_people()
    rng = np.random.default_rng(0)
    script = []
    for f in range(FRAMES):
        people = [right[f], left[f]]
        rng.shuffle(people)                       # the detector's order changes from frame to frame
        script.append(people)
    tracks = link_people(script)
    assert len(tracks) == 2
    for track in tracks:
        frames = sorted(track)
        assert frames == list(range(FRAMES))
        xs = hip_x([track[f] for f in frames])
        steps = np.diff(xs)
        assert (steps > 0).all() or (steps < 0).all()     # each identity walks one way throughout


def test_a_person_hidden_behind_another_for_a_while_comes_back_under_the_same_id():
    right, left = crossing_people()
    script = [[left[f]] + ([] if 25 <= f < 40 else [right[f]]) for f in range(FRAMES)]   # hidden 15 frames
    people, rule = track_people(script, 17, fps=60)
    assert len(people) == 2 and '0 track(s)' in rule
    walker = [p for p in people if hip_x(p.keypoints[0]) < 200][0]
    assert not walker.detected[25:40].any() and walker.detected[:25].all() and walker.detected[40:].all()
    assert walker.present.all()
    # the gap is filled by interpolation: the hips move on at the walking speed
    np.testing.assert_allclose(hip_x(walker.keypoints[25:40]), hip_x(right[25:40]), atol=1e-3)
    assert (walker.keypoints[25:40, :, 2] == 0).all()


def test_an_absence_longer_than_the_gap_limit_starts_a_new_identity():
    person = walking_person(FRAMES + MAX_GAP_FRAMES, speed=0.5)
    script = [[person[f]] if f < 10 or f > 10 + MAX_GAP_FRAMES else [] for f in range(len(person))]
    assert len(link_people(script)) == 2


def test_short_tracks_are_dropped_and_the_rule_says_so():
    main = walking_person(FRAMES, speed=1.0)
    ghost = walking_person(3, scale=0.5, shift=(400, 0))
    script = [[main[f]] + ([ghost[f - 20]] if 20 <= f < 23 else []) for f in range(FRAMES)]
    people, rule = track_people(script, 17, fps=60)
    assert len(people) == 1 and people[0].detected.all()
    assert min_track_frames(60) == 15 and min_track_frames(None) == 8
    assert rule.startswith('1 track(s) seen in fewer than 15 frames dropped')


def test_a_person_entering_later_is_present_only_from_then_and_ids_go_by_first_appearance():
    first = walking_person(FRAMES, shift=(300, 0), speed=0.0)
    second = walking_person(FRAMES, shift=(0, 0), speed=1.0)
    script = [[first[f]] + ([second[f]] if f >= 20 else []) for f in range(FRAMES)]
    people, _ = track_people(script, 17, fps=30)
    assert [p.id for p in people] == [0, 1]
    np.testing.assert_allclose(people[0].keypoints[..., :2], first[..., :2], atol=1e-3)
    assert people[1].present.tolist() == [False] * 20 + [True] * 40
    assert people[1].keypoints.shape == (FRAMES, 17, 3) and people[1].keypoints.dtype == np.float32
    # the frames before the first detection repeat it (edge values), scores say nobody was detected
    np.testing.assert_allclose(people[1].keypoints[:20, :, :2], np.repeat(second[20:21, :, :2], 20, axis=0), atol=1e-3)
    assert (people[1].keypoints[:20, :, 2] == 0).all()


def test_people_in_one_frame_get_ids_left_to_right():
    a = walking_person(FRAMES, shift=(400, 0), speed=0.0)
    b = walking_person(FRAMES, shift=(0, 0), speed=0.0)
    people, _ = track_people([[a[f], b[f]] for f in range(FRAMES)], 17, fps=30)
    assert hip_x(people[0].keypoints[0]) < hip_x(people[1].keypoints[0])


def test_left_right_swaps_of_each_person_are_put_back():
    a = walking_person(FRAMES, shift=(0, 0), speed=1.0)
    b = walking_person(FRAMES, shift=(400, 0), speed=-1.0)
    flipped = b.copy()
    flipped[30:33] = flipped[30:33][:, [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]]
    people, _ = track_people([[a[f], flipped[f]] for f in range(FRAMES)], 17, fps=30)
    np.testing.assert_allclose(people[1].keypoints[..., :2], b[..., :2], atol=1e-3)
    assert people[1].report.swaps_repaired == 3 * 3 and people[0].report.swaps_repaired == 0


def test_keypoint_similarity():
    pose = walking_person(1)[0]
    size = 300.0
    assert keypoint_similarity(pose, pose, size) == pytest.approx(1.0)
    moved = pose.copy()
    moved[:, 0] += 0.1 * size                                # every joint one tolerance away
    assert keypoint_similarity(pose, moved, size) == pytest.approx(math.exp(-0.5))
    assert keypoint_similarity(pose, moved, size, gap=4) > keypoint_similarity(pose, moved, size)
    unsure = pose.copy()
    unsure[:, 2] = 0.1
    assert keypoint_similarity(pose, unsure, size) == 0.0


def test_choosing_people():
    small = walking_person(FRAMES, scale=0.5, shift=(0, 0), speed=0.0)
    large = walking_person(FRAMES, scale=1.2, shift=(300, 0), speed=0.0)
    video = write_video_free_result([[small[f], large[f]] for f in range(FRAMES)])
    assert [p.id for p in select_people(video, 'all')] == [0, 1]
    assert [p.id for p in select_people(video, 'largest')] == [1]
    assert [p.id for p in select_people(video, '0')] == [0]
    with pytest.raises(UserError, match=r"'7': not a person of clip.mp4; give all, largest or one of the ids 0, 1"):
        select_people(video, '7')


def write_video_free_result(script):
    """`PeopleKeypoints` of a scripted detection, built the way `detect_people` builds it."""
    from common.data.layouts import COCO_17
    from common.detection.people import PeopleKeypoints
    people, rule = track_people(script, 17, fps=30)
    return PeopleKeypoints(name='clip.mp4', path=None, layout=COCO_17, people=people, frames=len(script),
                           width=640, height=480, fps=30.0, detector='scripted', drop_rule=rule)


def test_detect_people_on_a_video_file(tmp_path):
    frames = 20
    a = walking_person(frames, shift=(0, 0), speed=1.0)
    b = walking_person(frames, shift=(200, 0), speed=0.0)
    path = write_video(tmp_path / 'two.mp4', np.zeros((frames, 320, 480, 3), dtype=np.uint8), fps=25)
    result = detect_people(path, lambda: ScriptedDetector([[a[f], b[f]] for f in range(frames)]))
    assert len(result.people) == 2 and result.frames == frames and result.fps == pytest.approx(25)
    assert (result.width, result.height) == (480, 320)
    assert result.describe().startswith('two.mp4: 2 people in 20 frames (#0: 20 frames, #1: 20 frames); 0 track(s)')


def test_a_video_with_nobody_says_so(tmp_path):
    path = write_video(tmp_path / 'empty.mp4', np.zeros((10, 64, 64, 3), dtype=np.uint8))
    with pytest.raises(UserError, match=r'empty.mp4: nobody found in any of its 10 frames') as caught:
        detect_people(path, lambda: ScriptedDetector([[]] * 10))
    assert caught.value.setting == 'videos'


# ------------------------------------------------------------------------------------ detector geometry

def test_regions_stand_the_body_upright_and_span_the_body():
    upright = Region.from_points((100, 200), (100, 120))          # scale point straight above the hips
    assert upright.rotation == pytest.approx(0.0) and upright.size == pytest.approx(2 * 80 * 1.25)
    leaning = Region.from_points((100, 200), (180, 200))          # body lying towards the right
    assert leaning.rotation == pytest.approx(math.pi / 2)
    assert upright.centre == (100, 200)


@pytest.mark.parametrize('width, height', [(272, 480), (640, 480), (300, 300)])
def test_tiles_cover_the_picture_with_squares_of_its_short_side(width, height):
    corners, side = tiles(width, height)
    assert side == min(width, height)
    covered = np.zeros((height, width), dtype=bool)
    for x, y in corners:
        assert 0 <= x <= width - side and 0 <= y <= height - side
        covered[y:y + side, x:x + side] = True
    assert covered.all()


def test_same_person_tells_a_duplicate_from_someone_behind():
    a = walking_person(1)[0]
    assert same_person(a, a + [3, 2, 0])
    behind = walking_person(1, scale=0.8, shift=(40, 10))[0]       # overlapping boxes, different joints
    assert not same_person(a, behind)


# ------------------------------------------------------------------------------------ tools/video_to_2d_people.py

def test_the_people_tool_writes_one_custom_entry_per_chosen_person(tmp_path, capsys):
    from common.data.custom import load_custom
    from common.data.sources import DataConfig
    from tests.video_fixtures import load_script
    tool = load_script('tools/video_to_2d_people.py', 'video_to_2d_people')
    frames = 20
    a = walking_person(frames, shift=(0, 0), speed=1.0)
    b = walking_person(frames, scale=0.5, shift=(250, 0), speed=0.0)
    video = write_video(tmp_path / 'two.mp4', np.zeros((frames, 320, 480, 3), dtype=np.uint8), fps=25)
    out = tmp_path / 'out'
    for choice, expected in (('all', ['two_person0', 'two_person1']), ('largest', ['two_person0']),
                             ('1', ['two_person1'])):
        args = tool.build_parser().parse_args([str(video), '-o', str(out), '--person', choice, '--overwrite'])
        tool.write_people(args, make_detector=lambda: ScriptedDetector([[b[f], a[f]] for f in range(frames)]))
        printed = capsys.readouterr().out
        assert printed.startswith('two.mp4: 2 people found by scripted; 0 track(s) seen in fewer than 7 frames dropped')
        bundle = load_custom(DataConfig(dataset='custom', keypoints='two_people', data_dir=str(out), need_train=False))
        assert [seq.subject for seq in bundle.test] == expected and bundle.fps == 25
        assert all(seq.poses_2d.shape == (frames, 17, 2) for seq in bundle.test)
    assert sorted(p.name for p in out.iterdir()) == ['data_2d_custom_two_people.npz']


def test_the_people_tool_refuses_bad_input_with_one_line_before_any_work(tmp_path, capsys):
    from tests.cli_fixtures import one_error_line
    from tests.video_fixtures import load_script
    tool = load_script('tools/video_to_2d_people.py', 'video_to_2d_people')
    video = write_video(tmp_path / 'v.mp4', np.zeros((5, 64, 64, 3), dtype=np.uint8))
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'data_2d_custom_v_people.npz').write_bytes(b'earlier')
    (tmp_path / 'a_file').write_text('x')
    cases = [
        ([video, '--person', 'tallest'], "error: argument --person: 'tallest': give all, largest or a person id"),
        ([video, '--min-confidence', '2'], 'error: --min-confidence 2.0: give a score between 0 and 1'),
        ([video, '-o', tmp_path / 'out'], 'already exists; pass --overwrite'),
        ([video, '-o', tmp_path / 'a_file' / 'sub'], 'error: -o/--output-dir '),
        ([tmp_path / 'missing.mp4', '-o', tmp_path / 'new'], 'error: video '),
    ]
    for args, expected in cases:
        assert tool.main([str(a) for a in args]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert expected in line, line
    assert (tmp_path / 'out' / 'data_2d_custom_v_people.npz').read_bytes() == b'earlier'
    assert not (tmp_path / 'new').exists()



@pytest.mark.skipif(mediapipe_missing_reason() is None, reason='mediapipe is installed here')
def test_without_mediapipe_the_people_tool_says_how_to_install_it(tmp_path, capsys):
    from tests.cli_fixtures import one_error_line
    from tests.video_fixtures import load_script
    tool = load_script('tools/video_to_2d_people.py', 'video_to_2d_people')
    video = write_video(tmp_path / 'v.mp4', np.zeros((5, 64, 64, 3), dtype=np.uint8))
    assert tool.main([str(video), '-o', str(tmp_path / 'out')]) == 2
    assert 'pip install -r requirements-video.txt' in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / 'out' / 'data_2d_custom_v_people.npz').exists()
