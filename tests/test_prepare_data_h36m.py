"""data/prepare_data_h36m.py on tiny sources written in both original layouts (CDF tree, h5 zip)."""
import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from common.data.camera import CAMERA_FILE, load_h36m_cameras, normalize_screen_coordinates
from common.data.h36m import load_h36m_3d
from common.data.keypoints_2d import load_keypoints_2d
from common.data.layouts import H36M_17, H36M_32_TO_17
from common.errors import UserError
from common.io.npz import load_npz

# cdflib / h5py are only needed to read the original sources; tests that write such files need them.
needs_cdflib = pytest.mark.skipif(importlib.util.find_spec('cdflib') is None, reason='cdflib not installed')
needs_h5py = pytest.mark.skipif(importlib.util.find_spec('h5py') is None, reason='h5py not installed')

REPO = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location('prepare_data_h36m', REPO / 'data' / 'prepare_data_h36m.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prep = _load_script()

ORIGINAL_ACTIONS = ['Directions', 'Discussion', 'Eating', 'Greeting', 'Phoning', 'Posing', 'Purchases',
                    'Sitting', 'SittingDown', 'Smoking', 'TakingPhoto', 'Waiting', 'Walking', 'WalkingDog',
                    'WalkTogether']
# 30 file stems per subject, as in the original release (each action recorded twice).
FILE_STEMS = [name for action in ORIGINAL_ACTIONS for name in (action, action + ' 1')]
KEPT = list(H36M_32_TO_17)
# The community ground-truth file's metadata, exactly (no layout_name).
EXPECTED_METADATA = {'num_joints': 17, 'keypoints_symmetry': [[4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]]}


def known_pose_mm(subject, index):
    """A deterministic (N, 96) pose in millimetres, near the middle of the capture area."""
    rng = np.random.default_rng([int(subject[1:]), index])
    n_frames = 3 + index % 4
    pose = rng.uniform(-600, 600, size=(n_frames, 32, 3)) + np.array([0, 0, 900])
    return pose.reshape(n_frames, 96).astype(np.float32)


def write_cdf(path, pose_mm):
    from cdflib.cdfwrite import CDF
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = CDF(str(path), cdf_spec={'Majority': 'Row_major'}, delete=True)
    writer.write_var({'Variable': 'Pose', 'Data_Type': CDF.CDF_FLOAT, 'Num_Elements': 1, 'Rec_Vary': True,
                      'Dim_Sizes': list(pose_mm.shape)}, var_data=pose_mm[None])
    writer.close()


def write_cdf_tree(root, subjects, stems=FILE_STEMS):
    for subject in subjects:
        for index, stem in enumerate(stems):
            write_cdf(root / subject / 'MyPoseFeatures' / 'D3_Positions' / f'{stem}.cdf', known_pose_mm(subject, index))


def h5_bytes(array, name='3D_positions'):
    import h5py
    buffer = io.BytesIO()
    with h5py.File(buffer, 'w') as f:
        f.create_dataset(name, data=array)
    return buffer.getvalue()


def write_archive(path, subjects, stems=FILE_STEMS):
    with zipfile.ZipFile(path, 'w') as archive:
        for subject in subjects:
            for index, stem in enumerate(stems):
                data = h5_bytes(known_pose_mm(subject, index).T)  # stored 96 x N
                archive.writestr(f'h36m/{subject}/MyPoses/3D_positions/{stem}.h5', data)


def quaternion_matrix(q):
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def independent_projection(world_m, subject, cam_index):
    """Pixels of world points (N, J, 3) through the calibration file, in float64 numpy."""
    calib = json.loads(Path(CAMERA_FILE).read_text())
    intr = calib['intrinsic'][cam_index]
    extr = calib['extrinsic'][subject][cam_index]
    rotation = quaternion_matrix(np.array(extr['orientation'], dtype=np.float64))  # camera -> world
    centre = np.array(extr['translation'], dtype=np.float64) / 1000
    cam = (world_m.astype(np.float64) - centre) @ rotation  # = R^T (X - t) per point
    xy = cam[..., :2] / cam[..., 2:]
    assert np.all(np.abs(xy) < 1), 'test points must lie inside the field of view'
    k1, k2, k3 = intr['radial_distortion']
    p = np.array(intr['tangential_distortion'])
    r2 = np.sum(xy ** 2, axis=-1, keepdims=True)
    radial = 1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3
    tangential = np.sum(p * xy, axis=-1, keepdims=True)
    distorted = xy * (radial + tangential) + p * r2
    return distorted * np.array(intr['focal_length']) + np.array(intr['center'])


def expected_action(stem):
    return stem.replace('TakingPhoto', 'Photo').replace('WalkingDog', 'WalkDog')


def run_main(argv, capsys):
    code = prep.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def check_outputs(out_dir, subjects):
    dataset = load_h36m_3d(out_dir / 'data_3d_h36m.npz', all_joints=True)
    assert sorted(dataset) == sorted(subjects)
    raw_2d = load_npz(out_dir / 'data_2d_h36m_gt.npz')
    assert raw_2d['metadata'] == EXPECTED_METADATA
    assert 'layout_name' not in raw_2d['metadata']
    for subject in subjects:
        expected_stems = [s for s in FILE_STEMS if not (subject == 'S11' and s == 'Directions')]
        assert sorted(dataset[subject]) == sorted(expected_action(s) for s in expected_stems)
        assert len(dataset[subject]) == (29 if subject == 'S11' else 30)
        assert 'TakingPhoto' not in dataset[subject] and 'WalkingDog 1' not in dataset[subject]
        assert {'Photo', 'Photo 1', 'WalkDog', 'WalkDog 1'} <= set(dataset[subject])
        for index, stem in enumerate(FILE_STEMS):
            if subject == 'S11' and stem == 'Directions':
                continue
            action = expected_action(stem)
            known_m = known_pose_mm(subject, index).reshape(-1, 32, 3) / 1000
            positions = dataset[subject][action]
            assert positions.dtype == np.float32 and positions.shape == known_m.shape
            np.testing.assert_allclose(positions, known_m, atol=1e-6)
            cams_2d = raw_2d['positions_2d'][subject][action]
            assert len(cams_2d) == 4
            for cam_index, pixels in enumerate(cams_2d):
                assert pixels.dtype == np.float32 and pixels.shape == (len(known_m), 17, 2)
                expected = independent_projection(known_m[:, KEPT], subject, cam_index)
                np.testing.assert_allclose(pixels, expected, atol=2e-2)
    # The files are usable through the project's loaders (17-joint skeleton, normalised 2D).
    cameras = load_h36m_cameras()
    keypoints = load_keypoints_2d(out_dir / 'data_2d_h36m_gt.npz', load_h36m_3d(out_dir / 'data_3d_h36m.npz'),
                                  cameras, subjects)
    assert keypoints.layout is H36M_17
    subject = subjects[0]
    cam = cameras[subject][2]
    normalised = keypoints.positions[subject]['Photo 1'][2]
    np.testing.assert_allclose(normalised, normalize_screen_coordinates(
        raw_2d['positions_2d'][subject]['Photo 1'][2], w=cam['res_w'], h=cam['res_h']), atol=1e-6)


@needs_cdflib
def test_from_source_cdf(tmp_path, capsys):
    source = tmp_path / 'release'
    write_cdf_tree(source, ['S1', 'S11'])
    out_dir = tmp_path / 'out'
    code, err = run_main(['--from-source-cdf', source, '--output-dir', out_dir, '--subjects', 'S1,S11'], capsys)
    assert code == 0, err
    check_outputs(out_dir, ['S1', 'S11'])


@needs_h5py
def test_from_archive(tmp_path, capsys):
    archive = tmp_path / 'h36m.zip'
    write_archive(archive, ['S9', 'S11'])
    out_dir = tmp_path / 'out'
    code, err = run_main(['--from-archive', archive, '--output-dir', out_dir, '--subjects', 'S9,S11'], capsys)
    assert code == 0, err
    check_outputs(out_dir, ['S9', 'S11'])


@needs_h5py
def test_refuses_to_overwrite(tmp_path, capsys):
    archive = tmp_path / 'h36m.zip'
    write_archive(archive, ['S9'], stems=FILE_STEMS[:2])
    args = ['--from-archive', archive, '--output-dir', tmp_path, '--subjects', 'S9', '--allow-incomplete']
    assert run_main(args, capsys)[0] == 0
    before = (tmp_path / 'data_3d_h36m.npz').read_bytes()
    code, err = run_main(args, capsys)
    assert code == 2 and 'already exist' in err and '--overwrite' in err
    assert (tmp_path / 'data_3d_h36m.npz').read_bytes() == before
    assert run_main(args + ['--overwrite'], capsys)[0] == 0
    assert not list(tmp_path.glob('*.tmp*'))


@needs_cdflib
def test_count_check_and_allow_incomplete(tmp_path, capsys):
    source = tmp_path / 'release'
    write_cdf_tree(source, ['S5'], stems=FILE_STEMS[:29])
    code, err = run_main(['--from-source-cdf', source, '--output-dir', tmp_path / 'out', '--subjects', 'S5'], capsys)
    assert code == 2
    assert err.startswith('error: ') and 'S5 has 29 pose files, expected 30' in err and '--allow-incomplete' in err
    assert 'Traceback' not in err
    assert not (tmp_path / 'out').exists()
    code, err = run_main(['--from-source-cdf', source, '--output-dir', tmp_path / 'out', '--subjects', 'S5',
                          '--allow-incomplete'], capsys)
    assert code == 0, err
    assert len(load_npz(tmp_path / 'out' / 'data_3d_h36m.npz')['positions_3d']['S5']) == 29


@needs_h5py
def test_missing_and_wrong_layouts(tmp_path):
    with pytest.raises(UserError, match='folder not found'):
        prep.prepare_h36m(tmp_path / 'out', source_cdf=tmp_path / 'nowhere')
    (tmp_path / 'release' / 'S1').mkdir(parents=True)  # no MyPoseFeatures/D3_Positions inside
    with pytest.raises(UserError, match=r'S1.MyPoseFeatures.D3_Positions not found'):
        prep.prepare_h36m(tmp_path / 'out', source_cdf=tmp_path / 'release', subjects=['S1'])
    with pytest.raises(UserError, match='file not found'):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'missing.zip')
    (tmp_path / 'not_a.zip').write_text('hello')
    with pytest.raises(UserError, match='not a readable zip'):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'not_a.zip')
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as archive:
        archive.writestr('h36m/S1/Videos/Directions 1.mp4', b'')
    with pytest.raises(UserError, match='MyPoses/3D_positions'):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'other.zip')
    write_archive(tmp_path / 'h36m.zip', ['S1'], stems=FILE_STEMS[:1])
    with pytest.raises(UserError, match=r'no S9/MyPoses'):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'h36m.zip', subjects=['S9'], allow_incomplete=True)
    with pytest.raises(UserError, match='S1,S2: S2 not a Human3.6M subject') as err:
        prep.parse_subjects('S1,S2')
    assert err.value.setting == 'subjects'


