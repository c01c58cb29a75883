"""The real detector (MediaPipe Pose, models from inside the mediapipe 0.10.21 wheel) on a real clip.

tests/data/pose2sim_cam01.mp4: 100 frames at 60 fps of one person moving on a force plate (a
re-encoded copy of pose2sim's demo video, BSD-3-Clause, see its .LICENSE.txt). The checks are what
a user would look at: a person in (nearly) every frame, keypoints inside the picture, smooth
motion, left and right not trading places, 3D for every frame, every output file readable. The
lift uses a tiny untrained checkpoint made here (the shipped model is not needed).

Skipped, with the reason, where mediapipe is not installed (pip install -r requirements-video.txt).
"""
import json
import os
import re

import numpy as np
import pytest

from common.detection import mediapipe_missing_reason
from tests.video_fixtures import CLIP, REPO, load_script, write_video

REASON = mediapipe_missing_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f'real-detector tests skipped: {REASON}')

if REASON is None:
    tool = load_script('tools/video_to_3d.py', 'video_to_3d_real')

FRAMES, FPS, WIDTH, HEIGHT = 100, 60.0, 540, 960
ANIMATED = 12       # frames rendered (a preview: drawing is the slow part; the files hold all 100)


def make_checkpoint(path, num_frame=27):
    import torch

    from common.io.checkpoint import save_checkpoint
    from common.model.config import ModelConfig
    from common.model.poseformer import PoseTransformer
    config = ModelConfig(num_frame=num_frame, embed_dim_ratio=8, depth=1, num_heads=2)
    torch.manual_seed(0)
    save_checkpoint(path, epoch=1, lr=1e-3, model=PoseTransformer(**config), optimizer=None, config=dict(config))
    return path


@pytest.fixture(scope='module')
def result(tmp_path_factory):
    """tools/video_to_3d.py on the clip: the output folder and what it printed."""
    folder = tmp_path_factory.mktemp('video_to_3d')
    checkpoint = make_checkpoint(folder / 'tiny27.bin')
    lines = []
    args = tool.build_parser().parse_args([str(CLIP), '-c', str(checkpoint), '-o', str(folder / 'out'),
                                           '--viz-size', '2', '--viz-limit', str(ANIMATED)])
    files = tool.video_to_3d(args, log=lines.append)
    return files, lines


def test_a_person_in_nearly_every_frame_inside_the_picture(result):
    files, lines = result
    doc = json.loads(files['json'].read_text())
    found = np.array(doc['keypoints_2d']['person_found'])
    assert found.shape == (FRAMES,) and found.mean() >= 0.95
    kps = np.array(doc['keypoints_2d']['frames'])
    assert kps.shape == (FRAMES, 17, 2)
    assert (doc['keypoints_2d']['width'], doc['keypoints_2d']['height']) == (WIDTH, HEIGHT)
    assert (kps[..., 0] >= 0).all() and (kps[..., 0] <= WIDTH).all()
    assert (kps[..., 1] >= 0).all() and (kps[..., 1] <= HEIGHT).all()
    # the person is a sizeable part of the picture: head to ankles over a fifth of its height
    assert np.median(kps[..., 1].max(axis=1) - kps[..., 1].min(axis=1)) > HEIGHT / 5
    summary = [line for line in lines if line.startswith('pose2sim_cam01.mp4: ')]
    match = re.match(r'pose2sim_cam01\.mp4: (\d+) frames, (\d+) without a person, \d+ of \d+ joints filled', summary[0])
    assert match and int(match[1]) == FRAMES and int(match[2]) == FRAMES - int(np.sum(doc['keypoints_2d']['person_found']))


