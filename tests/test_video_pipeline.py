"""The video pipeline of common/video_pipeline without a real detector: conventions, placement in the scene,
fixed bones, smoothing, the BVH / CSV / JSON outputs, the locked output folder, and tools/video_to_3d.py's
refusals that come before any detection (issue 26 items 3 and 4, issue 27).

A scripted detector (tests/video_fixtures.py) stands in for MediaPipe, so this runs on the core install.
"""
import json
import warnings

import numpy as np
import pytest
import torch

from common.data.camera import normalize_screen_coordinates
from common.data.layouts import H36M_17, coco_to_h36m
from common.errors import UserError
from common.io.checkpoint import save_checkpoint
from common.model.config import ModelConfig
from common.model.poseformer import PoseTransformer
from common.video_pipeline import LiftSettings, OneEuro, VideoLifter
from common.video_pipeline.scene import fit_trajectory, project
from common.video_pipeline.skeleton import bone_lengths, bone_vectors, fit_bones
from common.video_pipeline.smoothing import one_euro
from tests.cli_fixtures import one_error_line
from tests.video_fixtures import REPO, ScriptedDetector, load_script, walking_person, write_video

tool = load_script('tools/video_to_3d.py', 'video_to_3d_pipeline')
FRAMES, WIDTH, HEIGHT, FPS = 24, 200, 300, 30
PARENTS = H36M_17.parents


