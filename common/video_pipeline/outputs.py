"""The files of a lifted video, written atomically into an output folder that one run holds at a time.

Files (``<name>``: the video's file name without extension), all in the output folder except the BVH:

- ``data_2d_custom_<name>.npz``: the 2D keypoints (COCO-17 pixels), a ``-d custom`` file
  (a ``-d custom`` run with this folder as its data folder reads it);
- ``<name>_3d.npy``: float32 ``(N, 17, 3)``, metres, Human3.6M-17, camera axes, root-relative
  (every joint minus the pelvis: joint 0 at the origin);
- ``<name>_3d_camera.npy``: float32 ``(N, 17, 3)``, the same poses placed in the camera frame (the
  pelvis at its fitted position: the person moves through the scene);
- ``<name>_3d.json``: both, the trajectory, the focal length, frame rate, stages and model, with
  joint names and units, and the 2D keypoints, for any language;
- ``<name>_3d.csv``: one row per frame and joint: frame, time_s, joint, x, y, z (camera frame, metres);
- the BVH file, where asked (`common.video_pipeline.bvh`; from the fitted skeleton, fitted here when the
  raw output was asked for).

Several people (`common.video_pipeline.people`; `people_output_files`): person ``ID`` is named
``<name>_person<ID>`` (`common.detection.people.person_name`) and has the files above under that name
(``<name>_person<ID>_3d.npy``, ``_3d_camera.npy``, ``_3d.json``, ``_3d.csv``) covering the frames from its
first to its last detection (the JSON's ``first_frame`` and ``video_frames``; the CSV's ``frame`` column is
the video's frame); the BVH ``<bvh>.bvh`` becomes ``<bvh>_person<ID>.bvh`` beside it; one
``data_2d_custom_<name>_people.npz`` holds every chosen person over all the video's frames (as
``tools/video_to_2d_people.py`` writes it), and one animation ``<name>_people_3d.mp4`` draws them all
(`render_people`). Before the detection the ids are unknown: any earlier person file of the video in
the folder (`earlier_people_files`) is refused unless ``overwrite``; with it, once the new files are
written, those of ids this run did not write are removed (`remove_stale_people_files`), so that the
folder holds one run's people.

`OutputFolder` checks everything before the work starts (the folder can be written, the files do
not exist unless ``overwrite``, the BVH's folder exists or is the output folder) and, while held, locks the folder
(`common.io.run_lock.hold_folder`): a second run into the same folder is refused at once.
"""
import io
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from common.errors import UserError
from common.io.atomic import atomic_write, atomic_write_text
from common.io.run_lock import hold_folder
from common.io.writable import check_output_file, check_output_folder

ACTIVITY = 'video_to_3d run'


def output_files(folder, name, animation=None, bvh=None):
    """``{kind: Path}`` of a video's outputs (see the module); `animation`: 'mp4' / 'gif' / None."""
    folder = Path(folder)
    files = {'2d': folder / f'data_2d_custom_{name}.npz', 'npy': folder / f'{name}_3d.npy',
             'camera': folder / f'{name}_3d_camera.npy', 'json': folder / f'{name}_3d.json',
             'csv': folder / f'{name}_3d.csv'}
    if animation:
        files['animation'] = folder / f'{name}_3d.{animation}'
    if bvh:
        files['bvh'] = Path(bvh)
    return files


def person_bvh(bvh, person_id):
    """The BVH file of person `person_id` when `bvh` was asked for: ``<bvh stem>_person<ID>.bvh`` beside it."""
    from common.detection.people import person_name
    bvh = Path(bvh)
    return bvh.with_name(person_name(bvh.stem, person_id) + bvh.suffix)


def people_output_files(folder, name, ids, animation=None, bvh=None):
    """(shared, per_person) of a several-people run (see the module): ``shared`` ``{'2d', 'animation'}``
    paths, ``per_person`` ``{id: {kind: Path}}`` (`output_files` of `person_name`, without '2d')."""
    from common.detection.people import person_name
    folder = Path(folder)
    shared = {'2d': folder / f'data_2d_custom_{name}_people.npz'}
    if animation:
        shared['animation'] = folder / f'{name}_people_3d.{animation}'
    per_person = {}
    for person_id in ids:
        files = output_files(folder, person_name(name, person_id), None, bvh and person_bvh(bvh, person_id))
        del files['2d']
        per_person[person_id] = files
    return shared, per_person


def earlier_people_files(folder, name, bvh=None):
    """Files an earlier several-people run of the video `name` left (any id): its person files in `folder`
    and, with `bvh`, its per-person BVH files beside `bvh`."""
    from common.detection.people import person_name
    pattern = person_name(name, '[0-9]*')
    found = [p for p in Path(folder).glob(f'{pattern}_3d*') if p.is_file()] if Path(folder).is_dir() else []
    if bvh is not None and Path(bvh).parent.is_dir():
        found += [p for p in Path(bvh).parent.glob(person_bvh(bvh, '[0-9]*').name) if p.is_file()]
    return sorted(found)


