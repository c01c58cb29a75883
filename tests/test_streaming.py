"""Tests for common/streaming: the online lifter gives the offline predictions, frame by frame."""
import numpy as np
import pytest
import torch

from common.data.camera import normalize_screen_coordinates
from common.data.keypoints_2d import keypoints_metadata
from common.data.layouts import H36M_17
from common.data.types import Symmetry
from common.evaluation import predict_sequence
from common.io.checkpoint import save_checkpoint
from common.io.npz import save_npz
from common.model.poseformer import PoseTransformer
from common.streaming import FeatureRing, Lifter
from tools.stream_demo import main as demo_main

LEFT, RIGHT = [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]
SYMMETRY = Symmetry(LEFT, RIGHT, LEFT, RIGHT)
FRAMES = 9


def random_model(num_frame=FRAMES, seed=0, causal=False):
    """A small PoseFormer whose every weight (position embeddings included) is random."""
    torch.manual_seed(seed)
    model = PoseTransformer(num_frame=num_frame, embed_dim_ratio=8, depth=2, num_heads=2, causal=causal).eval()
    with torch.no_grad():
        model.Spatial_pos_embed.normal_(0, 0.5)
        model.Temporal_pos_embed.normal_(0, 0.5)
    return model


def random_keypoints(frames, seed=1):
    """A smooth random walk of (frames, 17, 2) normalised keypoints."""
    steps = np.random.default_rng(seed).normal(scale=0.05, size=(frames, 17, 2))
    return (np.cumsum(steps, axis=0) + np.random.default_rng(seed).uniform(-0.5, 0.5, (1, 17, 2))).astype(np.float32)


@pytest.fixture(scope='module')
def model():
    return random_model()


@pytest.mark.parametrize('frames', [1, 4, FRAMES, 3 * FRAMES + 2])
@pytest.mark.parametrize('tta', [False, True])
def test_stream_equals_offline_prediction(model, frames, tta):
    poses_2d = random_keypoints(frames)
    offline = predict_sequence(model, poses_2d, SYMMETRY, tta=tta, batch_size=5)
    lifter = Lifter(model, SYMMETRY, tta=tta)
    online = [pose for pose in map(lifter.push, poses_2d) if pose is not None]
    online += list(lifter.flush())
    assert len(online) == frames
    np.testing.assert_allclose(np.stack(online), offline, atol=1e-5)


def test_centred_model_answers_half_a_window_late_and_flush_gives_the_rest(model):
    lifter = Lifter(model)
    assert lifter.latency_frames == (FRAMES - 1) // 2
    poses_2d = random_keypoints(12)
    answers = [lifter.push(frame) for frame in poses_2d]
    assert all(a is None for a in answers[:4]) and all(a.shape == (17, 3) for a in answers[4:])
    assert all(a.dtype == np.float32 for a in answers[4:])
    assert lifter.flush().shape == (4, 17, 3)
    assert lifter.flush().shape == (0, 17, 3)           # nothing pushed since


def test_a_lifter_is_ready_for_a_new_stream_after_flush(model):
    lifter = Lifter(model, SYMMETRY, tta=True)
    first = lifter.lift(random_keypoints(15, seed=3))
    lifter.lift(random_keypoints(7, seed=4))
    np.testing.assert_array_equal(lifter.lift(random_keypoints(15, seed=3)), first)


def test_reset_drops_a_stream_in_progress(model):
    lifter = Lifter(model)
    for frame in random_keypoints(6, seed=5):
        lifter.push(frame)
    lifter.reset()
    poses_2d = random_keypoints(10)
    np.testing.assert_allclose(lifter.lift(poses_2d), predict_sequence(model, poses_2d, SYMMETRY, tta=False),
                               atol=1e-5)


def test_pixel_keypoints_are_normalised_with_the_image_size(model):
    width, height = 1000, 1002
    normalised = random_keypoints(11)
    pixels = (normalised + [1, height / width]) * width / 2
    np.testing.assert_allclose(normalize_screen_coordinates(pixels, width, height), normalised, atol=1e-5)
    in_pixels = Lifter(model, image_size=(width, height)).lift(pixels)
    np.testing.assert_allclose(in_pixels, Lifter(model).lift(normalised), atol=1e-5)


def test_integer_pixels_are_accepted(model):
    pixels = np.full((17, 2), 500, dtype=np.int64)
    lifter = Lifter(model, image_size=(1000, 1000))
    lifter.push(pixels)
    assert lifter.flush().shape == (1, 17, 3)


@pytest.mark.parametrize('tta', [False, True])
def test_a_causal_model_answers_at_once_with_its_offline_prediction(tta):
    model = random_model(causal=True)      # target = last frame of the window
    poses_2d = random_keypoints(13)
    lifter = Lifter(model, SYMMETRY, tta=tta)
    assert lifter.latency_frames == 0
    online = [lifter.push(frame) for frame in poses_2d]
    assert all(pose is not None for pose in online)
    assert lifter.flush().shape == (0, 17, 3)
    np.testing.assert_allclose(np.stack(online), predict_sequence(model, poses_2d, SYMMETRY, tta=tta, batch_size=5),
                               atol=1e-5)
    if not tta:     # and those are the poses of the windows ending at each frame (first frame repeated before)
        padded = np.pad(poses_2d, ((FRAMES - 1, 0), (0, 0), (0, 0)), mode='edge')
        windows = np.stack([padded[i:i + FRAMES] for i in range(len(poses_2d))])
        with torch.no_grad():
            expected = model(torch.from_numpy(windows))[:, 0].numpy()
        np.testing.assert_allclose(np.stack(online), expected, atol=1e-5)


