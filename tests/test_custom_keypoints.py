"""Custom videos: detector outputs -> data_2d_custom_*.npz -> `-d custom` bundle in Human3.6M order.

The person is synthetic: a Human3.6M-17 skeleton walking in place, seen by Human3.6M camera 0 of
S1. Its COCO-17 keypoints are derived from the same 3D points (face points placed around the
neck/nose and head joints), so the conversion back to Human3.6M order can be checked against the
known Human3.6M 2D projection.
"""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from common.data.camera import image_coordinates, load_h36m_cameras, project_world_to_pixels
from common.data.keypoints_2d import keypoints_metadata
from common.data.layouts import COCO_17, COCO_TO_H36M_DIRECT, H36M_17, coco_to_h36m
from common.data.sources import DataConfig, load_bundle
from common.errors import UserError
from common.io.npz import load_npz, save_npz

REPO = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location('prepare_data_2d_custom', REPO / 'data' / 'prepare_data_2d_custom.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = _load_script()

N_FRAMES = 12
CAMERA = load_h36m_cameras()['S1'][0]
W, H = CAMERA['res_w'], CAMERA['res_h']
COCO_SYMMETRY = [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]
# Human3.6M joints built by a formula from several COCO keypoints (all others are copied).
H36M_APPROXIMATED = [j for j in range(17) if j not in COCO_TO_H36M_DIRECT]


def custom_bundle(path, **settings):
    """The `-d custom` bundle of ``<folder>/data_2d_custom_<name>.npz``."""
    name = path.name[len('data_2d_custom_'):-len('.npz')]
    return load_bundle(DataConfig(dataset='custom', keypoints=name, data_dir=str(path.parent), need_train=False,
                                  **settings))

# Human3.6M-17 rest pose in metres (z up, the person's left towards +x).
REST = np.array([
    [0.00, 0.00, 0.95],   # 0 hip
    [-0.13, 0.00, 0.95],  # 1 RHip
    [-0.13, 0.00, 0.50],  # 2 RKnee
    [-0.13, 0.00, 0.07],  # 3 RFoot
    [0.13, 0.00, 0.95],   # 4 LHip
    [0.13, 0.00, 0.50],   # 5 LKnee
    [0.13, 0.00, 0.07],   # 6 LFoot
    [0.00, 0.00, 1.18],   # 7 spine
    [0.00, 0.00, 1.44],   # 8 thorax
    [0.00, -0.03, 1.56],  # 9 neck/nose
    [0.00, -0.01, 1.68],  # 10 head
    [0.15, 0.00, 1.44],   # 11 LShoulder
    [0.15, 0.00, 1.16],   # 12 LElbow
    [0.15, 0.00, 0.91],   # 13 LWrist
    [-0.15, 0.00, 1.44],  # 14 RShoulder
    [-0.15, 0.00, 1.16],  # 15 RElbow
    [-0.15, 0.00, 0.91],  # 16 RWrist
])


def walking_in_place():
    """(F, 17, 3) world metres: knees lift alternately, arms swing in opposition."""
    phase = np.sin(np.linspace(0, 2 * np.pi, N_FRAMES, endpoint=False))
    poses = np.repeat(REST[None], N_FRAMES, axis=0)
    lift_r, lift_l = np.clip(phase, 0, None) * 0.15, np.clip(-phase, 0, None) * 0.15
    for lift, knee, foot in ((lift_r, 2, 3), (lift_l, 5, 6)):
        poses[:, knee] += np.stack([0 * lift, -lift, lift], axis=-1)
        poses[:, foot] += np.stack([0 * lift, -lift * 0.5, lift * 1.5], axis=-1)
    for swing, elbow, wrist in ((phase, 12, 13), (-phase, 15, 16)):
        poses[:, elbow, 1] += 0.08 * swing
        poses[:, wrist, 1] += 0.16 * swing
    return poses


def coco_3d(h36m):
    """COCO-17 3D points of the synthetic person (nose at the neck/nose joint, eyes/ears around it)."""
    coco = np.zeros(h36m.shape[:-2] + (17, 3))
    for h36m_joint, coco_joint in COCO_TO_H36M_DIRECT.items():
        coco[..., coco_joint, :] = h36m[..., h36m_joint, :]
    nose = h36m[..., 9, :]
    coco[..., 0, :] = nose
    for coco_joint, offset in ((1, [0.03, 0.0, 0.035]), (2, [-0.03, 0.0, 0.035]),
                               (3, [0.075, 0.04, 0.02]), (4, [-0.075, 0.04, 0.02])):
        coco[..., coco_joint, :] = nose + np.array(offset)
    return coco


@pytest.fixture(scope='module')
def person():
    world = walking_in_place()
    h36m_px = project_world_to_pixels(world.astype(np.float32), CAMERA).astype(np.float64)
    coco_px = project_world_to_pixels(coco_3d(world).astype(np.float32), CAMERA).astype(np.float64)
    assert np.all((coco_px > 0) & (coco_px < [W, H])), 'the synthetic person must be in the image'
    return h36m_px, coco_px


MISSING = {0, 3, 4, N_FRAMES - 1}  # frames without any detection
LOW_CONF = (7, 9)                   # (frame, COCO joint) scored below --min-confidence


def expected_filled(coco_px):
    """What interpolation must produce from the detections written by the tests."""
    out = coco_px.copy()
    out[0] = coco_px[1]                                   # before the first detection: nearest
    out[3] = coco_px[2] + (coco_px[5] - coco_px[2]) / 3   # linear between frames 2 and 5
    out[4] = coco_px[2] + (coco_px[5] - coco_px[2]) * 2 / 3
    out[N_FRAMES - 1] = coco_px[N_FRAMES - 2]             # after the last detection: nearest
    frame, joint = LOW_CONF
    out[frame, joint] = (coco_px[frame - 1, joint] + coco_px[frame + 1, joint]) / 2
    return out


def with_scores(coco_px, frame):
    kps = np.concatenate([coco_px[frame], np.full((17, 1), 0.9)], axis=-1)
    if frame == LOW_CONF[0]:
        kps[LOW_CONF[1]] = [3.0, 4.0, 0.1]  # garbage position, low score: must be replaced
    return kps


def write_coco_json(path, coco_px):
    results = []
    for frame in range(N_FRAMES):
        if frame in MISSING:
            continue
        kps = with_scores(coco_px, frame)
        decoy = kps.copy()
        decoy[:, :2] += 150
        entries = [{'image_id': f'frame_{frame:06d}.jpg', 'category_id': 1, 'score': 0.95,
                    'keypoints': kps.reshape(-1).tolist()},
                   {'image_id': f'frame_{frame:06d}.jpg', 'category_id': 1, 'score': 0.4,
                    'keypoints': decoy.reshape(-1).tolist()},
                   {'image_id': f'frame_{frame:06d}.jpg', 'category_id': 2, 'score': 0.99,
                    'keypoints': decoy.reshape(-1).tolist()}]
        results += entries[::-1] if frame % 2 else entries
    path.write_text(json.dumps(results))


def detectron_people(coco_px, frame, fmt):
    """Two people in one frame (the real one scored higher): keypoints list + box rows."""
    kps = with_scores(coco_px, frame)
    decoy = kps.copy()
    decoy[:, :2] += 200
    decoy[:, 2] = 0.99  # confident keypoints, but a lower box score
    people = []
    for k in (decoy, kps):
        if fmt == '4x17':
            people.append(np.stack([k[:, 0], k[:, 1], np.zeros(17), k[:, 2]]))
        else:
            people.append(k)
    boxes = np.array([[0, 0, 10, 10, 0.5], [0, 0, 10, 10, 0.9]])
    return np.stack(people), boxes


def write_detectron_npz(path, coco_px, fmt, class_indexed):
    boxes = np.empty(N_FRAMES, dtype=object)
    keypoints = np.empty(N_FRAMES, dtype=object)
    for frame in range(N_FRAMES):
        if frame in MISSING:
            kps, bxs = [], []
        else:
            kps, bxs = detectron_people(coco_px, frame, fmt)
        if class_indexed:
            boxes[frame], keypoints[frame] = [[], bxs], [[], kps]
        else:
            boxes[frame], keypoints[frame] = bxs, kps
    np.savez_compressed(path, boxes=boxes, keypoints=keypoints, metadata={'w': W, 'h': H})


def check_custom_file(path, videos, h36m_px, coco_px):
    raw = load_npz(path)
    metadata = raw['metadata']
    assert metadata['layout_name'] == 'coco' and metadata['num_joints'] == 17
    assert metadata['keypoints_symmetry'] == COCO_SYMMETRY
    assert metadata['video_metadata'] == {v: {'w': W, 'h': H} for v in videos}
    filled = expected_filled(coco_px)
    for video in videos:
        stored = raw['positions_2d'][video]['custom']
        assert len(stored) == 1 and stored[0].dtype == np.float32 and stored[0].shape == (N_FRAMES, 17, 2)
        np.testing.assert_allclose(stored[0], filled, atol=1e-3)

    bundle = custom_bundle(path)
    assert bundle.train == [] and bundle.fps == 50 and bundle.keypoints is bundle.joints is H36M_17
    assert [(s.subject, s.action, s.camera) for s in bundle.test] == [(video, 'custom', 0) for video in videos]
    for video, seq in zip(videos, bundle.test):
        assert seq.poses_3d is None
        cam = seq.cam
        assert (cam['res_w'], cam['res_h']) == (W, H) and cam['id'] == video
        for key in ('orientation', 'translation', 'intrinsic', 'azimuth'):
            np.testing.assert_array_equal(cam[key], CAMERA[key])
        normalised = seq.poses_2d
        assert normalised.shape == (N_FRAMES, 17, 2) and normalised.dtype == np.float32
        assert not np.isnan(normalised).any()
        assert np.abs(normalised).max() <= 1.5
        pixels = image_coordinates(normalised, w=W, h=H)
        detected = [f for f in range(N_FRAMES) if f not in MISSING and f != LOW_CONF[0]]
        error = np.linalg.norm(pixels[detected] - h36m_px[detected], axis=-1)  # (frames, 17) pixels
        exact = sorted(COCO_TO_H36M_DIRECT)
        assert error[:, exact].max() < 1e-2
        torso = np.linalg.norm(h36m_px[:, 8] - h36m_px[:, 0], axis=-1).min()
        assert error[:, [0, 8]].max() < 1.0      # mid-hips / mid-shoulders: perspective only
        assert error[:, 9].max() < 1e-2          # the synthetic nose sits on the neck/nose joint
        assert error[:, H36M_APPROXIMATED].max() < 0.15 * torso
        # Interpolated frames lie between their detected neighbours.
        between = pixels[3] - pixels[2], pixels[5] - pixels[3]
        assert np.all(between[0] * between[1] >= -1e-6)


def test_coco_json(tmp_path, person, capsys):
    h36m_px, coco_px = person
    write_coco_json(tmp_path / 'walk.json', coco_px)
    code = prep.main(['--coco-json', str(tmp_path / 'walk.json'), '--width', str(W), '--height', str(H),
                      '--num-frames', str(N_FRAMES), '--output-dir', str(tmp_path), '-o', 'walktest'])
    assert code == 0, capsys.readouterr().err
    check_custom_file(tmp_path / 'data_2d_custom_walktest.npz', ['walk'], h36m_px, coco_px)


def test_coco_json_length_defaults_to_last_frame(tmp_path, person):
    _, coco_px = person
    write_coco_json(tmp_path / 'walk.json', coco_px)
    path = prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'walk.json', video_name='clip',
                               width=W, height=H)
    assert path == tmp_path / 'data_2d_custom_clip.npz'
    assert load_npz(path)['positions_2d']['clip']['custom'][0].shape == (N_FRAMES - 1, 17, 2)


