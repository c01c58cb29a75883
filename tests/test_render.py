"""--render / --viz-export: frame counts and picture sizes, GIF / MP4 writing, video backgrounds, errors."""
import re
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from PIL import Image

from common.data.camera import load_h36m_cameras, world_to_camera
from common.data.sources import DataConfig, load_bundle
from common.errors import UserError
from common.evaluation import EvalOptions
from common.model.poseformer import PoseTransformer
from common.io.npz import save_npz
from common.render import writers
from common.render.animation import display_azimuth, poses_for_display
from common.render.sequence import RenderConfig, render_from_config, select_frames
from common.io.video import VideoReader
from common.render.writers import gif_writer
from run_poseformer import main
from tests.h36m_fixtures import write_h36m_fixture
from tests.checkpoint_fixtures import CONFIG, write_release_checkpoint

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
CUSTOM_W, CUSTOM_H = 320, 240
CUSTOM_FRAMES = 12
OPTIONS = EvalOptions(tta=False, progress=False)


def standing_pose_pixels(width, height):
    """A person standing upright, arms out, in image pixels (y down), Human3.6M-17 order."""
    unit = height / 8
    cx, hip_y = width / 2, height / 2
    offsets = [(0, 0), (-0.4, 0), (-0.45, 1.7), (-0.5, 3.3), (0.4, 0), (0.45, 1.7), (0.5, 3.3), (0, -1.0),
               (0, -2.0), (0, -2.4), (0, -2.9), (0.7, -1.9), (1.6, -1.7), (2.4, -1.6), (-0.7, -1.9), (-1.6, -1.7),
               (-2.4, -1.6)]
    # Human3.6M's "right" joints are the person's right: on the image's left for a person facing the camera.
    return np.array([[cx + dx * unit, hip_y + dy * unit] for dx, dy in offsets], dtype=np.float32)


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """Official-format H36M fixtures, a custom 2D file, and a release-layout checkpoint of a small model."""
    root = tmp_path_factory.mktemp('render')
    write_h36m_fixture(root)
    pose = standing_pose_pixels(CUSTOM_W, CUSTOM_H)
    sway = np.sin(np.arange(CUSTOM_FRAMES) / 3.0)[:, None, None] * np.array([8.0, 0.0], dtype=np.float32)
    clip = (pose[None] + sway).astype(np.float32)                     # (CUSTOM_FRAMES, 17, 2) pixels
    save_npz(root / 'data_2d_custom_clip.npz', positions_2d={'clip': {'custom': [clip]}},
             metadata={'layout_name': 'h36m', 'num_joints': 17, 'keypoints_symmetry': [LEFT, RIGHT],
                       'video_metadata': {'clip': {'w': CUSTOM_W, 'h': CUSTOM_H}}})
    (root / 'ckpt').mkdir()
    torch.manual_seed(0)
    model = PoseTransformer(**CONFIG)
    write_release_checkpoint(root / 'ckpt' / 'tiny.bin', model)
    model.eval()
    return root, model


@pytest.fixture(scope='module')
def h36m_bundle(workspace):
    root, model = workspace
    bundle = load_bundle(DataConfig(keypoints='gt', data_dir=str(root), subjects_test=('S9',), actions=('Walking',),
                                    need_train=False))
    return bundle, model


def render(bundle, model, result=None, **settings):
    """render_from_config with RenderConfig(**settings), on the CPU, without flip augmentation."""
    render_from_config(RenderConfig(**settings), model, bundle, 'cpu', OPTIONS, result, log=lambda *a, **k: None)


def gif_info(path):
    with Image.open(path) as image:
        return image.n_frames, image.size