@pytest.mark.parametrize('frame, complaint', [
    (np.zeros((17, 3), np.float32), 'shape (17, 3)'),
    (np.zeros((1, 17, 2), np.float32), 'shape (1, 17, 2)'),
    (np.zeros(34, np.float32), 'shape (34,)'),
    (np.full((17, 2), 'a'), 'dtype <U1'),
    (np.zeros((17, 2), complex), 'dtype complex128'),
    (np.zeros((17, 2), bool), 'dtype bool'),
    ([[0.0, 0.0]] * 16 + [[0.0]], 'frame of 2D keypoints'),
])
def test_bad_frames_are_refused_with_the_expected_shape(model, frame, complaint):
    lifter = Lifter(model)
    with pytest.raises(ValueError) as error:
        lifter.push(frame)
    assert '(17, 2)' in str(error.value) and complaint in str(error.value)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_non_finite_keypoints_are_refused_naming_the_joints(model, bad):
    frame = np.zeros((17, 2), np.float32)
    frame[3, 1] = bad
    frame[10, 0] = bad
    lifter = Lifter(model)
    lifter.push(np.zeros((17, 2), np.float32))
    with pytest.raises(ValueError, match=r'frame 1 has NaN or infinite coordinates at joints \[3, 10\].*\(17, 2\)'):
        lifter.push(frame)
    assert lifter.frames_pushed == 1     # the bad frame was not taken: the stream can go on


def test_settings_are_checked(model):
    with pytest.raises(ValueError, match='symmetry'):
        Lifter(model, tta=True)
    for size in [(0, 100), (100,), (100, float('nan'))]:
        with pytest.raises(ValueError, match=r'image_size must be \(width, height\)'):
            Lifter(model, image_size=size)


def test_feature_ring_reads_the_last_rows_oldest_first():
    ring = FeatureRing(3)
    for value in range(7):
        ring.append(np.full((2, 4), value, np.float32))
        if value >= 2:
            assert ring.full
            np.testing.assert_array_equal(ring.window()[1, :, 0], [value - 2, value - 1, value])
        else:
            assert not ring.full


@pytest.fixture(scope='module')
def demo_files(model, tmp_path_factory):
    """(data folder with data_2d_custom_clip.npz (one 30-frame video 'walk'), checkpoint of `model`)."""
    folder = tmp_path_factory.mktemp('demo')
    pixels = (random_keypoints(30) + 1) * 500                          # a 1000 x 1000 video
    save_npz(folder / 'data_2d_custom_clip.npz', positions_2d={'walk': {'custom': [pixels]}},
             metadata={**keypoints_metadata(H36M_17), 'video_metadata': {'walk': {'w': 1000, 'h': 1000}}})
    checkpoint = folder / 'model.bin'
    save_checkpoint(checkpoint, epoch=1, lr=1e-3, model=model, optimizer=None, config=dict(model.config))
    return folder, checkpoint


def test_demo_streams_a_video_and_writes_the_animation(demo_files, tmp_path, capsys):
    folder, checkpoint = demo_files
    gif = tmp_path / 'live.gif'
    assert demo_main(['-c', str(checkpoint), '-d', 'custom', '-k', 'clip', '--data-dir', str(folder), '--fast',
                      '--limit', '12', '--output', str(gif)]) == 0
    printed = capsys.readouterr().out
    assert 'Streaming walk custom camera 0: 12 frames at 50 fps (as fast as possible)' in printed
    assert 'poses come 4 frames (80 ms) late' in printed
    assert 'push: median' in printed and 'frames/s sustainable' in printed
    assert 'Wrote 12 frames' in printed and gif.is_file()


def test_demo_replays_at_the_frame_rate(demo_files, capsys):
    import time
    folder, checkpoint = demo_files
    start = time.perf_counter()
    assert demo_main(['-c', str(checkpoint), '-d', 'custom', '-k', 'clip', '--data-dir', str(folder)]) == 0
    assert time.perf_counter() - start >= 29 / 50               # 30 frames at 50 fps
    assert '[  0.98 s] frame 49' not in capsys.readouterr().out  # a line per second of stream: none in 0.6 s


@pytest.mark.parametrize('argv, flag, message', [
    (['-d', 'custom'], '--keypoints', 'is needed with custom data'),
    (['-d', 'custom', '-k', 'clip', '--subject', 'run'], '--subject', 'run'),
    (['-d', 'custom', '-k', 'clip', '--output', 'x.png'], '--output', 'x.png'),
    (['-d', 'custom', '-k', 'clip', '--limit', '-3'], '--limit', '-3: must be 0'),
])
def test_demo_reports_bad_settings_by_their_flag(demo_files, argv, flag, message, capsys):
    folder, checkpoint = demo_files
    assert demo_main(['-c', str(checkpoint), '--data-dir', str(folder), *argv]) == 2
    error = capsys.readouterr().err
    assert error.startswith('error: ') and f'{flag} {message}' in error


def test_demo_runs_an_onnx_export(model, demo_files, tmp_path, capsys):
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    from common.streaming import export_onnx
    folder, _ = demo_files
    export_onnx(model, tmp_path / 'pose.onnx', stages=True)
    assert demo_main(['--onnx', str(tmp_path / 'pose.onnx'), '-d', 'custom', '-k', 'clip', '--data-dir', str(folder),
                      '--fast', '--tta']) == 0
    printed = capsys.readouterr().out
    assert f'through onnxruntime ({tmp_path / "pose.onnx"}), 9-frame window, TTA on' in printed