def two_people(coco_px):
    """Per frame the walking person and a small bystander who scores higher on every other frame.

    Returns (candidates, scores) per frame: (17, 3) [x, y, score] arrays and their detection scores.
    The official converter kept each frame's highest-scoring person, so it jumped to the bystander on
    the odd frames; the one person rule of every 2D input keeps the person who is large and lasting."""
    people, scores = [], []
    for frame in range(N_FRAMES):
        main = np.concatenate([coco_px[frame], np.full((17, 1), 0.9)], axis=-1)
        bystander = main.copy()
        bystander[:, :2] = (main[:, :2] - main[:, :2].mean(axis=0)) * 0.4 + [150.0, 200.0]
        people.append([bystander, main])
        scores.append([0.95, 0.6] if frame % 2 else [0.3, 0.6])
    return people, scores


@pytest.mark.parametrize('kind', ['coco', 'detectron'])
def test_files_keep_one_person_over_the_video_not_each_frames_best_score(tmp_path, person, kind, capsys):
    _, coco_px = person
    people, scores = two_people(coco_px)
    if kind == 'coco':
        results = [{'image_id': frame, 'category_id': 1, 'score': score, 'keypoints': kps.reshape(-1).tolist()}
                   for frame in range(N_FRAMES) for kps, score in zip(people[frame], scores[frame])]
        (tmp_path / 'two.json').write_text(json.dumps(results))
        args = ['--coco-json', str(tmp_path / 'two.json'), '--width', str(W), '--height', str(H)]
    else:
        (tmp_path / 'det').mkdir()
        keypoints, boxes = np.empty(N_FRAMES, dtype=object), np.empty(N_FRAMES, dtype=object)
        for frame in range(N_FRAMES):
            keypoints[frame] = np.stack(people[frame])
            boxes[frame] = np.array([[0, 0, 10, 10, score] for score in scores[frame]])
        np.savez_compressed(tmp_path / 'det' / 'two.npz', boxes=boxes, keypoints=keypoints,
                            metadata={'w': W, 'h': H})
        args = ['--detectron-dir', str(tmp_path / 'det')]
    assert prep.main(args + ['--output-dir', str(tmp_path), '-o', 'two']) == 0, capsys.readouterr().err
    stored = load_npz(tmp_path / 'data_2d_custom_two.npz')['positions_2d']['two']['custom'][0]   # COCO pixels
    np.testing.assert_allclose(stored, coco_px, atol=1e-3)