def make_checkpoint(path, num_frame=9, layouts=None):
    config = ModelConfig(num_frame=num_frame, embed_dim_ratio=8, depth=1, num_heads=2)
    torch.manual_seed(0)
    save_checkpoint(path, epoch=1, lr=1e-3, model=PoseTransformer(**config), optimizer=None, config=dict(config),
                    layouts=layouts)
    return path


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    frames = np.zeros((FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    return write_video(tmp_path_factory.mktemp('video') / 'walk.mp4', frames, fps=FPS)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp('ckpt') / 'tiny9.bin')


def scripted(frames=FRAMES):
    person = walking_person(frames, speed=0.5)
    return lambda: ScriptedDetector([[p] for p in person]), person


def lift(video, checkpoint, **fields):
    make, person = scripted()
    return VideoLifter(LiftSettings(checkpoint=str(checkpoint), **fields)).lift(video, make_detector=make), person


def random_poses(frames=40, seed=0):
    """(frames, 17, 3) root-relative, a person-sized cloud per frame, moving a little."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.3, (1, 17, 3))
    poses = base + rng.normal(0, 0.03, (frames, 17, 3))
    return poses - poses[:, :1]


# ------------------------------------------------------------------------------------ conventions

def test_root_relative_output_subtracts_joint_0_from_every_joint(video, checkpoint):
    """The raw stage is the model's prediction with its joint 0 subtracted from every joint (issue 26: the
    old output zeroed joint 0 and left the other joints where they were)."""
    from common.data.types import Symmetry
    from common.evaluation import predict_sequence
    from common.model.loading import model_from_checkpoint
    result, person = lift(video, checkpoint, fit_bones=False, smoothing=None)
    model = model_from_checkpoint(str(checkpoint))
    inputs = normalize_screen_coordinates(coco_to_h36m(person[..., :2]).astype(np.float32), w=WIDTH, h=HEIGHT)
    symmetry = Symmetry(list(H36M_17.left), list(H36M_17.right), list(H36M_17.left), list(H36M_17.right))
    predicted = predict_sequence(model, inputs, symmetry, tta=True)
    assert np.abs(predicted[:, 0]).max() > 1e-3                  # the model's joint 0 is not at the origin
    np.testing.assert_allclose(result.poses, predicted - predicted[:, :1], atol=1e-5)
    assert list(result.stages) == ['raw']


def test_mpi3dhp_checkpoint_is_refused_by_the_video_command(tmp_path, video, capsys):
    """Issue 26 item 3: a 17-joint MPI-INF-3DHP checkpoint was accepted and its output labelled with
    Human3.6M names; now the layout it records is checked as every program checks it."""
    mpi = make_checkpoint(tmp_path / 'mpi.bin', layouts={'joints': 'mpi3dhp', 'keypoints': 'mpi3dhp'})
    assert tool.main([str(video), '-c', str(mpi), '-o', str(tmp_path / 'out')]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith('error: -c/--checkpoint ') and "'mpi3dhp'" in line and 'Human3.6M' in line, line
    assert not (tmp_path / 'out').exists()


def test_refusals_before_any_detection(tmp_path, video, checkpoint, capsys):
    (tmp_path / 'ckpts').mkdir()
    make_checkpoint(tmp_path / 'ckpts' / 'best_epoch.bin')
    out = tmp_path / 'out'
    cases = [
        (['-c', checkpoint, '--focal-length', '0'], 'error: --focal-length 0.0: the focal length must be a positive'),
        (['-c', checkpoint, '--focal-length', '-5'], 'error: --focal-length -5.0: the focal length must be a positive'),
        (['-c', checkpoint, '--bvh', tmp_path / 'missing' / 'a.bvh'], 'error: --bvh '),
        (['-c', tmp_path / 'ckpts'], 'error: -c/--checkpoint '),
        (['-c', checkpoint, '--smoothing-min-cutoff', '0'], 'error: --smoothing-min-cutoff 0.0: must be a positive'),
    ]
    for extra, start in cases:
        assert tool.main([str(video), '-o', str(out), *map(str, extra)]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert line.startswith(start), line
    assert 'does not exist' in tool_error(tmp_path, video, ['-c', checkpoint, '--bvh', tmp_path / 'missing' / 'a.bvh'],
                                          capsys)
    assert 'is a folder; give the checkpoint file inside it' in tool_error(tmp_path, video, ['-c', tmp_path / 'ckpts'],
                                                                           capsys)
    assert not out.exists() and not (tmp_path / 'missing').exists()


def tool_error(tmp_path, video, extra, capsys):
    assert tool.main([str(video), '-o', str(tmp_path / 'out'), *map(str, extra)]) == 2
    return one_error_line(capsys.readouterr().err)


def test_an_output_folder_that_cannot_be_made_fails_before_the_detection(tmp_path, video, checkpoint, monkeypatch):
    """-o on a read-only file system: the folder is made (and locked) before the detector runs."""
    from pathlib import Path
    calls = []
    make = lambda: calls.append(1) or ScriptedDetector([])        # noqa: E731
    real_mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name == 'out':
            raise OSError(30, 'Read-only file system')
        return real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(Path, 'mkdir', read_only)
    from common.video_pipeline.outputs import held_output_folder, output_files
    files = output_files(tmp_path / 'out', 'walk')
    with pytest.raises(UserError, match='Read-only file system') as err:
        with held_output_folder(files, tmp_path / 'out', overwrite=False):
            VideoLifter(LiftSettings(checkpoint=str(checkpoint))).lift(video, make_detector=make)
    assert err.value.setting == 'output' and not calls


def test_second_run_into_the_same_folder_is_refused_unless_overwrite_and_concurrent_runs_exclude(tmp_path):
    """Issue 26 item 4: the files of a first run are not replaced without --overwrite, and while one run
    holds the folder another is refused at once (the training's lock, common.io.run_lock)."""
    from common.video_pipeline.outputs import held_output_folder, output_files
    folder = tmp_path / 'out'
    files = output_files(folder, 'walk')
    with held_output_folder(files, folder, overwrite=False):
        with pytest.raises(UserError, match='another video_to_3d run .* is writing into this folder') as err:
            with held_output_folder(files, folder, overwrite=True):
                pass
        assert err.value.setting == 'output'
        files['npy'].write_bytes(b'first run')
    with pytest.raises(UserError, match='already exists; pass overwrite') as err:
        with held_output_folder(files, folder, overwrite=False):
            pass
    assert err.value.mentions == ('overwrite',) and 'pass --overwrite' in err.value.describe({'overwrite': '--overwrite'})
    with held_output_folder(files, folder, overwrite=True):
        pass
    assert files['npy'].read_bytes() == b'first run' and not (folder / '.poseformer.lock').exists()


def test_truncated_video_warns(tmp_path):
    """A file whose container announces more frames than can be decoded (cut short) is reported."""
    import imageio_ffmpeg
    from common.detection.video import detect_video
    path = tmp_path / 'cut.mp4'
    writer = imageio_ffmpeg.write_frames(str(path), (64, 64), fps=25, macro_block_size=1,
                                         output_params=['-loglevel', 'error', '-movflags', 'faststart', '-g', '1'])
    writer.send(None)
    rng = np.random.default_rng(0)
    for _ in range(100):
        writer.send(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    writer.close()
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * 0.4)])
    warned = []
    person = walking_person(100, scale=0.2)
    detected = detect_video(path, lambda: ScriptedDetector([[p] for p in person]), warn=warned.append)
    assert len(detected.keypoints) < 60
    assert any('announces 100 frames but only' in m and 'truncated' in m for m in warned), warned


