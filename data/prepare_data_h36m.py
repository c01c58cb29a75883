"""Convert the Human3.6M 3D poses into ``data_3d_h36m.npz`` and ``data_2d_h36m_gt.npz``.

Two sources are understood (pick one):

- ``--from-source-cdf DIR``: the original release, ``DIR/S1/MyPoseFeatures/D3_Positions/*.cdf``
  (``Directions 1.cdf``, ``TakingPhoto.cdf``, ...), variable ``Pose`` shaped (1, N, 96), millimetres.
- ``--from-archive FILE.zip``: the widely used archive of per-sequence h5 files,
  ``h36m/S1/MyPoses/3D_positions/Directions 1.h5`` with dataset ``3D_positions`` shaped (96, N), mm.

Outputs (in ``--output-dir``, default ``data/``):

- ``data_3d_h36m.npz``: ``positions_3d`` -> ``{subject: {action: float32 (N, 32, 3)}}`` world metres.
- ``data_2d_h36m_gt.npz``: ``positions_2d`` -> ``{subject: {action: [4 x float32 (N, 17, 2)]}}``,
  the 17 kept joints projected (with lens distortion) into each of the subject's 4 cameras, in
  pixels; ``metadata`` -> the community ground-truth metadata (no ``layout_name``).

Action names follow the community files: ``TakingPhoto`` -> ``Photo``, ``WalkingDog`` -> ``WalkDog``
(the `` 1`` suffix is kept). S11 ``Directions`` is left out (its video is corrupt). Each subject of
the original release has 30 sequences; a different count is an error unless ``--allow-incomplete``.

Usage (from the repository root)::

    python data/prepare_data_h36m.py --from-source-cdf /path/to/h36m_release
    python data/prepare_data_h36m.py --from-archive /path/to/h36m.zip
"""
import io
import re
import sys
import zipfile
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

import numpy as np  # noqa: E402

from cli.entry import run_program  # noqa: E402
from cli.parser import ArgumentParser, flag_names  # noqa: E402
from common.data.camera import load_h36m_cameras, project_world_to_pixels  # noqa: E402
from common.data.keypoints_2d import keypoints_metadata  # noqa: E402
from common.data.layouts import H36M_17, H36M_32_TO_17  # noqa: E402
from common.errors import UserError  # noqa: E402
from common.io.npz import save_npz  # noqa: E402
from common.progress import progress_bar, progress_wanted  # noqa: E402

SUBJECTS = ['S1', 'S5', 'S6', 'S7', 'S8', 'S9', 'S11']
FILES_PER_SUBJECT = 30
EXCLUDED = {('S11', 'Directions')}  # corrupt video in the original release
RENAMES = {'TakingPhoto': 'Photo', 'WalkingDog': 'WalkDog'}
OUTPUT_3D = 'data_3d_h36m.npz'
OUTPUT_2D = 'data_2d_h36m_gt.npz'
_ARCHIVE_MEMBER = re.compile(r'(?:^|/)(S\d+)/MyPoses/3D_positions/([^/]+)\.h5$')


def action_name(file_stem):
    """Community action key of a source file name: ``'TakingPhoto 1'`` -> ``'Photo 1'``."""
    base, space, suffix = file_stem.partition(' ')
    return RENAMES.get(base, base) + space + suffix


def parse_subjects(text):
    subjects = [s.strip() for s in text.split(',') if s.strip()]
    unknown = [s for s in subjects if s not in SUBJECTS]
    if not subjects or unknown:
        raise UserError(f'{text}: {", ".join(unknown) or "no subject"} not a Human3.6M subject with 3D poses; '
                        f'choose from {",".join(SUBJECTS)}', setting='subjects')
    return subjects


def _to_metres(pose_mm, where):
    """(..., 96) millimetres -> float32 (N, 32, 3) metres."""
    pose_mm = np.asarray(pose_mm)
    if pose_mm.size == 0 or pose_mm.shape[-1] != 96 or not np.issubdtype(pose_mm.dtype, np.number):
        raise UserError(f'{where}: pose data shaped {pose_mm.shape} ({pose_mm.dtype}), expected 96 values '
                        f'(32 joints x 3) per frame; is this a Human3.6M D3_Positions file?')
    return (pose_mm.reshape(-1, 32, 3).astype(np.float64) / 1000).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Sources. Each lists {subject: [(file stem, reader)]}; a reader returns (N, 32, 3) metres.