def test_motion_is_smooth_and_left_right_do_not_trade_places(result):
    files, _ = result
    doc = json.loads(files['json'].read_text())
    kps = np.array(doc['keypoints_2d']['frames'])                              # (N, 17, 2) COCO pixels
    height = np.median(kps[..., 1].max(axis=1) - kps[..., 1].min(axis=1))
    step = np.linalg.norm(np.diff(kps, axis=0), axis=-1)                     # (N-1, 17) pixels per frame
    assert step.max() < 0.2 * height, step.max() / height                    # 1/60 s: no joint jumps
    assert np.percentile(step, 99) < 0.08 * height
    # facing the camera all along: the left shoulder and hip on the same side of their right partners
    for left, right in ((5, 6), (11, 12)):
        side = np.sign(kps[:, left, 0] - kps[:, right, 0])
        assert (side == np.sign(np.sum(side))).all()
    # no frame where a left joint and its right partner swap places
    for left, right in zip((1, 3, 5, 7, 9, 11, 13, 15), (2, 4, 6, 8, 10, 12, 14, 16)):
        before, now = kps[:-1], kps[1:]
        kept = np.linalg.norm(now[:, left] - before[:, left], axis=-1) + \
            np.linalg.norm(now[:, right] - before[:, right], axis=-1)
        traded = np.linalg.norm(now[:, left] - before[:, right], axis=-1) + \
            np.linalg.norm(now[:, right] - before[:, left], axis=-1)
        assert not (traded < 0.5 * kept).any(), (left, np.flatnonzero(traded < 0.5 * kept))


def test_3d_for_every_frame_and_every_file_readable(result):
    from common.data.sources import DataConfig, load_bundle
    from common.io.video import VideoReader
    files, _ = result
    poses = np.load(files['npy'])
    assert poses.shape == (FRAMES, 17, 3) and poses.dtype == np.float32 and np.isfinite(poses).all()
    assert np.abs(poses[:, 0]).max() == 0                                    # root-relative, pelvis at 0
    doc = json.loads(files['json'].read_text())
    assert doc['fps'] == FPS and doc['frames'] == FRAMES and doc['poses_3d']['units'] == 'metres'
    np.testing.assert_allclose(np.array(doc['poses_3d']['frames']), poses, atol=1e-5)
    assert doc['poses_3d']['joints'][0] == 'hip' and len(doc['poses_3d']['joints']) == 17
    bundle = load_bundle(DataConfig(dataset='custom', keypoints='pose2sim_cam01', data_dir=str(files['2d'].parent),
                                    need_train=False))
    assert bundle.fps == FPS and len(bundle.test[0].poses_2d) == FRAMES
    from common.io.npz import load_npz
    metadata = load_npz(files['2d'])['metadata']
    assert metadata['video_metadata']['pose2sim_cam01.mp4'] == {'w': WIDTH, 'h': HEIGHT, 'fps': FPS}
    with VideoReader(files['animation']) as video:
        assert video.fps == FPS
        assert sum(1 for _ in video.frames()) == ANIMATED
        assert video.size[0] == 2 * video.size[1] == 400                    # video + 2D | 3D, 2 inches each
    assert not [p for p in files['2d'].parent.iterdir() if p.name.startswith('.')]   # no temporary left


def test_a_second_run_into_the_same_folder_is_refused_unless_overwrite(result, capsys):
    """Issue 26 item 4: the first run's files stay unless --overwrite (refused before any detection)."""
    files, _ = result
    before = files['npy'].read_bytes()
    folder = files['npy'].parent
    checkpoint = folder.parent / 'tiny27.bin'
    assert tool.main([str(CLIP), '-c', str(checkpoint), '-o', str(folder), '--no-render']) == 2
    line = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(line) == 1 and line[0].startswith('error: -o/--output ') and 'already exists; pass --overwrite' in line[0]
    assert files['npy'].read_bytes() == before