@pytest.mark.parametrize('fmt', ['4x17', '17x3'])
@pytest.mark.parametrize('class_indexed', [True, False])
def test_detectron_dir(tmp_path, person, fmt, class_indexed, capsys):
    h36m_px, coco_px = person
    folder = tmp_path / 'detections'
    folder.mkdir()
    write_detectron_npz(folder / 'a.mp4.npz', coco_px, fmt, class_indexed)
    write_detectron_npz(folder / 'b.mp4.npz', coco_px, fmt, class_indexed)
    code = prep.main(['--detectron-dir', str(folder), '--output-dir', str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    check_custom_file(tmp_path / 'data_2d_custom_detections.npz', ['a.mp4', 'b.mp4'], h36m_px, coco_px)


def _write_custom(path, videos, layout=H36M_17):
    """A custom 2D file: videos = {name: pixels (N, 17, 2)} in `layout`, all of size W x H."""
    save_npz(path, positions_2d={v: {'custom': [kps.astype(np.float32)]} for v, kps in videos.items()},
             metadata={**keypoints_metadata(layout), 'video_metadata': {v: {'w': W, 'h': H} for v in videos}})
    return path


def test_h36m_layout_files_are_used_as_is(tmp_path, person):
    h36m_px, _ = person
    bundle = custom_bundle(_write_custom(tmp_path / 'data_2d_custom_h36m.npz', {'v': h36m_px}))
    pixels = image_coordinates(bundle.test[0].poses_2d, w=W, h=H)
    np.testing.assert_allclose(pixels, h36m_px, atol=1e-3)


def test_video_selection(tmp_path, person):
    h36m_px, _ = person
    path = _write_custom(tmp_path / 'data_2d_custom_many.npz', {'b': h36m_px, 'a': h36m_px[:8], 'c': h36m_px})
    assert [s.subject for s in custom_bundle(path).test] == ['b', 'a', 'c']          # all, in file order
    assert [s.subject for s in custom_bundle(path, subjects_test=('c', 'a')).test] == ['c', 'a']
    only = custom_bundle(path, only_subject='a', subjects_test=('c',))               # just the video to render
    assert [s.subject for s in only.test] == ['a'] and len(only.test[0].poses_2d) == 8
    down = custom_bundle(path, only_subject='b', downsample=3)
    assert down.fps == 50 / 3 and len(down.test[0].poses_2d) == 4
    for settings, setting in (({'only_subject': 'd'}, 'viz_subject'), ({'subjects_test': ('d',)}, 'subjects_test'),
                              ({'actions': ('Walk',)}, 'actions')):
        with pytest.raises(UserError) as err:
            custom_bundle(path, **settings)
        assert err.value.setting == setting
    with pytest.raises(UserError, match='without 3D ground truth, nothing to train on') as err:
        load_bundle(DataConfig(dataset='custom', keypoints='many', data_dir=str(tmp_path)))
    assert err.value.setting == 'dataset'



def test_coco_to_h36m_formulas():
    rng = np.random.default_rng(0)
    coco = rng.normal(size=(2, 5, 17, 3))
    h36m = coco_to_h36m(coco)
    assert h36m.shape == (2, 5, 17, 2)
    pelvis = (coco[..., 11, :2] + coco[..., 12, :2]) / 2
    thorax = (coco[..., 5, :2] + coco[..., 6, :2]) / 2
    np.testing.assert_allclose(h36m[..., 0, :], pelvis)
    np.testing.assert_allclose(h36m[..., 8, :], thorax)
    np.testing.assert_allclose(h36m[..., 7, :], (pelvis + thorax) / 2)
    np.testing.assert_allclose(h36m[..., 9, :], coco[..., 0, :2])
    np.testing.assert_allclose(h36m[..., 10, :], coco[..., 1:5, :2].mean(axis=-2)
                               + 0.5 * (coco[..., 0, :2] - thorax))
    np.testing.assert_allclose(h36m[..., 3, :], coco[..., 16, :2])  # RFoot <- r-ankle
    np.testing.assert_allclose(h36m[..., 13, :], coco[..., 9, :2])  # LWrist <- l-wrist
    with pytest.raises(ValueError):
        coco_to_h36m(np.zeros((4, 16, 2)))


def test_frame_index():
    assert prep.frame_index(7, 'x') == 7
    assert prep.frame_index('12', 'x') == 12
    assert prep.frame_index('video2/frame_000123.jpg', 'x') == 123
    with pytest.raises(UserError, match='no frame number'):
        prep.frame_index('cover.jpg', 'x')


def test_error_cases(tmp_path, person, capsys):
    _, coco_px = person
    flags = ['--width', str(W), '--height', str(H), '--output-dir', str(tmp_path)]
    # 16 keypoints in a COCO JSON
    bad = tmp_path / 'sixteen.json'
    bad.write_text(json.dumps([{'image_id': 0, 'keypoints': [1.0, 2.0, 0.9] * 16, 'score': 1.0}]))
    assert prep.main(['--coco-json', str(bad)] + flags) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'sixteen.json' in err and '16 keypoints, expected 17' in err
    # invalid JSON text
    broken = tmp_path / 'broken.json'
    broken.write_text('[{"image_id": 0, "keypoints": [1, 2,')
    assert prep.main(['--coco-json', str(broken)] + flags) == 2
    err = capsys.readouterr().err
    assert 'broken.json: invalid JSON' in err and 'Traceback' not in err
    # a missing input file or a bad output name: the message names the flag
    assert prep.main(['--coco-json', str(tmp_path / 'nope.json')] + flags) == 2
    assert capsys.readouterr().err == f'error: --coco-json {tmp_path / "nope.json"}: file not found\n'
    assert prep.main(['--coco-json', str(broken), '-o', 'a/b'] + flags) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and "--output 'a/b': should be a plain name" in err
    # no detections at all
    empty = tmp_path / 'empty.json'
    empty.write_text('[]')
    with pytest.raises(UserError, match='empty.json: no person detections'):
        prep.prepare_custom(output_dir=tmp_path, coco_json=empty, width=W, height=H)
    # missing file, missing size
    with pytest.raises(UserError, match='file not found'):
        prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'nope.json', width=W, height=H)
    write_coco_json(tmp_path / 'ok.json', coco_px)
    with pytest.raises(UserError, match='--width and --height'):
        prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'ok.json')
    # Detectron: every frame empty
    folder = tmp_path / 'det_empty'
    folder.mkdir()
    nothing = np.empty(4, dtype=object)
    for i in range(4):
        nothing[i] = [[], []]
    np.savez_compressed(folder / 'v.mp4.npz', boxes=nothing, keypoints=nothing, metadata={'w': W, 'h': H})
    with pytest.raises(UserError, match=r'v\.mp4\.npz: no person found in any of its 4 frames; give detections showing a person'):
        prep.prepare_custom(output_dir=tmp_path, detectron_dir=folder)
    # Detectron: 16 keypoints per person
    folder = tmp_path / 'det16'
    folder.mkdir()
    kps = np.empty(2, dtype=object)
    kps[0], kps[1] = np.zeros((1, 4, 16)), np.zeros((1, 4, 16))
    np.savez_compressed(folder / 'v.npz', keypoints=kps, metadata={'w': W, 'h': H})
    with pytest.raises(UserError, match=r'v\.npz: frame 0: a person has 16 keypoints'):
        prep.prepare_custom(output_dir=tmp_path, detectron_dir=folder)
    # Detectron: empty / missing folder
    (tmp_path / 'det_none').mkdir()
    with pytest.raises(UserError, match='has no .npz files'):
        prep.prepare_custom(output_dir=tmp_path, detectron_dir=tmp_path / 'det_none')
    with pytest.raises(UserError, match='folder not found'):
        prep.prepare_custom(output_dir=tmp_path, detectron_dir=tmp_path / 'absent')
    # Refuses to overwrite
    prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'ok.json', width=W, height=H)
    with pytest.raises(UserError, match='already exists'):
        prep.prepare_custom(output_dir=tmp_path, coco_json=tmp_path / 'ok.json', width=W, height=H)