@needs_cdflib
@needs_h5py
def test_corrupt_files_are_named(tmp_path):
    folder = tmp_path / 'release' / 'S1' / 'MyPoseFeatures' / 'D3_Positions'
    folder.mkdir(parents=True)
    (folder / 'Directions.cdf').write_bytes(b'not a cdf file at all')
    with pytest.raises(UserError, match=r'Directions\.cdf: cannot read variable "Pose"'):
        prep.prepare_h36m(tmp_path / 'out', source_cdf=tmp_path / 'release', subjects=['S1'], allow_incomplete=True)
    with zipfile.ZipFile(tmp_path / 'bad.zip', 'w') as archive:
        archive.writestr('h36m/S1/MyPoses/3D_positions/Directions.h5', h5_bytes(np.zeros((5, 96))))
        archive.writestr('h36m/S1/MyPoses/3D_positions/Eating.h5', h5_bytes(np.zeros((96, 5)), name='other'))
    with pytest.raises(UserError, match=r'Directions\.h5: 3D_positions shaped \(5, 96\)'):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'bad.zip', subjects=['S1'], allow_incomplete=True)


@needs_h5py
def test_duplicate_after_renaming(tmp_path):
    with zipfile.ZipFile(tmp_path / 'dup.zip', 'w') as archive:
        for stem in ('Photo 1', 'TakingPhoto 1'):
            archive.writestr(f'h36m/S1/MyPoses/3D_positions/{stem}.h5', h5_bytes(np.zeros((96, 2))))
    with pytest.raises(UserError, match="both give action 'Photo 1'"):
        prep.prepare_h36m(tmp_path / 'out', archive=tmp_path / 'dup.zip', subjects=['S1'], allow_incomplete=True)


