"""Small MPI-INF-3DHP files in the community layout, for tests and for trying ``-d 3dhp`` end to end.

``write_3dhp_fixture(folder)`` writes ``data_train_3dhp.npz`` (2 sequences x 2 cameras) and
``data_test_3dhp.npz`` (TS1 at 2048 x 2048 and TS5 at 1920 x 1080, a few invalid frames) laid out as
P-STMO's conversion scripts write them (see `common.data.mpi3dhp`): 3D in millimetres in the camera
frame, 2D in pixels, the 17 test-set joints. The poses are a synthetic skeleton that turns, swings its
arms and legs and drifts, projected with a pinhole camera, so that 2D and 3D agree and a model can learn
something from them.

From the command line (numpy only, no project imports):

    python tests/fixtures_3dhp.py OUT_DIR [--train-frames 120] [--test-frames 90]
"""
import argparse
from pathlib import Path

import numpy as np

# Pelvis-relative rest pose in mm (x right in the image, y down, z away from the camera), 3DHP order:
# head-top, neck, r-shoulder, r-elbow, r-wrist, l-shoulder, l-elbow, l-wrist, r-hip, r-knee, r-ankle,
# l-hip, l-knee, l-ankle, pelvis, spine, head.
REST_POSE_MM = np.array([
    [0, -760, 0], [0, -510, 0], [-180, -480, 0], [-200, -220, 0], [-210, 20, 0], [180, -480, 0],
    [200, -220, 0], [210, 20, 0], [-100, 0, 0], [-110, 420, 0], [-110, 830, 0], [100, 0, 0],
    [110, 420, 0], [110, 830, 0], [0, 0, 0], [0, -250, 0], [0, -630, 0]], dtype=np.float64)

TRAIN_SEQUENCES = {'S1 Seq1': (25, [0, 2]), 'S3 Seq2': (50, [4, 8])}  # key: (fps, camera numbers)
TEST_SEQUENCES = {'TS1': (2048, 2048), 'TS5': (1920, 1080)}


def synthetic_motion_mm(n_frames, seed, distance_mm=4000.0):
    """(n_frames, 17, 3) camera-frame positions in mm of a moving person about `distance_mm` away."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames, dtype=np.float64)
    phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.03, 0.08)
    pose = np.repeat(REST_POSE_MM[None], n_frames, axis=0)
    swing = 180 * np.sin(speed * 3 * t + phase)
    pose[:, [3, 4], 2] += swing[:, None] * np.array([0.6, 1.0])    # right arm forward/back
    pose[:, [6, 7], 2] -= swing[:, None] * np.array([0.6, 1.0])    # left arm opposite
    pose[:, [9, 10], 2] -= swing[:, None] * np.array([0.5, 0.8])   # legs opposite to the arms
    pose[:, [12, 13], 2] += swing[:, None] * np.array([0.5, 0.8])
    yaw = phase + speed * t                                        # turning about the vertical axis
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x, z = pose[..., 0].copy(), pose[..., 2].copy()
    pose[..., 0], pose[..., 2] = c * x + s * z, -s * x + c * z
    pelvis = np.stack([300 * np.sin(speed * t + 2 * phase), 150 + 20 * np.sin(speed * 5 * t),
                       distance_mm + 400 * np.cos(speed * t + phase)], axis=-1)
    return pose + pelvis[:, None] + rng.normal(0, 2.0, pose.shape)


def project_pixels(pos_mm, width, height, focal=None):
    """Pinhole projection of camera-frame points (..., 3) to pixels (..., 2), centre at the image centre."""
    focal = 0.75 * width if focal is None else focal
    return focal * pos_mm[..., :2] / pos_mm[..., 2:] + np.array([width / 2, height / 2])


def write_3dhp_fixture(folder, train_layout='pstmo', train_frames=(60, 48), test_frames=(40, 36), seed=0):
    """Write both files into `folder`; return what was written (raw arrays) for comparisons.

    ``train_layout``: ``'pstmo'`` writes ``{'S1 Seq1': [{'0': cam, '2': cam}, fps]}`` as the community
    files; ``'list'`` writes ``{'S1 Seq1': [cam, cam]}`` (camera number = list position, no fps).
    Returns ``{'train_file', 'test_file', 'train': {(subject, action, camera): (data_2d, data_3d)},
    'fps': {(subject, action): fps}, 'test': {name: (data_2d, data_3d, valid)}}``.
    """
    if train_layout not in ('pstmo', 'list'):
        raise ValueError(f'train_layout must be "pstmo" or "list", got {train_layout!r}')
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {'train': {}, 'fps': {}, 'test': {}}
    train = {}
    for i, (key, (fps, cameras)) in enumerate(TRAIN_SEQUENCES.items()):
        subject, action = key.split(' ')
        n_frames = train_frames[i % len(train_frames)]
        per_camera = {}
        for j, camera in enumerate(cameras):
            data_3d = synthetic_motion_mm(n_frames, seed=seed * 1000 + 10 * i + j, distance_mm=3500 + 300 * j)
            data_2d = project_pixels(data_3d, 2048, 2048).astype(np.float32)
            data_3d = data_3d.astype(np.float32)
            per_camera[str(camera)] = {'data_2d': data_2d, 'data_3d': data_3d}
            number = camera if train_layout == 'pstmo' else j
            written['train'][(subject, action, number)] = (data_2d, data_3d)
        if train_layout == 'pstmo':
            train[key] = [per_camera, fps]
            written['fps'][(subject, action)] = fps
        else:
            train[key] = list(per_camera.values())
    test = {}
    for i, (name, (width, height)) in enumerate(TEST_SEQUENCES.items()):
        n_frames = test_frames[i % len(test_frames)]
        data_3d = synthetic_motion_mm(n_frames, seed=seed * 1000 + 500 + i)
        data_2d = project_pixels(data_3d, width, height).astype(np.float32)
        data_3d = data_3d.astype(np.float32)
        valid = np.ones(n_frames, dtype=np.float64)  # the community files store 0/1 floats from the .mat
        valid[:3] = 0
        valid[n_frames // 2] = 0
        test[name] = {'data_2d': data_2d, 'data_3d': data_3d, 'valid': valid}
        written['test'][name] = (data_2d, data_3d, valid)
    written['train_file'] = folder / 'data_train_3dhp.npz'
    written['test_file'] = folder / 'data_test_3dhp.npz'
    np.savez_compressed(written['train_file'], data=train)
    np.savez_compressed(written['test_file'], data=test)
    return written


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--train-frames', type=int, default=120)
    parser.add_argument('--test-frames', type=int, default=90)
    parser.add_argument('--layout', choices=['pstmo', 'list'], default='pstmo')
    args = parser.parse_args()
    info = write_3dhp_fixture(args.out_dir, args.layout, (args.train_frames,), (args.test_frames,))
    print(f"wrote {info['train_file']} and {info['test_file']}")