def test_cli_render_gif_and_export(workspace, capsys):
    root, _ = workspace
    out, npy = root / 'cli.gif', root / 'cli.npy'
    rc = main(['--data-dir', str(root), '-k', 'gt', '-c', str(root / 'ckpt'), '--evaluate', 'tiny.bin',
               '-ste', 'S9', '-a', 'Walking 1', '--no-tta', '--progress', 'off', '--render',
               '--viz-subject', 'S9', '--viz-action', 'Walking 1', '--viz-camera', '2', '--viz-limit', '5',
               '--viz-size', '1', '--viz-output', str(out), '--viz-export', str(npy)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert gif_info(out) == (5, (300, 100))            # 3 panels (2D, reconstruction, ground truth) of 1 inch
    exported = np.load(npy)
    s9_walking1 = 60 + 7 * 1 + 3 * 1                  # the fixture's length rule for S9 'Walking 1'
    assert exported.shape == (s9_walking1, 1, 17, 3) and exported.dtype == np.float32
    assert 'Rendered S9 Walking 1 camera 2: 5 frames, 300x100 px' in captured.out


def test_downsample_skip_size_and_reused_prediction(workspace, h36m_bundle):
    root, _ = workspace
    bundle, model = h36m_bundle
    out = root / 'down.gif'
    render(bundle, model, viz_subject='S9', viz_action='Walking', viz_output=str(out), viz_downsample=2, viz_skip=55,
           viz_size=2)
    n = len(bundle.test[0].poses_2d)                  # S9 Walking camera 0: 63 frames
    assert gif_info(out) == (len(range(55, n, 2)), (600, 200))
    with Image.open(out) as image:
        assert image.info['duration'] == 40           # 50 fps / 2 = 25 fps
        assert image.info['loop'] == 0                # loops forever
    limited = root / 'limited.gif'
    render(bundle, model, viz_subject='S9', viz_action='Walking', viz_output=str(limited), viz_downsample=2,
           viz_limit=3, viz_size=1, viz_no_ground_truth=True)
    assert gif_info(limited) == (3, (200, 100))       # no ground-truth panel
    # The evaluation's predictions of bundle.test are reused rather than predicted again.
    from types import SimpleNamespace
    fake = [np.full((len(s.poses_2d), 17, 3), i, np.float32) for i, s in enumerate(bundle.test)]
    render(bundle, model, SimpleNamespace(predictions=fake), viz_subject='S9', viz_action='Walking 1', viz_camera=1,
           viz_export=str(root / 'reused.npy'))
    index = [(s.action, s.camera) for s in bundle.test].index(('Walking 1', 1))
    np.testing.assert_array_equal(np.load(root / 'reused.npy')[:, 0], fake[index])


def test_render_reports_what_it_wrote(workspace, h36m_bundle):
    root, _ = workspace
    bundle, model = h36m_bundle
    lines = []
    config = RenderConfig('S9', 'Walking', viz_output=str(root / 'said.gif'), viz_export=str(root / 'said.npy'),
                          viz_limit=2, viz_size=1)
    render_from_config(config, model, bundle, 'cpu', OPTIONS, log=lines.append)
    assert lines == [
        f'Exported the prediction of S9 Walking camera 0: (63, 1, 17, 3) float32 metres -> {root / "said.npy"}',
        f'Rendered S9 Walking camera 0: 2 frames, 300x100 px, 50 fps -> {root / "said.gif"}']


def test_cli_render_without_ground_truth(workspace, capsys):
    root, _ = workspace
    out, npy = root / 'custom.gif', root / 'custom.npy'
    rc = main(['--data-dir', str(root), '-d', 'custom', '-k', 'clip', '-c', str(root / 'ckpt'), '--evaluate',
               'tiny.bin', '--progress', 'off', '--render', '--viz-subject', 'clip', '--viz-action', 'custom',
               '--viz-output', str(out), '--viz-export', str(npy), '--viz-limit', '4', '--viz-size', '1'])
    assert rc == 0, capsys.readouterr().err
    assert gif_info(out) == (4, (200, 100))           # 2D + reconstruction
    assert np.load(npy).shape == (CUSTOM_FRAMES, 1, 17, 3)


def test_cli_mp4_without_ffmpeg_is_a_clear_error(workspace, capsys, monkeypatch):
    root, _ = workspace
    monkeypatch.setattr(writers, 'find_ffmpeg', lambda: None)
    rc = main(['--data-dir', str(root), '-d', 'custom', '-k', 'clip', '-c', str(root / 'ckpt'), '--evaluate',
               'tiny.bin', '--progress', 'off', '--render', '--viz-subject', 'clip', '--viz-action', 'custom',
               '--viz-output', str(root / 'x.mp4')])
    err = capsys.readouterr().err
    assert rc == 2
    assert f'error: --viz-output {root / "x.mp4"}: writing .mp4 needs ffmpeg' in err
    assert 'write a .gif instead' in err and 'Traceback' not in err
    assert not (root / 'x.mp4').exists()


def test_mp4_written_and_read_back_as_video(workspace, h36m_bundle):
    if writers.find_ffmpeg() is None:
        pytest.skip('no ffmpeg here (install imageio-ffmpeg)')
    root, _ = workspace
    bundle, model = h36m_bundle
    out = root / 'clip.mp4'
    render(bundle, model, viz_subject='S9', viz_action='Walking', viz_output=str(out), viz_limit=3, viz_size=1,
           viz_bitrate=200)
    assert out.stat().st_size > 0
    assert [p.name for p in root.glob('.clip.mp4*')] == []     # no temporary file left
    pytest.importorskip('imageio_ffmpeg')
    with VideoReader(out) as reader:
        frames = list(reader.frames())
    assert len(frames) == 3 and frames[0].shape == (100, 300, 3)
    # And as the background of a rendering (video of another size than the camera's 1000 x 1002).
    again = root / 'over_video.gif'
    render(bundle, model, viz_subject='S9', viz_action='Walking', viz_output=str(again), viz_video=str(out),
           viz_size=1)
    assert gif_info(again)[0] == 3                    # stops when the 3-frame video ends


def test_video_background_is_drawn_and_skip_aligns(workspace, h36m_bundle):
    root, _ = workspace
    bundle, model = h36m_bundle
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]
    video = root / 'colours.gif'
    images = [Image.new('RGB', (64, 40), c) for c in colours]   # any size: stretched over the camera's extent
    images[0].save(video, save_all=True, append_images=images[1:], duration=20)
    out = root / 'bg.gif'
    render(bundle, model, viz_subject='S9', viz_action='Walking', viz_output=str(out), viz_video=str(video),
           viz_skip=1, viz_downsample=2, viz_size=1)
    with Image.open(out) as image:
        assert image.n_frames == 2                    # video frames 1 and 3, then the video ends
        seen = []
        for index in range(image.n_frames):
            image.seek(index)
            seen.append(image.convert('RGB').getpixel((15, 50)))  # inside the 2D panel, left of the person
    assert seen == [colours[1], colours[3]]


@contextmanager
def user_error(setting, match):
    """pytest.raises for a UserError about `setting` whose message (without the setting) matches `match`."""
    with pytest.raises(UserError) as info:
        yield info
    assert info.value.setting == setting
    assert re.search(match, info.value.message), info.value.message


def test_missing_video_and_bad_output(workspace, h36m_bundle):
    root, _ = workspace
    bundle, model = h36m_bundle
    base = dict(viz_subject='S9', viz_action='Walking')
    with user_error('viz_video', 'nope.mp4: file not found'):
        render(bundle, model, **base, viz_output=str(root / 'v.gif'), viz_video=str(root / 'nope.mp4'))
    with user_error('viz_output', 'v.avi: the file name must end in .gif .* or .mp4'):
        render(bundle, model, **base, viz_output=str(root / 'v.avi'))
    with user_error('viz_skip', '^500: the sequence has only 63 frames'):
        render(bundle, model, **base, viz_output=str(root / 'v.gif'), viz_skip=500)
    assert not (root / 'v.gif').exists() and not list(root.glob('.v.gif*'))
    (root / 'junk.mp4').write_bytes(b'not a video')
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        expected = 'junk.mp4: reading videos needs the imageio-ffmpeg package'
    else:
        expected = 'junk.mp4: cannot read it as a video'
    with user_error('viz_video', expected) as info:
        render(bundle, model, **base, viz_output=str(root / 'v.gif'), viz_video=str(root / 'junk.mp4'))
    assert '\n' not in info.value.message and 'ffmpeg version' not in info.value.message   # one line, no banner
    assert not (root / 'v.gif').exists() and not list(root.glob('.v.gif*'))


def test_a_bundle_without_a_skeleton_can_be_exported_not_drawn(workspace, h36m_bundle):
    import dataclasses
    root, _ = workspace
    bundle, model = h36m_bundle
    shapeless = dataclasses.replace(bundle, joints=dataclasses.replace(bundle.joints, parents=None))
    with user_error('viz_output', r'shapeless.gif: cannot draw h36m joints: .* no skeleton tree; export the'):
        render(shapeless, model, viz_subject='S9', viz_action='Walking', viz_output=str(root / 'shapeless.gif'))
    render(shapeless, model, viz_subject='S9', viz_action='Walking', viz_export=str(root / 'shapeless.npy'))
    assert np.load(root / 'shapeless.npy').shape == (63, 1, 17, 3)


def test_unknown_sequence_lists_what_exists(workspace, h36m_bundle):
    root, _ = workspace
    bundle, model = h36m_bundle

    def attempt(subject, action, camera=0):
        render(bundle, model, viz_subject=subject, viz_action=action, viz_camera=camera,
               viz_output=str(root / 'u.gif'))
    with user_error('viz_action', r"^'Running': .*'Walking', 'Walking 1'"):
        attempt('S9', 'Running')
    with user_error('viz_subject', '^S5: .*S9'):
        attempt('S5', 'Walking')
    with user_error('viz_camera', '^7: .*0, 1, 2, 3'):
        attempt('S9', 'Walking', 7)
    with user_error('viz_subject', 'the subject of the sequence'):
        RenderConfig(None, None, viz_export=str(root / 'e.npy'))
    with user_error('viz_action', 'the action of the sequence'):
        RenderConfig('S9', '', viz_export=str(root / 'e.npy'))


def test_gif_writer_keeps_every_frame_and_its_colours(tmp_path):
    frames = [np.zeros((30, 40, 3), np.uint8) for _ in range(4)]
    frames[0][:] = (10, 20, 30)
    frames[1][:] = (10, 20, 30)
    frames[1][5:9, 10:20] = (250, 0, 0)                  # a changed rectangle
    frames[2] = frames[1].copy()                         # identical frame: still counted
    frames[3][:] = np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None]
    with gif_writer(tmp_path / 'w.gif', fps=25) as writer:
        for frame in frames:
            writer.add_rgb(frame)
    with Image.open(tmp_path / 'w.gif') as image:
        assert image.n_frames == 4 and image.size == (40, 30) and image.info['duration'] == 40
        assert image.info['loop'] == 0
        for index, expected in enumerate(frames):
            image.seek(index)
            np.testing.assert_array_equal(np.asarray(image.convert('RGB')), expected)
    assert [p.name for p in tmp_path.iterdir()] == ['w.gif']


