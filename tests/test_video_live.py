"""Live input (tools/video_to_3d.py --camera): a file played at its own frame rate through OpenCV, frame by
frame through OnlineTrack, the streaming Lifter, the One-Euro filter and the placement; a scripted detector
stands in for MediaPipe. Skipped where OpenCV (the video extra) is not installed."""
import numpy as np
import pytest

from common.data.layouts import H36M_17
from common.video_pipeline.skeleton import bone_vectors
from tests.cli_fixtures import one_error_line
from tests.video_fixtures import ScriptedDetector, load_script, walking_person, write_video

cv2 = pytest.importorskip('cv2', reason='live input needs OpenCV: pip install -r requirements-video.txt')

FRAMES, FPS = 40, 20


def make_checkpoint(path, num_frame=9):
    import torch

    from common.io.checkpoint import save_checkpoint
    from common.model.config import ModelConfig
    from common.model.poseformer import PoseTransformer
    config = ModelConfig(num_frame=num_frame, embed_dim_ratio=8, depth=1, num_heads=2)
    torch.manual_seed(0)
    save_checkpoint(path, epoch=1, lr=1e-3, model=PoseTransformer(**config), optimizer=None, config=dict(config))
    return path


def test_a_file_played_at_its_frame_rate_gives_every_pose_no_sooner_than_the_model_can(tmp_path):
    from common.video_pipeline import LiftSettings, VideoLifter
    from common.video_pipeline.live import run_live
    video = write_video(tmp_path / 'walk.mp4', np.zeros((FRAMES, 300, 200, 3), dtype=np.uint8), fps=FPS)
    person = walking_person(FRAMES, speed=0.5)
    lifter = VideoLifter(LiftSettings(checkpoint=str(make_checkpoint(tmp_path / 'tiny.bin')), tta=False))
    seen = []
    stats = run_live(str(video), lifter, lambda: ScriptedDetector([[p] for p in person]),
                     on_pose=lambda s: seen.append(len(s.poses)))
    assert stats.fps == FPS and stats.wait_frames == 4
    assert stats.frames + stats.dropped == FRAMES                       # every frame shown or dropped
    assert len(stats.poses) == stats.frames and seen == list(range(1, stats.frames + 1))
    assert stats.seconds >= 0.9 * (FRAMES - 1) / FPS                    # played at its rate, not faster
    # a pose of frame i needs frame i + 4, which arrives 4 / FPS s later: the latency cannot be shorter
    assert len(stats.latencies) == stats.frames - stats.wait_frames
    assert min(stats.latencies) >= stats.wait_frames / FPS - 0.01
    poses = np.stack(stats.poses)
    assert poses.shape == (stats.frames, 17, 3) and np.abs(poses[:, 0]).max() == 0
    assert np.isfinite(np.stack(stats.trajectory)).all()
    # bones fitted live: the first second's running median, then frozen; after it one length per bone
    bones = stats.bones
    assert bones.warmup == FPS and bones.frozen and len(poses) > bones.warmup + 1
    lengths = np.linalg.norm(bone_vectors(poses, H36M_17.parents), axis=-1)       # (N, 17)
    assert lengths[bones.warmup:, 1:].std(axis=0).max() < 1e-5
    np.testing.assert_allclose(lengths[-1], bones.lengths, atol=1e-5)
    line = stats.describe()
    assert line.startswith(f'live {video}: {stats.frames} frames lifted at ') and 'latency median' in line
    assert f'bones fitted (frozen after {FPS} poses), skeleton height ' in line, line


def test_live_bones_can_be_left_raw_or_scaled_to_a_height(tmp_path):
    from common.video_pipeline import LiftSettings, VideoLifter
    from common.video_pipeline.live import run_live
    from common.video_pipeline.skeleton import standing_height
    video = write_video(tmp_path / 'walk.mp4', np.zeros((12, 300, 200, 3), dtype=np.uint8), fps=FPS)
    person = walking_person(12, speed=0.5)
    checkpoint = str(make_checkpoint(tmp_path / 'tiny.bin', num_frame=1))
    detector = lambda: ScriptedDetector([[p] for p in person])                    # noqa: E731
    raw = run_live(str(video), VideoLifter(LiftSettings(checkpoint=checkpoint, tta=False, fit_bones=False)), detector)
    assert raw.bones is None and 'bones fitted' not in raw.describe()
    tall = run_live(str(video), VideoLifter(LiftSettings(checkpoint=checkpoint, tta=False, person_height=1.8)), detector)
    heights = standing_height(np.linalg.norm(bone_vectors(np.stack(tall.poses), H36M_17.parents), axis=-1))
    np.testing.assert_allclose(heights, 1.8, atol=1e-5)
    assert 'not yet frozen: 20 poses needed' in tall.describe() and 'skeleton height 1.80 m' in tall.describe()


def test_a_camera_that_cannot_be_opened_is_one_error_line(tmp_path, capsys):
    tool = load_script('tools/video_to_3d.py', 'video_to_3d_live')
    checkpoint = make_checkpoint(tmp_path / 'tiny.bin')
    assert tool.main(['--camera', '63', '-c', str(checkpoint), '-o', str(tmp_path / 'out')]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith('error: --camera 63: cannot open the camera'), line
    assert tool.main(['--camera', str(tmp_path / 'none.mp4'), '-c', str(checkpoint), '-o', str(tmp_path / 'out')]) == 2
    assert one_error_line(capsys.readouterr().err).startswith('error: --camera ')
    assert not (tmp_path / 'out').exists()