def test_dataset_errors(tmp_path):
    with pytest.raises(UserError, match='missing: 2D keypoint file .* not found') as err:
        custom_bundle(tmp_path / 'data_2d_custom_missing.npz')
    assert err.value.setting == 'keypoints'
    path = tmp_path / 'data_2d_custom_nan.npz'
    kps = np.zeros((3, 17, 2), dtype=np.float32)
    kps[1, 4] = np.nan
    _write_custom(path, {'v': kps}, COCO_17)
    with pytest.raises(UserError, match='NaN'):
        custom_bundle(path)
    save_npz(path, positions_2d={'v': {'custom': [kps]}}, metadata={'layout_name': 'coco'})
    with pytest.raises(UserError, match='video_metadata'):
        custom_bundle(path)
    save_npz(path, positions_2d={'v': {'custom': [kps]}},
             metadata={'num_joints': 17, 'keypoints_symmetry': COCO_SYMMETRY, 'video_metadata': {'v': {'w': W, 'h': H}}})
    with pytest.raises(UserError, match='layout_name is None.*prepare_data_2d_custom'):
        custom_bundle(path)


def test_low_confidence_fallback_warns():
    raw = np.zeros((3, 17, 3))
    raw[..., 2] = 0.9
    raw[:, 5, 2] = 0.1  # never confident
    raw[:, 5, 0] = [1, 2, 3]
    warnings = []
    out = prep.fill_missing(raw, 0.3, 'x.json', warn=warnings.append)
    np.testing.assert_allclose(out[:, 5, 0], [1, 2, 3])
    assert len(warnings) == 1 and 'joint 5' in warnings[0]