def test_gif_writer_without_frames_writes_nothing(tmp_path):
    with user_error(None, 'no frame was rendered, so .*empty.gif was not written'):
        with gif_writer(tmp_path / 'empty.gif', fps=25):
            pass
    with pytest.raises(RuntimeError, match='stopped'):       # an error while rendering: nothing either
        with gif_writer(tmp_path / 'broken.gif', fps=25) as writer:
            writer.add_rgb(np.zeros((30, 40, 3), np.uint8))
            raise RuntimeError('stopped')
    assert list(tmp_path.iterdir()) == []


def test_select_frames():
    np.testing.assert_array_equal(select_frames(10), np.arange(10))
    np.testing.assert_array_equal(select_frames(10, skip=3, downsample=3), [3, 6, 9])
    np.testing.assert_array_equal(select_frames(10, skip=1, limit=2, downsample=2), [1, 3])
    np.testing.assert_array_equal(select_frames(10, limit=-1, downsample=4), [0, 4, 8])
    with user_error('viz_skip', '^10: the sequence has only 10 frames'):
        select_frames(10, skip=10)
    with user_error('viz_skip', '^-1: must be 0 or more'):
        select_frames(10, skip=-1)
    with user_error('viz_downsample', '^0: must be at least 1'):
        select_frames(10, downsample=0)