# ------------------------------------------------------------------------------------ placement in the scene

def test_placed_joints_reproject_onto_the_2d_keypoints_in_pixels():
    poses = random_poses()
    n = len(poses)
    trajectory = np.stack([np.linspace(-0.5, 0.8, n), 0.3 + 0.05 * np.sin(np.arange(n) / 5), np.linspace(3.0, 4.5, n)],
                          axis=1)
    focal, centre = 900.0, (270.0, 480.0)
    pixels = project(poses + trajectory[:, None], focal, centre)
    weights = np.ones((n, 17))
    found = fit_trajectory(poses, pixels, weights, focal, centre, fps=30, noise_px=5.0)
    error = np.linalg.norm(project(poses + found[:, None], focal, centre) - pixels, axis=-1)
    assert error.max() < 1.0 and error.mean() < 0.3, (error.max(), error.mean())        # pixels
    np.testing.assert_allclose(found, trajectory, atol=5e-3)                             # metres
    alone = fit_trajectory(poses, pixels, weights, focal, centre, fps=30, noise_px=5.0, acceleration=None)
    assert np.linalg.norm(project(poses + alone[:, None], focal, centre) - pixels, axis=-1).max() < 1e-3
    # noisy keypoints: the temporal prior keeps the trajectory closer than a frame-by-frame fit
    noisy = pixels + np.random.default_rng(1).normal(0, 3.0, pixels.shape)
    alone = fit_trajectory(poses, noisy, weights, focal, centre, fps=30, noise_px=3.0, acceleration=None)
    together = fit_trajectory(poses, noisy, weights, focal, centre, fps=30, noise_px=3.0)
    assert np.linalg.norm(together - trajectory, axis=1).mean() < 0.7 * np.linalg.norm(alone - trajectory, axis=1).mean()


def test_pipeline_result_is_placed_with_the_given_or_default_focal_length(video, checkpoint):
    result, _ = lift(video, checkpoint, focal_length=400)
    assert result.focal_length == 400 and result.focal_length_given
    assert result.trajectory.shape == (FRAMES, 3) and (result.trajectory[:, 2] > 0).all()
    np.testing.assert_allclose(result.poses_camera - result.trajectory[:, None], result.poses, atol=1e-6)
    default, _ = lift(video, checkpoint)
    assert default.focal_length == pytest.approx(np.hypot(WIDTH, HEIGHT)) and not default.focal_length_given


# ------------------------------------------------------------------------------------ bones

def test_fitted_bones_have_one_length_and_move_joints_no_more_than_the_length_change_demands():
    poses = random_poses(seed=3)
    lengths = bone_lengths(poses, PARENTS)
    fitted = fit_bones(poses, PARENTS, lengths)
    fitted_lengths = np.linalg.norm(bone_vectors(fitted, PARENTS), axis=-1)
    assert fitted_lengths[:, 1:].std(axis=0).max() < 1e-6
    np.testing.assert_allclose(fitted_lengths[0], lengths, atol=1e-6)
    raw_vectors, fit_vectors = bone_vectors(poses, PARENTS)[:, 1:], bone_vectors(fitted, PARENTS)[:, 1:]
    cosine = np.sum(raw_vectors * fit_vectors, axis=-1) / (np.linalg.norm(raw_vectors, axis=-1) *
                                                           np.linalg.norm(fit_vectors, axis=-1))
    assert cosine.min() > 1 - 1e-6                                            # directions kept
    change = np.abs(np.linalg.norm(bone_vectors(poses, PARENTS), axis=-1) - lengths)   # (N, J)
    allowed = np.zeros_like(change)
    for j, parent in enumerate(PARENTS):                                      # parents come first in H36M_17
        allowed[:, j] = 0 if parent < 0 else allowed[:, parent] + change[:, j]
    moved = np.linalg.norm(fitted - poses, axis=-1)
    assert (moved <= allowed + 1e-6).all()
    assert moved.max() > 0.01                                                 # the lengths did change


def test_bone_fit_and_smoothing_can_be_switched_off(video, checkpoint):
    result, _ = lift(video, checkpoint, fit_bones=False, smoothing=None)
    assert list(result.stages) == ['raw'] and result.bone_lengths is None
    result, _ = lift(video, checkpoint, smoothing=OneEuro(min_cutoff=2.0, beta=0.5))
    assert list(result.stages) == ['raw', 'fitted', 'smoothed']
    lengths = np.linalg.norm(bone_vectors(result.poses, PARENTS), axis=-1)
    assert lengths[:, 1:].std(axis=0).max() < 1e-5