def test_runs_as_a_script(tmp_path):
    import subprocess
    broken = tmp_path / 'broken.json'
    broken.write_text('not json')
    result = subprocess.run([sys.executable, 'data/prepare_data_2d_custom.py', '--coco-json', str(broken),
                             '--width', '10', '--height', '10', '--output-dir', str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith('error: ') and 'invalid JSON' in result.stderr


# ------------------------------------------------------------------------------ frame rate (issue 12.5)
# The official code plays a custom video's poses at the video's own rate; ours records the rate in the
# custom file when the preparation step knows it and falls back to 50 only when nobody does.

def test_fps_given_to_the_preparation_is_the_bundle_frame_rate(tmp_path, person, capsys):
    _, coco_px = person
    write_coco_json(tmp_path / 'walk.json', coco_px)
    code = prep.main(['--coco-json', str(tmp_path / 'walk.json'), '--width', str(W), '--height', str(H),
                      '--fps', '29.97', '--output-dir', str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    path = tmp_path / 'data_2d_custom_walk.npz'
    assert load_npz(path)['metadata']['video_metadata']['walk'] == {'w': W, 'h': H, 'fps': 29.97}
    bundle = custom_bundle(path)
    assert bundle.fps == 29.97 and bundle.fps_known and bundle.test[0].cam['fps'] == 29.97
    assert custom_bundle(path, downsample=3).fps == pytest.approx(29.97 / 3)


def test_detectron_metadata_fps_is_recorded_and_fps_flag_overrides_it(tmp_path, person):
    _, coco_px = person
    folder = tmp_path / 'clips'
    folder.mkdir()
    write_detectron_npz(folder / 'a.mp4.npz', coco_px, '17x3', False)
    data = dict(np.load(folder / 'a.mp4.npz', allow_pickle=True))
    np.savez_compressed(folder / 'a.mp4.npz', **{**data, 'metadata': {'w': W, 'h': H, 'fps': 25}})
    assert custom_bundle(prep.prepare_custom(output_dir=tmp_path, detectron_dir=folder)).fps == 25
    assert custom_bundle(prep.prepare_custom(output_dir=tmp_path, detectron_dir=folder, fps=60,
                                             overwrite=True)).fps == 60


def test_without_a_recorded_rate_the_fallback_is_50_and_marked_unknown(tmp_path, person):
    h36m_px, _ = person
    bundle = custom_bundle(_write_custom(tmp_path / 'data_2d_custom_old.npz', {'v': h36m_px}))
    assert bundle.fps == 50 and not bundle.fps_known and 'fps' not in bundle.test[0].cam


def test_bad_frame_rates_are_refused(tmp_path, person, capsys):
    h36m_px, coco_px = person
    write_coco_json(tmp_path / 'walk.json', coco_px)
    code = prep.main(['--coco-json', str(tmp_path / 'walk.json'), '--width', str(W), '--height', str(H),
                      '--fps', '0', '--output-dir', str(tmp_path)])
    assert code == 2 and capsys.readouterr().err.startswith('error: --fps 0.0: must be a positive number')
    path = _write_custom(tmp_path / 'data_2d_custom_bad.npz', {'v': h36m_px})
    data = load_npz(path)
    data['metadata']['video_metadata']['v']['fps'] = 'fast'
    save_npz(path, **data)
    with pytest.raises(UserError, match=r"data_2d_custom_bad.npz: video 'v' has frame rate 'fast'") as err:
        custom_bundle(path)
    assert err.value.setting is None