def test_display_poses_are_upright_and_on_the_floor():
    cam = load_h36m_cameras()['S9'][1]
    world = np.zeros((2, 17, 3), np.float32)
    world[:, :, :2] = [3.0, -1.0]                        # somewhere in the room
    world[:, :, 2] = 0.9                                 # hip height
    world[:, 10, 2] = 1.7                                # head
    world[:, 3, 2] = world[:, 6, 2] = 0.05               # feet
    world[1] += [0.2, 0.0, 0.3]                          # second frame: moved and jumping
    camera = world_to_camera(world, cam['orientation'], cam['translation'])
    camera[:, 1:] -= camera[:, :1]                       # the Sequence convention: root slot = trajectory
    shown = poses_for_display(camera, cam, root=0)
    assert np.allclose(shown[:, 0], [0, 0, shown[0, 0, 2]], atol=1e-5) and shown[0, 0, 2] == shown[1, 0, 2]
    assert shown[..., 2].min() == pytest.approx(0, abs=1e-6)
    assert np.all(shown[:, 10, 2] > shown[:, 0, 2] + 0.7)   # head above the hip: z is up
    level = poses_for_display(np.array([[[0, 0, 3], [0, -0.5, 3]]], np.float32), {'res_w': 10, 'res_h': 10}, root=0)
    assert level[0, 1, 2] > level[0, 0, 2]               # camera y points down: up is -y
    assert display_azimuth({'res_w': 10}) == -90.0 and display_azimuth(cam) == cam['azimuth']


def test_cli_custom_video_without_a_recorded_rate_plays_at_the_videos_rate(workspace, capsys, tmp_path):
    # The official script renders -d custom at the video's frame rate; the clip's file records none.
    root, _ = workspace
    from PIL import Image
    video = tmp_path / 'clip.gif'
    frames = [Image.new('RGB', (64, 48), (10 * i, 0, 0)) for i in range(6)]
    frames[0].save(video, save_all=True, append_images=frames[1:], duration=40, loop=0)     # 25 fps
    with VideoReader(video) as reader:
        assert reader.fps == pytest.approx(25.0)
    rc = main(['--data-dir', str(root), '-d', 'custom', '-k', 'clip', '-c', str(root / 'ckpt'), '--evaluate',
               'tiny.bin', '--progress', 'off', '--render', '--viz-subject', 'clip', '--viz-action', 'custom',
               '--viz-output', str(tmp_path / 'out.gif'), '--viz-video', str(video), '--viz-limit', '3',
               '--viz-size', '1'])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert ', 25 fps -> ' in out.out