def remove_stale_people_files(folder, name, bvh, written):
    """Delete the earlier person files of the video `name` (`earlier_people_files`) that are not among the
    paths `written` by this run; returns the removed paths, sorted."""
    kept = {Path(p).resolve() for p in written}
    stale = [p for p in earlier_people_files(folder, name, bvh) if p.resolve() not in kept]
    for path in stale:
        path.unlink()
    return stale


def check_bvh(bvh, folder):
    """The BVH path `bvh` can be written (its folder exists or is the output `folder`, it ends in .bvh)."""
    bvh = Path(bvh)
    if not bvh.parent.is_dir() and bvh.parent.resolve() != Path(folder).resolve():
        raise UserError(f'{bvh}: the folder {bvh.parent} does not exist; create it or choose another path',
                        setting='bvh')
    if bvh.suffix.lower() != '.bvh':
        raise UserError(f'{bvh}: the file name must end in .bvh', setting='bvh')
    if bvh.parent.is_dir():
        check_output_file(bvh, setting='bvh')


def check_outputs(files, folder, overwrite):
    """Refuse, before any work, outputs that cannot be written or that exist without `overwrite`."""
    check_output_folder(folder, setting='output')
    if 'bvh' in files:
        check_bvh(files['bvh'], folder)
    existing = [str(p) for p in files.values() if p.exists()]
    if existing and not overwrite:
        raise UserError(f'{existing[0]} already exists; pass {{overwrite}} to replace the results, or choose another '
                        'folder', setting='output', mentions=('overwrite',))


@contextmanager
def held_output_folder(files, folder, overwrite):
    """Create and lock `folder` for this run, check the outputs again under the lock; yields the folder.

    A folder this call created is removed again when the run fails before writing anything into it.
    """
    check_outputs(files, folder, overwrite)
    folder = Path(folder)
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f'{folder}: cannot create the folder ({exc.strerror or exc}); choose a writable location',
                        setting='output') from None
    try:
        with hold_folder(folder, ACTIVITY, setting='output'):
            check_outputs(files, folder, overwrite)       # a run that finished while this one waited
            yield folder
    except BaseException:
        if created:
            try:
                folder.rmdir()                             # only when empty
            except OSError:
                pass
        raise


def result_document(result, fps):
    """The JSON document of a `VideoResult` (see the module)."""
    from common.data.layouts import COCO_17
    detected = result.keypoints

    def rounded(array, digits):
        return np.round(np.asarray(array, dtype=np.float64), digits).tolist()

    frames = result.frames
    person = {} if detected.person is None else {'person': detected.person, 'video': detected.path.name}
    return {
        'video': detected.name,
        **person,
        'frames': int(len(result.poses)),
        'first_frame': int(frames[0]),
        'video_frames': {'first': int(frames[0]), 'last': int(frames[-1]),
                         'note': "row i of every array is the video's frame first + i"},
        'fps': fps,
        'model': {'checkpoint': result.checkpoint, 'frames_per_window': result.frames_per_window},
        'detector': detected.detector,
        'stages': list(result.stages),
        'camera': {'focal_length_px': result.focal_length,
                   'focal_length_from': 'given' if result.focal_length_given else
                   'default: the picture diagonal in pixels (53 degrees across the diagonal)',
                   'principal_point_px': list(result.centre), 'width': int(result.width), 'height': int(result.height)},
        'poses_3d': {
            'units': 'metres',
            'coordinates': 'camera frame: x right, y down, z away from the camera; root-relative: every joint '
                           'minus the pelvis (joint 0 at the origin)',
            'shape': list(result.poses.shape),
            'joints': list(result.joints.names),
            'parents': list(result.joints.parents),
            'bone_lengths': None if result.bone_lengths is None else rounded(result.bone_lengths, 5),
            'frames': rounded(result.poses, 5),
        },
        'poses_3d_camera': {
            'units': 'metres', 'coordinates': 'camera frame: x right, y down, z away from the camera',
            'shape': list(result.poses.shape), 'frames': rounded(result.poses_camera, 5),
        },
        'trajectory': {'units': 'metres', 'joint': result.joints.names[0], 'frames': rounded(result.trajectory, 5)},
        'keypoints_2d': {
            'units': 'pixels of the video: x right, y down, origin at the top-left corner',
            'width': int(detected.width), 'height': int(detected.height),
            'joints': list(COCO_17.names),
            'shape': list(detected.keypoints.shape),
            'frames': rounded(detected.keypoints, 2),
            'person_found': np.isfinite(detected.scores).all(axis=1).tolist(),
            'note': 'frames without a person and joints scored below the confidence threshold were filled by '
                    'interpolation over time',
            'frames_without_person': detected.report.frames_without_person,
            'joints_filled': detected.report.joints_filled,
            'left_right_swaps_repaired': detected.report.swaps_repaired,
        },
    }


def csv_text(result):
    """frame, time_s, joint, x, y, z: the camera-frame poses, one row per frame and joint (metres); frame: the
    video's frame (`VideoResult.frames`), time_s its time in the video."""
    rate = result.rate
    out = io.StringIO()
    out.write('frame,time_s,joint,x,y,z\n')
    for t, pose in zip(result.frames, result.poses_camera):
        for name, (x, y, z) in zip(result.joints.names, pose):
            out.write(f'{t},{t / rate:.6f},{name},{x:.5f},{y:.5f},{z:.5f}\n')
    return out.getvalue()


