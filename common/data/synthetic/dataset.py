"""The embedded "synthetic" dataset: a small, deterministic stand-in for Human3.6M.

Human3.6M cannot be redistributed, so the project generates this dataset (source ``synthetic``)
on first use, in exactly the file formats of the community Human3.6M files (see
`common.data.h36m` and data/README.md), so that training, evaluation and rendering run on it
unchanged:

- ``data_3d_synthetic.npz``: ``positions_3d`` -> ``{subject: {action: float32 (N, 32, 3)}}``,
  world coordinates in metres, z up, floor at z = 0, 50 fps, the 32-joint mocap skeleton.
- ``data_2d_synthetic_gt.npz``: ``positions_2d`` -> ``{subject: {action: [4 x float32 (N, 17, 2)]}}``
  pixels, the 17 kept joints projected through each subject's four real Human3.6M cameras (with
  lens distortion); ``metadata`` as in the community files.
- ``data_2d_synthetic_detected.npz``: the same keypoints corrupted like a 2D detector's output
  (temporally correlated jitter of a few pixels growing with the person's size in the image, a
  slowly drifting per-joint offset, occasional outliers tens of pixels off, occasional left/right
  limb swaps for a few frames); some sequences are 2-4 frames longer than the 3D ones,
  as in the community CPN file (loaders cut them to the 3D length).

Content (generator version 3, `GENERATOR_VERSION`): subjects S1, S5, S6, S7, S8 (train) and S9,
S11 (test); every sequence is performed by a person of its own (about the subject's size, with
proportions and joint placement drawn from wide ranges that cover real skeleton conventions,
`common.data.synthetic.body`); the 15 Human3.6M action names and 9 motions Human3.6M lacks
(jumping, running, kicking, squatting, lying down, reaching, throwing, exercising, sneaking;
`common.data.synthetic.actions`), each twice (``'Walking'`` and ``'Walking 1'``), 8-12 s per
sequence: 336 sequences, about 169,000 frames. People use the whole capture area
(`common.data.synthetic.locomotion`), walking in every direction, about 3 to 8 m from the cameras.
Version 1 (before issue 21) had the 15 actions and one body per subject; version 2 added the 9
motions and a body per sequence; version 3 added short trunks, shoulders above or below the
thorax and the wider area. Files of another version (without the ``synthetic_version`` entry:
version 1) are regenerated. The motion is synthesised by
`common.data.synthetic.motion` (a forward-kinematics skeleton driven by per-action key poses, gait
cycles and gestures; see there), the detector errors by `common.data.synthetic.detector`.
Everything derives from one seed: the same seed gives the same arrays and byte-identical files
(zip members carry a fixed timestamp). A seed other than 0 is recorded in each file as the extra
entry ``synthetic_seed`` (an int64 scalar; files without it, as all files written before it
existed, have seed 0, so the default files are unchanged); files of another seed are regenerated.

THIS IS NOT HUMAN3.6M. The motions are hand-designed, simpler and far more regular than real
human motion, and the detector noise is simulated. Errors measured on this dataset are useful to
check that the pipeline works (a model should learn it well) but are NOT comparable with numbers
on Human3.6M or with the PoseFormer paper.
"""
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np

from common.data.camera import load_h36m_cameras, project_world_to_pixels
from common.data.layouts import H36M_17, H36M_32_TO_17
from common.data.synthetic.actions import ACTIONS
from common.data.synthetic.body import make_body
from common.data.synthetic.detector import detector_like
from common.data.synthetic.motion import synthesize_sequence
from common.errors import UserError
from common.io.npz import save_npz

SUBJECTS = ('S1', 'S5', 'S6', 'S7', 'S8', 'S9', 'S11')
# Typical body size of each subject (1.0 is about 1.75 m tall); each sequence is performed by a
# different person of about that size (`SEQUENCE_HEIGHT_SPREAD`) and proportions of their own.
HEIGHT_SCALES = {'S1': 0.94, 'S5': 0.92, 'S6': 1.05, 'S7': 0.96, 'S8': 1.03, 'S9': 1.07, 'S11': 1.00}
SEQUENCE_HEIGHT_SPREAD = 0.08
# Version of the generator's output: files written by another version (or by none: version 1)
# are regenerated (see the module's docstring for what each version changed). Checkpoints record it.
GENERATOR_VERSION = 3
VERSION_ENTRY = 'synthetic_version'
ACTION_NAMES = tuple(ACTIONS)
REPETITIONS = 2
FRAMES_RANGE = (400, 600)  # frames per sequence, at 50 fps (`common.data.synthetic.timeline.FPS`)
# The ``metadata`` entry of the 2D files, as in the community Human3.6M files.
METADATA = {'layout_name': H36M_17.name, 'num_joints': H36M_17.num_joints,
            'keypoints_symmetry': [list(H36M_17.left), list(H36M_17.right)]}
FILE_3D = 'data_3d_synthetic.npz'
FILES_2D = {'gt': 'data_2d_synthetic_gt.npz', 'detected': 'data_2d_synthetic_detected.npz'}
SEED_ENTRY = 'synthetic_seed'


def action_key(action, repetition):
    """Human3.6M-style key: the first repetition is the bare name, the second 'Name 1'."""
    return action if repetition == 0 else f'{action} {repetition}'


def sequence_body(subject, action_index, repetition, seed=0):
    """Segment lengths (metres) of the person of one sequence: the subject's overall size
    (`HEIGHT_SCALES`) varied by `SEQUENCE_HEIGHT_SPREAD`, and proportions of their own."""
    rng = np.random.default_rng([seed, 1000 + SUBJECTS.index(subject), action_index, repetition])
    scale = HEIGHT_SCALES[subject] * (1.0 + rng.uniform(-SEQUENCE_HEIGHT_SPREAD, SEQUENCE_HEIGHT_SPREAD))
    return make_body(rng, scale)