# ------------------------------------------------------------------------------------ smoothing

def test_one_euro_removes_jitter_is_causal_and_follows_motion():
    rng = np.random.default_rng(0)
    n, fps = 120, 30.0
    still = np.zeros((n, 17, 3)) + rng.normal(0, 0.01, (n, 17, 3))
    filtered = one_euro(still, fps)
    from common.metrics import jitter_per_frame
    assert jitter_per_frame(filtered).mean() < 0.3 * jitter_per_frame(still).mean()
    changed = still.copy()
    changed[60:] += 1.0
    np.testing.assert_allclose(one_euro(changed, fps)[:60], filtered[:60])     # the future changes nothing
    ramp = np.zeros((n, 17, 3))
    ramp[..., 0] = np.arange(n)[:, None] * (1.0 / fps)                         # 1 m/s
    lag = ramp[-1, 0, 0] - one_euro(ramp, fps)[-1, 0, 0]
    assert 0 < lag < 0.1                                                      # metres behind at 1 m/s
    with pytest.raises(UserError) as err:
        OneEuro(min_cutoff=-1)
    assert err.value.setting == 'smoothing_min_cutoff'


# ------------------------------------------------------------------------------------ files

def test_files_bvh_read_back_by_an_independent_parser_reproduce_the_fitted_joints(tmp_path, video, checkpoint):
    bvhio = pytest.importorskip('bvhio', reason='bvhio (requirements.txt) reads the BVH back')
    from common.video_pipeline.outputs import output_files, write_outputs
    result, _ = lift(video, checkpoint, focal_length=400)
    files = output_files(tmp_path, 'walk', bvh=tmp_path / 'walk.bvh')
    write_outputs(result, files)
    root = bvhio.readAsHierarchy(str(files['bvh']))
    joints = {entry[0].Name: entry[0] for entry in root.layout()}
    text = files['bvh'].read_text()
    assert f'Frames: {FRAMES}' in text and f'Frame Time: {1 / FPS:.8f}' in text
    to_bvh = np.diag([1.0, -1.0, -1.0])                                      # camera (y down, z away) -> Y up
    for frame in range(FRAMES):
        root.loadPose(frame)
        positions = np.array([list(joints[name].PositionWorld) for name in H36M_17.names])
        assert np.abs(positions - result.poses_camera[frame] @ to_bvh).max() < 1e-3       # < 1 mm
    # CSV and JSON hold the same camera-frame poses
    rows = files['csv'].read_text().splitlines()
    assert rows[0] == 'frame,time_s,joint,x,y,z' and len(rows) == 1 + FRAMES * 17
    last = rows[-1].split(',')
    assert last[0] == str(FRAMES - 1) and last[2] == 'right_wrist'
    np.testing.assert_allclose([float(v) for v in last[3:]], result.poses_camera[-1, 16], atol=1e-5)
    doc = json.loads(files['json'].read_text())
    assert doc['camera']['focal_length_px'] == 400 and doc['camera']['focal_length_from'] == 'given'
    np.testing.assert_allclose(doc['poses_3d_camera']['frames'], result.poses_camera, atol=1e-5)
    np.testing.assert_allclose(doc['trajectory']['frames'], result.trajectory, atol=1e-5)
    np.testing.assert_allclose(np.load(files['camera']), result.poses_camera, atol=1e-6)
    assert np.abs(np.load(files['npy'])[:, 0]).max() == 0