def list_cdf_source(root, subjects):
    root = Path(root)
    if not root.is_dir():
        raise UserError(f'{root}: folder not found. Give the folder that holds S1, S5, ... of the original '
                        f'Human3.6M release (see data/README.md)', setting='from_source_cdf')
    found = {}
    for subject in subjects:
        folder = root / subject / 'MyPoseFeatures' / 'D3_Positions'
        if not folder.is_dir():
            raise UserError(f'{root}: {folder} not found. Expected the original release layout '
                            f'{root}/<subject>/MyPoseFeatures/D3_Positions/*.cdf (extract the subject\'s '
                            f'"D3 Positions" archive there), or use --subjects to convert fewer subjects',
                            setting='from_source_cdf')
        files = sorted(folder.glob('*.cdf'))
        found[subject] = [(f.stem, lambda f=f: read_cdf(f)) for f in files]
    return found


def read_cdf(path):
    try:
        import cdflib
    except ImportError:
        raise UserError('reading .cdf files needs the cdflib package: pip install "cdflib>=1.0"') from None
    try:
        pose = cdflib.CDF(str(path)).varget('Pose')
    except Exception as exc:  # cdflib raises assorted types for unreadable files / missing variables
        raise UserError(f'{path}: cannot read variable "Pose" ({type(exc).__name__}: {exc}); '
                        f'is it an original Human3.6M D3_Positions .cdf file?') from None
    return _to_metres(pose, path)


def list_archive_source(archive_path, subjects):
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise UserError(f'{archive_path}: file not found', setting='from_archive')
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(f'{archive_path}: not a readable zip archive ({exc})', setting='from_archive') from None
    by_subject = {}
    for member in members:
        match = _ARCHIVE_MEMBER.search(member)
        if match:
            by_subject.setdefault(match.group(1), []).append((match.group(2), member))
    if not by_subject:
        raise UserError(f'{archive_path}: no files like h36m/S1/MyPoses/3D_positions/<action>.h5; is it the '
                        f'Human3.6M h5 archive?', setting='from_archive')
    found = {}
    for subject in subjects:
        if subject not in by_subject:
            raise UserError(f'{archive_path}: no {subject}/MyPoses/3D_positions/*.h5 files (it has: '
                            f'{", ".join(sorted(by_subject))}); use --subjects to convert fewer subjects',
                            setting='from_archive')
        found[subject] = [(stem, lambda m=member: read_archive_member(archive_path, m))
                          for stem, member in sorted(by_subject[subject])]
    return found


def read_archive_member(archive_path, member):
    try:
        import h5py
    except ImportError:
        raise UserError('reading the h5 archive needs the h5py package: pip install "h5py>=3.0"') from None
    where = f'{archive_path}:{member}'
    try:
        with zipfile.ZipFile(archive_path) as archive:
            raw = archive.read(member)
        with h5py.File(io.BytesIO(raw), 'r') as f:
            if '3D_positions' not in f:
                raise UserError(f'{where}: no dataset "3D_positions" (it has: {", ".join(f.keys()) or "nothing"})')
            pose = f['3D_positions'][()]
    except UserError:
        raise
    except Exception as exc:  # corrupt zip member or h5 file
        raise UserError(f'{where}: cannot read ({type(exc).__name__}: {exc}); re-download the archive') from None
    pose = np.asarray(pose)
    if pose.ndim != 2 or pose.shape[0] != 96:
        raise UserError(f'{where}: 3D_positions shaped {pose.shape}, expected (96, N) millimetres')
    return _to_metres(pose.T, where)


# ----------------------------------------------------------------------------------------------