def test_the_focal_length_and_placement_are_recorded(result):
    files, lines = result
    doc = json.loads(files['json'].read_text())
    camera = doc['camera']
    assert camera['focal_length_px'] == pytest.approx(np.hypot(WIDTH, HEIGHT), rel=1e-6)
    assert camera['focal_length_from'].startswith('default')
    placed = np.load(files['camera'])
    assert placed.shape == (FRAMES, 17, 3) and (placed[:, 0, 2] > 0).all()
    np.testing.assert_allclose(placed[:, 0], np.array(doc['trajectory']['frames']), atol=1e-4)
    assert any(line.startswith('placed in the camera frame with a focal length of 1101 px') for line in lines)


def test_a_video_without_a_person_is_one_error_and_writes_nothing(tmp_path, capsys):
    blank = write_video(tmp_path / 'blank.mp4', np.full((12, 256, 192, 3), 128, dtype=np.uint8), fps=25)
    checkpoint = make_checkpoint(tmp_path / 'tiny.bin', num_frame=9)
    assert tool.main([str(blank), '-c', str(checkpoint), '-o', str(tmp_path / 'out')]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith('error: video ') and 'no person found in any of its 12 frames' in err[0]
    assert not (tmp_path / 'out').exists()


def test_the_readme_video_command_with_the_shipped_model(tmp_path):
    """The README's command as written (default model: models/embedded_f9.bin), its output folder moved
    to a temporary one and its animation cut to a preview: 3D of real proportions for every frame."""
    import shlex
    import subprocess
    import sys
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    command = next(line for line in readme.splitlines() if line.startswith('python tools/video_to_3d.py '))
    args = shlex.split(command)[2:]
    assert args == [str(CLIP.relative_to(REPO)), '-o', 'out/'], command        # no -c: the shipped model
    args[-1] = str(tmp_path / 'out')
    result = subprocess.run([sys.executable, 'tools/video_to_3d.py', *args, '--viz-limit', '6', '--viz-size', '2'],
                            cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert result.returncode == 0, result.stderr
    assert result.stderr == '', result.stderr            # no TF Lite INFO line, no ffmpeg chatter (issue 26)
    poses = np.load(tmp_path / 'out' / 'pose2sim_cam01_3d.npy')
    assert poses.shape == (FRAMES, 17, 3) and np.isfinite(poses).all()
    # a trained model gives a human body: thigh and shin (hip 1 -> knee 2 -> ankle 3) of 0.25 to 0.65 m
    for a, b in ((1, 2), (2, 3), (4, 5), (5, 6)):
        bone = np.median(np.linalg.norm(poses[:, a] - poses[:, b], axis=-1))
        assert 0.25 < bone < 0.65, (a, b, bone)
    assert (tmp_path / 'out' / 'pose2sim_cam01_3d.mp4').is_file()
    doc = json.loads((tmp_path / 'out' / 'pose2sim_cam01_3d.json').read_text())
    assert 'embedded_f9.bin' in json.dumps(doc)
    # placed in the scene: the camera-frame joints reproject onto the 2D keypoints (Human3.6M joints copied
    # from COCO ones: hips, knees, ankles, shoulders, elbows, wrists), within a few percent of the picture
    placed = np.load(tmp_path / 'out' / 'pose2sim_cam01_3d_camera.npy')
    camera = doc['camera']
    pixels = camera['focal_length_px'] * placed[..., :2] / placed[..., 2:] + np.array(camera['principal_point_px'])
    from common.data.layouts import COCO_TO_H36M_DIRECT
    kps = np.array(doc['keypoints_2d']['frames'])
    h36m, coco = zip(*sorted(COCO_TO_H36M_DIRECT.items()))
    error = np.linalg.norm(pixels[:, list(h36m)] - kps[:, list(coco)], axis=-1)
    assert np.median(error) < 0.03 * HEIGHT, np.median(error)              # under 29 px of 960
    bones = np.linalg.norm(np.diff(np.load(tmp_path / 'out' / 'pose2sim_cam01_3d.npy')[:, [1, 2]], axis=1), axis=-1)
    assert bones.std() < 1e-5                                                  # one thigh length