def test_action_names():
    assert prep.action_name('TakingPhoto') == 'Photo'
    assert prep.action_name('TakingPhoto 1') == 'Photo 1'
    assert prep.action_name('WalkingDog 1') == 'WalkDog 1'
    assert prep.action_name('WalkTogether 1') == 'WalkTogether 1'
    assert prep.action_name('Walking') == 'Walking'


@needs_h5py
def test_runs_as_a_script(tmp_path):
    import subprocess
    archive = tmp_path / 'h36m.zip'
    write_archive(archive, ['S7'], stems=FILE_STEMS[:3])
    result = subprocess.run([sys.executable, 'data/prepare_data_h36m.py', '--from-archive', str(archive),
                             '--output-dir', str(tmp_path), '--subjects', 'S7'], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith('error: ') and 'S7 has 3 pose files' in result.stderr


def test_errors_name_the_flag(tmp_path, capsys):
    code, err = run_main(['--from-archive', tmp_path / 'missing.zip', '--output-dir', tmp_path], capsys)
    assert code == 2 and err == f'error: --from-archive {tmp_path / "missing.zip"}: file not found\n'
    code, err = run_main(['--from-archive', tmp_path / 'missing.zip', '--subjects', 'S2'], capsys)
    assert code == 2 and err.startswith('error: --subjects S2: S2 not a Human3.6M subject')
    code, err = run_main(['--from-archive'], capsys)
    assert code == 2 and 'expected one argument' in err and 'prepare_data_h36m.py --help' in err