def collect_positions(found, allow_incomplete, source_name):
    """Check counts, rename actions, read every file: {subject: {action: (N, 32, 3) metres}}."""
    for subject, files in found.items():
        if len(files) != FILES_PER_SUBJECT and not allow_incomplete:
            names = ', '.join(stem for stem, _ in files[:40]) or 'none'
            raise UserError(f'{source_name}: {subject} has {len(files)} pose files, expected {FILES_PER_SUBJECT} '
                            f'(found: {names}). Is the download / extraction complete? Pass --allow-incomplete '
                            f'to convert what is there anyway')
        if not files:
            raise UserError(f'{source_name}: {subject} has no pose files; use --subjects to leave it out')
    total = sum(len(files) for files in found.values())
    jobs = [(subject, stem, reader) for subject, files in found.items() for stem, reader in files]
    positions = {subject: {} for subject in found}
    sources = {}
    bar = progress_bar(jobs, progress_wanted(), total=total, desc='reading 3D poses', unit='file')
    for subject, stem, reader in bar:
        action = action_name(stem)
        if (subject, action) in EXCLUDED:
            continue
        if action in positions[subject]:
            raise UserError(f'{source_name}: {subject} files {sources[subject, action]!r} and {stem!r} both give '
                            f'action {action!r}; remove the duplicate')
        sources[subject, action] = stem
        positions[subject][action] = reader()
    return positions


def project_ground_truth_2d(positions, cameras):
    """{subject: {action: (N, 32, 3)}} -> {subject: {action: [per camera (N, 17, 2) pixels]}}."""
    kept = list(H36M_32_TO_17)
    result = {}
    for subject, actions in positions.items():
        result[subject] = {}
        for action, pos in actions.items():
            pos17 = np.ascontiguousarray(pos[:, kept])
            result[subject][action] = [project_world_to_pixels(pos17, cam) for cam in cameras[subject]]
    return result


def prepare_h36m(output_dir, source_cdf=None, archive=None, subjects=SUBJECTS, allow_incomplete=False,
                 overwrite=False):
    """Read a Human3.6M source, write the 3D and ground-truth 2D files; returns their paths."""
    if (source_cdf is None) == (archive is None):
        raise UserError('give exactly one of --from-source-cdf DIR or --from-archive FILE.zip')
    output_dir = Path(output_dir)
    out_3d, out_2d = output_dir / OUTPUT_3D, output_dir / OUTPUT_2D
    existing = [str(p) for p in (out_3d, out_2d) if p.exists()]
    if existing and not overwrite:
        raise UserError(f'{" and ".join(existing)} already exist(s); pass --overwrite to replace, or choose '
                        f'another --output-dir')
    if source_cdf is not None:
        found, source_name = list_cdf_source(source_cdf, subjects), str(source_cdf)
    else:
        found, source_name = list_archive_source(archive, subjects), str(archive)
    positions = collect_positions(found, allow_incomplete, source_name)
    cameras = load_h36m_cameras()
    positions_2d = project_ground_truth_2d(positions, cameras)
    save_npz(out_3d, positions_3d=positions)
    # Exactly the metadata of the community ground-truth 2D file (it has no layout_name).
    save_npz(out_2d, positions_2d=positions_2d, metadata=keypoints_metadata(H36M_17, with_layout_name=False))
    return out_3d, out_2d


def build_parser():
    parser = ArgumentParser(
        prog='data/prepare_data_h36m.py', description='Convert Human3.6M 3D poses to data_3d_h36m.npz and data_2d_h36m_gt.npz.')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--from-source-cdf', metavar='DIR',
                        help='original release: DIR/S1/MyPoseFeatures/D3_Positions/*.cdf')
    source.add_argument('--from-archive', metavar='FILE.zip',
                        help='h5 archive: h36m/S1/MyPoses/3D_positions/*.h5')
    parser.add_argument('--output-dir', default='data', help='where to write the npz files (default: data)')
    parser.add_argument('--subjects', default=','.join(SUBJECTS),
                        help=f'comma-separated subjects to convert (default: {",".join(SUBJECTS)})')
    parser.add_argument('--allow-incomplete', action='store_true',
                        help=f'do not insist on {FILES_PER_SUBJECT} sequences per subject')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output files')
    return parser


def main(argv=None):
    """Run the program; returns the exit status (2 with a one-line message for bad input)."""
    parser = build_parser()

    def body():
        args = parser.parse_args(argv)
        out_3d, out_2d = prepare_h36m(args.output_dir, source_cdf=args.from_source_cdf, archive=args.from_archive,
                                      subjects=parse_subjects(args.subjects),
                                      allow_incomplete=args.allow_incomplete, overwrite=args.overwrite)
        print(f'wrote {out_3d} and {out_2d}')

    return run_program(body, flag_names(parser))


if __name__ == '__main__':
    sys.exit(main())
