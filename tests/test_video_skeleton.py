"""The video pipeline's skeleton beyond one video's median (issue 27): bones learnt causally for live input
(`skeleton.CausalBoneLengths`), the standing height a skeleton implies and the person's size
(`LiftSettings.person_height`, ``--person-height``), which scales the distance to the camera.

A scripted detector (tests/video_fixtures.py) stands in for MediaPipe, so this runs on the core install.
"""
import numpy as np
import pytest
import torch

from common.data.layouts import H36M_17
from common.errors import UserError
from common.video_pipeline import LiftSettings, VideoLifter
from common.video_pipeline.skeleton import (LIVE_BONE_WARMUP_SECONDS, CausalBoneLengths, bone_lengths, bone_vectors,
                                            check_person_height, live_warmup_poses, scale_to_height, standing_height)
from tests.cli_fixtures import one_error_line
from tests.test_video_pipeline import FRAMES, checkpoint, video  # noqa: F401 (pytest fixtures shared with that file)
from tests.video_fixtures import ScriptedDetector, load_script, walking_person

tool = load_script('tools/video_to_3d.py', 'video_to_3d_skeleton')
PARENTS = H36M_17.parents


def noisy_walk(frames=200, noise=0.05, seed=0):
    """(frames, 17, 3) root-relative poses: one skeleton (`TRUE_LENGTHS`) whose bones turn a little from frame to
    frame, each bone's length off by a relative noise of std `noise` (a raw lifter's shaky bones)."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(0, 1, (1, 17, 3)) + rng.normal(0, 0.2, (frames, 17, 3))
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    lengths = TRUE_LENGTHS * (1 + rng.normal(0, noise, (frames, 17)))
    poses = np.zeros((frames, 17, 3))
    for j, parent in enumerate(PARENTS):                                      # parents come first in H36M_17
        if parent >= 0:
            poses[:, j] = poses[:, parent] + lengths[:, j, None] * directions[:, j]
    return poses


TRUE_LENGTHS = np.array([0, .13, .45, .44, .13, .45, .44, .23, .25, .12, .11, .15, .28, .25, .15, .28, .25])


# ------------------------------------------------------------------------------------ live bones

def test_live_bones_are_a_running_median_then_frozen_near_the_offline_median():
    poses = noisy_walk()
    fps = 60
    warmup = live_warmup_poses(fps)
    assert warmup == round(LIVE_BONE_WARMUP_SECONDS * fps)
    bones = CausalBoneLengths(PARENTS, warmup)
    fitted, estimates = [], []
    for pose in poses:
        estimates.append(bones.update(pose).copy())
        fitted.append(bones.fit(pose))
    fitted, estimates = np.stack(fitted), np.stack(estimates)
    assert bones.frozen and bones.poses_seen == warmup
    lengths = np.linalg.norm(bone_vectors(fitted, PARENTS), axis=-1)                # (N, 17)
    # each frame fitted to the estimate of its moment: the median of the poses so far, no later one
    for t in (0, 1, 7, warmup - 1):
        np.testing.assert_allclose(estimates[t], bone_lengths(poses[:t + 1], PARENTS), atol=1e-12)
        np.testing.assert_allclose(lengths[t], estimates[t], atol=1e-5)
    assert np.abs(estimates[warmup - 1] - estimates[1]).max() > 1e-3                # it did learn during the warm-up
    # after the warm-up: one skeleton, the frozen one, whatever the poses' own bones
    after = lengths[warmup:]
    assert after.std(axis=0).max() < 1e-6
    np.testing.assert_allclose(after, np.broadcast_to(estimates[warmup - 1], after.shape), atol=1e-5)
    assert (estimates[warmup:] == estimates[warmup - 1]).all()
    # and the frozen lengths are close to what the whole video's median gives (5 % noise per frame)
    offline = bone_lengths(poses, PARENTS)
    assert np.abs(bones.lengths - offline)[1:].max() < 0.02 * offline[1:].max()
    raw = np.linalg.norm(bone_vectors(poses, PARENTS), axis=-1)[warmup:]
    assert raw.std(axis=0)[1:].min() > 0.005                                         # the input's bones did shake


def test_live_bones_are_causal_and_scaled_to_a_given_height():
    poses = noisy_walk(frames=40, seed=1)
    changed = poses.copy()
    changed[20:] *= 1.5                                                             # a different future
    first, second = CausalBoneLengths(PARENTS, 30), CausalBoneLengths(PARENTS, 30)
    for t in range(20):
        np.testing.assert_array_equal(first.update(poses[t]), second.update(changed[t]))
    tall = CausalBoneLengths(PARENTS, 5, height=1.9)
    for pose in poses[:10]:
        assert standing_height(tall.update(pose)) == pytest.approx(1.9, abs=1e-12)
    with pytest.raises(RuntimeError):
        CausalBoneLengths(PARENTS, 5).fit(poses[0])


# ------------------------------------------------------------------------------------ height

def test_standing_height_is_the_ankle_to_head_chain_and_scaling_meets_it_exactly():
    lengths = np.zeros(17)
    names = {name: j for j, name in enumerate(H36M_17.names)}
    lengths[[names['right_knee'], names['right_foot']]] = 0.40, 0.40               # right leg 0.80
    lengths[[names['left_knee'], names['left_foot']]] = 0.42, 0.40                 # left leg 0.82
    lengths[[names['spine'], names['thorax'], names['neck_nose'], names['head']]] = 0.2, 0.25, 0.1, 0.1
    lengths[[names['right_hip'], names['left_hip'], names['left_elbow']]] = 5, 5, 5    # not in the chains
    assert standing_height(lengths) == pytest.approx(0.81 + 0.65)
    for height in (0.5, 1.62, 2.5):
        scaled = scale_to_height(TRUE_LENGTHS, height)
        assert standing_height(scaled) == pytest.approx(height, abs=1e-12)
        np.testing.assert_allclose(scaled / TRUE_LENGTHS.clip(1e-9), height / standing_height(TRUE_LENGTHS) *
                                   (TRUE_LENGTHS > 0))                             # one factor for every bone
    np.testing.assert_array_equal(scale_to_height(TRUE_LENGTHS, None), TRUE_LENGTHS)
    for bad in (0, -1, 0.49, 2.6, float('nan'), 'tall'):
        with pytest.raises(UserError) as caught:
            check_person_height(bad)
        assert caught.value.setting == 'person_height'


class FlatPerson(torch.nn.Module):
    """A stand-in lifter whose 3D agrees with its 2D: each joint at its normalised picture position times `size`,
    depth 0 (a cut-out facing the camera), one frame per window. Seen through the default pinhole, such a pose
    is explained exactly by one distance per frame, proportional to `size`."""
    num_frame, num_joints, causal, in_chans = 1, 17, False, 2

    def __init__(self, size=0.8):
        super().__init__()
        self.size = size

    def forward_spatial(self, frames):                   # (1, frames, 17, 2) -> (1, frames, 34)
        return frames.flatten(2)

    def forward_temporal(self, windows):                 # (n, 1, 34) -> (n, 1, 17, 3)
        xy = windows.reshape(len(windows), 1, 17, 2) * self.size
        return torch.cat([xy, torch.zeros_like(xy[..., :1])], dim=-1)


def lift(video, checkpoint, model=None, **fields):
    person = walking_person(FRAMES, speed=0.5)
    lifter = VideoLifter(LiftSettings(checkpoint=str(checkpoint), tta=False, **fields), model=model)
    return lifter.lift(video, make_detector=lambda: ScriptedDetector([[p] for p in person]))


def test_person_height_sets_the_skeleton_and_the_distance_scales_with_it(video, checkpoint):
    own = lift(video, checkpoint)
    results = {h: lift(video, checkpoint, person_height=h) for h in (0.8, 1.6)}
    for height, result in results.items():
        assert standing_height(result.bone_lengths) == pytest.approx(height, abs=1e-9)
        fitted = np.linalg.norm(bone_vectors(result.poses, PARENTS), axis=-1)
        assert standing_height(fitted).std() < 1e-5 and standing_height(fitted).mean() == pytest.approx(height, 1e-5)
        factor = height / standing_height(own.bone_lengths)
        np.testing.assert_allclose(result.bone_lengths, own.bone_lengths * factor, rtol=1e-9)
        np.testing.assert_allclose(result.poses, own.poses * factor, atol=1e-5)          # directions kept


def test_the_same_2d_with_a_body_twice_as_tall_is_placed_twice_as_far(video, checkpoint):
    model = FlatPerson()
    own = lift(video, checkpoint, model=model, smoothing=None)
    assert (own.trajectory[:, 2] > 1).all()
    own_height = float(standing_height(own.bone_lengths))
    for height in (0.9, 1.8, own_height):                # the model's own size: placed as without the setting
        result = lift(video, checkpoint, model=model, smoothing=None, person_height=height)
        factor = height / standing_height(own.bone_lengths)
        np.testing.assert_allclose(result.trajectory, own.trajectory * factor, rtol=0.01, atol=1e-3)
        depth = result.trajectory[:, 2] / own.trajectory[:, 2]
        assert np.abs(depth / factor - 1).max() < 0.01, depth / factor


def test_person_height_flag_errors_are_one_line_before_any_work(tmp_path, video, checkpoint, capsys):
    out = tmp_path / 'out'
    for value in ('0', '-1.7', '3', 'nan'):
        assert tool.main([str(video), '-o', str(out), '-c', str(checkpoint), '--person-height', value]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith('error: --person-height ') and 'from 0.5 to 2.5' in line, line
    assert tool.main([str(video), '-o', str(out), '-c', str(checkpoint), '--person-height', '1.7',
                      '--no-bone-fit']) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith('error: --person-height 1.7: ') and 'not fitted' in line, line
    assert not out.exists()


def test_the_command_prints_the_skeleton_height(tmp_path, video, checkpoint, monkeypatch):
    import common.detection.mediapipe_pose as mediapipe_pose
    person = walking_person(FRAMES, speed=0.5)
    monkeypatch.setattr(mediapipe_pose, 'mediapipe_missing_reason', lambda: None)
    monkeypatch.setattr(mediapipe_pose, 'MediaPipePose', lambda: ScriptedDetector([[p] for p in person]))
    lines = []
    args = tool.build_parser().parse_args([str(video), '-o', str(tmp_path / 'out'), '-c', str(checkpoint),
                                           '--no-render', '--no-tta', '--person-height', '1.55'])
    tool.video_to_3d(args, log=lines.append)
    placed = next(line for line in lines if line.startswith('placed in the camera frame'))
    assert placed.endswith('skeleton height 1.55 m (given)'), placed
    args.person_height = None
    args.overwrite = True
    lines.clear()
    tool.video_to_3d(args, log=lines.append)
    placed = next(line for line in lines if line.startswith('placed in the camera frame'))
    assert "(the model's own size; --person-height to set it)" in placed, placed
