"""The 2D detection stage without a real detector: person choice, left/right repair, gap filling, the
video path of data/prepare_data_2d_custom.py and tools/video_to_3d.py's refusals of bad input.

A scripted detector stands in for MediaPipe (tests/video_fixtures.py), so all of this runs on the
core install; tests/test_video_detector.py runs the real one on a real clip.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from common.data.layouts import COCO_17
from common.detection import (BLAZEPOSE_TO_COCO, OnlineTrack, choose_person, detect_video, fill_gaps,
                              mediapipe_missing_reason, repair_swaps)
from common.detection.tracking import COCO_SWAP_GROUPS
from common.errors import UserError
from common.io.checkpoint import save_checkpoint
from common.io.npz import load_npz
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer
from tests.video_fixtures import REPO, ScriptedDetector, load_script, walking_person, write_video
from tests.cli_fixtures import one_error_line


prep = load_script('data/prepare_data_2d_custom.py', 'prepare_data_2d_custom_video')
tool = load_script('tools/video_to_3d.py', 'video_to_3d')

FRAMES = 30


def swapped(pose, groups=COCO_SWAP_GROUPS):
    out = np.array(pose, copy=True)
    for group in groups:
        left, right = [p[0] for p in group], [p[1] for p in group]
        out[..., left + right, :] = out[..., right + left, :]
    return out


# ------------------------------------------------------------------------------------ person choice

def test_the_largest_lasting_person_is_kept_not_the_first_one():
    main = walking_person(FRAMES, scale=1.0, shift=(0, 0))
    bystander = walking_person(FRAMES, scale=0.4, shift=(300, 10), speed=0.2)
    script = []
    for f in range(FRAMES):
        people = [bystander[f]]                    # the bystander is always listed first
        if f >= 3 and f != 17:                      # the main person enters at frame 3, is missed at 17
            people.append(main[f])
        if f == 10:                                 # a one-frame big false detection elsewhere
            people.append(walking_person(1, scale=1.6, shift=(600, 0))[0])
        script.append(people)
    raw, tracks = choose_person(script, 17)
    assert tracks == 3
    seen = np.isfinite(raw[..., 0]).all(axis=1)
    assert not seen[:3].any() and not seen[17]
    kept = [f for f in range(FRAMES) if seen[f]]
    np.testing.assert_allclose(raw[kept], main[kept])


def test_a_person_followed_across_a_short_gap_stays_one_track():
    main = walking_person(FRAMES, speed=2.0)
    script = [[] if 10 <= f < 20 else [main[f]] for f in range(FRAMES)]
    raw, tracks = choose_person(script, 17)
    assert tracks == 1
    assert np.isfinite(raw[20:, :, 0]).all() and np.isfinite(raw[:10, :, 0]).all()


def test_a_larger_box_around_the_person_does_not_take_their_track():
    """A spurious detection that contains the person (a larger box on the same spot, listed first) also
    overlaps the person's last box; the closest continuation is settled first, so the person keeps
    the track and the spurious one starts its own."""
    main = walking_person(FRAMES, scale=1.0, shift=(0, 0))
    script = [[main[f]] for f in range(FRAMES)]
    centre = main[10, :, :2].mean(axis=0)
    around = main[10].copy()
    around[:, :2] = (main[10, :, :2] - centre) * 1.7 + centre     # IoU with the person's box 1/1.7^2 > MIN_IOU
    script[10] = [around, main[10]]
    raw, tracks = choose_person(script, 17)
    assert tracks == 2
    np.testing.assert_allclose(raw, main)


# ------------------------------------------------------------------------------------ left/right

@pytest.mark.parametrize('frames', [[8], [8, 9, 10, 11], [25, 26, 27, 28, 29]])
def test_left_right_swaps_are_put_back(frames):
    truth = walking_person(FRAMES)
    detected = truth.copy()
    detected[frames] = swapped(truth[frames])
    repaired, swaps = repair_swaps(detected)
    np.testing.assert_allclose(repaired, truth)
    assert swaps == len(frames) * len(COCO_SWAP_GROUPS)


def test_one_limb_swap_is_repaired_alone_and_gaps_are_skipped():
    truth = walking_person(FRAMES)
    detected = truth.copy()
    legs = (COCO_SWAP_GROUPS[2],)
    detected[12] = swapped(truth[12], legs)
    detected[5:7] = np.nan                         # no person in two frames
    detected[7] = swapped(truth[7], legs)          # swapped right after the gap
    repaired, swaps = repair_swaps(detected)
    assert swaps == 2
    keep = np.isfinite(truth[:, 0, 0]) & np.isfinite(detected[:, 0, 0])
    np.testing.assert_allclose(repaired[keep], truth[keep])


def test_a_lasting_change_of_the_detector_labels_is_followed_not_fought():
    """Labels exchanged for longer than the jumps are worth (here 200 of 300 frames, after 100 frames of
    the other labelling) are taken as detected: one missed swap must not flip everything after it."""
    truth = walking_person(300, speed=0.2)
    detected = truth.copy()
    detected[100:] = swapped(truth[100:])
    repaired, swaps = repair_swaps(detected)
    np.testing.assert_allclose(repaired, detected)
    assert swaps == 0
    detected[160:164] = truth[160:164]             # a 4-frame flicker inside that run is still put back
    repaired, swaps = repair_swaps(detected)
    np.testing.assert_allclose(repaired[100:], swapped(truth[100:]))
    assert swaps == 4 * len(COCO_SWAP_GROUPS)


def test_crossing_legs_are_not_swapped():
    """Genuine motion where the ankles pass each other stays as detected."""
    truth = walking_person(FRAMES, speed=0)
    t = np.arange(FRAMES)
    truth[:, 15, 0] = 100 + 30 * np.cos(t / 6)      # left ankle swings across the right one
    truth[:, 16, 0] = 100 - 30 * np.cos(t / 6)
    repaired, swaps = repair_swaps(truth)
    assert swaps == 0
    np.testing.assert_allclose(repaired, truth)


# ------------------------------------------------------------------------------------ gaps

def test_gaps_are_filled_and_counted():
    truth = walking_person(FRAMES)
    raw = truth.copy()
    raw[4:6] = np.nan                               # 2 frames without a person: 34 joints
    raw[10, 9, 2] = 0.1                             # one weak joint
    filled, report = fill_gaps(raw, 0.3, 'v')
    assert (report.frames, report.frames_without_person, report.joints_filled, report.joints) == (FRAMES, 2, 35, 17)
    np.testing.assert_allclose(filled, truth[..., :2], atol=0.2)   # the sway is smooth: linear fill ~ truth
    assert '2 without a person, 35 of 510 joints filled' in report.describe()
    with pytest.raises(UserError, match='v: no person detected in any frame'):
        fill_gaps(np.full((3, 17, 3), np.nan), 0.3, 'v')


def test_online_track_follows_the_person_without_look_ahead():
    main = walking_person(FRAMES)
    other = walking_person(FRAMES, scale=0.5, shift=(300, 0))
    track = OnlineTrack()
    out = []
    for f in range(FRAMES):
        people = [other[f], main[f]]
        if f == 6:
            people = [other[f], swapped(main[f])]
        if f == 9:
            people = [other[f]]                    # main missed: hold the last pose
        if f == 12:
            weak = main[f].copy()
            weak[9, 2] = 0.05
            people = [other[f], weak]
        out.append(track.push(people))
    out = np.stack(out)
    np.testing.assert_allclose(out[[0, 5, 6, 8]], main[[0, 5, 6, 8], :, :2], atol=1e-4)
    np.testing.assert_allclose(out[9], out[8])
    np.testing.assert_allclose(out[12, 9], out[11, 9])
    np.testing.assert_allclose(np.delete(out[12], 9, 0), np.delete(main[12, :, :2], 9, 0), atol=1e-4)


def test_blazepose_indices_give_the_coco_names():
    blazepose = ('nose', 'left_eye_inner', 'left_eye', 'left_eye_outer', 'right_eye_inner', 'right_eye',
                 'right_eye_outer', 'left_ear', 'right_ear', 'mouth_left', 'mouth_right', 'left_shoulder',
                 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_pinky',
                 'right_pinky', 'left_index', 'right_index', 'left_thumb', 'right_thumb', 'left_hip', 'right_hip',
                 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'left_heel', 'right_heel',
                 'left_foot_index', 'right_foot_index')
    assert tuple(blazepose[i] for i in BLAZEPOSE_TO_COCO) == COCO_17.names
    try:
        import mediapipe as mp
    except ImportError:
        return
    names = {lm.value: lm.name.lower() for lm in mp.solutions.pose.PoseLandmark}
    assert tuple(names[i] for i in range(33)) == blazepose


# ------------------------------------------------------------------------------------ the video path

@pytest.fixture(scope='module')
def small_video(tmp_path_factory):
    path = tmp_path_factory.mktemp('video') / 'walk.mp4'
    frames = np.zeros((FRAMES, 300, 200, 3), dtype=np.uint8)
    frames[:, :, :, 1] = np.linspace(0, 255, 200, dtype=np.uint8)[None, None]
    return write_video(path, frames, fps=30)


def script_with_trouble():
    main = walking_person(FRAMES)
    bystander = walking_person(FRAMES, scale=0.4, shift=(150, 0), speed=0)
    script = []
    for f in range(FRAMES):
        person = swapped(main[f]) if f in (12, 13) else main[f]
        script.append([bystander[f]] + ([] if f in (20, 21, 22) else [person]))
    return script, main


def test_prepare_video_writes_the_custom_file_with_its_summary(tmp_path, small_video, capsys):
    script, main = script_with_trouble()
    path = prep.prepare_custom(output_dir=tmp_path, videos=[str(small_video)], log=print,
                               make_detector=lambda: ScriptedDetector(script))
    assert path == tmp_path / 'data_2d_custom_walk.npz'
    data = load_npz(path)
    kps = data['positions_2d']['walk.mp4']['custom'][0]
    assert data['metadata']['video_metadata'] == {'walk.mp4': {'w': 200, 'h': 300, 'fps': 30.0}}
    assert data['metadata']['layout_name'] == 'coco'
    np.testing.assert_allclose(kps, main[..., :2], atol=0.5)     # bystander ignored, swaps undone, gap filled
    out = capsys.readouterr().out
    assert f'walk.mp4: {FRAMES} frames, 3 without a person, 51 of {FRAMES * 17} joints filled' in out
    assert '6 left/right swaps repaired' in out and '30 fps' in out


def test_every_input_kind_prints_its_summary(tmp_path):
    person = walking_person(5)
    person[2, 3, 2] = 0.0
    (tmp_path / 'det').mkdir()
    keypoints = np.empty(6, dtype=object)
    for f in range(6):
        keypoints[f] = [person[f]] if f < 5 else []
    np.savez(tmp_path / 'det' / 'a.mp4.npz', keypoints=keypoints, metadata={'w': 200, 'h': 300})
    lines = []
    prep.prepare_custom(output_dir=tmp_path, detectron_dir=tmp_path / 'det', log=lines.append)
    assert lines == ['a.mp4: 6 frames, 1 without a person, 18 of 102 joints filled (17.6 %)']
    results = [{'image_id': f, 'keypoints': person[f].reshape(-1).tolist(), 'score': 1.0} for f in range(5)]
    (tmp_path / 'r.json').write_text(json.dumps(results))
    lines = []
    prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'r.json', width=200, height=300,
                        num_frames=7, log=lines.append)
    assert lines == ['r: 7 frames, 2 without a person, 35 of 119 joints filled (29.4 %)']


def test_video_input_refusals(tmp_path, small_video):
    detector = lambda: ScriptedDetector([[]] * FRAMES)      # noqa: E731  (nobody in any frame)
    with pytest.raises(UserError, match='walk.mp4: no person found in any of its 30 frames') as err:
        prep.prepare_custom(output_dir=tmp_path, videos=[str(small_video)], make_detector=detector)
    assert err.value.setting == 'video'
    assert not list(tmp_path.iterdir())
    with pytest.raises(UserError, match='name it with -o NAME'):
        prep.prepare_custom(output_dir=tmp_path, videos=[str(small_video), str(REPO / 'README.md')],
                            make_detector=detector)
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(UserError, match='empty.mp4: cannot read it as a video'):
        prep.prepare_custom(output_dir=tmp_path, videos=[str(empty)], make_detector=detector)
    with pytest.raises(UserError, match='a single picture, not a video'):
        detect_video(REPO / 'figure' / 'synthetic_actions.png', detector)


# ------------------------------------------------------------------------------------ video_to_3d refusals

def make_checkpoint(path, num_frame=9, num_joints=17):
    config = ModelConfig(num_frame=num_frame, num_joints=num_joints, embed_dim_ratio=8, depth=1, num_heads=2)
    torch.manual_seed(0)
    save_checkpoint(path, epoch=1, lr=1e-3, model=PoseTransformer(**config), optimizer=None, config=dict(config))
    return path


def run_tool(*args):
    """tools/video_to_3d.py as a user runs it: (exit status, stdout, stderr)."""
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    result = subprocess.run([sys.executable, 'tools/video_to_3d.py', *map(str, args)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout, result.stderr


def test_video_to_3d_bad_input_gives_one_error_line_and_writes_nothing(tmp_path, small_video, capsys):
    good = make_checkpoint(tmp_path / 'good.bin')
    wrong = make_checkpoint(tmp_path / 'j15.bin', num_joints=15)
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00\x01not a video' * 100)
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    out = tmp_path / 'out'
    cases = [
        ([broken, '-c', good, '-o', out], 'error: video ', 'broken.mp4: cannot read it as a video'),
        ([empty, '-c', good, '-o', out], 'error: video ', 'empty.mp4: cannot read it as a video'),
        ([small_video, '-c', wrong, '-o', out], 'error: -c/--checkpoint ', 'the model lifts 15 joints'),
        ([small_video, '-c', good, '-o', blocker / 'out'], 'error: -o/--output ', 'is a file'),
        ([small_video, '-c', tmp_path / 'nope.bin', '-o', out], 'error: -c/--checkpoint ', 'not found'),
    ]
    for args, start, text in cases:
        assert tool.main(list(map(str, args))) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(start) and text in line, line
    assert not out.exists()


def test_default_model_absent_says_pass_c(tmp_path, small_video, capsys, monkeypatch):
    """A copy without the shipped model (e.g. a slimmed clone): one line saying to pass -c."""
    import common.video_pipeline.pipeline as pipeline
    monkeypatch.setattr(pipeline, 'DEFAULT_CHECKPOINT', 'models/not_in_this_copy.bin')
    assert tool.main([str(small_video), '-o', str(tmp_path / 'out')]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith('error: -c/--checkpoint not given and the default model models/not_in_this_copy.bin '
                           'is not in this copy; give a PoseFormer checkpoint'), line
    assert not (tmp_path / 'out').exists()


def test_the_shipped_model_is_the_default():
    from common.video_pipeline.pipeline import DEFAULT_CHECKPOINT, resolve_checkpoint
    assert (REPO / DEFAULT_CHECKPOINT).is_file()
    assert resolve_checkpoint(None) == REPO / DEFAULT_CHECKPOINT


def test_without_mediapipe_the_video_tools_say_how_to_install_it(tmp_path, small_video, capsys, monkeypatch):
    import common.detection.mediapipe_pose as backend
    monkeypatch.setattr(backend, 'mediapipe_missing_reason', lambda: 'the video detector needs mediapipe; pip '
                                                                      'install -r requirements-video.txt')
    good = make_checkpoint(tmp_path / 'good.bin')
    assert tool.main([str(small_video), '-c', str(good), '-o', str(tmp_path / 'out')]) == 2
    assert 'requirements-video.txt' in one_error_line(capsys.readouterr().err)
    assert prep.main(['--video', str(small_video), '--output-dir', str(tmp_path)]) == 2
    assert 'requirements-video.txt' in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / 'out').exists() and not list(tmp_path.glob('*.npz'))


def test_mediapipe_reason_is_none_or_names_the_install_line():
    reason = mediapipe_missing_reason()
    assert reason is None or 'requirements-video.txt' in reason