def generate_synthetic_positions(seed=0):
    """``{subject: {action: float32 (N, 32, 3)}}`` world positions in metres (z up, 50 fps)."""
    positions = {}
    for s_idx, subject in enumerate(SUBJECTS):
        positions[subject] = {}
        for a_idx, action in enumerate(ACTION_NAMES):
            for rep in range(REPETITIONS):
                body = sequence_body(subject, a_idx, rep, seed)
                rng = np.random.default_rng([seed, s_idx, a_idx, rep])
                n_frames = int(rng.integers(FRAMES_RANGE[0], FRAMES_RANGE[1] + 1))
                positions[subject][action_key(action, rep)] = \
                    synthesize_sequence(rng, action, body, n_frames).astype(np.float32)
    return positions


def _stream(seed, *names):
    """A random generator for one named item, independent of the order items are processed in."""
    return np.random.default_rng([seed, zlib.crc32('/'.join(map(str, names)).encode())])


def make_2d_keypoints(positions_3d, cameras, detector_noise, seed=0):
    """Project the 17 kept joints through each subject's 4 cameras.

    positions_3d: ``{subject: {action: (N, 32, 3)}}`` world metres; cameras: as returned by
    `load_h36m_cameras` (``{subject: [4 camera dicts]}``). With ``detector_noise`` the keypoints
    are corrupted like a detector's (`common.data.synthetic.detector`) and some sequences get 2-4 extra
    frames. Returns ``{subject: {action: [4 x float32 (N, 17, 2)]}}`` pixels.
    """
    kept = list(H36M_32_TO_17)
    out = {}
    for subject, actions in positions_3d.items():
        out[subject] = {}
        for action, pos in actions.items():
            pos17 = np.ascontiguousarray(pos[:, kept], dtype=np.float32)
            extra = 0
            if detector_noise:
                rng = _stream(seed, 'extra', subject, action)
                extra = int(rng.integers(2, 5)) if rng.random() < 0.5 else 0
            views = []
            for c_idx, cam in enumerate(cameras[subject]):
                kp = project_world_to_pixels(pos17, cam)
                if detector_noise:
                    kp = detector_like(_stream(seed, 'detector', subject, action, c_idx), kp, extra,
                                       cam['res_w'], cam['res_h'])
                views.append(kp.astype(np.float32))
            out[subject][action] = views
    return out


def synthetic_paths(data_dir):
    """Where the dataset files are in `data_dir`: ``{'3d': path, '2d': {'gt': path, 'detected': path}}``."""
    data_dir = Path(data_dir)
    return {'3d': data_dir / FILE_3D, '2d': {k: data_dir / v for k, v in FILES_2D.items()}}


def generate(data_dir, seed=0):
    """Write the three dataset files into `data_dir` (atomically); returns their paths."""
    paths = synthetic_paths(data_dir)
    positions = generate_synthetic_positions(seed)
    cameras = load_h36m_cameras()
    seed_entry = {SEED_ENTRY: np.int64(seed)} if seed else {}
    seed_entry[VERSION_ENTRY] = np.int64(GENERATOR_VERSION)
    save_npz(paths['3d'], positions_3d=positions, **seed_entry)
    for kind, path in paths['2d'].items():
        keypoints = make_2d_keypoints(positions, cameras, detector_noise=(kind == 'detected'), seed=seed)
        save_npz(path, positions_2d=keypoints, metadata=METADATA, **seed_entry)
    return paths


def _stored_int(path, entry, absent):
    """The small int64 scalar `entry` of an npz file (`absent` when it has none), None if unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = f'{entry}.npy'
            if member not in archive.namelist():
                return absent
            with archive.open(member) as f:
                return int(np.lib.format.read_array(f, allow_pickle=False))
    except (OSError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def stored_seed(path):
    """The seed a dataset file was generated with (0 when it records none), None if it cannot be read.

    Reads only the small ``synthetic_seed`` entry, never the poses.
    """
    return _stored_int(path, SEED_ENTRY, 0)


def stored_version(path):
    """The generator version of a dataset file (1 when it records none: files older than the entry),
    None if it cannot be read."""
    return _stored_int(path, VERSION_ENTRY, 1)


def ensure_synthetic_dataset(data_dir, seed=0, progress=True):
    """Make sure `data_dir` holds the synthetic dataset of `seed`, generating it if a file is missing or
    was generated with another seed (or is unreadable).

    Returns `synthetic_paths` (data_dir).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 63:
        raise UserError(f'{seed}: the seed of the synthetic dataset must be a non-negative integer',
                        setting='synthetic_seed')
    paths = synthetic_paths(data_dir)
    files = [paths['3d'], *paths['2d'].values()]
    if all(p.is_file() for p in files):
        seeds = {stored_seed(p) for p in files}
        versions = {stored_version(p) for p in files}
        if seeds == {seed} and versions == {GENERATOR_VERSION}:
            return paths
        found = ', '.join(sorted(str(s) for s in seeds if s is not None))
        old = ', '.join(sorted(str(v) for v in versions if v is not None))
        reason = ('a file is unreadable' if None in seeds | versions else
                  f'its files were generated with seed {found}' if seeds != {seed} else
                  f'its files were written by generator version {old}, this is version {GENERATOR_VERSION}')
        message = f'Regenerating the embedded synthetic dataset in {data_dir} with seed {seed} ({reason})...'
    else:
        message = f'Generating the embedded synthetic dataset in {data_dir} (first use)...'
    start = time.time()
    if progress:
        print(message, flush=True)
    generate(data_dir, seed)
    if progress:
        print(f'Synthetic dataset written in {time.time() - start:.1f} s.', flush=True)
    return paths