def write_outputs(result, files):
    """Write a `VideoResult`'s files (all but the animation; the 2D file where `files` names one), each
    atomically; returns the paths written."""
    from common.data.custom import write_custom
    from common.video_pipeline.bvh import bvh_text
    detected = result.keypoints
    if '2d' in files:
        write_custom(files['2d'], {detected.name: (detected.keypoints, detected.width, detected.height,
                                                   detected.fps)})
    atomic_write(files['npy'], lambda f: np.save(f, result.poses.astype(np.float32)))
    atomic_write(files['camera'], lambda f: np.save(f, result.poses_camera))
    document = result_document(result, result.fps)
    atomic_write_text(files['json'], json.dumps(document, separators=(',', ':')) + '\n')
    atomic_write_text(files['csv'], csv_text(result))
    written = [files[key] for key in ('2d', 'npy', 'camera', 'json', 'csv') if key in files]
    if 'bvh' in files:
        poses, lengths = result.poses_camera, result.bone_lengths
        if lengths is None:           # raw output asked for: a BVH skeleton still has one length per bone
            from common.video_pipeline.skeleton import bone_lengths, fit_bones
            lengths = bone_lengths(result.poses, result.joints.parents)
            poses = fit_bones(result.poses, result.joints.parents, lengths) + result.trajectory[:, None]
        atomic_write_text(files['bvh'], bvh_text(poses, result.joints, lengths, result.rate))
        written.append(files['bvh'])
    return written


def displayable(text):
    """`text` with the characters matplotlib's default font cannot draw replaced by '?' (no missing-glyph
    warnings for a video named in another script)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font
    covered = FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap()
    return ''.join(c if ord(c) in covered or c.isspace() else '?' for c in text)


def render_result(result, path, limit=-1, size=5, progress=False, log=print):
    """The animation of a `VideoResult` at `path` (.mp4 / .gif): the video with its 2D skeleton beside the 3D
    poses moving through the scene as placed (seen level from the camera's side); ``limit``: the first frames
    only (-1: all); ``size``: inches per panel. Returns a `RenderSummary`."""
    from common.data.types import Sequence
    from common.io.video import VideoReader
    from common.render.sequence import render_sequence, select_frames
    from common.video_pipeline.codec import KeypointCodec
    detected = result.keypoints
    codec = KeypointCodec(detected.width, detected.height)
    cam = {'id': detected.name, 'res_w': detected.width, 'res_h': detected.height}     # no extrinsics: level
    seq = Sequence(displayable(detected.name), 'custom', 0, codec.normalise(result.pixels), None, cam)
    placed = result.poses.copy()
    placed[:, result.joints.root] = result.trajectory                 # the root convention: root slot = trajectory
    with VideoReader(detected.path, setting='video') as background:
        frames = select_frames(len(seq.poses_2d), limit=limit)
        return render_sequence(path, seq, placed, result.joints, result.joints, fps=result.rate, frames=frames,
                               size=size, video=background, ground_truth=False, progress=progress, log=log,
                               trajectory=True)


def write_people_outputs(result, shared, per_person):
    """Write a `PeopleResult`'s files (`people_output_files`; all but the animation), each atomically:
    the 2D file of every chosen person, then each person's files. Returns the paths written."""
    from common.data.custom import write_custom
    from common.detection.people import custom_entries
    detected = result.detected
    chosen = [p for p in detected.people if p.id in result.people]
    write_custom(shared['2d'], custom_entries(detected, chosen))
    written = [shared['2d']]
    for person_id, person in result.people.items():
        written += write_outputs(person, per_person[person_id])
    return written


def render_people(result, path, limit=-1, size=5, progress=False, log=print):
    """The animation of a `PeopleResult` at `path` (.mp4 / .gif): the video with every chosen person's 2D
    skeleton beside one 3D scene with each placed by their trajectory, one colour and a ``#ID`` label per
    person (`common.render.animation.PeopleAnimation`); ``limit``: the first frames only (-1: all);
    ``size``: inches per panel. Returns a `RenderSummary`."""
    from common.io.video import VideoReader
    from common.render.animation import PeopleAnimation
    from common.render.sequence import select_frames, write_animation
    from common.render.writers import output_kind
    detected = result.detected
    kind = output_kind(path)
    pixels = np.full((result.frames, len(result.people), 17, 2), np.nan, dtype=np.float32)
    for index, person in enumerate(result.people.values()):
        pixels[person.frames, index] = person.pixels
    frames = select_frames(result.frames, limit=limit)
    joints = next(iter(result.people.values())).joints
    with VideoReader(detected.path, setting='video') as background:
        animation = PeopleAnimation(pixels, result.placed(), list(result.people), detected.width, detected.height,
                                    joints, frames, size=size, title=displayable(detected.name),
                                    background=background.first)
        return write_animation(path, kind, animation, frames, result.rate, video=background, progress=progress)