def test_a_non_latin_file_name_renders_without_font_warnings(tmp_path, checkpoint):
    from common.video_pipeline.outputs import render_result
    path = write_video(tmp_path / '走る人.mp4', np.zeros((FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8), fps=FPS)
    make, _ = scripted()
    result = VideoLifter(LiftSettings(checkpoint=str(checkpoint))).lift(path, make_detector=make)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        summary = render_result(result, tmp_path / 'anim.gif', limit=2, size=1, log=lambda m: None)
    assert summary.frames == 2


def test_readme_python_example_runs_verbatim(tmp_path, monkeypatch, checkpoint):
    """The README's "Your own video" Python example, run as written (the detector scripted, the shipped
    model swapped for a tiny one: this checks the API, not the numbers)."""
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    start = readme.index('<!-- video-python-example -->')
    block = readme[readme.index('```python', start) + len('```python'):]
    code = block[:block.index('```')]
    import common.detection.mediapipe_pose as backend
    import common.video_pipeline.pipeline as pipeline
    person = walking_person(100, speed=0.5)
    monkeypatch.setattr(backend, 'MediaPipePose', lambda: ScriptedDetector([[p] for p in person]))
    monkeypatch.setattr(pipeline, 'DEFAULT_CHECKPOINT', str(checkpoint))
    monkeypatch.setattr(pipeline, 'REPO', REPO)
    monkeypatch.chdir(REPO)
    namespace = {}
    exec(compile(code, 'README.md', 'exec'), namespace)
    result = namespace['result']
    assert result.poses_camera.shape == (100, 17, 3)


# ------------------------------------------------------------------------------------ several people (issue 28)

def test_several_people_each_lifted_on_their_own_frames_files_keyed_by_id(tmp_path, video, checkpoint):
    """Two scripted people: #0 in every frame, #1 from frame 6 on and missing in frames 12-15. Each is lifted
    by the one-person stages on the frames from their first to their last detection (gaps inside filled),
    the result and the files say which video frames they cover, and an absent id is refused listing the ids."""
    from common.io.npz import load_npz
    from common.video_pipeline.outputs import people_output_files, write_people_outputs
    a = walking_person(FRAMES, speed=0.5)
    b = walking_person(FRAMES, scale=0.8, shift=(60, 20), speed=-0.3)
    script = [[a[f]] + ([b[f]] if f >= 6 and not 12 <= f < 16 else []) for f in range(FRAMES)]
    lifter = VideoLifter(LiftSettings(checkpoint=str(checkpoint)))
    result = lifter.lift_people(video, 'all', make_detector=lambda: ScriptedDetector(script))
    assert list(result.people) == [0, 1]
    first, second = result.people[0], result.people[1]
    np.testing.assert_array_equal(first.frames, np.arange(FRAMES))
    np.testing.assert_array_equal(second.frames, np.arange(6, FRAMES))
    assert second.keypoints.first_frame == 6 and second.keypoints.person == 1
    assert second.keypoints.report.frames == FRAMES - 6 and second.keypoints.report.frames_without_person == 4
    assert np.isnan(second.keypoints.scores[12 - 6:16 - 6]).all() and np.isfinite(second.keypoints.scores[:6]).all()
    np.testing.assert_allclose(second.keypoints.keypoints[:6], b[6:12, :, :2], atol=1e-4)   # rows = its frames
    for person in (first, second):                  # each placed by its own trajectory
        assert person.poses_camera.shape == (len(person.frames), 17, 3) and (person.trajectory[:, 2] > 0).all()
    placed = result.placed()
    assert placed.shape == (FRAMES, 2, 17, 3) and np.isnan(placed[:6, 1]).all() and np.isfinite(placed[6:]).all()
    np.testing.assert_allclose(placed[6:, 1], second.poses_camera)

    shared, per_person = people_output_files(tmp_path, 'walk', list(result.people), bvh=tmp_path / 'walk.bvh')
    written = write_people_outputs(result, shared, per_person)
    names = sorted(p.name for p in written)
    assert names == sorted(['data_2d_custom_walk_people.npz'] + [
        f'walk_person{i}{suffix}' for i in (0, 1) for suffix in ('_3d.npy', '_3d_camera.npy', '_3d.json', '_3d.csv',
                                                                 '.bvh')])
    doc = json.loads(per_person[1]['json'].read_text())
    assert (doc['person'], doc['video'], doc['first_frame'], doc['frames']) == (1, 'walk.mp4', 6, FRAMES - 6)
    assert doc['video_frames']['last'] == FRAMES - 1
    rows = per_person[1]['csv'].read_text().splitlines()
    assert rows[1].startswith('6,0.200000,hip,') and rows[-1].startswith(f'{FRAMES - 1},')
    np.testing.assert_allclose(np.load(per_person[1]['camera']), second.poses_camera, atol=1e-6)
    positions = load_npz(shared['2d'])['positions_2d']
    assert sorted(positions) == ['walk_person0', 'walk_person1']
    assert positions['walk_person1']['custom'][0].shape == (FRAMES, 17, 2)     # all the video's frames

    with pytest.raises(UserError) as err:
        lifter.lift_people(video, '7', make_detector=lambda: ScriptedDetector(script))
    assert err.value.setting == 'person' and 'ids 0, 1' in err.value.message
    assert list(lifter.lift_people(video, '1', make_detector=lambda: ScriptedDetector(script)).people) == [1]
